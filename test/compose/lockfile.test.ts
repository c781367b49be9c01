// repo-packages (a name comes from its named repo only) and rpm-ostree lockfiles through `rpm-xylem compose tree --dry-run`: --ex-write-lockfile-to writes
// {packages: {name: {evra, digest, metadata.sourcerpm}}, metadata: {generated, rpmmd_repos}}
// (digests checked against sha256 of the .rpm files, repo times against repomd.xml), and
// --ex-lockfile pins versions (relaxed: a locked name only in its locked form; strict: only locked
// packages), lockfile-repos give only locked packages.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLockfile } from '../../src/compose/lockfile.ts';
import { OSTREE, ROOT, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo } from '../helpers/rpmbuild.ts';
import { APPB, LIBA } from './fixtures.ts';

function cli(args: string[], cwd: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'tools/rpm-xylem/main.ts'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe('parseLockfile', () => {
  it('reads evra and evr entries, refuses unknown fields and bad evra', () => {
    const m = parseLockfile('{"packages": {"a": {"evra": "1:2.0-3.x86_64", "digest": "sha256:00"}, "b": {"evr": "1.0-1"}}, "metadata": {"generated": "2026-12-07T00:00:00Z"}}', 'l.json');
    expect(m.get('a')).toEqual({ evr: '1:2.0-3', arch: 'x86_64', digest: 'sha256:00' });
    expect(m.get('b')).toEqual({ evr: '1.0-1', arch: null, digest: null });
    expect(() => parseLockfile('{"pkgs": {}}', 'l.json')).toThrow('l.json: unknown field `pkgs`');
    expect(() => parseLockfile('{"packages": {"a": {"evra": "noarch"}}}', 'l.json')).toThrow('package a has malformed evra: noarch');
  });
});

describe.skipIf(missing('compose lockfiles', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO }))('compose tree: lockfiles', () => {
  const tmp = new TempDir('xylem-compose-lock-');
  afterAll(() => tmp.cleanup());
  const fx = buildRepo([LIBA('1.0'), LIBA('1.1'), APPB], tmp.join('fx'));
  const locked = buildRepo([LIBA('2.0')], tmp.join('locked'));
  writeFileSync(tmp.join('fx.repo'), `[fx]\nbaseurl=file://${fx}\ngpgcheck=0\n\n[locked]\nbaseurl=file://${locked}\ngpgcheck=0\n`);
  writeFileSync(tmp.join('tf.yaml'), 'ref: lock/test\nrepos: [fx]\nlockfile-repos: [locked]\npackages: [appb]\nselinux: false\n');
  const sha = (dir: string, prefix: string) => `sha256:${createHash('sha256').update(readFileSync(join(dir, readdirSync(dir).find((f) => f.startsWith(prefix))!))).digest('hex')}`;
  const base = () => ['compose', 'tree', '--dry-run', `--repo=${tmp.join('repo')}`, `--cachedir=${tmp.join('cache')}`];
  const installed = (out: string) => out.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());

  it('writes the lockfile of the resolution', () => {
    spawnSync(OSTREE!, ['init', `--repo=${tmp.join('repo')}`, '--mode=archive']);
    const r = cli([...base(), '--ex-write-lockfile-to=out.json', 'tf.yaml'], tmp.path);
    expect(r.status, r.stderr).toBe(0);
    expect(installed(r.stdout)).toEqual(['appb-1:2.1-3.noarch (fx)', 'liba-1.1-1.noarch (fx)']);
    const text = readFileSync(tmp.join('out.json'), 'utf8');
    const j = JSON.parse(text);
    expect(j.packages).toEqual({
      appb: { evra: '1:2.1-3.noarch', digest: sha(fx, 'appb-'), metadata: { sourcerpm: 'appb' } },
      liba: { evra: '1.1-1.noarch', digest: sha(fx, 'liba-1.1'), metadata: { sourcerpm: 'liba' } },
    });
    const ts = Number(/<timestamp>(\d+)<\/timestamp>/.exec(readFileSync(join(fx, 'repodata/repomd.xml'), 'utf8'))![1]);
    expect(Object.keys(j.metadata.rpmmd_repos)).toEqual(['fx']);
    expect(Date.parse(j.metadata.rpmmd_repos.fx.generated) / 1000).toBeGreaterThanOrEqual(ts);
    expect(j.metadata.generated).toMatch(/^\d{4}-\d\d-\d\dT00:00:00Z$/);
    expect(text.startsWith('{\n  "packages": {\n    "appb": {\n      "evra": ')).toBe(true);
  });

  it('--ex-lockfile pins a version; a locked name never comes in another form', () => {
    writeFileSync(tmp.join('pin.json'), JSON.stringify({ packages: { liba: { evra: '1.0-1.noarch', digest: sha(fx, 'liba-1.0') } } }));
    const r = cli([...base(), '--ex-lockfile=pin.json', 'tf.yaml'], tmp.path);
    expect(r.status, r.stderr).toBe(0);
    expect(installed(r.stdout)).toEqual(['appb-1:2.1-3.noarch (fx)', 'liba-1.0-1.noarch (fx)']);
    writeFileSync(tmp.join('bad.json'), JSON.stringify({ packages: { liba: { evra: '1.0-1.noarch', digest: 'sha256:0000' } } }));
    const b = cli([...base(), '--ex-lockfile=bad.json', 'tf.yaml'], tmp.path);
    expect(b.status).not.toBe(0);
    expect(b.stderr).toContain("warning: Couldn't find locked package 'liba-1.0-1.noarch' with checksum sha256:0000");
    expect(b.stderr).toMatch(/Could not depsolve transaction/);
  });

  it('strict mode allows only locked packages; lockfile-repos give locked packages only', () => {
    writeFileSync(tmp.join('appb.json'), JSON.stringify({ packages: { appb: { evr: '1:2.1-3' } } }));
    const s = cli([...base(), '--ex-lockfile=appb.json', '--ex-lockfile-strict', 'tf.yaml'], tmp.path);
    expect(s.status).not.toBe(0);
    expect(s.stderr).toMatch(/Could not depsolve transaction/);
    const relaxed = cli([...base(), '--ex-lockfile=appb.json', 'tf.yaml'], tmp.path);
    expect(installed(relaxed.stdout)).toEqual(['appb-1:2.1-3.noarch (fx)', 'liba-1.1-1.noarch (fx)']);
    writeFileSync(tmp.join('two.json'), JSON.stringify({ packages: { liba: { evra: '2.0-1.noarch' } } }));
    const l = cli([...base(), '--ex-lockfile=appb.json', '--ex-lockfile=two.json', 'tf.yaml'], tmp.path);
    expect(l.status, l.stderr).toBe(0);
    expect(installed(l.stdout)).toEqual(['appb-1:2.1-3.noarch (fx)', 'liba-2.0-1.noarch (locked)']);
  });

  it('repo-packages: the name comes from its repo only; a name missing there is an error', () => {
    const tf = (name: string, extra: string) => {
      writeFileSync(tmp.join(name), `ref: lock/rp\nrepos: [fx, locked]\npackages: [appb]\nselinux: false\n${extra}`);
      return name;
    };
    const free = cli([...base(), tf('free.yaml', '')], tmp.path);
    expect(installed(free.stdout)).toEqual(['appb-1:2.1-3.noarch (fx)', 'liba-2.0-1.noarch (locked)']);
    const pinned = cli([...base(), tf('pinned.yaml', 'repo-packages: [{repo: fx, packages: [liba]}]\n')], tmp.path);
    expect(pinned.status, pinned.stderr).toBe(0);
    expect(installed(pinned.stdout)).toEqual(['appb-1:2.1-3.noarch (fx)', 'liba-1.1-1.noarch (fx)']);
    const missingPkg = cli([...base(), tf('miss.yaml', 'repo-packages: [{repo: locked, packages: [appb]}]\n')], tmp.path);
    expect(missingPkg.status).not.toBe(0);
    expect(missingPkg.stderr).toContain("No matches for 'appb' in repo 'locked'");
  });
});
