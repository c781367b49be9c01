// Treefile keys that used to parse and do nothing: each now behaves as in rpm-ostree or is refused
// naming the key (ENOTSUP) unless it holds its "nothing to do" value. Behaviour checked here:
// edition 2024 defaults, bootstrap-packages, mutate-os-release (os-release through its symlink,
// read back with the real ostree) and repo-metadata: disabled.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { executeCompose, planCompose } from '../../src/compose/compose.ts';
import type { ComposeEvent } from '../../src/compose/events.ts';
import { mutateOsReleaseText } from '../../src/compose/treefile-steps.ts';
import { loadTreefile } from '../../src/compose/treefile.ts';
import { Repo } from '../../src/repo/repo.ts';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo, type FixturePackage } from '../helpers/rpmbuild.ts';
import { staticResolver } from './static-resolver.ts';

const host = createNodeHost();
const tmp = new TempDir('xylem-treefile-keys-');
afterAll(() => tmp.cleanup());

function tf(name: string, body: string): string {
  const p = tmp.join(name);
  writeFileSync(p, `ref: x/y\npackages: [a]\n${body}`);
  return p;
}

describe('treefile keys', () => {
  const refused: Array<[string, string]> = [
    ['container', 'container: true'],
    ['ima', 'ima: true'],
    ['readonly-executables', 'readonly-executables: true'],
    ['opt-usrlocal', 'opt-usrlocal: root'],
    ['cliwrap', 'cliwrap: true'],
    ['sysusers', 'sysusers: compose-forced'],
    ['gpg-key', 'gpg-key: ABCD'],
    ['platform-module', 'platform-module: platform:f40'],
    ['advisories-metadata', 'advisories-metadata: detached'],
    ['ignore-devices', 'ignore-devices: false'],
  ];
  for (const [key, line] of refused)
    it(`refuses ${key} naming it`, async () => {
      await expect(loadTreefile(host.fs, tf(`${key}.yaml`, `${line}\n`))).rejects.toMatchObject({ code: 'ENOTSUP', message: expect.stringContaining(`\`${key}\` is not supported`) });
    });

  it('accepts the do-nothing values of those keys', async () => {
    const t = await loadTreefile(host.fs, tf('noop.yaml', 'container: false\nima: false\nostree-layers: []\ncliwrap: false\nopt-usrlocal: var\nignore-devices: true\nrpmdb: target\nrepo-metadata: inline\n'));
    expect(t.repoMetadata).toBe('inline');
  });

  it('edition 2024: boot-location modules and tmp-is-dir true unless set', async () => {
    const a = await loadTreefile(host.fs, tf('e24.yaml', 'edition: 2024\n'));
    expect([a.bootLocation, a.tmpIsDir]).toEqual(['modules', true]);
    const b = await loadTreefile(host.fs, tf('e24b.yaml', 'edition: "2024"\nboot-location: new\ntmp-is-dir: false\n'));
    expect([b.bootLocation, b.tmpIsDir]).toEqual(['new', false]);
    const c = await loadTreefile(host.fs, tf('e14.yaml', ''));
    expect([c.bootLocation, c.tmpIsDir]).toEqual(['new', false]);
    await expect(loadTreefile(host.fs, tf('e99.yaml', 'edition: 2099\n'))).rejects.toThrow(/unknown edition '2099'/);
  });

  it('bootstrap-packages join packages; initramfs keys parse', async () => {
    const t = await loadTreefile(host.fs, tf('boot.yaml', 'bootstrap-packages: ["b c"]\ninitramfs-args: [--add, fips]\nno-initramfs: true\nmachineid-compat: false\n'));
    expect(t.packages).toEqual(['a', 'b', 'c']);
    expect([t.initramfsArgs, t.noInitramfs, t.machineidCompat]).toEqual([['--add', 'fips'], true, false]);
  });

  it('mutate-os-release: VERSION and PRETTY_NAME only, OSTREE_VERSION shell-quoted', () => {
    const before = 'NAME=Fedora\nVERSION="40 (Forty)"\nID=fedora\nVERSION_ID=40\n\nPRETTY_NAME="Fedora 40 (Forty)"\nCPE_NAME="cpe:/o:fedoraproject:fedora:40"\n';
    expect(mutateOsReleaseText(before, '40', '40.20261207.0')).toBe(
      'NAME=Fedora\nVERSION="40.20261207.0 (Forty)"\nID=fedora\nVERSION_ID=40\nPRETTY_NAME="Fedora 40.20261207.0 (Forty)"\nCPE_NAME="cpe:/o:fedoraproject:fedora:40"\nOSTREE_VERSION=\'40.20261207.0\'\n',
    );
    expect(mutateOsReleaseText('VERSION=1\n', '1', "1'x")).toBe("VERSION=1'x\nOSTREE_VERSION='1'\\''x'\n");
  });
});

const OSREL: FixturePackage = {
  name: 'osrel',
  version: '40',
  release: '1',
  files: [
    { path: '/usr/lib/os-release', content: 'NAME=Xylem\nVERSION="40 (Test)"\nVERSION_ID=40\nPRETTY_NAME="Xylem 40 (Test)"\n' },
    { path: '/etc/os-release', type: 'symlink', target: '../usr/lib/os-release' },
  ],
};

describe.skipIf(missing('compose with mutate-os-release', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO }))('compose tree: os-release and repo metadata', () => {
  const fx = buildRepo([OSREL], tmp.join('fx'));
  const repoPath = tmp.join('repo');
  const ost = (args: string[]) => execFileSync(OSTREE!, [`--repo=${repoPath}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  async function compose(name: string, body: string) {
    writeFileSync(tmp.join(`${name}.yaml`), `ref: os/${name}\npackages: [osrel]\nselinux: false\n${body}`);
    const repo = await Repo.init(host, repoPath, { mode: 'archive' });
    const cache = await Repo.init(host, tmp.join('cache/pkgcache-repo'), { mode: 'bare-user' });
    const t = await loadTreefile(host.fs, tmp.join(`${name}.yaml`));
    const res = await staticResolver({ fx }).resolve(t);
    const plan = await planCompose(repo, cache, t, res, { sha256: () => repo.createSha256() });
    const events: ComposeEvent[] = [];
    const r = await executeCompose(repo, cache, t, res, plan, { workdir: tmp.join(`work-${name}`), emit: (e) => events.push(e) });
    return { commit: r.commit!, messages: events.flatMap((e) => (e.type === 'message' ? [e.text] : [])) };
  }

  it('writes the commit version into the os-release /etc/os-release points at', async () => {
    const r = await compose('mut', 'automatic-version-prefix: "40.1"\nmutate-os-release: "40"\n');
    expect(r.messages).toContain('Updating usr/lib/os-release');
    expect(ost(['cat', r.commit, '/usr/lib/os-release'])).toBe('NAME=Xylem\nVERSION="40.1 (Test)"\nVERSION_ID=40\nPRETTY_NAME="Xylem 40.1 (Test)"\nOSTREE_VERSION=\'40.1\'\n');
    expect(ost(['show', r.commit, '--print-metadata-key=version']).trim()).toBe("'40.1'");
    expect(ost(['show', r.commit, '--print-metadata-key=rpmostree.rpmmd-repos'])).toContain("'id': <'fx'>");
  });

  it('ostree-layers: checked out over the packages (identical files only); override layers replace', async () => {
    const layer = (name: string, files: Record<string, string>) => {
      const dir = tmp.join(`layer-${name}`);
      for (const [p, c] of Object.entries(files)) {
        execFileSync('mkdir', ['-p', join(dir, p, '..')]);
        writeFileSync(join(dir, p), c);
      }
      ost(['commit', `--branch=layer/${name}`, '--owner-uid=0', '--owner-gid=0', `--tree=dir=${dir}`]);
    };
    await compose('init', '');
    layer('a', { 'usr/share/layer/a.txt': 'from layer a\n', 'etc/layer.conf': 'x=1\n' });
    layer('clash', { 'usr/lib/os-release': 'NAME=Other\n' });
    const r = await compose('layers', 'ostree-layers: [layer/a]\nostree-override-layers: [layer/clash]\n');
    expect(ost(['cat', r.commit, '/usr/share/layer/a.txt'])).toBe('from layer a\n');
    expect(ost(['cat', r.commit, '/usr/etc/layer.conf'])).toBe('x=1\n');
    expect(ost(['cat', r.commit, '/usr/lib/os-release'])).toBe('NAME=Other\n');
    await expect(compose('clash', 'ostree-layers: [layer/clash]\n')).rejects.toThrow(/ostree-layers: layer\/clash/);
    await expect(compose('missing', 'ostree-layers: [layer/nope]\n')).rejects.toThrow("ostree-layers: Refspec 'layer/nope' not found");
    // The layer's content feeds the input hash: a new commit on the layer's ref means a new compose.
    const again = await compose('layers', 'ostree-layers: [layer/a]\nostree-override-layers: [layer/clash]\n');
    expect(again.commit).toBeNull();
    layer('a', { 'usr/share/layer/a.txt': 'changed\n' });
    const changed = await compose('layers', 'ostree-layers: [layer/a]\nostree-override-layers: [layer/clash]\n');
    expect(ost(['cat', changed.commit, '/usr/share/layer/a.txt'])).toBe('changed\n');
  });

  it('says so and changes nothing without a version; repo-metadata: disabled leaves rpmmd-repos out', async () => {
    const r = await compose('nover', 'mutate-os-release: "40"\nrepo-metadata: disabled\n');
    expect(r.messages).toContain('Ignoring mutate-os-release: no commit version specified.');
    expect(ost(['cat', r.commit, '/usr/lib/os-release'])).toBe(OSREL.files![0]!.content);
    expect(() => ost(['show', r.commit, '--print-metadata-key=rpmostree.rpmmd-repos'])).toThrow(/No such metadata key/);
  });
});
