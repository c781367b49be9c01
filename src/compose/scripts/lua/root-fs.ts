// File access for Lua scriptlets, confined to the root being built: every path is resolved
// component by component through the root (as openat2's RESOLVE_IN_ROOT): `..` stops at the root,
// absolute symlink targets restart at the root, and a symlink anywhere can never lead outside.
// Writes never change a file in place: new content is written beside it and renamed over it, and
// chmod/chown/utime on a file with several hardlinks first give it its own copy, so the package
// cache's other links are never touched (what rofiles-fuse --copyup guarantees to shell scripts).

import type { FsHost, Stat } from '../../../host.ts';
import { randomSuffix } from '../../../util/atomic-write.ts';

const MAX_SYMLINK_HOPS = 40;
const WRITABLE_TOP = new Set(['usr', 'etc', 'bin', 'sbin', 'lib', 'lib32', 'lib64']);
const MAX_PATH = 4096;
/** Largest file a Lua script may read or write whole. */
export const MAX_LUA_FILE = 64 << 20;

const ERRNO: Record<string, [number, string]> = {
  EPERM: [1, 'Operation not permitted'],
  ENOENT: [2, 'No such file or directory'],
  EIO: [5, 'Input/output error'],
  EBADF: [9, 'Bad file descriptor'],
  EACCES: [13, 'Permission denied'],
  EBUSY: [16, 'Device or resource busy'],
  EEXIST: [17, 'File exists'],
  EXDEV: [18, 'Invalid cross-device link'],
  ENOTDIR: [20, 'Not a directory'],
  EISDIR: [21, 'Is a directory'],
  EINVAL: [22, 'Invalid argument'],
  EFBIG: [27, 'File too large'],
  EROFS: [30, 'Read-only file system'],
  ENAMETOOLONG: [36, 'File name too long'],
  ENOTEMPTY: [39, 'Directory not empty'],
  ELOOP: [40, 'Too many levels of symbolic links'],
  ENOTSUP: [95, 'Operation not supported'],
};

/** An errno failure as Lua's posix functions report it. */
export class Errno extends Error {
  readonly code: string;
  readonly errno: number;
  readonly text: string;
  constructor(code: string) {
    const [n, text] = ERRNO[code] ?? [5, 'Input/output error'];
    super(text);
    this.code = ERRNO[code] ? code : 'EIO';
    this.errno = n;
    this.text = text;
  }
}

/** Turns a host error into an Errno (unknown errors become EIO). */
export function toErrno(e: unknown): Errno {
  if (e instanceof Errno) return e;
  const code = (e as { code?: unknown })?.code;
  return new Errno(typeof code === 'string' ? code : 'EIO');
}

/** A path resolved inside the root. */
export interface Resolved {
  /** Host path to act on. */
  host: string;
  /** The same path as the script sees it (absolute, normalised). */
  inside: string;
  /** lstat of the final entry (null when it does not exist). */
  stat: Stat | null;
}

export class RootFs {
  /** The script's working directory, inside the root. */
  cwd = '/';
  constructor(
    readonly fs: FsHost,
    readonly root: string,
  ) {}

  private absolute(path: string): string[] {
    if (typeof path !== 'string' || path === '') throw new Errno('ENOENT');
    if (path.length > MAX_PATH || path.includes('\0')) throw new Errno('ENAMETOOLONG');
    const base = path.startsWith('/') ? [] : this.cwd.split('/').filter(Boolean);
    return [...base, ...path.split('/').filter(Boolean)];
  }

  /**
   * Resolves `path` (relative to cwd) through the root. With `followLast`, a symlink in the last
   * component is followed too (stat, open); without, the link itself is the result (lstat,
   * unlink, readlink). Missing components are allowed (the operation then fails or creates).
   */
  async resolve(path: string, followLast: boolean): Promise<Resolved> {
    const pending = this.absolute(path).reverse(); // a stack: next component last
    const done: string[] = [];
    let hops = 0;
    let stat: Stat | null = null;
    while (pending.length > 0) {
      const c = pending.pop()!;
      if (c === '.') continue;
      if (c === '..') {
        done.pop();
        stat = null;
        continue;
      }
      const hostPath = `${this.root}/${[...done, c].join('/')}`;
      const st = await this.fs.lstat(hostPath);
      const last = pending.length === 0;
      if (st && st.kind === 'symlink' && (!last || followLast)) {
        if (++hops > MAX_SYMLINK_HOPS) throw new Errno('ELOOP');
        const target = await this.fs.readlink(hostPath);
        if (target.startsWith('/')) done.length = 0;
        const parts = target.split('/').filter(Boolean);
        for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
        stat = null;
        continue;
      }
      if (!last && st && st.kind !== 'dir') throw new Errno('ENOTDIR');
      done.push(c);
      stat = st;
      if (!st && !last) {
        // A missing directory: what follows cannot exist; keep walking so '..' behaves.
        continue;
      }
    }
    const inside = '/' + done.join('/');
    const host = done.length === 0 ? this.root : `${this.root}/${done.join('/')}`;
    if (done.length === 0) stat = await this.fs.lstat(this.root);
    return { host, inside, stat };
  }

  /**
   * Scripts may change /usr and /etc (and unmerged /bin, /sbin, /lib*) only, as in the sandbox:
   * /var is read-only there, the rpmdb at /usr/share/rpm is masked, the rest is not the tree's.
   */
  checkWritable(r: Resolved): void {
    const top = r.inside.split('/')[1] ?? '';
    if (!WRITABLE_TOP.has(top) || r.inside === '/usr/share/rpm' || r.inside.startsWith('/usr/share/rpm/')) throw new Errno('EROFS');
  }

  /** Parent directory of a resolved path must exist and be a directory. */
  async requireParent(r: Resolved): Promise<void> {
    if (r.inside === '/') return;
    const parent = r.host.slice(0, r.host.lastIndexOf('/'));
    const st = await this.fs.lstat(parent);
    if (!st) throw new Errno('ENOENT');
    if (st.kind !== 'dir') throw new Errno('ENOTDIR');
  }

  /** Reads a whole regular file (following symlinks inside the root). */
  async readFile(path: string): Promise<Uint8Array> {
    const r = await this.resolve(path, true);
    if (!r.stat) throw new Errno('ENOENT');
    if (r.stat.kind === 'dir') throw new Errno('EISDIR');
    if (r.stat.kind !== 'file') throw new Errno('ENOTSUP');
    if (r.stat.size > MAX_LUA_FILE) throw new Errno('EFBIG');
    return await this.fs.readFile(r.host);
  }

  /**
   * Replaces the content of `hostPath` (already resolved, not a symlink) with `data`: a new file
   * beside it renamed over it, keeping an existing file's mode and owner.
   */
  async replaceFile(hostPath: string, data: Uint8Array, createMode: number): Promise<void> {
    if (data.length > MAX_LUA_FILE) throw new Errno('EFBIG');
    const old = await this.fs.lstat(hostPath);
    if (old && old.kind === 'dir') throw new Errno('EISDIR');
    const dir = hostPath.slice(0, hostPath.lastIndexOf('/'));
    const tmp = `${dir}/.xylem-lua-${randomSuffix()}`;
    try {
      await this.fs.writeFile(tmp, data, { mode: 0o600, exclusive: true, fsync: false });
      await this.fs.chmod(tmp, old ? old.mode & 0o7777 : createMode);
      if (old) await this.fs.lchown(tmp, old.uid, old.gid);
      await this.fs.rename(tmp, hostPath);
    } catch (e) {
      await this.fs.unlink(tmp).catch(() => undefined);
      throw toErrno(e);
    }
  }

  /** Gives a regular file with several hardlinks its own copy (same content, mode, owner, times). */
  async breakHardlink(hostPath: string, st: Stat): Promise<void> {
    if (st.kind !== 'file' || st.nlink <= 1) return;
    const dir = hostPath.slice(0, hostPath.lastIndexOf('/'));
    const tmp = `${dir}/.xylem-copyup-${randomSuffix()}`;
    try {
      await this.fs.copyFile(hostPath, tmp);
      await this.fs.chmod(tmp, st.mode & 0o7777);
      await this.fs.lchown(tmp, st.uid, st.gid);
      await this.fs.chmod(tmp, st.mode & 0o7777); // chown may clear setuid bits
      await this.fs.lutimes(tmp, st.mtimeMs / 1000, st.mtimeMs / 1000);
      await this.fs.rename(tmp, hostPath);
    } catch (e) {
      await this.fs.unlink(tmp).catch(() => undefined);
      throw toErrno(e);
    }
  }
}
