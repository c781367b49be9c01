// `rpm-xylem compose tree` end to end through the CLI: fixture packages in an rpm-md repo served
// over HTTP on 127.0.0.1, a `.repo` file beside the treefile, dependencies solved (appb pulls liba,
// a file require on /bin/sh pulls basesh), the real ostree reading the commit; --print-only,
// --dry-run, the unchanged recompose and db diff after an upgrade, with rpm-ostree's wording.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OSTREE, ROOT, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { serve } from '../helpers/serve-dir.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, HAVE_RPMSIGN, buildRepo, buildRpm, makeSigningKey, signRpm } from '../helpers/rpmbuild.ts';
import { APPB, FILESYSTEM, LIBA } from './fixtures.ts';

/** Runs the CLI without blocking: the HTTP server lives in this process. */
function cli(args: string[], cwd: string): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'tools/rpm-xylem/main.ts'), ...args], { cwd, env: { ...process.env, NODE_OPTIONS: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

describe.skipIf(missing('rpm-xylem compose tree', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO }))('rpm-xylem compose tree', () => {
  const tmp = new TempDir('xylem-compose-cli-');
  let srv: Awaited<ReturnType<typeof serve>>;
  const webroot = tmp.join('web');
  beforeAll(async () => {
    buildRepo([FILESYSTEM, LIBA('1.0'), { ...APPB, requires: ['liba >= 1.0'] }], join(webroot, 'fx'));
    srv = await serve(webroot);
    writeFileSync(tmp.join('fx.repo'), `[fx]\nname=Fixtures\nbaseurl=${srv.url}fx/\ngpgcheck=0\nenabled=0\nmetadata_expire=0\n\n[unused]\nbaseurl=${srv.url}nowhere/\n`);
    writeFileSync(tmp.join('base.yaml'), 'packages: [filesystem]\nselinux: false\nno-initramfs: true\n');
    writeFileSync(tmp.join('tf.yaml'), 'include: base.yaml\nref: xylem/${basearch}/cli\nrepos: [fx]\npackages: [appb]\nautomatic-version-prefix: "40"\n');
    execFileSync(OSTREE!, ['init', `--repo=${tmp.join('repo')}`, '--mode=archive']);
  });
  afterAll(() => {
    srv?.server.close();
    tmp.cleanup();
  });
  const repo = () => `--repo=${tmp.join('repo')}`;
  const cache = () => `--cachedir=${tmp.join('cache')}`;

  it('--print-only prints the flattened treefile', async () => {
    const r = await cli(['compose', 'tree', '--print-only', 'tf.yaml'], tmp.path);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.ref).toBe('xylem/x86_64/cli');
    expect(j.packages).toEqual(['filesystem', 'appb']);
    expect(j.include).toBeUndefined();
  });

  it('--dry-run resolves and stops', async () => {
    const r = await cli(['compose', 'tree', '--dry-run', repo(), cache(), 'tf.yaml'], tmp.path);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Installing 3 packages:\n  appb-1:2.1-3.noarch (fx)\n');
    expect(r.stdout).toContain('  liba-1.0-1.noarch (fx)\n');
    expect(r.stdout).toMatch(/Input state hash: [0-9a-f]{64}\n--dry-run complete; exiting\n$/);
    expect(execFileSync(OSTREE!, ['refs', repo()], { encoding: 'utf8' })).toBe('');
  });

  it('composes over HTTP; an unchanged recompose makes no commit; an upgrade shows in db diff', async () => {
    const r = await cli(['compose', 'tree', '--unified-core', repo(), cache(), 'tf.yaml'], tmp.path);
    expect(r.status, r.stderr).toBe(0);
    const csum = /xylem\/x86_64\/cli => ([0-9a-f]{64})\n$/.exec(r.stdout)![1]!;
    expect(r.stdout).toContain('Version: 40\n');
    const show = (k: string, c = csum) => execFileSync(OSTREE!, ['show', repo(), c, `--print-metadata-key=${k}`], { encoding: 'utf8' }).trim();
    expect(show('rpmostree.rpmdb.pkglist')).toBe("[('appb', '1', '2.1', '3', 'noarch'), ('filesystem', '0', '3.18', '1', 'noarch'), ('liba', '0', '1.0', '1', 'noarch')]");
    expect(show('ostree.linux')).toBe("'6.1.0-x'");
    execFileSync(OSTREE!, ['fsck', repo()]);
    const rpms = srv.requests.filter((u) => u.endsWith('.rpm'));
    expect(rpms.length).toBe(3);

    const again = await cli(['compose', 'tree', repo(), cache(), 'tf.yaml'], tmp.path);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/No apparent changes since previous commit; use --force-nocache to override\n$/);
    expect(srv.requests.filter((u) => u.endsWith('.rpm')).length).toBe(3);

    buildRepo([LIBA('1.1')], join(webroot, 'fx'), ['--update']);
    const up = await cli(['compose', 'tree', repo(), cache(), 'tf.yaml'], tmp.path);
    expect(up.status, up.stderr).toBe(0);
    const csum2 = /=> ([0-9a-f]{64})\n$/.exec(up.stdout)![1]!;
    expect(up.stdout).toContain('Importing packages (1)...');
    expect(up.stdout).toContain('Version: 40.1\n');
    const diff = await cli(['db', 'diff', repo(), csum, csum2], tmp.path);
    expect(diff.stdout).toBe(`ostree diff commit from: ${csum}\nostree diff commit to:   ${csum2}\nUpgraded:\n  liba 1.0-1 -> 1.1-1\n`);
  });

  it('refuses unknown repos and unsolvable requests with rpm-ostree wording', async () => {
    writeFileSync(tmp.join('bad.yaml'), 'ref: bad\nrepos: [nope]\npackages: [appb]\n');
    const r = await cli(['compose', 'tree', repo(), cache(), 'bad.yaml'], tmp.path);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^error: Unknown rpm-md repository: nope/);
    writeFileSync(tmp.join('unsolv.yaml'), 'ref: bad\nrepos: [fx]\npackages: [doesnotexist]\n');
    const u = await cli(['compose', 'tree', repo(), cache(), 'unsolv.yaml'], tmp.path);
    expect(u.status).toBe(1);
    expect(u.stderr).toContain('doesnotexist');
  });

  it('a gpgcheck=1 repo: an unsigned package fails the compose, one signed by the gpgkey composes', async ({ skip }) => {
    if (!HAVE_RPMSIGN) {
      if (process.env.CI === 'true') throw new Error('rpmsign and gpg are required under CI=true');
      skip('rpmsign/gpg missing');
    }
    const key = makeSigningKey();
    const pub = execFileSync('gpg', ['--armor', '--export', key.name], { env: { ...process.env, GNUPGHOME: key.gnupgHome } });
    writeFileSync(tmp.join('signer.asc'), pub);
    buildRepo([FILESYSTEM], join(webroot, 'unsigned'));
    signRpm(buildRpm(FILESYSTEM, join(webroot, 'signed')), key);
    buildRepo([], join(webroot, 'signed'));
    const gk = `gpgkey=file://${tmp.join('signer.asc')}`;
    // its own folder (the .repo files beside a treefile are all read) and its own repo
    const dir = tmp.join('gpg');
    mkdirSync(dir);
    const gpgRepo = `--repo=${join(dir, 'repo')}`;
    execFileSync(OSTREE!, ['init', gpgRepo, '--mode=archive']);
    writeFileSync(join(dir, 'gpg.repo'), `[unsignedfx]\nbaseurl=${srv.url}unsigned/\ngpgcheck=1\n${gk}\nmetadata_expire=0\n\n[signedfx]\nbaseurl=${srv.url}signed/\ngpgcheck=1\n${gk}\nmetadata_expire=0\n`);
    for (const [id, ok] of [['unsignedfx', false], ['signedfx', true]] as const) {
      writeFileSync(join(dir, `${id}.yaml`), `ref: xylem/\${basearch}/${id}\nrepos: [${id}]\npackages: [filesystem]\nselinux: false\nno-initramfs: true\n`);
      const r = await cli(['compose', 'tree', gpgRepo, `--cachedir=${join(dir, `cache-${id}`)}`, `${id}.yaml`], dir);
      if (ok) {
        expect(r.status, r.stderr).toBe(0);
        expect(execFileSync(OSTREE!, ['rev-parse', gpgRepo, `xylem/x86_64/${id}`], { encoding: 'utf8' })).toMatch(/^[0-9a-f]{64}\n$/);
      } else {
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/filesystem-\S+ \(repo 'unsignedfx'\): the package is not signed, and its repository has gpgcheck=1/);
        expect(execFileSync(OSTREE!, ['refs', gpgRepo], { encoding: 'utf8' })).toBe('');
      }
    }
  });
});
