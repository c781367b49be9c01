// Integrity under concurrency (the repo lock, src/repo/lock.ts): `prune --refs-only --depth=0`
// runs in a loop while commits or pulls run in a loop on the same repo, with both tools on either
// side. Each new commit alternates between two trees, so it reuses objects that the previous
// commit left unreachable — exactly what an unlocked prune deletes under a writer's feet. After
// every round the real `ostree fsck` must be clean and the ref must name a complete commit.

import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OSTREE, TempDir, buildCli, describeInterop, disposeCli, ostree, ostreeFsck, run, type Tool } from '../helpers/interop.ts';

// More rounds: LOCK_RACE_ROUNDS=N. With core.locking=false the xylem-vs-xylem commit race breaks
// the repo within a few commits of this size (the ref ends up naming a deleted commit).
const ROUNDS = Number(process.env.LOCK_RACE_ROUNDS) > 0 ? Number(process.env.LOCK_RACE_ROUNDS) : 3;
const WRITES_PER_ROUND = 3;
const FILES_PER_TREE = 300;

let cli = '';

/** Runs a tool without blocking the event loop (the prune loop runs beside it). */
function runAsync(t: Tool, args: string[]): Promise<{ status: number; stderr: string }> {
  const [cmd, argv] = t === 'ostree' ? [OSTREE!, args] : [process.execPath, [cli, ...args]];
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.OSTREE_REPO;
    const c = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], env });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => resolve({ status: code ?? -1, stderr }));
  });
}

async function must(t: Tool, args: string[]): Promise<void> {
  const r = await runAsync(t, args);
  if (r.status !== 0) throw new Error(`${t} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
}

/** Two trees sharing nothing but their layout (many small objects: a long prune), plus one file unique to each commit. */
function makeTree(dir: string, variant: number, serial: number): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(`${dir}/sub`, { recursive: true });
  for (let i = 0; i < FILES_PER_TREE; i++) writeFileSync(`${dir}/${i % 2 ? 'sub/' : ''}f${i}`, `variant ${variant} file ${i}\n`);
  writeFileSync(`${dir}/unique`, `commit ${serial}\n`);
}

/** The ref names a commit whose every object is present (ostree walks it). */
function assertComplete(repo: string, ref: string): void {
  const csum = run('ostree', [`--repo=${repo}`, 'rev-parse', ref]);
  const r = ostree([`--repo=${repo}`, 'ls', '-R', csum]);
  expect(r.status, `ostree ls -R ${ref}: ${r.stderr}`).toBe(0);
  expect(r.stdout).toContain('/unique');
}

type Writer = 'commit' | 'pull';

async function race(pruner: Tool, writerTool: Tool, writer: Writer): Promise<void> {
  const tmp = new TempDir('xylem-lock-race-');
  try {
    const repo = tmp.join('repo');
    const src = tmp.join('src');
    run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
    if (writer === 'pull') {
      run('ostree', [`--repo=${src}`, 'init', '--mode=archive']);
      run('ostree', [`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'src', `file://${src}`]);
    }
    const ref = writer === 'pull' ? 'src:main' : 'main';
    let serial = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let stop = false;
      let prunes = 0;
      const pruneErrors: string[] = [];
      const loop = (async () => {
        while (!stop) {
          const r = await runAsync(pruner, [`--repo=${repo}`, 'prune', '--refs-only', '--depth=0']);
          prunes++;
          if (r.status !== 0) pruneErrors.push(r.stderr);
        }
      })();
      try {
        for (let i = 0; i < WRITES_PER_ROUND; i++, serial++) {
          const tree = tmp.join('tree');
          makeTree(tree, serial % 2, serial);
          if (writer === 'commit') {
            await must(writerTool, [`--repo=${repo}`, 'commit', '-b', 'main', `--tree=dir=${tree}`, '-s', `c${serial}`]);
          } else {
            // The source gets its commit undisturbed; the pull into `repo` races the prunes.
            run('ostree', [`--repo=${src}`, 'commit', '-b', 'main', `--tree=dir=${tree}`, '-s', `c${serial}`]);
            await must(writerTool, [`--repo=${repo}`, 'pull', 'src', 'main']);
          }
        }
      } finally {
        stop = true;
        await loop;
      }
      expect(pruneErrors, 'prune failed').toEqual([]);
      expect(prunes, 'the prune loop ran alongside the writes').toBeGreaterThan(1);
      ostreeFsck(repo);
      assertComplete(repo, ref);
    }
  } finally {
    tmp.cleanup();
  }
}

describeInterop('repo lock: prune racing commits and pulls stays fsck-clean', () => {
  beforeAll(() => {
    cli = buildCli();
  }, 240_000);
  afterAll(() => disposeCli());

  it('xylem prune vs ostree commit', () => race('xylem', 'ostree', 'commit'), 300_000);
  it('ostree prune vs xylem commit', () => race('ostree', 'xylem', 'commit'), 300_000);
  it('xylem prune vs xylem commit', () => race('xylem', 'xylem', 'commit'), 300_000);
  it('xylem prune vs ostree pull', () => race('xylem', 'ostree', 'pull'), 300_000);
  it('xylem prune vs xylem pull', () => race('xylem', 'xylem', 'pull'), 300_000);
  it('ostree prune vs xylem pull', () => race('ostree', 'xylem', 'pull'), 300_000);
});
