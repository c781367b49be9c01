// The record of the running host transaction, kept in SYSROOT/run/xylem/ so that other processes
// can see it: transaction.json (title, pid, start time, current phase and progress — present
// exactly while a transaction owns the sysroot), cancel-request (written by `cancel`, naming the
// transaction to stop) and last-transaction.json (how the previous one ended). All writes are
// atomic renames; every read treats the file as hostile (size cap, strict field checks).

import type { FsHost } from '../host.ts';
import { joinPath } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { fromUtf8 } from '../util/bytes.ts';
import { writeTextAtomic } from '../sysroot/fsutil.ts';

/** Folder (relative to the sysroot) holding the transaction files. */
export const STATE_DIR = 'run/xylem';
const MAX_STATE_FILE = 64 * 1024;

export interface TransactionState {
  /** Unique per transaction (pid, start time, random). */
  id: string;
  /** What `status` prints after "Transaction: " (rpm-ostree's title). */
  title: string;
  pid: number;
  /** Process start time as the OS reports it (tells a reused pid apart); null when unknown. */
  pidStart: string | null;
  /** ISO-8601 UTC. */
  started: string;
  /** Current phase ("pulling", "deploying", …) and a one-line progress text. */
  phase: string;
  progress: string;
}

export type TransactionOutcome = 'succeeded' | 'failed' | 'cancelled';

export interface TransactionResult {
  id: string;
  title: string;
  outcome: TransactionOutcome;
  message: string;
  finished: string;
}

export function statePaths(sysroot: string): { dir: string; state: string; cancel: string; last: string } {
  const dir = joinPath(sysroot, STATE_DIR);
  return {
    dir,
    state: joinPath(dir, 'transaction.json'),
    cancel: joinPath(dir, 'cancel-request'),
    last: joinPath(dir, 'last-transaction.json'),
  };
}

async function readCapped(fs: FsHost, path: string): Promise<string | null> {
  const st = await fs.lstat(path);
  if (!st) return null;
  if (st.kind !== 'file') throw new XylemError(`${path}: not a regular file`);
  if (st.size > MAX_STATE_FILE) throw new XylemError(`${path}: too large (${st.size} bytes)`);
  try {
    const bytes = await fs.readFile(path);
    if (bytes.length > MAX_STATE_FILE) throw new XylemError(`${path}: too large`);
    return fromUtf8(bytes);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
}

function str(o: Record<string, unknown>, k: string, path: string, max = 4096): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > max) throw new XylemError(`${path}: field '${k}' is missing or invalid`);
  return v;
}

/** Parses transaction.json; throws naming the file on anything malformed. */
export function parseTransactionState(text: string, path = 'transaction.json'): TransactionState {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new XylemError(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new XylemError(`${path}: not a JSON object`);
  const r = o as Record<string, unknown>;
  const pid = r.pid;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) throw new XylemError(`${path}: field 'pid' is missing or invalid`);
  const pidStart = r.pidStart === null || r.pidStart === undefined ? null : str(r, 'pidStart', path, 64);
  return {
    id: str(r, 'id', path, 256),
    title: str(r, 'title', path),
    pid,
    pidStart,
    started: str(r, 'started', path, 64),
    phase: str(r, 'phase', path, 256),
    progress: str(r, 'progress', path),
  };
}

/** The running transaction's record, or null when there is none. */
export async function readTransactionState(fs: FsHost, sysroot: string): Promise<TransactionState | null> {
  const p = statePaths(sysroot).state;
  const text = await readCapped(fs, p);
  return text === null ? null : parseTransactionState(text, p);
}

/**
 * Creates transaction.json only if absent (the claim); false when another record exists. The
 * record is written in full to a temporary file and then hard-linked into place, so a reader
 * never sees a partly written claim.
 */
export async function createTransactionState(fs: FsHost, sysroot: string, s: TransactionState): Promise<boolean> {
  const p = statePaths(sysroot);
  await fs.mkdir(p.dir, { recursive: true, mode: 0o755 });
  const tmp = `${p.state}.tmp-${s.pid}-${Math.random().toString(36).slice(2, 10)}`;
  await fs.writeFile(tmp, new TextEncoder().encode(`${JSON.stringify(s)}\n`), { mode: 0o644, fsync: true });
  try {
    await fs.link(tmp, p.state);
    await fs.fsyncDir(p.dir);
    return true;
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
}

/** Replaces the record (progress updates) atomically. */
export async function updateTransactionState(fs: FsHost, sysroot: string, s: TransactionState): Promise<void> {
  await writeTextAtomic(fs, statePaths(sysroot).state, `${JSON.stringify(s)}\n`, 0o644, false);
}

export async function removeTransactionState(fs: FsHost, sysroot: string): Promise<void> {
  const p = statePaths(sysroot);
  await fs.unlink(p.state).catch((e) => {
    if (errnoCode(e) !== 'ENOENT') throw e;
  });
  await fs.unlink(p.cancel).catch((e) => {
    if (errnoCode(e) !== 'ENOENT') throw e;
  });
}

/** Asks the transaction `id` to stop (it polls for this file). */
export async function requestCancel(fs: FsHost, sysroot: string, id: string): Promise<void> {
  await writeTextAtomic(fs, statePaths(sysroot).cancel, `${id}\n`, 0o644, false);
}

/** Whether a cancel request names transaction `id`. */
export async function cancelRequested(fs: FsHost, sysroot: string, id: string): Promise<boolean> {
  const text = await readCapped(fs, statePaths(sysroot).cancel).catch(() => null);
  return text !== null && text.trim() === id;
}

export async function writeTransactionResult(fs: FsHost, sysroot: string, r: TransactionResult): Promise<void> {
  await writeTextAtomic(fs, statePaths(sysroot).last, `${JSON.stringify(r)}\n`, 0o644, false);
}

export async function readTransactionResult(fs: FsHost, sysroot: string): Promise<TransactionResult | null> {
  const p = statePaths(sysroot).last;
  const text = await readCapped(fs, p);
  if (text === null) return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new XylemError(`${p}: invalid JSON`);
  }
  if (typeof o !== 'object' || o === null) throw new XylemError(`${p}: not a JSON object`);
  const outcome = o.outcome;
  if (outcome !== 'succeeded' && outcome !== 'failed' && outcome !== 'cancelled') throw new XylemError(`${p}: field 'outcome' is invalid`);
  return { id: str(o, 'id', p, 256), title: str(o, 'title', p), outcome, message: str(o, 'message', p), finished: str(o, 'finished', p, 64) };
}
