// Plumbing for the resource tests (test/perf/): a generated tree of many small files, running the
// xylem CLI under a file-descriptor limit (`ulimit -n`) and measuring a command's peak resident
// memory with GNU time (`/usr/bin/time -f %M`, the figure the bench reports too).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pseudoRandom } from '../helpers/pseudo-random.ts';

export const HAVE_GNU_TIME = existsSync('/usr/bin/time');

/**
 * Writes `files` regular files (16-600 bytes of seeded pseudo-random content each, so every one
 * is a distinct object) in folders of 100, plus a symlink per folder; returns `root`.
 */
export function makeManyFileTree(root: string, files: number, seed = 1): string {
  if (!Number.isInteger(files) || files < 1) throw new RangeError(`makeManyFileTree: invalid count ${files}`);
  const data = pseudoRandom(seed, files * 4 + 16);
  const perDir = 100;
  for (let i = 0; i < files; i++) {
    const dir = join(root, `d${String(Math.floor(i / perDir)).padStart(4, '0')}`);
    if (i % perDir === 0) {
      mkdirSync(dir, { recursive: true });
      symlinkSync(`f${String(i).padStart(6, '0')}`, join(dir, 'link'));
    }
    const len = 16 + ((data[i * 4]! | (data[i * 4 + 1]! << 8)) % 585);
    // index + seed up front: distinct even where the random bytes repeat
    const body = Buffer.concat([Buffer.from(`${seed}:${i}\n`), pseudoRandom(seed * 1_000_003 + i, len)]);
    writeFileSync(join(dir, `f${String(i).padStart(6, '0')}`), body, { mode: i % 10 === 0 ? 0o755 : 0o644 });
  }
  return root;
}

export interface Measured {
  status: number;
  stdout: string;
  stderr: string;
  /** Peak resident set size in MiB (GNU time's %M). */
  rssMiB: number;
  seconds: number;
}

/**
 * Runs `node CLI ARGS` in bash, optionally under `ulimit -n FDS` and always under GNU time; the
 * CLI runs with the launcher's V8 flags (tools/bin/xylem), as users and the bench run it.
 */
export function runXylem(cli: string, args: string[], opts: { fds?: number; cwd?: string } = {}): Measured {
  const out = join(opts.cwd ?? '/tmp', `.time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const limit = opts.fds !== undefined ? `ulimit -n ${opts.fds} && ` : '';
  const r = spawnSync(
    'bash',
    ['-c', `${limit}exec /usr/bin/time -f '%M %e' -o "$0" node --max-semi-space-size=2 --max-old-space-size=1024 --no-concurrent-recompilation "$@"`, out, cli, ...args],
    { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, cwd: opts.cwd },
  );
  if (r.error) throw r.error;
  let rssMiB = NaN;
  let seconds = NaN;
  if (existsSync(out)) {
    const last = readFileSync(out, 'utf8').trim().split('\n').pop() ?? '';
    const [kb, s] = last.split(' ');
    rssMiB = Number(kb) / 1024;
    seconds = Number(s);
    spawnSync('rm', ['-f', out]);
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, rssMiB, seconds };
}

/** Throws with the output unless the run exited 0; returns it. */
export function okRun(r: Measured, what: string): Measured {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stderr.slice(-4000)}\n${r.stdout.slice(-2000)}`);
  return r;
}
