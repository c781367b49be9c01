// prune vs the real ostree: twin copies of an ostree-made repo with two branches, old and new
// commits and an orphan commit are pruned with the same options by both tools; the output and the
// set of files left in the repo (objects, tombstones, config) must be identical.

import { readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, ostree, run, sh, xylem, type Tool } from '../helpers/interop.ts';
import { formatSize } from '../../src/util/format-size.ts';

let tmp: TempDir;
let source: string;

function files(repo: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (!relative(repo, p).startsWith('tmp/') && e.name !== '.lock') out.push(relative(repo, p));
    }
  };
  walk(repo);
  return out.sort();
}

beforeAll(() => {
  buildCli();
  tmp = new TempDir('xylem-prune-');
  source = tmp.join('src');
  const tree = tmp.join('tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  run('ostree', [`--repo=${source}`, 'init', '--mode=archive']);
  const commit = (branch: string | null, ts?: string): void => {
    const args = [`--repo=${source}`, 'commit', '-s', 'c', `--tree=dir=${tree}`];
    args.push(branch ? `--branch=${branch}` : '--orphan');
    if (ts) args.push(`--timestamp=${ts}`);
    run('ostree', args);
  };
  for (let day = 1; day <= 3; day++) {
    writeFileSync(join(tree, 'day'), `old ${day}\n`);
    commit('stable', `October ${day} 1985`);
    writeFileSync(join(tree, 'sub', 'dev'), `dev ${day}\n`);
    commit('dev', `October ${day} 1985`);
  }
  for (let i = 1; i <= 2; i++) {
    writeFileSync(join(tree, 'new'), `new ${i}\n`);
    commit('stable');
    commit('dev');
  }
  writeFileSync(join(tree, 'orphan'), 'orphan\n');
  commit(null);
}, 120_000);

afterAll(() => {
  tmp?.cleanup();
  disposeCli();
});

function compare(args: string[], prepare?: (repo: string) => void): { stdout: string; status: number; files: string[] } {
  const r = (['ostree', 'xylem'] as Tool[]).map((t) => {
    const repo = tmp.join(t);
    rmSync(repo, { recursive: true, force: true });
    sh('cp', ['-a', source, repo]);
    prepare?.(repo);
    const res = (t === 'ostree' ? ostree : xylem)([`--repo=${repo}`, 'prune', ...args]);
    const stderr = res.stderr.split('\n').filter((l) => l.startsWith('error:')).join('\n');
    return { status: res.status, stdout: res.stdout, stderr, files: files(repo), config: readFileSync(join(repo, 'config'), 'utf8') };
  });
  expect(r[1]).toEqual(r[0]);
  return r[1]!;
}

describeInterop('prune vs ostree', () => {
  vi.setConfig({ testTimeout: 120_000 });
  const cases: string[][] = [
    [],
    ['--no-prune'],
    ['--refs-only'],
    ['--refs-only', '--depth=0'],
    ['--refs-only', '--depth=1', '--no-prune'],
    ['--depth=0'],
    ['--commit-only', '--refs-only', '--depth=1'],
    ['--keep-younger-than=1 week ago'],
    ['--keep-younger-than=October 2 1985', '--commit-only'],
    ['--keep-younger-than=1 week ago', '--retain-branch-depth=stable=-1'],
    ['--only-branch=dev', '--depth=0'],
    ['--only-branch=dev', '--only-branch=stable', '--depth=1'],
    ['--only-branch=dev', '--depth=0', '--retain-branch-depth=stable=2'],
    ['--retain-branch-depth=stable=BACON'],
    ['--only-branch=BACON'],
    ['--static-deltas-only'],
  ];
  for (const args of cases) {
    it(`prune ${args.join(' ') || '(no options)'}`, () => {
      compare(args);
    });
  }

  it('counts deleted objects and freed bytes like ostree', () => {
    const r = compare(['--refs-only', '--depth=0']);
    expect(r.stdout).toMatch(/^Total objects: \d+\nDeleted [1-9]\d* objects, .* freed\n$/);
  });

  it('--delete-commit writes a tombstone and enables tombstone-commits', () => {
    const head = (repo: string): string => readFileSync(join(repo, 'refs/heads/dev'), 'utf8').trim();
    let target = '';
    const r = compare([], (repo) => {
      target = run('ostree', [`--repo=${repo}`, 'rev-parse', 'dev^']);
    });
    expect(r.status).toBe(0);
    const del = (['ostree', 'xylem'] as Tool[]).map((t) => {
      const repo = tmp.join(`del-${t}`);
      rmSync(repo, { recursive: true, force: true });
      sh('cp', ['-a', source, repo]);
      const res = (t === 'ostree' ? ostree : xylem)([`--repo=${repo}`, 'prune', `--delete-commit=${target}`]);
      const refErr = (t === 'ostree' ? ostree : xylem)([`--repo=${repo}`, 'prune', `--delete-commit=${head(repo)}`]);
      return { out: res.stdout, status: res.status, refErr: refErr.stderr.trim(), files: files(repo), config: readFileSync(join(repo, 'config'), 'utf8') };
    });
    expect(del[1]).toEqual(del[0]);
    expect(del[1]!.files.some((f) => f.endsWith(`${target.slice(2)}.tombstone-commit`))).toBe(true);
    expect(del[1]!.config).toContain('tombstone-commits=true');
  });

  it('removes static deltas as ostree: --static-deltas-only by target, and those to pruned commits', () => {
    const dev = run('ostree', [`--repo=${source}`, 'rev-parse', 'dev']);
    const devParent = run('ostree', [`--repo=${source}`, 'rev-parse', 'dev^']);
    const withDeltas = (repo: string): void => {
      run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', 'dev']); // dev^ → dev
      run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', '--empty', '--to=dev']);
      run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', '--from=dev^^', '--to=dev^']);
      run('ostree', [`--repo=${repo}`, 'static-delta', 'generate', '--to=stable']);
    };
    const deltas = (r: { files: string[] }): string[] => r.files.filter((f) => f.startsWith('deltas/') && f.endsWith('/superblock'));
    const only = compare(['--static-deltas-only', `--delete-commit=${dev}`], withDeltas) ;
    expect(only.status).toBe(0);
    expect(deltas(only)).toHaveLength(2); // both deltas to dev are gone
    // dev^ is pruned by --depth=0: its delta goes; the ones to the kept heads stay
    const pruned = compare(['--refs-only', '--depth=0'], withDeltas) ;
    expect(deltas(pruned)).toHaveLength(3);
    expect(devParent).toMatch(/^[0-9a-f]{64}$/);
    expect(compare(['--static-deltas-only', '--keep-younger-than=October 20 2015']).status).toBe(1);
  });

  it('formats sizes as g_format_size', () => {
    expect(formatSize(0)).toBe('0 bytes');
    expect(formatSize(1)).toBe('1 byte');
    expect(formatSize(999)).toBe('999 bytes');
    expect(formatSize(1000)).toBe('1.0\u00a0kB');
    expect(formatSize(740_200)).toBe('740.2\u00a0kB');
    expect(formatSize(1_500_000_000)).toBe('1.5\u00a0GB');
  });
});
