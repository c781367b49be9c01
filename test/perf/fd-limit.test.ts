// Bounded file descriptors: every xylem command that opens many files (commit, fsck, checkout,
// pull-local, static-delta generate) runs under `ulimit -n 256` on a tree of ~3,000 files and
// gives what the real ostree gives: the same commit checksum, the same fsck object count, the
// same checked-out tree, a pulled repo that ostree's fsck finds clean, and a delta that ostree
// applies to the same commit. Before the engine's descriptor pool (src/util/fd-pool.ts) and the
// pull engine's bounded task pool, pull-local opened every object at once and failed with EMFILE.

import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { TempDir, buildCli, describeInterop, disposeCli, ostreeFsck, run, sh } from '../helpers/interop.ts';
import { requireInTest } from '../helpers/require-tool.ts';
import { HAVE_GNU_TIME, makeManyFileTree, okRun, runXylem } from './helpers.ts';

const FILES = 3000;
const FDS = 256;
const TS = '--timestamp=2024-01-01T00:00:00Z';

/** A checkout as a sorted listing (path, type, mode, size, link target) plus content digests. */
function listing(dir: string): string {
  return sh('bash', ['-c', 'cd "$0" && find . -printf "%p %y %m %s %l\\n" | sort && find . -type f -print0 | sort -z | xargs -0 -r md5sum', dir]);
}

describeInterop('xylem under ulimit -n 256 (3,000 files)', () => {
  vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });
  let tmp: TempDir;
  let cli: string;
  let tree: string;
  let oRepo: string;
  let commitA: string;

  beforeAll(() => {
    cli = buildCli();
    tmp = new TempDir('xylem-fd-');
    tree = makeManyFileTree(tmp.join('tree'), FILES, 3);
    oRepo = tmp.join('ostree-archive');
    run('ostree', [`--repo=${oRepo}`, 'init', '--mode=archive']);
    commitA = run('ostree', [`--repo=${oRepo}`, 'commit', '-b', 'main', TS, '-s', 'A', `--tree=dir=${tree}`]);
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  it('commit: the same checksum as ostree', ({ skip }) => {
    requireInTest(skip, 'fd-limited commit', { '/usr/bin/time': HAVE_GNU_TIME });
    const repo = tmp.join('x-commit');
    run('xylem', [`--repo=${repo}`, 'init', '--mode=archive']);
    const r = okRun(runXylem(cli, [`--repo=${repo}`, 'commit', '-b', 'main', TS, '-s', 'A', `--tree=dir=${tree}`], { fds: FDS }), 'xylem commit');
    expect(r.stdout.trim()).toBe(commitA);
    ostreeFsck(repo);
  });

  it('fsck: clean, the same object count as ostree', ({ skip }) => {
    requireInTest(skip, 'fd-limited fsck', { '/usr/bin/time': HAVE_GNU_TIME });
    const r = okRun(runXylem(cli, [`--repo=${oRepo}`, 'fsck'], { fds: FDS }), 'xylem fsck');
    const last = (s: string) => s.split('\n').filter((l) => l.startsWith('fsck objects')).pop();
    const want = last(run('ostree', [`--repo=${oRepo}`, 'fsck']));
    expect(want).toMatch(/^fsck objects \((\d+)\/\1\) 100%$/);
    expect(last(r.stdout)).toBe(want);
    expect(r.stdout).toContain('no errors found');
  });

  it('checkout (archive, user mode): the same tree as ostree', ({ skip }) => {
    requireInTest(skip, 'fd-limited checkout', { '/usr/bin/time': HAVE_GNU_TIME });
    okRun(runXylem(cli, [`--repo=${oRepo}`, 'checkout', '-U', '--disable-cache', 'main', tmp.join('co-x')], { fds: FDS }), 'xylem checkout');
    run('ostree', [`--repo=${oRepo}`, 'checkout', '-U', '--disable-cache', 'main', tmp.join('co-o')]);
    const x = listing(tmp.join('co-x'));
    expect(x.split('\n').filter((l) => / f /.test(l)).length).toBe(FILES);
    expect(x).toBe(listing(tmp.join('co-o')));
  });

  it('pull-local archive → bare-user: the same commit, clean for ostree fsck', ({ skip }) => {
    requireInTest(skip, 'fd-limited pull-local', { '/usr/bin/time': HAVE_GNU_TIME });
    const dst = tmp.join('x-pulled');
    run('ostree', [`--repo=${dst}`, 'init', '--mode=bare-user']);
    okRun(runXylem(cli, [`--repo=${dst}`, 'pull-local', oRepo, 'main'], { fds: FDS }), 'xylem pull-local');
    expect(run('ostree', [`--repo=${dst}`, 'rev-parse', 'main'])).toBe(commitA);
    const out = ostreeFsck(dst);
    expect(out).toMatch(new RegExp(`fsck objects \\((\\d+)/\\1\\) 100%`));
  });

  it('static-delta generate A→B: ostree applies it and gets B', ({ skip }) => {
    requireInTest(skip, 'fd-limited delta generation', { '/usr/bin/time': HAVE_GNU_TIME });
    // B: a tenth of the files changed, some removed, some added
    const tree2 = tmp.join('tree2');
    sh('cp', ['-a', tree, tree2]);
    for (let i = 0; i < FILES; i += 10) appendFileSync(`${tree2}/d${String(Math.floor(i / 100)).padStart(4, '0')}/f${String(i).padStart(6, '0')}`, `changed ${i}\n`);
    for (let i = 5; i < FILES; i += 50) rmSync(`${tree2}/d${String(Math.floor(i / 100)).padStart(4, '0')}/f${String(i).padStart(6, '0')}`);
    for (let i = 0; i < 100; i++) writeFileSync(`${tree2}/d0000/new${i}`, `new file ${i}\n`.repeat(i + 1));
    const repo = tmp.join('delta-src');
    sh('cp', ['-a', oRepo, repo]);
    const commitB = run('ostree', [`--repo=${repo}`, 'commit', '-b', 'main', TS, '-s', 'B', `--tree=dir=${tree2}`]);
    const dir = tmp.join('delta');
    sh('mkdir', [dir]);
    okRun(
      runXylem(cli, [`--repo=${repo}`, 'static-delta', 'generate', `--from=${commitA}`, `--to=${commitB}`, `--filename=${dir}/superblock`], { fds: FDS }),
      'xylem static-delta generate',
    );
    const client = tmp.join('delta-client');
    run('ostree', [`--repo=${client}`, 'init', '--mode=bare-user']);
    run('ostree', [`--repo=${client}`, 'pull-local', oRepo, commitA]);
    run('ostree', [`--repo=${client}`, 'static-delta', 'apply-offline', `${dir}/superblock`]);
    ostreeFsck(client);
    expect(run('ostree', [`--repo=${client}`, 'ls', '-R', '-C', commitB])).toBe(run('ostree', [`--repo=${repo}`, 'ls', '-R', '-C', commitB]));
  });
});
