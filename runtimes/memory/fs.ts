// An in-memory FsHost with POSIX semantics, modelled on inodes: directory entries point at inode
// objects, so hardlinks share one inode (nlink counts them), an open handle keeps an unlinked
// file readable, and rename atomically replaces its target. Symlinks are resolved component by
// component like the kernel does (relative to the link's directory, at most 40 hops).
// Not modelled: permission checks (every caller acts as root), atime/ctime, sparse files.

import type { DirEntry, FileKind, FsHost, ReadHandle, Stat, WriteHandle, WriteOptions, XattrHost } from '../../src/host.ts';
import { errnoError } from '../posix/errors.ts';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const MAX_SYMLINK_HOPS = 40;
const XATTR_SIZE_MAX = 65536;
const XATTR_NAMESPACES = ['user.', 'trusted.', 'security.', 'system.'];

export interface MemoryFsOptions {
  /** File-creation mask applied to the mode of new files and directories (default 0o022). */
  umask?: number;
  /** Owner given to new entries (default 0). */
  uid?: number;
  gid?: number;
  /** Clock for mtimes (default Date.now). */
  now?: () => number;
  /** Device number reported by stat (default 1). */
  dev?: number;
  /** Free/total bytes freeSpace() reports; null (default) means unknown. */
  space?: { freeBytes: number; totalBytes: number } | null;
}

interface Inode {
  ino: number;
  /** Full st_mode: type bits plus permission bits. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtimeMs: number;
  atimeMs: number;
  /** Regular file content: the first `size` bytes of `data`. */
  data: Uint8Array;
  size: number;
  /** Directory entries (directories only). */
  entries: Map<string, Inode> | null;
  /** Containing directory (directories only; root points at itself). */
  parent: Inode | null;
  /** Symlink target (symlinks only). */
  target: string;
  xattrs: Map<string, Uint8Array> | null;
}

interface Resolved {
  /** Directory holding the last component. */
  dir: Inode;
  /** Last component ('' for the root itself). */
  name: string;
  /** The inode found there, if any. */
  node: Inode | undefined;
}

const EMPTY = new Uint8Array(0);

function kindOf(n: Inode): FileKind {
  switch (n.mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

const isDir = (n: Inode): boolean => (n.mode & S_IFMT) === S_IFDIR;
const isLink = (n: Inode): boolean => (n.mode & S_IFMT) === S_IFLNK;
const isFile = (n: Inode): boolean => (n.mode & S_IFMT) === S_IFREG;

function checkPath(path: unknown, what: string): asserts path is string {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`${what}: path must be a non-empty string`);
  if (path.includes('\0')) throw new TypeError(`${what}: path must not contain NUL`);
}

function checkMode(mode: unknown, what: string): asserts mode is number {
  if (!Number.isInteger(mode) || (mode as number) < 0 || (mode as number) > 0o7777) {
    throw new TypeError(`${what}: mode must be an integer in 0..0o7777`);
  }
}

/** Runs a path lookup for a two-path call, so its errors name both paths like Node's do. */
function lookup2<T>(f: () => T, syscall: string, from: string, to: string): T {
  try {
    return f();
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw code === undefined ? e : errnoError(code, syscall, from, to);
  }
}

/** Grows a file's buffer (doubling) so it can hold `needed` bytes. */
function ensureCapacity(n: Inode, needed: number): void {
  if (needed <= n.data.byteLength) return;
  const grown = new Uint8Array(Math.max(needed, n.data.byteLength * 2, 64));
  grown.set(n.data.subarray(0, n.size));
  n.data = grown;
}

class MemoryFs {
  private nextIno = 2;
  readonly root: Inode;
  private readonly umask: number;
  private readonly uid: number;
  private readonly gid: number;
  private readonly now: () => number;
  private readonly dev: number;
  private readonly space: { freeBytes: number; totalBytes: number } | null;

  constructor(o: MemoryFsOptions) {
    this.umask = (o.umask ?? 0o022) & 0o777;
    this.uid = o.uid ?? 0;
    this.gid = o.gid ?? 0;
    this.now = o.now ?? Date.now;
    this.dev = o.dev ?? 1;
    this.space = o.space ?? null;
    this.root = this.newInode(S_IFDIR | 0o755);
    this.root.parent = this.root;
    this.root.nlink = 2;
  }

  newInode(mode: number): Inode {
    const t = this.now();
    return {
      ino: this.nextIno++,
      mode,
      uid: this.uid,
      gid: this.gid,
      nlink: 0,
      mtimeMs: t,
      atimeMs: t,
      data: EMPTY,
      size: 0,
      entries: (mode & S_IFMT) === S_IFDIR ? new Map() : null,
      parent: null,
      target: '',
      xattrs: null,
    };
  }

  /**
   * Walks `path` from `start` (or the root for absolute paths). Intermediate symlinks are
   * always followed; the last one only when `follow`. Throws ENOENT/ENOTDIR/ELOOP like namei.
   */
  resolve(path: string, follow: boolean, syscall: string, shownPath = path, start: Inode = this.root, hops = 0): Resolved {
    let dir = path.startsWith('/') ? this.root : start;
    const parts = path.split('/');
    let last = parts.length - 1;
    while (last >= 0 && parts[last] === '') last--;
    // A trailing slash demands a directory, which means following a final symlink.
    const trailingSlash = last < parts.length - 1 && last >= 0;
    if (trailingSlash) follow = true;
    if (last < 0) return { dir: this.root, name: '', node: dir };
    for (let i = 0; i <= last; i++) {
      const name = parts[i];
      if (name === '' || name === '.') {
        if (i === last) return { dir, name: '.', node: dir };
        continue;
      }
      let node: Inode | undefined = name === '..' ? (dir.parent as Inode) : dir.entries!.get(name);
      if (i === last) {
        if (node !== undefined && follow && isLink(node)) {
          if (hops >= MAX_SYMLINK_HOPS) throw errnoError('ELOOP', syscall, shownPath);
          const r = this.resolve(node.target, true, syscall, shownPath, dir, hops + 1);
          if (trailingSlash && r.node !== undefined && !isDir(r.node)) throw errnoError('ENOTDIR', syscall, shownPath);
          return r;
        }
        if (trailingSlash && node !== undefined && !isDir(node)) throw errnoError('ENOTDIR', syscall, shownPath);
        return { dir, name, node };
      }
      if (node === undefined) throw errnoError('ENOENT', syscall, shownPath);
      if (isLink(node)) {
        if (hops >= MAX_SYMLINK_HOPS) throw errnoError('ELOOP', syscall, shownPath);
        node = this.resolve(node.target, true, syscall, shownPath, dir, hops + 1).node;
        if (node === undefined) throw errnoError('ENOENT', syscall, shownPath);
      }
      if (!isDir(node)) throw errnoError('ENOTDIR', syscall, shownPath);
      dir = node;
    }
    throw new Error('unreachable');
  }

  /** Resolves and requires the entry to exist. */
  existing(path: string, follow: boolean, syscall: string): Inode {
    const r = this.resolve(path, follow, syscall);
    if (r.node === undefined) throw errnoError('ENOENT', syscall, path);
    return r.node;
  }

  stat(n: Inode): Stat {
    return {
      kind: kindOf(n),
      mode: n.mode,
      uid: n.uid,
      gid: n.gid,
      size: isFile(n) ? n.size : isLink(n) ? new TextEncoder().encode(n.target).byteLength : isDir(n) ? 4096 : 0,
      ino: n.ino,
      dev: this.dev,
      nlink: n.nlink,
      mtimeMs: n.mtimeMs,
    };
  }

  touch(dir: Inode): void {
    dir.mtimeMs = this.now();
  }

  /** Adds `node` under `dir` as `name` (which must be free), keeping link counts. */
  attach(dir: Inode, name: string, node: Inode): void {
    dir.entries!.set(name, node);
    node.nlink++;
    if (isDir(node)) {
      // A directory's '..' is a link to its parent.
      node.parent = dir;
      dir.nlink++;
    }
    this.touch(dir);
  }

  /** Removes the entry `name` from `dir`, keeping link counts. */
  detach(dir: Inode, name: string, node: Inode): void {
    dir.entries!.delete(name);
    node.nlink--;
    if (isDir(node)) dir.nlink--;
    this.touch(dir);
  }

  /** Opens (creating or truncating) a regular file the way open(O_WRONLY|O_CREAT|O_TRUNC[|O_EXCL]) does. */
  openForWrite(path: string, opts: WriteOptions | undefined, syscall: string): Inode {
    const mode = opts?.mode ?? 0o644;
    checkMode(mode, syscall);
    // O_EXCL never follows a final symlink: a dangling one still counts as existing.
    const r = this.resolve(path, !opts?.exclusive, syscall);
    if (r.node !== undefined) {
      if (opts?.exclusive) throw errnoError('EEXIST', syscall, path);
      if (isDir(r.node)) throw errnoError('EISDIR', syscall, path);
      r.node.size = 0;
      r.node.data = EMPTY;
      r.node.mtimeMs = this.now();
      return r.node;
    }
    if (r.name === '' || r.name === '.' || r.name === '..') throw errnoError('EISDIR', syscall, path);
    const n = this.newInode(S_IFREG | (mode & ~this.umask));
    this.attach(r.dir, r.name, n);
    return n;
  }

  writeAt(n: Inode, chunk: Uint8Array, position: number): void {
    const end = position + chunk.byteLength;
    ensureCapacity(n, end);
    n.data.set(chunk, position);
    if (end > n.size) n.size = end;
    n.mtimeMs = this.now();
  }

  mkdirOne(dir: Inode, name: string, mode: number): Inode {
    const n = this.newInode(S_IFDIR | (mode & ~this.umask & 0o1777));
    n.nlink = 1; // its own '.'
    this.attach(dir, name, n);
    return n;
  }

  isAncestor(a: Inode, b: Inode): boolean {
    for (let n = b; ; n = n.parent as Inode) {
      if (n === a) return true;
      if (n === this.root) return false;
    }
  }

  removeTree(dir: Inode, name: string, node: Inode): void {
    if (isDir(node)) {
      for (const [childName, child] of [...node.entries!]) this.removeTree(node, childName, child);
    }
    this.detach(dir, name, node);
  }

  freeSpace(): { freeBytes: number; totalBytes: number } | null {
    return this.space === null ? null : { ...this.space };
  }
}

class MemoryReadHandle implements ReadHandle {
  private closed = false;
  constructor(
    private readonly node: Inode,
    private readonly path: string,
  ) {}

  async read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    if (this.closed) throw errnoError('EBADF', 'read', this.path);
    if (isDir(this.node)) throw errnoError('EISDIR', 'read', this.path);
    if (position >= this.node.size || length <= 0) return 0;
    const n = Math.min(length, this.node.size - position, buf.byteLength - offset);
    buf.set(this.node.data.subarray(position, position + n), offset);
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

class MemoryWriteHandle implements WriteHandle {
  private closed = false;
  private position = 0;
  constructor(
    private readonly fs: MemoryFs,
    private readonly node: Inode,
    private readonly path: string,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.closed) throw errnoError('EBADF', 'write', this.path);
    if (!(chunk instanceof Uint8Array)) throw new TypeError('write: chunk must be a Uint8Array');
    this.fs.writeAt(this.node, chunk, this.position);
    this.position += chunk.byteLength;
  }

  async sync(): Promise<void> {
    if (this.closed) throw errnoError('EBADF', 'fsync', this.path);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

function createMemoryXattrs(m: MemoryFs): XattrHost {
  const checkName = (name: unknown, path: string, syscall: string): void => {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError(`xattrs: name must be a non-empty string`);
    if (!XATTR_NAMESPACES.some((ns) => name.startsWith(ns) && name.length > ns.length)) {
      throw errnoError('EOPNOTSUPP', syscall, path);
    }
  };
  return {
    async list(path: string): Promise<string[]> {
      checkPath(path, 'xattrs.list');
      const n = m.existing(path, false, 'llistxattr');
      return n.xattrs === null ? [] : [...n.xattrs.keys()];
    },
    async get(path: string, name: string): Promise<Uint8Array | null> {
      checkPath(path, 'xattrs.get');
      const n = m.existing(path, false, 'lgetxattr');
      checkName(name, path, 'lgetxattr');
      const v = n.xattrs?.get(name);
      return v === undefined ? null : v.slice();
    },
    async set(path: string, name: string, value: Uint8Array): Promise<void> {
      checkPath(path, 'xattrs.set');
      if (!(value instanceof Uint8Array)) throw new TypeError('xattrs.set: value must be a Uint8Array');
      const n = m.existing(path, false, 'lsetxattr');
      checkName(name, path, 'lsetxattr');
      // Linux allows user.* only on regular files and directories (EPERM elsewhere, e.g. symlinks).
      if (name.startsWith('user.') && !isFile(n) && !isDir(n)) throw errnoError('EPERM', 'lsetxattr', path);
      if (value.byteLength > XATTR_SIZE_MAX) throw errnoError('E2BIG', 'lsetxattr', path);
      (n.xattrs ??= new Map()).set(name, value.slice());
    },
    async remove(path: string, name: string): Promise<void> {
      checkPath(path, 'xattrs.remove');
      const n = m.existing(path, false, 'lremovexattr');
      checkName(name, path, 'lremovexattr');
      if (n.xattrs === null || !n.xattrs.delete(name)) throw errnoError('ENODATA', 'lremovexattr', path);
    },
  };
}

/** Creates an empty in-memory filesystem (just `/`), with xattrs. */
export function createMemoryFs(options: MemoryFsOptions = {}): FsHost {
  if (typeof options !== 'object' || options === null) throw new TypeError('createMemoryFs: options must be an object');
  const m = new MemoryFs(options);

  const fs: FsHost = {
    async lstat(path: string): Promise<Stat | null> {
      checkPath(path, 'lstat');
      try {
        const n = m.resolve(path, false, 'lstat').node;
        return n === undefined ? null : m.stat(n);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw e;
      }
    },

    async stat(path: string): Promise<Stat | null> {
      checkPath(path, 'stat');
      try {
        const n = m.resolve(path, true, 'stat').node;
        return n === undefined ? null : m.stat(n);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return null;
        throw e;
      }
    },

    async readFile(path: string): Promise<Uint8Array> {
      checkPath(path, 'readFile');
      const n = m.existing(path, true, 'open');
      if (isDir(n)) throw errnoError('EISDIR', 'read', path);
      return n.data.slice(0, n.size);
    },

    async openRead(path: string): Promise<ReadHandle> {
      checkPath(path, 'openRead');
      return new MemoryReadHandle(m.existing(path, true, 'open'), path);
    },

    async readdir(path: string): Promise<DirEntry[]> {
      checkPath(path, 'readdir');
      const n = m.existing(path, true, 'scandir');
      if (!isDir(n)) throw errnoError('ENOTDIR', 'scandir', path);
      const out: DirEntry[] = [];
      for (const [name, child] of n.entries!) out.push({ name, kind: kindOf(child) });
      return out;
    },

    async readlink(path: string): Promise<string> {
      checkPath(path, 'readlink');
      const n = m.existing(path, false, 'readlink');
      if (!isLink(n)) throw errnoError('EINVAL', 'readlink', path);
      return n.target;
    },

    async mkdir(path: string, opts?: { mode?: number; recursive?: boolean }): Promise<void> {
      checkPath(path, 'mkdir');
      const mode = opts?.mode ?? 0o777;
      checkMode(mode, 'mkdir');
      if (!opts?.recursive) {
        const r = m.resolve(path, false, 'mkdir');
        if (r.node !== undefined) throw errnoError('EEXIST', 'mkdir', path);
        m.mkdirOne(r.dir, r.name, mode);
        return;
      }
      // Recursive: create each missing component; an existing non-directory is an error.
      const absolute = path.startsWith('/');
      const parts = path.split('/').filter((p) => p !== '' && p !== '.');
      let prefix = absolute ? '' : '.';
      for (let i = 0; i < parts.length; i++) {
        prefix = `${prefix}/${parts[i]}`;
        const r = m.resolve(prefix, false, 'mkdir', path);
        let node = r.node;
        // A symlink to a directory is fine to pass through; a dangling one is EEXIST like mkdir(2).
        if (node !== undefined && isLink(node)) node = m.resolve(prefix, true, 'mkdir', path).node ?? node;
        if (node === undefined) m.mkdirOne(r.dir, r.name, mode);
        else if (!isDir(node)) throw errnoError(i === parts.length - 1 ? 'EEXIST' : 'ENOTDIR', 'mkdir', path);
      }
    },

    async writeFile(path: string, data: Uint8Array, opts?: WriteOptions): Promise<void> {
      checkPath(path, 'writeFile');
      if (!(data instanceof Uint8Array)) throw new TypeError('writeFile: data must be a Uint8Array');
      const n = m.openForWrite(path, opts, 'open');
      m.writeAt(n, data, 0);
    },

    async openWrite(path: string, opts?: WriteOptions): Promise<WriteHandle> {
      checkPath(path, 'openWrite');
      return new MemoryWriteHandle(m, m.openForWrite(path, opts, 'open'), path);
    },

    async rename(from: string, to: string): Promise<void> {
      checkPath(from, 'rename');
      checkPath(to, 'rename');
      const src = lookup2(() => m.resolve(from, false, 'rename'), 'rename', from, to);
      if (src.node === undefined) throw errnoError('ENOENT', 'rename', from, to);
      const dst = lookup2(() => m.resolve(to, false, 'rename'), 'rename', from, to);
      const node = src.node;
      if (src.name === '' || src.name === '.' || src.name === '..') throw errnoError('EBUSY', 'rename', from, to);
      if (dst.name === '' || dst.name === '.' || dst.name === '..') throw errnoError('EBUSY', 'rename', from, to);
      const old = dst.node;
      if (old === node) return; // Same inode (or the same entry): POSIX says do nothing.
      if (isDir(node)) {
        if (m.isAncestor(node, dst.dir)) throw errnoError('EINVAL', 'rename', from, to);
        if (old !== undefined) {
          if (!isDir(old)) throw errnoError('ENOTDIR', 'rename', from, to);
          if (old.entries!.size > 0) throw errnoError('ENOTEMPTY', 'rename', from, to);
        }
      } else if (old !== undefined && isDir(old)) {
        throw errnoError('EISDIR', 'rename', from, to);
      }
      if (old !== undefined) m.detach(dst.dir, dst.name, old);
      m.detach(src.dir, src.name, node);
      m.attach(dst.dir, dst.name, node);
    },

    async link(existing: string, newPath: string): Promise<void> {
      checkPath(existing, 'link');
      checkPath(newPath, 'link');
      const src = lookup2(() => m.resolve(existing, false, 'link'), 'link', existing, newPath);
      if (src.node === undefined) throw errnoError('ENOENT', 'link', existing, newPath);
      if (isDir(src.node)) throw errnoError('EPERM', 'link', existing, newPath);
      const dst = lookup2(() => m.resolve(newPath, false, 'link'), 'link', existing, newPath);
      if (dst.node !== undefined) throw errnoError('EEXIST', 'link', existing, newPath);
      m.attach(dst.dir, dst.name, src.node);
    },

    async symlink(target: string, path: string): Promise<void> {
      if (typeof target !== 'string' || target.length === 0) throw new TypeError('symlink: target must be a non-empty string');
      checkPath(path, 'symlink');
      const r = lookup2(() => m.resolve(path, false, 'symlink'), 'symlink', target, path);
      if (r.node !== undefined) throw errnoError('EEXIST', 'symlink', target, path);
      const n = m.newInode(S_IFLNK | 0o777);
      n.target = target;
      m.attach(r.dir, r.name, n);
    },

    async unlink(path: string): Promise<void> {
      checkPath(path, 'unlink');
      const r = m.resolve(path, false, 'unlink');
      if (r.node === undefined) throw errnoError('ENOENT', 'unlink', path);
      if (isDir(r.node)) throw errnoError('EISDIR', 'unlink', path);
      m.detach(r.dir, r.name, r.node);
    },

    async rmdir(path: string): Promise<void> {
      checkPath(path, 'rmdir');
      const r = m.resolve(path, false, 'rmdir');
      if (r.node === undefined) throw errnoError('ENOENT', 'rmdir', path);
      if (!isDir(r.node)) throw errnoError('ENOTDIR', 'rmdir', path);
      if (r.node === m.root) throw errnoError('EBUSY', 'rmdir', path);
      if (r.name === '.') throw errnoError('EINVAL', 'rmdir', path);
      if (r.node.entries!.size > 0) throw errnoError('ENOTEMPTY', 'rmdir', path);
      m.detach(r.dir, r.name, r.node);
    },

    async rmrf(path: string): Promise<void> {
      checkPath(path, 'rmrf');
      let r: Resolved;
      try {
        r = m.resolve(path, false, 'rm');
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'ENOENT') return;
        throw e;
      }
      if (r.node === undefined) return;
      if (r.node === m.root) throw errnoError('EBUSY', 'rm', path);
      m.removeTree(r.dir, r.name, r.node);
    },

    async chmod(path: string, mode: number): Promise<void> {
      checkPath(path, 'chmod');
      checkMode(mode, 'chmod');
      const n = m.existing(path, true, 'chmod');
      n.mode = (n.mode & S_IFMT) | mode;
    },

    async lchown(path: string, uid: number, gid: number): Promise<void> {
      checkPath(path, 'lchown');
      if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid < -1 || gid < -1) {
        throw new TypeError('lchown: uid and gid must be integers ≥ -1');
      }
      const n = m.existing(path, false, 'lchown');
      if (uid !== -1) n.uid = uid;
      if (gid !== -1) n.gid = gid;
    },

    async lutimes(path: string, atime: number, mtime: number): Promise<void> {
      checkPath(path, 'lutimes');
      if (!Number.isFinite(atime) || !Number.isFinite(mtime)) throw new TypeError('lutimes: times must be finite numbers');
      const n = m.existing(path, false, 'lutime');
      n.atimeMs = atime * 1000;
      n.mtimeMs = mtime * 1000;
    },

    async fsyncDir(path: string): Promise<void> {
      checkPath(path, 'fsyncDir');
      m.existing(path, true, 'open');
    },

    async copyFile(from: string, to: string): Promise<void> {
      checkPath(from, 'copyFile');
      checkPath(to, 'copyFile');
      const src = m.existing(from, true, 'copyfile');
      if (isDir(src)) throw errnoError('EISDIR', 'copyfile', from, to);
      const content = src.data.slice(0, src.size);
      // Like libuv: write into the destination (truncating an existing file), then give it the source's mode.
      const dst = m.openForWrite(to, { mode: src.mode & 0o7777 }, 'copyfile');
      m.writeAt(dst, content, 0);
      dst.mode = (dst.mode & S_IFMT) | (src.mode & 0o7777);
    },

    async freeSpace(path: string): Promise<{ freeBytes: number; totalBytes: number } | null> {
      checkPath(path, 'freeSpace');
      m.existing(path, true, 'statfs');
      return m.freeSpace();
    },

    xattrs: createMemoryXattrs(m),
  };
  return fs;
}
