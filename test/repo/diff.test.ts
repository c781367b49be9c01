// diff vs the real ostree: commit pairs with added, removed and modified files, folders turned
// into files and back, symlink changes, mode and metadata-only changes; commit ↔ directory with
// and without --owner-uid/--owner-gid. Outputs must be identical (for directories, whose
// enumeration order is the filesystem's, the same set of lines).

import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ostree, run, sh, xylem } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { diffTrees, formatDiff } from '../../src/repo/diff.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { loadCoreSync } from '../../core-wasm/index.ts';

let tmp: TempDir;
let repo: string;
let t1: string;
let t2: string;

beforeAll(() => {
  buildCli();
  tmp = new TempDir('xylem-diff-');
  repo = tmp.join('repo');
  t1 = tmp.join('t1');
  t2 = tmp.join('t2');
  run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
  for (const d of ['sub/deep', 'gone/inner', 'same', 'meta', 'todir']) mkdirSync(join(t1, d), { recursive: true });
  writeFileSync(join(t1, 'a'), 'a\n');
  writeFileSync(join(t1, 'sub/b'), 'b\n');
  writeFileSync(join(t1, 'sub/deep/c'), 'c\n');
  writeFileSync(join(t1, 'gone/x'), 'x\n');
  writeFileSync(join(t1, 'gone/inner/y'), 'y\n');
  writeFileSync(join(t1, 'same/s'), 's\n');
  writeFileSync(join(t1, 'tofile'), 'later a dir\n');
  writeFileSync(join(t1, 'mode'), 'm\n');
  writeFileSync(join(t1, 'todir/z'), 'z\n');
  symlinkSync('a', join(t1, 'link'));
  run('ostree', [`--repo=${repo}`, 'commit', '-b', 'one', '--no-xattrs', `--tree=dir=${t1}`]);
  sh('cp', ['-a', t1, t2]);
  writeFileSync(join(t2, 'a'), 'A\n');
  writeFileSync(join(t2, 'sub/deep/c2'), 'new\n');
  rmSync(join(t2, 'gone'), { recursive: true });
  rmSync(join(t2, 'tofile'));
  mkdirSync(join(t2, 'tofile/nested'), { recursive: true });
  writeFileSync(join(t2, 'tofile/nested/n'), 'n\n');
  rmSync(join(t2, 'todir'), { recursive: true });
  writeFileSync(join(t2, 'todir'), 'now a file\n');
  chmodSync(join(t2, 'mode'), 0o755);
  chmodSync(join(t2, 'meta'), 0o700);
  rmSync(join(t2, 'link'));
  symlinkSync('sub/b', join(t2, 'link'));
  mkdirSync(join(t2, 'added/more'), { recursive: true });
  writeFileSync(join(t2, 'added/more/f'), 'f\n');
  run('ostree', [`--repo=${repo}`, 'commit', '-b', 'two', '--no-xattrs', `--tree=dir=${t2}`]);
  run('ostree', [`--repo=${repo}`, 'commit', '-b', 'two', '--no-xattrs', `--tree=dir=${t2}`, '-s', 'again']);
}, 120_000);

afterAll(() => {
  tmp?.cleanup();
  disposeCli();
});

function both(args: string[], cwd?: string): [string, string] {
  const o = ostree([`--repo=${repo}`, 'diff', ...args], cwd);
  const x = xylem([`--repo=${repo}`, 'diff', ...args], cwd);
  expect(x.status).toBe(o.status);
  return [o.stdout, x.stdout];
}

const sorted = (s: string): string[] => s.split('\n').sort();

describeInterop('diff vs ostree', () => {
  vi.setConfig({ testTimeout: 60_000 });

  it('commit ↔ commit, both directions, and REV alone (REV^ → REV)', () => {
    for (const args of [['one', 'two'], ['two', 'one'], ['two^', 'two'], ['one', 'one'], ['two']]) {
      const [o, x] = both(args);
      expect(x).toBe(o);
    }
    const [o] = both(['one', 'two']);
    expect(o).toContain('M    /a\n');
    expect(o).toContain('D    /gone\n');
    expect(o).toContain('A    /added/more/f\n');
  });

  it('--stats, alone and with --fs-diff', () => {
    for (const args of [['--stats', 'one', 'two'], ['--stats', '--fs-diff', 'one', 'two']]) {
      const [o, x] = both(args);
      expect(x).toBe(o);
    }
  });

  it('commit ↔ directory, with ownership overrides', () => {
    for (const args of [['one', './'], ['./', 'one'], ['two', './'], ['--owner-uid=4242', 'one', './'], ['--owner-gid=4242', 'two', './'], ['--owner-uid=4242', './', 'two']]) {
      const [o, x] = both(args, t2);
      expect(sorted(x)).toEqual(sorted(o));
    }
    const [o, x] = both([`${t1}`, 'one']);
    expect(sorted(x)).toEqual(sorted(o));
  });

  it('library: the WASM table diff and the JS merge agree', async () => {
    const r = await Repo.open(createNodeHost(), repo);
    const a = { kind: 'commit' as const, checksum: (await resolveRev(r, 'one'))! };
    const b = { kind: 'commit' as const, checksum: (await resolveRev(r, 'two'))! };
    const withWasm = formatDiff(await diffTrees(r, a, b, { core: loadCoreSync() }), a, b);
    const withJs = formatDiff(await diffTrees(r, a, b), a, b);
    expect(withJs).toBe(withWasm);
    expect(withWasm).toBe(run('ostree', [`--repo=${repo}`, 'diff', 'one', 'two']) + '\n');
  });
});
