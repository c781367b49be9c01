// Layering against the base's rpm-md snapshot (src/layer/snapshot.ts). The snapshot record is
// written by the real `ostree commit --add-metadata` (rpm-ostree's aa{sv} of id + timestamp, the
// number big-endian as rpm-ostree stores it) and read back by readBaseSnapshot, which must agree
// with what `ostree show` prints; the e2e test in layer-cli.test.ts reads a composed base's; the repos are real createrepo_c repos whose metadata moved on
// after the snapshot (packages added later: their .rpm mtimes and BUILDTIMEs are past it), and
// resolveLayer with the snapshot picks what the repo offered at that time, while without it the
// newer builds win.

import { execFileSync } from 'node:child_process';
import { readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { readBaseSnapshot, resolveLayer, inSnapshot, readSnapshotPolicy, writeSnapshotPolicy, type BasePackage } from '../../src/layer/index.ts';
import { KeyFile } from '../../src/format/keyfile.ts';
import { Repo } from '../../src/repo/repo.ts';
import { openRpm, readDependencies } from '../../src/rpm/index.ts';
import { parseRepoFile } from '../../src/rpmmd/repo-file.ts';
import { formatNevra } from '../../src/rpm/types.ts';
import { OSTREE, TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRpm, type FixturePackage } from '../helpers/rpmbuild.ts';

const host = createNodeHost();

const LIBA = (v: string): FixturePackage => ({ name: 'liba', version: v, files: [{ path: '/usr/lib/liba.so', content: `liba ${v}\n` }] });
const APP1: FixturePackage = { name: 'app', version: '1.0', requires: ['liba'], files: [{ path: '/usr/bin/app', content: 'app 1\n' }] };
const APP2: FixturePackage = { name: 'app', version: '2.0', requires: ['liba >= 2.0'], files: [{ path: '/usr/bin/app', content: 'app 2\n' }] };
const BASEFS: FixturePackage = { name: 'basefs', version: '1.0', files: [{ path: '/usr/share/basefs', content: 'b\n' }] };
const NEWONLY: FixturePackage = { name: 'newonly', version: '1.0', files: [{ path: '/usr/share/newonly', content: 'n\n' }] };

/** repomd's highest <timestamp>, as rpm-ostree records it. */
function repomdTime(dir: string): number {
  const xml = readFileSync(join(dir, 'repodata/repomd.xml'), 'utf8');
  return Math.max(...[...xml.matchAll(/<timestamp>(\d+)<\/timestamp>/g)].map((m) => Number(m[1])));
}

async function basePackage(rpm: string): Promise<BasePackage> {
  const p = await openRpm(new Uint8Array(readFileSync(rpm)), rpm);
  return { nevra: p.nevra, deps: readDependencies(p.header), files: p.files().map((f) => ({ path: f.path, mode: f.mode })), blob: new Uint8Array() };
}

describe('rpm-md snapshot policy in the origin', () => {
  it('is kept in [xylem] rpmmd-snapshot and cleared without leaving an empty group', () => {
    const kf = KeyFile.parse('[origin]\nrefspec=os:os/stable\n');
    expect(readSnapshotPolicy(kf)).toBe(false);
    writeSnapshotPolicy(kf, true);
    expect(kf.toString()).toContain('[xylem]\nrpmmd-snapshot=base\n');
    expect(readSnapshotPolicy(KeyFile.parse(kf.toString()))).toBe(true);
    writeSnapshotPolicy(kf, false);
    expect(kf.toString()).toBe('[origin]\nrefspec=os:os/stable\n');
    expect(readSnapshotPolicy(null)).toBe(false);
  });

  it('judges a package by both its file time and its build time', () => {
    expect(inSnapshot({ file: 100, build: 90 }, 100)).toBe(true);
    expect(inSnapshot({ file: 101, build: 90 }, 100)).toBe(false);
    expect(inSnapshot({ file: 50, build: 101 }, 100)).toBe(false);
  });
});

describe.skipIf(missing('base rpm-md snapshot', { ostree: OSTREE !== null, rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO }))('layering against the base rpm-md snapshot', () => {
  it('reads rpmostree.rpmmd-repos as the real ostree encodes it, and names the commit when it is missing or malformed', async () => {
    const tmp = new TempDir('xylem-snapshot-');
    try {
      const repoPath = tmp.join('repo');
      execFileSync(OSTREE!, ['init', `--repo=${repoPath}`, '--mode=archive']);
      const tree = tmp.join('tree');
      execFileSync('mkdir', ['-p', join(tree, 'usr')]);
      const commit = (meta: string[]) =>
        execFileSync(OSTREE!, ['commit', `--repo=${repoPath}`, '--branch=b', `--tree=dir=${tree}`, ...meta.map((m) => `--add-metadata=${m}`)], { encoding: 'utf8' }).trim();
      // rpm-ostree stores metadata numbers big-endian (`ostree commit --add-metadata` stores them
      // as given, little-endian here): give the byte-swapped value, and let `ostree show` (which
      // byte-swaps metadata to print it) say what the value is.
      const be = (n: number) => {
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(n));
        return b.readBigUInt64LE();
      };
      const good = commit([`rpmostree.rpmmd-repos=[{'id': <'fedora'>, 'timestamp': <uint64 ${be(1700000000)}>}, {'id': <'updates'>, 'timestamp': <uint64 ${be(1700000500)}>}]`]);
      expect(execFileSync(OSTREE!, ['show', `--repo=${repoPath}`, good, '--print-metadata-key=rpmostree.rpmmd-repos'], { encoding: 'utf8' })).toContain(
        "[{'id': <'fedora'>, 'timestamp': <uint64 1700000000>}, {'id': <'updates'>, 'timestamp': <uint64 1700000500>}]",
      );
      const none = commit([]);
      const wrongType = commit([`rpmostree.rpmmd-repos=['fedora']`]);
      const noTime = commit([`rpmostree.rpmmd-repos=[{'id': <'fedora'>}]`]);
      const repo = await Repo.open(host, repoPath);
      expect([...(await readBaseSnapshot(repo, good))]).toEqual([
        ['fedora', 1700000000],
        ['updates', 1700000500],
      ]);
      await expect(readBaseSnapshot(repo, none)).rejects.toThrow(new RegExp(`Commit ${none}: no rpm-md snapshot recorded \\(rpmostree\\.rpmmd-repos\\)`));
      await expect(readBaseSnapshot(repo, wrongType)).rejects.toThrow(new RegExp(`Commit ${wrongType}: rpmostree\\.rpmmd-repos has type as, not aa\\{sv\\}`));
      await expect(readBaseSnapshot(repo, noTime)).rejects.toThrow(/entry 'fedora' has no uint64 timestamp/);
    } finally {
      tmp.cleanup();
    }
  }, 60_000);

  it('resolves against what the repo offered at the snapshot, and explains what it left out', async () => {
    const tmp = new TempDir('xylem-snapshot-');
    try {
      const dir = tmp.join('fx');
      const baseRpm = buildRpm(BASEFS, dir);
      buildRpm(LIBA('1.0'), dir);
      buildRpm(APP1, dir);
      execFileSync('createrepo_c', ['--quiet', dir]);
      const snapshotAt = repomdTime(dir);
      // The repo moves on: a newer app built for a newer liba, that liba, and a package that is new.
      const later = snapshotAt + 3600;
      for (const p of [APP2, LIBA('2.0'), NEWONLY]) {
        const f = buildRpm(p, dir);
        utimesSync(f, later, later);
      }
      execFileSync('createrepo_c', ['--quiet', '--update', dir]);
      expect(repomdTime(dir)).toBeGreaterThanOrEqual(snapshotAt);

      const repos = parseRepoFile(`[fx]\nbaseurl=file://${dir}/\ngpgcheck=0\nmetadata_expire=0\n`, { fileName: 'fx.repo' });
      const base = [await basePackage(baseRpm)];
      const input = { base, packages: ['app'], local: [], removes: [], replaceLocal: [], repos, cacheDir: tmp.join('cache'), arch: 'x86_64' };

      // Today's repos: the newest app and the newer liba it needs.
      const now = await resolveLayer(host, input);
      expect(now.add.map((p) => formatNevra(p.nevra)).sort()).toEqual(['app-2.0-1.noarch', 'liba-2.0-1.noarch']);

      // Against the base's snapshot: app 1.0, the build that existed for this base.
      const snapshot = new Map([['fx', snapshotAt]]);
      const r = await resolveLayer(host, { ...input, snapshot });
      expect(r.add.map((p) => formatNevra(p.nevra)).sort()).toEqual(['app-1.0-1.noarch', 'liba-1.0-1.noarch']);
      expect([...r.afterSnapshot]).toEqual([['fx', 3]]);
      expect(r.notInSnapshot).toEqual([]);
      // The layer records the snapshot's time, not the repo's newer one.
      expect(r.repos).toEqual([{ id: 'fx', timestamp: BigInt(snapshotAt) }]);

      // A package that only exists after the snapshot: refused, and the error says why.
      await expect(resolveLayer(host, { ...input, packages: ['newonly'], snapshot })).rejects.toThrow(
        /nothing provides requested newonly\nLeft out because they are newer than the base's rpm-md snapshot \(--base-snapshot\): newonly-1\.0-1\.noarch/,
      );
      // A repo the base does not record is used as it is, and named.
      const other = await resolveLayer(host, { ...input, packages: ['newonly'], snapshot: new Map([['elsewhere', snapshotAt]]) });
      expect(other.add.map((p) => formatNevra(p.nevra))).toEqual(['newonly-1.0-1.noarch']);
      expect(other.notInSnapshot).toEqual(['fx']);
    } finally {
      tmp.cleanup();
    }
  }, 120_000);
});
