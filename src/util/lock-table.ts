// One lock per lock file per process, counted like libostree's repo lock stack
// (ostree_repo_lock_push/pop): every user pushes a shared or exclusive hold and pops it when done;
// the file lock itself only changes when the state does (unlocked → shared/exclusive, shared →
// exclusive upgrade, back to shared when the last exclusive hold goes, unlocked at zero). Holds of
// one process never conflict with each other, whichever Repo or Sysroot object took them; holds of
// other processes conflict through the host's OFD locks (Host.locks), which the engine waits for
// by polling, up to a timeout.

import type { Host, HeldLock, LockHost, LockKind } from '../host.ts';
import { XylemError, errnoCode } from './errors.ts';
import { dirname, basename } from './path.ts';

/** Raised when a lock could not be taken in time: names the lock file and, if known, its holders. */
export class LockTimeoutError extends XylemError {
  readonly path: string;
  readonly kind: LockKind;
  readonly holders: string[];
  constructor(message: string, path: string, kind: LockKind, holders: string[]) {
    super(message, 'ELOCKTIMEOUT');
    this.name = 'LockTimeoutError';
    this.path = path;
    this.kind = kind;
    this.holders = holders;
  }
}

export interface PushLockOptions {
  /** How long to wait for other processes, in ms; null waits forever, 0 tries once. */
  timeoutMs: number | null;
  /** What is being locked, for messages ("Locking repo exclusive failed: PATH is held by …"). */
  what: string;
  /** Where the timeout comes from, for the message (e.g. "core.lock-timeout-secs"). */
  timeoutSource?: string;
  /** Mode of a newly created lock file. */
  mode?: number;
  /** See TryLockOptions.relockIfUnlinked. */
  relockIfUnlinked?: boolean;
  /** Remove the file when the last exclusive hold is popped (glnx_release_lock_file). */
  unlinkOnRelease?: boolean;
  /** Proceed without a file lock when the file cannot be opened for writing (a read-only repo). */
  skipIfUnwritable?: boolean;
  /** Called once when the lock is busy and the push starts waiting. */
  onWait?: () => void;
}

interface Entry {
  path: string;
  shared: number;
  exclusive: number;
  held: HeldLock | null;
  /** No file lock is held on purpose (unwritable, or no lock helper): the counters still count. */
  skipped: boolean;
  /** Serializes push/pop on this entry. */
  queue: Promise<unknown>;
  unlinkOnRelease: boolean;
}

const tables = new WeakMap<LockHost, Map<string, Entry>>();
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 100;

function state(e: Entry): LockKind | null {
  return e.exclusive > 0 ? 'exclusive' : e.shared > 0 ? 'shared' : null;
}

/** The table key: the lock file's folder by device and inode (two spellings of one path meet). */
async function entryFor(host: Host, locks: LockHost, path: string): Promise<Entry> {
  let table = tables.get(locks);
  if (!table) tables.set(locks, (table = new Map()));
  // Paths seen before map straight to their entry (a pop finds its push's entry without a stat).
  const known = table.get(`path:${path}`);
  if (known) return known;
  const dir = await host.fs.stat(dirname(path));
  const key = dir ? `ino:${dir.dev}:${dir.ino}/${basename(path)}` : `path:${path}`;
  let e = table.get(key);
  if (!e) {
    e = { path, shared: 0, exclusive: 0, held: null, skipped: false, queue: Promise.resolve(), unlinkOnRelease: false };
    table.set(key, e);
  }
  table.set(`path:${path}`, e);
  return e;
}

function serialize<T>(e: Entry, f: () => Promise<T>): Promise<T> {
  const run = e.queue.then(f, f);
  e.queue = run.catch(() => undefined);
  return run;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function holdersOf(locks: LockHost, path: string): Promise<string[]> {
  if (!locks.describeHolders) return [];
  try {
    return await locks.describeHolders(path);
  } catch {
    return [];
  }
}

/** Takes (or upgrades to) `kind` on e's file, polling until opts.timeoutMs. */
async function acquire(host: Host, locks: LockHost, e: Entry, kind: LockKind, opts: PushLockOptions): Promise<void> {
  const now = () => host.now?.() ?? Date.now();
  const deadline = opts.timeoutMs === null ? Infinity : now() + Math.max(0, opts.timeoutMs);
  let delay = POLL_MIN_MS;
  let waited = false;
  for (;;) {
    if (e.held) {
      if (await e.held.change(kind)) return;
    } else {
      let got: HeldLock | null;
      try {
        got = await locks.tryLock(e.path, kind, {
          ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
          ...(opts.relockIfUnlinked ? { relockIfUnlinked: true } : {}),
        });
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOSYS' || (opts.skipIfUnwritable && (code === 'EACCES' || code === 'EROFS' || code === 'EPERM'))) {
          e.skipped = true;
          return;
        }
        throw new XylemError(`Opening lock file ${e.path} failed: ${(err as Error).message}`, code);
      }
      if (got) {
        e.held = got;
        return;
      }
    }
    const left = deadline - now();
    if (left <= 0) {
      const holders = await holdersOf(locks, e.path);
      const by = holders.length ? `held by ${holders.join(', ')}` : 'held by another process';
      const within =
        opts.timeoutMs === 0 ? '' : `; waited ${Math.round((opts.timeoutMs ?? 0) / 1000)} s${opts.timeoutSource ? ` (${opts.timeoutSource})` : ''}`;
      throw new LockTimeoutError(`Locking ${opts.what} ${kind} failed: ${e.path} is ${by}${within}`, e.path, kind, holders);
    }
    if (!waited) {
      waited = true;
      opts.onWait?.();
    }
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, POLL_MAX_MS);
  }
}

/**
 * Pushes a hold of `kind` on the lock file `path` (ostree_repo_lock_push). Without Host.locks it
 * does nothing. Pair each push with popLock of the same kind. Resolves true when this push took
 * the lock from unlocked (false when it nested in a hold this process already had).
 */
export async function pushLock(host: Host, path: string, kind: LockKind, opts: PushLockOptions): Promise<boolean> {
  if (kind !== 'shared' && kind !== 'exclusive') throw new TypeError(`pushLock: invalid lock kind ${String(kind)}`);
  if (typeof path !== 'string' || path === '') throw new TypeError('pushLock: a lock file path is required');
  const locks = host.locks;
  if (!locks) return true;
  const e = await entryFor(host, locks, path);
  return serialize(e, async () => {
    const cur = state(e);
    if (cur === null) {
      e.skipped = false;
      e.unlinkOnRelease = opts.unlinkOnRelease === true;
    }
    if (!e.skipped && cur !== 'exclusive' && cur !== kind) await acquire(host, locks, e, kind, opts);
    if (kind === 'exclusive') e.exclusive++;
    else e.shared++;
    return cur === null;
  });
}

/** Pops a hold pushed by pushLock (ostree_repo_lock_pop): downgrades or unlocks when the state changes. */
export async function popLock(host: Host, path: string, kind: LockKind): Promise<void> {
  const locks = host.locks;
  if (!locks) return;
  const e = await entryFor(host, locks, path);
  await serialize(e, async () => {
    if (kind === 'exclusive' ? e.exclusive === 0 : e.shared === 0)
      throw new XylemError(`Lock ${e.path}: ${kind} pop requested, but none has been taken`);
    if (kind === 'exclusive') e.exclusive--;
    else e.shared--;
    const next = state(e);
    if (next === null) {
      const held = e.held;
      e.held = null;
      if (held) await held.release(e.unlinkOnRelease ? { unlink: true } : {});
    } else if (next === 'shared' && kind === 'exclusive' && e.held) {
      if (!(await e.held.change('shared'))) throw new XylemError(`Setting lock ${e.path} to shared failed`);
    }
  });
}

/** Runs `f` holding `kind` on `path`; pops even when f throws. */
export async function withLock<T>(host: Host, path: string, kind: LockKind, opts: PushLockOptions, f: () => Promise<T>): Promise<T> {
  await pushLock(host, path, kind, opts);
  try {
    return await f();
  } finally {
    await popLock(host, path, kind);
  }
}

/** The current state of this process's holds on `path` (for tests and debugging). */
export async function lockState(host: Host, path: string): Promise<{ shared: number; exclusive: number; locked: boolean }> {
  const locks = host.locks;
  if (!locks) return { shared: 0, exclusive: 0, locked: false };
  const e = await entryFor(host, locks, path);
  return { shared: e.shared, exclusive: e.exclusive, locked: e.held !== null };
}
