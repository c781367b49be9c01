// Delta generation picks rollsum or bsdiff for a modified file exactly as ostree 2022.7 does:
// same bupsplit chunking (64-byte window), same chunk keys (ostree keys a chunk by the CRC of the
// file's first <chunk length> bytes, so a file changed in its first bytes never rollsums) and
// the same statistics. The oracle is `ostree static-delta generate`'s report on a copy of the
// same repo: its rollsum/bsdiff lines must equal xylem's.

import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, initRepo, ok, ostree, run, xylem } from '../helpers/interop.ts';
import { pseudoRandom } from '../helpers/pseudo-random.ts';


/** The planner's report lines (rollsum / bsdiff decisions and totals), in order. */
function decisions(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /^(rollsum|bsdiff|processing bsdiff|modified:)/.test(l));
}

describeInterop('static-delta generate: rollsum/bsdiff decisions equal ostree', () => {
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  let tmp: TempDir;

  beforeAll(() => {
    buildCli();
    tmp = new TempDir('xylem-rollsum-');
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  it('a file changed in the middle rollsums, one changed in its first byte goes to bsdiff', () => {
    const repo = initRepo('ostree', tmp.join('repo'), 'archive');
    const t1 = tmp.join('t1');
    const t2 = tmp.join('t2');
    mkdirSync(t1);
    mkdirSync(t2);
    const mid = pseudoRandom(7, 300_000);
    const head = pseudoRandom(8, 300_000);
    writeFileSync(join(t1, 'mid.bin'), mid);
    writeFileSync(join(t1, 'head.bin'), head);
    const mid2 = Buffer.from(mid);
    mid2.write('CHANGED', 150_000, 'latin1');
    const head2 = Buffer.from(head);
    head2[0] = head2[0]! ^ 0xff;
    writeFileSync(join(t2, 'mid.bin'), mid2);
    writeFileSync(join(t2, 'head.bin'), head2);
    const c1 = run('ostree', [`--repo=${repo}`, 'commit', '-b', 'm', `--tree=dir=${t1}`]);
    const c2 = run('ostree', [`--repo=${repo}`, 'commit', '-b', 'm', `--tree=dir=${t2}`]);
    const copy = tmp.join('repo-x');
    cpSync(repo, copy, { recursive: true });
    const o = ostree([`--repo=${repo}`, 'static-delta', 'generate', `--from=${c1}`, `--to=${c2}`]);
    ok(o, 'ostree static-delta generate');
    const x = xylem([`--repo=${copy}`, 'static-delta', 'generate', `--from=${c1}`, `--to=${c2}`]);
    ok(x, 'xylem static-delta generate');
    const want = decisions(o.stderr);
    // the fixture really exercises both outcomes
    expect(want.some((l) => /^rollsum for [0-9a-f]{64} -> [0-9a-f]{64}; crcs=\d+ bufs=\d+ total=\d+ matchsize=\d+$/.test(l))).toBe(true);
    expect(want).toContain('rollsum for 1/2 modified');
    expect(want).toContain('bsdiff=1 objects');
    expect(decisions(x.stderr)).toEqual(want);
  });
});
