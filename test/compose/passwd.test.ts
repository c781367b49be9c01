// passwd and group across composes (rpm-ostree's passwd.rs rules): preserve-passwd keeps the ids
// of the previous commit (the `setup` package's /etc/passwd no longer replaces them);
// check-passwd/check-groups (previous by default, none, data, file) refuse a changed uid/gid and a
// removed user whose files remain, tell unused removals and new entries, and honour
// ignore-removed-users/-groups. The committed files are read back with the real ostree.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { executeCompose, planCompose } from '../../src/compose/compose.ts';
import type { ComposeEvent } from '../../src/compose/events.ts';
import { loadTreefile } from '../../src/compose/treefile.ts';
import { Repo } from '../../src/repo/repo.ts';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo, type FixturePackage } from '../helpers/rpmbuild.ts';
import { staticResolver } from './static-resolver.ts';

const host = createNodeHost();

/** `setup` of version `v` with users name → id (group of the same name and id). */
function setup(v: string, users: Record<string, number>): FixturePackage {
  const all: Record<string, number> = { root: 0, bin: 1, ...users };
  const passwd = Object.entries(all).map(([n, id]) => `${n}:x:${id}:${id}:${n}:/home/${n}:/bin/sh\n`).join('');
  const group = Object.entries(all).map(([n, id]) => `${n}:x:${id}:\n`).join('');
  return { name: 'setup', version: v, release: '1', files: [{ path: '/etc/passwd', content: passwd }, { path: '/etc/group', content: group }] };
}

const APP: FixturePackage = {
  name: 'app',
  version: '1.0',
  release: '1',
  files: [{ path: '/usr/share/app/data', content: 'owned by alice\n', user: 'alice', group: 'alice' }],
};

describe.skipIf(missing('compose tree passwd rules', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO }))('compose tree: passwd and group', () => {
  const tmp = new TempDir('xylem-compose-passwd-');
  afterAll(() => tmp.cleanup());
  const v1 = buildRepo([setup('1', { alice: 1000, bob: 1001 }), APP], tmp.join('v1'));
  const v2 = buildRepo([setup('2', { alice: 2000, bob: 1001, carol: 1002 })], tmp.join('v2'));
  const v3 = buildRepo([setup('3', { alice: 1000 })], tmp.join('v3'));
  const v4 = buildRepo([setup('4', { bob: 1001 })], tmp.join('v4'));
  const repoPath = tmp.join('repo');
  const ost = (args: string[]) => execFileSync(OSTREE!, [`--repo=${repoPath}`, ...args], { encoding: 'utf8' });
  let n = 0;

  async function compose(ref: string, extra: string, dirs: Record<string, string>) {
    const path = tmp.join(`tf-${++n}.yaml`);
    writeFileSync(path, `ref: ${ref}\npackages: [setup, app]\nselinux: false\n${extra}`);
    const repo = await Repo.init(host, repoPath, { mode: 'archive' });
    const cache = await Repo.init(host, tmp.join('cache/pkgcache-repo'), { mode: 'bare-user' });
    const tf = await loadTreefile(host.fs, path);
    const resolution = await staticResolver(dirs).resolve(tf);
    const plan = await planCompose(repo, cache, tf, resolution, { sha256: () => repo.createSha256() });
    const events: ComposeEvent[] = [];
    const r = await executeCompose(repo, cache, tf, resolution, plan, { workdir: tmp.join(`work-${n}`), emit: (e) => events.push(e) });
    return { commit: r.commit!, messages: events.flatMap((e) => (e.type === 'message' ? [e.text] : [])) };
  }

  it('first compose: every entry is new', async () => {
    const r = await compose('pw/a', '', { v1 });
    expect(r.messages).toEqual(['New passwd entries: alice, bin, bob', 'New group entries: alice, bin, bob']);
    expect(ost(['cat', r.commit, '/usr/lib/passwd'])).toContain('alice:x:1000:1000:');
  });

  it('preserve-passwd (default): the previous ids win over the new setup package', async () => {
    const r = await compose('pw/a', '', { v1, v2 });
    expect(ost(['cat', r.commit, '/usr/lib/passwd'])).toBe('bin:x:1:1:bin:/home/bin:/bin/sh\nalice:x:1000:1000:alice:/home/alice:/bin/sh\nbob:x:1001:1001:bob:/home/bob:/bin/sh\n');
    expect(ost(['cat', r.commit, '/usr/etc/passwd'])).toBe('root:x:0:0:root:/home/root:/bin/sh\n');
    expect(r.messages).toEqual([]);
  });

  it('without preserve-passwd, a changed uid fails check-passwd (previous)', async () => {
    await expect(compose('pw/a', 'preserve-passwd: false\n', { v1, v2 })).rejects.toThrow('passwd UID changed: alice (1000 to 2000)');
    // check-passwd none lets it through; group ids are still checked against the previous commit.
    await expect(compose('pw/a', 'preserve-passwd: false\ncheck-passwd: {type: none}\n', { v1, v2 })).rejects.toThrow('group GID changed: alice (2000 to 1000)');
  });

  it('a removed user: unused is told, still owning files fails, ignore-removed-users lets it go', async () => {
    const r = await compose('pw/a', 'preserve-passwd: false\n', { v1, v3 });
    expect(r.messages).toEqual(['Unused user removed from new passwd file: bob', 'Unused group removed from new group file: bob']);
    await expect(compose('pw/a', 'preserve-passwd: false\n', { v1, v4 })).rejects.toThrow('User missing from new passwd file: alice');
    const b = await compose('pw/b', '', { v1 });
    expect(ost(['cat', b.commit, '/usr/lib/group'])).toContain('bob:x:1001:');
    const c = await compose('pw/b', 'preserve-passwd: false\nignore-removed-users: ["*"]\nignore-removed-groups: [bob]\n', { v1, v3 });
    expect(c.messages).toEqual(['Ignored user missing from new passwd file: bob', 'Ignored group missing from new group file: bob']);
  });

  it('check-passwd data and file', async () => {
    const data = 'preserve-passwd: false\ncheck-passwd: {type: data, entries: {alice: [1000, 1000], bin: 1}}\ncheck-groups: {type: data, entries: {alice: 1000}}\n';
    await expect(compose('pw/c', data, { v1, v2 })).rejects.toThrow('passwd UID changed: alice (1000 to 2000)');
    writeFileSync(tmp.join('passwd.ref'), 'root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n');
    writeFileSync(tmp.join('group.ref'), 'root:x:0:\nalice:x:1000:\nbob:x:1001:\n');
    // With preserve-passwd the files seed /etc , with shadow files to match.
    const r = await compose('pw/d', 'check-passwd: {type: file, filename: passwd.ref}\ncheck-groups: {type: file, filename: group.ref}\n', { v1, v2 });
    expect(ost(['cat', r.commit, '/usr/lib/passwd'])).toBe('alice:x:1000:1000::/home/alice:/bin/sh\nbob:x:1001:1001::/home/bob:/bin/sh\n');
    expect(ost(['cat', r.commit, '/usr/etc/shadow'])).toBe('root:*::0:99999:7:::\nalice:*::0:99999:7:::\nbob:*::0:99999:7:::\n');
    expect(ost(['ls', r.commit, '/usr/etc/shadow'])).toMatch(/^-00000 /);
    expect(ost(['cat', r.commit, '/usr/etc/gshadow'])).toBe('root:::\nalice:::\nbob:::\n');
    expect(r.messages).toEqual([]);
  });

  it('refuses mixing passwd from a file with groups from the commit, and bad check types', async () => {
    writeFileSync(tmp.join('mix.yaml'), 'ref: x\npackages: [setup]\ncheck-passwd: {type: file, filename: passwd.ref}\n');
    await expect(loadTreefile(host.fs, tmp.join('mix.yaml'))).rejects.toThrow('configured to migrate passwd data from JSON, and group data from commit');
    writeFileSync(tmp.join('bad.yaml'), 'ref: x\npackages: [setup]\ncheck-groups: {type: sometimes}\n');
    await expect(loadTreefile(host.fs, tmp.join('bad.yaml'))).rejects.toThrow("check-groups: unknown type 'sometimes'");
    writeFileSync(tmp.join('bad2.yaml'), 'ref: x\npackages: [setup]\ncheck-passwd: {type: data, entries: {alice: [1, 2, 3]}}\n');
    await expect(loadTreefile(host.fs, tmp.join('bad2.yaml'))).rejects.toThrow('check-passwd.entries.alice');
  });
});
