// pull-local between repositories of different modes, both directions: xylem pulls from an
// ostree repo and ostree pulls from a xylem repo; the destination then passes fsck by the other
// tool, has the same refs and commit, and checks out to the same tree as the source.

import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, initRepo, ostreeFsck, run, type Mode, type Tool } from '../helpers/interop.ts';
import { buildTrickyTree, manifest, manifestLines } from '../helpers/tricky-tree.ts';

const PAIRS: Array<[Mode, Mode]> = [
  ['archive', 'bare-user'],
  ['bare-user', 'archive'],
  ['bare', 'archive'],
  ['archive', 'bare'],
  ['bare-user', 'bare-user-only'],
];

describeInterop('interop: pull-local across tools and modes', () => {
  vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });
  let tmp: TempDir;
  let tree: string;
  let n = 0;

  beforeAll(() => {
    buildCli();
    tmp = new TempDir();
    tree = buildTrickyTree(tmp.join('tree'));
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  const other = (t: Tool): Tool => (t === 'ostree' ? 'xylem' : 'ostree');

  for (const [srcMode, dstMode] of PAIRS) {
    for (const srcTool of ['ostree', 'xylem'] as Tool[]) {
      const dstTool = other(srcTool);
      it(`${srcTool} ${srcMode} → ${dstTool} ${dstMode}`, async () => {
        const id = n++;
        const src = initRepo(srcTool, tmp.join(`src-${id}`), srcMode);
        const dst = initRepo(dstTool, tmp.join(`dst-${id}`), dstMode);
        // bare-user-only cannot hold setuid files or foreign owners: give it canonical input.
        const extra = srcMode === 'bare-user-only' || dstMode === 'bare-user-only' ? ['--canonical-permissions', '--no-xattrs'] : [];
        const c1 = run(srcTool, [`--repo=${src}`, 'commit', '-b', 'main', '--timestamp=2021-01-01T00:00:00Z', '-s', 'one', ...extra, tree]);
        const c2 = run(srcTool, [`--repo=${src}`, 'commit', '-b', 'main', '--timestamp=2021-01-02T00:00:00Z', '-s', 'two', ...extra, tree]);
        run(srcTool, [`--repo=${src}`, 'commit', '-b', 'other/branch', '--timestamp=2021-01-03T00:00:00Z', ...extra, tree]);

        run(dstTool, [`--repo=${dst}`, 'pull-local', src, 'main', 'other/branch']);
        expect(run(dstTool, [`--repo=${dst}`, 'rev-parse', 'main'])).toBe(c2);
        // The other tool (and the source tool) must accept what was written.
        if (dstTool === 'xylem') ostreeFsck(dst);
        else run('xylem', [`--repo=${dst}`, 'fsck']);
        // Only the head commit is pulled by default (depth 0): the parent is absent.
        expect(run(dstTool, [`--repo=${dst}`, 'log', 'main'])).toContain('History beyond this commit not fetched');
        expect(run('ostree', [`--repo=${dst}`, 'refs']).split('\n').sort()).toEqual(['main', 'other/branch']);
        void c1;

        // Checkouts from source and destination (by the destination's tool) agree. As root, so no
        // -U: a -U checkout hardlinks bare-user objects, whose file modes lack the sticky bit.
        const flags = dstMode === 'bare-user-only' ? ['-U'] : [];
        const a = tmp.join(`co-src-${id}`);
        const b = tmp.join(`co-dst-${id}`);
        run('ostree', [`--repo=${src}`, 'checkout', ...flags, 'main', a]);
        run(dstTool, [`--repo=${dst}`, 'checkout', ...flags, 'main', b]);
        const opts = { hardlinks: false, ignoreXattrs: ['user.ostreemeta'] };
        expect(manifestLines(await manifest(b, opts))).toEqual(manifestLines(await manifest(a, opts)));
      });
    }
  }

  it('pull-local --depth=-1 brings the whole history, and a second pull is a no-op', () => {
    const src = initRepo('ostree', tmp.join('hist-src'), 'archive');
    const dst = initRepo('xylem', tmp.join('hist-dst'), 'bare-user');
    for (let i = 1; i <= 3; i++) run('ostree', [`--repo=${src}`, 'commit', '-b', 'main', `--timestamp=2021-01-0${i}T00:00:00Z`, '-s', `c${i}`, tree]);
    run('xylem', [`--repo=${dst}`, 'pull-local', '--depth=-1', src, 'main']);
    expect(run('xylem', [`--repo=${dst}`, 'log', 'main'])).toBe(run('ostree', [`--repo=${src}`, 'log', 'main']));
    ostreeFsck(dst);
    run('xylem', [`--repo=${dst}`, 'pull-local', '--depth=-1', src, 'main']);
    ostreeFsck(dst);
  });
});
