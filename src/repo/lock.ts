// The repository lock, as libostree's (ostree_repo_lock_push/pop on REPO/.lock): transactions
// (commit, pull, pull-local, static-delta apply, summary) hold it shared, deleters (prune, static
// delta deletion, sysroot cleanup's prune) hold it exclusive, so a prune never deletes objects a
// concurrent writer — xylem or real ostree — is about to reference. Holds nest within a process
// (src/util/lock-table.ts). Waiting follows the repo's config like libostree: core.locking=false
// disables locking, core.lock-timeout-secs (default 30) bounds the wait, -1 waits forever. A
// repo that cannot be written to is not locked (libostree skips read-only repos too).

import type { LockKind } from '../host.ts';
import type { Repo } from './repo.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { popLock, pushLock } from '../util/lock-table.ts';

/** libostree's default core.lock-timeout-secs. */
export const DEFAULT_LOCK_TIMEOUT_SECS = 30;

/** Path of the repo's lock file. */
export function repoLockPath(repo: Repo): string {
  return joinPath(repo.path, '.lock');
}

/** null when locking is off (core.locking=false); else the wait in ms (null = forever). */
function lockTimeout(repo: Repo): { enabled: boolean; timeoutMs: number | null } {
  if (repo.config.getBoolean('core', 'locking') === false) return { enabled: false, timeoutMs: null };
  const raw = repo.config.get('core', 'lock-timeout-secs');
  // g_ascii_strtoll as libostree: leading digits, anything else 0
  const secs = raw === undefined ? DEFAULT_LOCK_TIMEOUT_SECS : Number.parseInt(raw.trim(), 10);
  const n = Number.isFinite(secs) ? secs : 0;
  if (n === -2) return { enabled: false, timeoutMs: null };
  if (n < 0) return { enabled: true, timeoutMs: null };
  return { enabled: true, timeoutMs: Math.min(n, 365 * 24 * 3600) * 1000 };
}

function checkKind(kind: LockKind): void {
  if (kind !== 'shared' && kind !== 'exclusive') throw new XylemError(`Invalid repo lock kind ${String(kind)}`);
}

/** ostree_repo_lock_push: takes or nests a hold of `kind` on the repo lock, waiting as configured. */
export async function pushRepoLock(repo: Repo, kind: LockKind): Promise<void> {
  checkKind(kind);
  const t = lockTimeout(repo);
  if (!t.enabled) return;
  await pushLock(repo.host, repoLockPath(repo), kind, {
    what: 'repo',
    timeoutMs: t.timeoutMs,
    timeoutSource: 'core.lock-timeout-secs',
    mode: 0o660, // libostree's DEFAULT_REGFILE_MODE, before the umask
    skipIfUnwritable: true,
  });
}

/** ostree_repo_lock_pop: releases a hold taken by pushRepoLock. */
export async function popRepoLock(repo: Repo, kind: LockKind): Promise<void> {
  checkKind(kind);
  if (!lockTimeout(repo).enabled) return;
  await popLock(repo.host, repoLockPath(repo), kind);
}

/** Runs `f` holding the repo lock as `kind` (ostree_repo_auto_lock_push). */
export async function withRepoLock<T>(repo: Repo, kind: LockKind, f: () => Promise<T>): Promise<T> {
  await pushRepoLock(repo, kind);
  try {
    return await f();
  } finally {
    await popRepoLock(repo, kind);
  }
}
