// The sysroot lock, as libostree's ostree_sysroot_lock: an exclusive lock on SYSROOT/ostree/lock
// (OFD record lock, file mode 0600, re-created if a releasing holder unlinked it, unlinked again
// on release as glnx_release_lock_file does). `ostree admin` takes it before loading the sysroot
// for every command that writes, and waits for it however long it takes; so does the engine
// (Sysroot.load with lock, and every write entry point through Sysroot.ensureWriteLock). Holds
// nest within one process (rpm-xylem's transaction and the Sysroot it loads share one lock).

import type { Host } from '../host.ts';
import { joinPath } from '../util/path.ts';
import { popLock, pushLock } from '../util/lock-table.ts';

/** Path of the sysroot's lock file. */
export function sysrootLockPath(sysrootPath: string): string {
  return joinPath(sysrootPath, 'ostree/lock');
}

export interface SysrootLockOptions {
  /** Called once if another process holds the lock and we start waiting ("Waiting for sysroot lock..."). */
  onWait?: () => void;
  /** Give up after this many ms (default: wait forever, as `ostree admin`); 0 tries once. */
  timeoutMs?: number | null;
}

/**
 * Takes (or nests) the exclusive sysroot lock of `sysrootPath`, waiting for other holders.
 * Resolves true when it took the lock, false when this process held it already.
 */
export async function lockSysroot(host: Host, sysrootPath: string, opts: SysrootLockOptions = {}): Promise<boolean> {
  if (typeof sysrootPath !== 'string' || sysrootPath === '') throw new TypeError('lockSysroot: a sysroot path is required');
  return pushLock(host, sysrootLockPath(sysrootPath), 'exclusive', {
    what: 'sysroot',
    timeoutMs: opts.timeoutMs ?? null,
    mode: 0o600,
    relockIfUnlinked: true,
    unlinkOnRelease: true,
    ...(opts.onWait ? { onWait: opts.onWait } : {}),
  });
}

/** Releases a hold taken by lockSysroot (the file lock goes with the last one). */
export async function unlockSysroot(host: Host, sysrootPath: string): Promise<void> {
  await popLock(host, sysrootLockPath(sysrootPath), 'exclusive');
}
