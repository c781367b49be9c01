// One host transaction at a time, across processes. Two locks, taken in this order:
//  1. SYSROOT/run/xylem/transaction.json, created exclusively (O_EXCL) and naming the owner
//     (pid + its start time from /proc, so a reused pid is not mistaken for the owner). A record
//     whose owner is gone is stale: the next transaction claims it by renaming it away (only one
//     process can win that rename), cleans up after it, and proceeds.
//  2. SYSROOT/ostree/lock, libostree's sysroot lock: an exclusive POSIX record lock (libostree
//     takes an OFD lock on it; the two kinds conflict), so real `ostree admin` commands wait for
//     us and we refuse to start while one of them runs. Node has no fcntl(), so a small python3
//     helper holds it and releases it when our stdin closes — also when this process dies. When
//     python3 is missing only lock 1 is taken (XYLEM_DEBUG says so).
// While it runs, the owner polls for a cancel request and maps SIGINT/SIGTERM to cancellation.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

const HELPER = `
import errno, fcntl, os, sys
p = sys.argv[1]
while True:
    fd = os.open(p, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno in (errno.EAGAIN, errno.EACCES):
            sys.stdout.write("busy\\n"); sys.stdout.flush(); sys.exit(0)
        raise
    if os.fstat(fd).st_nlink > 0:
        break
    os.close(fd)
sys.stdout.write("locked\\n"); sys.stdout.flush()
try:
    sys.stdin.buffer.read()
finally:
    try:
        os.unlink(p)
    except OSError:
        pass
`;

/** Holds ostree/lock through the helper; null when python3 is unavailable. Throws when busy. */
async function takeOstreeLock(lockPath: string, env: Record<string, string | undefined>): Promise<ChildProcess | null> {
  // The system interpreter first: version-manager shims (pyenv) cost a second per start.
  const python = env.XYLEM_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const child = spawn(python, ['-c', HELPER, lockPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  const answer = await new Promise<string>((resolve) => {
    let buf = '';
    let err = '';
    child.on('error', (e) => resolve(`error:${(e as Error).message}`));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.trim());
    });
    child.on('exit', (code) => resolve(buf.trim() || `exit:${code}:${err.trim()}`));
  });
  if (answer === 'locked') {
    child.stdout!.removeAllListeners('data');
    return child;
  }
  if (answer === 'busy') throw new TransactionBusyError('ostree (another process holds the sysroot lock ostree/lock)');
  if (answer.startsWith('error:')) {
    if (env.XYLEM_DEBUG) process.stderr.write(`rpm-xylem: ${python} unavailable (${answer.slice(6)}); not taking ostree/lock\n`);
    return null;
  }
  throw new XylemError(`Taking the sysroot lock ${lockPath} failed: ${answer}`);
}

async function releaseOstreeLock(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin!.end();
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
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
  const env = host.env ?? {};
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
  let helper: ChildProcess | null;
  try {
    helper = await takeOstreeLock(joinPath(sysroot, 'ostree/lock'), env);
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
      await releaseOstreeLock(helper);
    },
  };
}
