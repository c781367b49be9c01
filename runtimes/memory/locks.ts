// Host.locks for the in-memory host: the same contract as the posix OFD locks, within one
// process. Every tryLock is its own open file description, so two locks on one file conflict
// (shared with shared excepted) even when the same caller takes them; the lock file is created
// in the memory filesystem like the real one, and identified by its inode.

import type { FsHost, HeldLock, LockHost, LockKind, TryLockOptions } from '../../src/host.ts';
import { errnoError } from '../posix/errors.ts';

/** A LockHost whose locks live in this process, over the memory filesystem `fs`. */
export function createMemoryLocks(fs: FsHost): LockHost {
  // inode → the kinds held on it, one entry per open lock
  const holders = new Map<number, Map<symbol, LockKind>>();
  const conflicts = (ino: number, self: symbol | null, kind: LockKind) => {
    for (const [who, k] of holders.get(ino) ?? []) if (who !== self && (kind === 'exclusive' || k === 'exclusive')) return true;
    return false;
  };
  return {
    async tryLock(path: string, kind: LockKind, opts: TryLockOptions = {}): Promise<HeldLock | null> {
      if (typeof path !== 'string' || path === '') throw new TypeError('tryLock: invalid path');
      if (kind !== 'shared' && kind !== 'exclusive') throw new TypeError(`tryLock: invalid lock kind ${String(kind)}`);
      let st = await fs.lstat(path);
      if (st && st.kind === 'symlink') throw errnoError('ELOOP', 'open', path);
      if (!st) {
        try {
          await fs.writeFile(path, new Uint8Array(0), { mode: opts.mode ?? 0o644, exclusive: true });
        } catch (e) {
          if ((e as { code?: string }).code !== 'EEXIST') throw e;
        }
        st = await fs.lstat(path);
        if (!st) throw errnoError('ENOENT', 'open', path);
      }
      const ino = st.ino;
      if (conflicts(ino, null, kind)) return null;
      const me = Symbol(path);
      if (!holders.has(ino)) holders.set(ino, new Map());
      holders.get(ino)!.set(me, kind);
      let released = false;
      return {
        async change(next: LockKind): Promise<boolean> {
          if (released) throw errnoError('EBADF', 'fcntl', path);
          if (conflicts(ino, me, next)) return false;
          holders.get(ino)!.set(me, next);
          return true;
        },
        async release(ro: { unlink?: boolean } = {}): Promise<void> {
          if (released) return;
          released = true;
          if (ro.unlink) await fs.unlink(path).catch(() => undefined);
          const m = holders.get(ino);
          m?.delete(me);
          if (m && m.size === 0) holders.delete(ino);
        },
      };
    },
    async describeHolders(path: string): Promise<string[]> {
      const st = await fs.lstat(path);
      if (!st) return [];
      return [...(holders.get(st.ino)?.values() ?? [])].map((k) => `this process, ${k}`);
    },
  };
}
