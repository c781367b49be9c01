// Memory that does not grow with the repository: the same xylem command on an archive repo of N
// small files and on one of 4N (5,000 and 20,000 files: ~5,100 and ~20,200 objects) must peak
// within 20 MiB of each other and under 100 MiB (a bare Node process is ~40-45 MiB), as GNU
// time measures it. Covers fsck, checkout (archive, user mode), pull-local into bare-user and
// prune --refs-only, commit (archive and bare-user) and static-delta generation (from scratch, in
// parts of 1 MB so both sizes fill whole parts); every run's result is checked against the real
// ostree (object counts, the pulled commit, the checked-out file count, the commit checksum, a
// delta ostree applies). Before the compact object sets
// (src/util/object-set.ts) and the bounded pull engine, pull-local of 4N failed (EMFILE) or
// peaked at 317 MiB, and fsck / prune grew by ~17 MiB per 15,000 objects.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ostree, run, sh } from '../helpers/interop.ts';
import { requireInTest } from '../helpers/require-tool.ts';
import { HAVE_GNU_TIME, makeManyFileTree, okRun, runXylem, type Measured } from './helpers.ts';

const N = 5000;
const SIZES = [N, 4 * N] as const;
/** Growth allowed from N to 4N objects, and the ceiling, in MiB. */
const MAX_GROWTH = 20;
const MAX_RSS = 100;
const TS = '--timestamp=2024-01-01T00:00:00Z';

const count = (dir: string, type: 'f' | 'd' = 'f'): number => Number(sh('bash', ['-c', `find "$0" -type ${type} | wc -l`, dir]).trim());

describeInterop('peak memory does not grow with the repository (N = 5,000 vs 4N files)', () => {
  vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });
  let tmp: TempDir;
  let cli: string;
  const repos = new Map<number, { repo: string; commit: string; tree: string }>();
  const figures: string[] = [];

  beforeAll(() => {
    cli = buildCli();
    tmp = new TempDir('xylem-mem-');
    for (const n of SIZES) {
      const tree = makeManyFileTree(tmp.join(`tree-${n}`), n, 7);
      const repo = tmp.join(`repo-${n}`);
      run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      const commit = run('ostree', [`--repo=${repo}`, 'commit', '-b', 'main', TS, `--tree=dir=${tree}`]);
      repos.set(n, { repo, commit, tree }); // the tree stays for the commit rows
    }
  });
  afterAll(() => {
    if (figures.length) console.log(`memory-scaling (peak RSS MiB, seconds):\n${figures.join('\n')}`);
    tmp?.cleanup();
    disposeCli();
  });

  /** Runs `op` for N and 4N; checks the results with `check`, then the memory bounds. */
  function scaling(name: string, op: (n: number, repo: string, commit: string, tree: string) => Measured): void {
    it(name, ({ skip }) => {
      requireInTest(skip, `${name} memory`, { '/usr/bin/time': HAVE_GNU_TIME });
      const [small, big] = SIZES.map((n) => {
        const { repo, commit, tree } = repos.get(n)!;
        return op(n, repo, commit, tree);
      });
      figures.push(`  ${name}: ${SIZES[0]} files ${small!.rssMiB.toFixed(1)} MiB ${small!.seconds} s; ${SIZES[1]} files ${big!.rssMiB.toFixed(1)} MiB ${big!.seconds} s`);
      expect(big!.rssMiB, `${name}: peak RSS with ${SIZES[1]} files`).toBeLessThan(MAX_RSS);
      expect(big!.rssMiB - small!.rssMiB, `${name}: growth from ${SIZES[0]} to ${SIZES[1]} files`).toBeLessThanOrEqual(MAX_GROWTH);
    });
  }

  describe('each command', () => {
    scaling('fsck', (n, repo) => {
      const r = okRun(runXylem(cli, [`--repo=${repo}`, 'fsck']), `xylem fsck (${n})`);
      const last = (s: string) => s.split('\n').filter((l) => l.startsWith('fsck objects')).pop();
      expect(last(r.stdout)).toBe(last(run('ostree', [`--repo=${repo}`, 'fsck'])));
      return r;
    });

    scaling('checkout -U --disable-cache', (n, repo) => {
      const co = tmp.join(`co-${n}`);
      const r = okRun(runXylem(cli, [`--repo=${repo}`, 'checkout', '-U', '--disable-cache', 'main', co]), `xylem checkout (${n})`);
      expect(count(co)).toBe(n);
      expect(count(co, 'd')).toBe(n / 100 + 1);
      sh('rm', ['-rf', co]);
      return r;
    });

    scaling('pull-local archive → bare-user', (n, repo, commit) => {
      const dst = tmp.join(`pulled-${n}`);
      run('ostree', [`--repo=${dst}`, 'init', '--mode=bare-user']);
      const r = okRun(runXylem(cli, [`--repo=${dst}`, 'pull-local', repo, 'main']), `xylem pull-local (${n})`);
      expect(run('ostree', [`--repo=${dst}`, 'rev-parse', 'main'])).toBe(commit);
      expect(count(`${dst}/objects`)).toBe(count(`${repo}/objects`));
      sh('rm', ['-rf', dst]);
      return r;
    });

    for (const mode of ['archive', 'bare-user'] as const) {
      scaling(`commit (${mode})`, (n, _repo, commit, tree) => {
        const dst = tmp.join(`commit-${mode}-${n}`);
        run('ostree', [`--repo=${dst}`, 'init', `--mode=${mode}`]);
        const r = okRun(runXylem(cli, [`--repo=${dst}`, 'commit', '-b', 'main', TS, `--tree=dir=${tree}`]), `xylem commit ${mode} (${n})`);
        // the same commit ostree made of the same tree, and a repo ostree finds sound
        expect(r.stdout.trim()).toBe(commit);
        expect(run('ostree', [`--repo=${dst}`, 'rev-parse', 'main'])).toBe(commit);
        expect(ostree([`--repo=${dst}`, 'fsck']).status).toBe(0);
        sh('rm', ['-rf', dst]);
        return r;
      });
    }

    scaling('static-delta generate --empty (1 MB parts)', (n, repo, commit) => {
      const out = tmp.join(`delta-${n}`);
      sh('mkdir', ['-p', out]);
      const r = okRun(
        runXylem(cli, [`--repo=${repo}`, 'static-delta', 'generate', '--empty', `--to=${commit}`, '--max-chunk-size=1', `--filename=${out}/superblock`]),
        `xylem static-delta generate (${n})`,
      );
      // the real ostree applies it into an empty repo: every object arrives, and fsck is clean
      const dst = tmp.join(`delta-dst-${n}`);
      run('ostree', [`--repo=${dst}`, 'init', '--mode=bare-user']);
      run('ostree', [`--repo=${dst}`, 'static-delta', 'apply-offline', `${out}/superblock`]);
      run('ostree', [`--repo=${dst}`, 'refs', '--create=main', commit]);
      expect(ostree([`--repo=${dst}`, 'fsck']).status).toBe(0);
      expect(count(`${dst}/objects`)).toBe(count(`${repo}/objects`));
      expect(Number(sh('bash', ['-c', 'ls "$0" | grep -c "^[0-9]*$"', out]).trim())).toBeGreaterThan(1);
      sh('rm', ['-rf', dst, out]);
      return r;
    });

    scaling('prune --refs-only', (n, repo) => {
      const copy = tmp.join(`prune-${n}`);
      sh('cp', ['-al', repo, copy]); // hard links: prune unlinks, never writes an object in place
      // an unreachable commit of one extra file, which both must find
      const extra = tmp.join(`extra-${n}`);
      sh('mkdir', ['-p', extra]);
      sh('bash', ['-c', 'echo unreachable > "$0/file"', extra]);
      run('ostree', [`--repo=${copy}`, 'commit', '--orphan', TS, `--tree=dir=${extra}`]);
      const want = ostree([`--repo=${copy}`, 'prune', '--refs-only', '--no-prune']);
      expect(want.status).toBe(0);
      const r = okRun(runXylem(cli, [`--repo=${copy}`, 'prune', '--refs-only']), `xylem prune (${n})`);
      const total = (s: string) => /Total objects: (\d+)/.exec(s)?.[1];
      expect(total(r.stdout)).toBe(total(want.stdout));
      const wouldDelete = /Would delete: (\d+) objects/.exec(want.stdout)?.[1];
      expect(Number(wouldDelete)).toBeGreaterThanOrEqual(3); // commit, dirtree, file
      expect(/Deleted (\d+) objects/.exec(r.stdout)?.[1]).toBe(wouldDelete);
      expect(count(`${copy}/objects`)).toBe(count(`${repo}/objects`));
      sh('rm', ['-rf', copy]);
      return r;
    });
  });
});
