// One host transaction at a time, across processes. Two locks, taken in this order:
//  1. SYSROOT/run/xylem/transaction.json, created exclusively (O_EXCL) and naming the owner
//     (pid + its start time from /proc, so a reused pid is not mistaken for the owner). A record
//     whose owner is gone is stale: the next transaction claims it by renaming it away (only one
//     process can win that rename), cleans up after it, and proceeds.
//  2. SYSROOT/ostree/lock, libostree's sysroot lock, through the engine (src/sysroot/lock.ts over
//     Host.locks: an OFD lock, as libostree's), so real `ostree admin` commands wait for us and we
//     refuse to start while one of them runs; the Sysroot objects this process loads share it.
//     Hosts without locks (no python3 for the posix helper) take only lock 1.
// While it runs, the owner polls for a cancel request and maps SIGINT/SIGTERM to cancellation.

import { readFileSync } from 'node:fs';
import type { Host } from '../../src/host.ts';
import {
  CancelToken,
  cancelRequested,
  createTransactionState,
  parseTransactionState,
  readTransactionState,
  removeTransactionState,
  statePaths,
  updateTransactionState,
  writeTransactionResult,
  type TransactionOutcome,
  type TransactionState,
} from '../../src/updater/index.ts';
import { XylemError, errnoCode } from '../../src/util/errors.ts';
import { joinPath } from '../../src/util/path.ts';
import { lockSysroot, unlockSysroot } from '../../src/sysroot/lock.ts';
import { LockTimeoutError } from '../../src/util/lock-table.ts';

/** The owner's start time (field 22 of /proc/PID/stat), null when /proc cannot tell. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote `s` still runs. */
export function ownerAlive(s: TransactionState): boolean {
  try {
    process.kill(s.pid, 0);
  } catch (e) {
    if (errnoCode(e) !== 'EPERM') return false;
  }
  if (s.pidStart !== null) {
    const now = processStartTime(s.pid);
    if (now !== null && now !== s.pidStart) return false;
  }
  return true;
}

/** The running transaction of the sysroot, or null (none, or its owner is gone). */
export async function liveTransaction(host: Host, sysroot: string): Promise<TransactionState | null> {
  const s = await readTransactionState(host.fs, sysroot);
  return s && ownerAlive(s) ? s : null;
}

export class TransactionBusyError extends XylemError {
  constructor(title: string) {
    super(`Transaction in progress: ${title}\n You can cancel the current transaction with \`rpm-xylem cancel\``, 'EBUSY');
  }
}

/** Takes ostree/lock without waiting (the engine's sysroot lock, Host.locks); throws busy when held. */
async function takeOstreeLock(host: Host, sysroot: string): Promise<boolean> {
  try {
    await lockSysroot(host, sysroot, { timeoutMs: 0 });
  } catch (e) {
    if (e instanceof LockTimeoutError) {
      const by = e.holders.length ? ` by ${e.holders.join(', ')}` : '';
      throw new TransactionBusyError(`ostree (the sysroot lock ostree/lock is held${by})`);
    }
    throw e;
  }
  return true;
}

export interface HeldTransaction {
  state: TransactionState;
  token: CancelToken;
  /** The record of a dead owner this transaction took over (its debris must be cleaned). */
  recovered: TransactionState | null;
  /** Reports phase/progress (written to the record at most every 100 ms). */
  progress(phase: string, text?: string): void;
  /** Records the outcome, removes the record and releases both locks. */
  finish(outcome: TransactionOutcome, message: string): Promise<void>;
}

function newId(): string {
  return `${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Starts a transaction titled `title` on `sysroot` (see the file header), or throws busy. */
export async function beginTransaction(host: Host, sysroot: string, title: string): Promise<HeldTransaction> {
  const fs = host.fs;
  const paths = statePaths(sysroot);
  const state: TransactionState = {
    id: newId(),
    title,
    pid: process.pid,
    pidStart: processStartTime(process.pid),
    started: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    phase: 'starting',
    progress: '',
  };
  if (!(await fs.stat(joinPath(sysroot, 'ostree')))) throw new XylemError(`No sysroot found at ${sysroot}: ostree/ is missing`);
  let recovered: TransactionState | null = null;
  for (let attempt = 0; ; attempt++) {
    if (await createTransactionState(fs, sysroot, state)) break;
    let other: TransactionState | null = null;
    try {
      other = await readTransactionState(fs, sysroot);
    } catch {
      other = null; // unreadable debris counts as stale
    }
    if (other && ownerAlive(other)) throw new TransactionBusyError(other.title);
    if (attempt >= 5) throw new XylemError(`Could not claim ${paths.state}`);
    // Stale: whoever renames it away owns the recovery. If what we moved is not the stale record
    // (another process recovered and claimed in between), put it back.
    const aside = `${paths.state}.stale-${process.pid}`;
    try {
      await fs.rename(paths.state, aside);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
      continue;
    }
    let moved: TransactionState | null = null;
    try {
      moved = parseTransactionState(new TextDecoder().decode(await fs.readFile(aside)), aside);
    } catch {
      moved = null;
    }
    if (moved && other && moved.id !== other.id && ownerAlive(moved)) {
      await fs.link(aside, paths.state).catch(() => undefined);
      await fs.unlink(aside).catch(() => undefined);
      throw new TransactionBusyError(moved.title);
    }
    await fs.unlink(aside).catch(() => undefined);
    recovered = moved ?? other ?? { ...state, title: '(unreadable record)' };
  }
  let locked: boolean;
  try {
    locked = await takeOstreeLock(host, sysroot);
  } catch (e) {
    await removeTransactionState(fs, sysroot);
    throw e;
  }

  const token = new CancelToken();
  const onSignal = () => token.cancel('Operation was cancelled');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let polling = false;
  const poll = setInterval(() => {
    if (polling || token.cancelled) return;
    polling = true;
    cancelRequested(fs, sysroot, state.id)
      .then((yes) => {
        if (yes) token.cancel('Operation was cancelled');
      })
      .catch(() => undefined)
      .finally(() => (polling = false));
  }, 100);

  let writing: Promise<void> = Promise.resolve();
  let dirty = false;
  let last = 0;
  let finished = false;
  const flush = () => {
    dirty = false;
    last = Date.now();
    const snapshot = { ...state };
    writing = writing.then(() => (finished ? undefined : updateTransactionState(fs, sysroot, snapshot).catch(() => undefined)));
  };
  const timer = setInterval(() => {
    if (dirty) flush();
  }, 100);

  return {
    state,
    token,
    recovered,
    progress(phase, text = '') {
      state.phase = phase;
      state.progress = text.length > 300 ? `${text.slice(0, 297)}...` : text;
      dirty = true;
      if (Date.now() - last >= 100) flush();
    },
    async finish(outcome, message) {
      clearInterval(poll);
      clearInterval(timer);
      finished = true;
      await writing;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await writeTransactionResult(fs, sysroot, {
        id: state.id,
        title: state.title,
        outcome,
        message,
        finished: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      }).catch(() => undefined);
      await removeTransactionState(fs, sysroot);
      if (locked) await unlockSysroot(host, sysroot);
    },
  };
}
