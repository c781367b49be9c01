// FsHost over node:fs/promises: the one filesystem API that Node 20, Bun and Deno share.
// Every method is a thin wrapper (one syscall where POSIX needs one) that keeps the runtime's
// errno `code` and makes sure the message names the path.

import * as fsp from 'node:fs/promises';
import * as nodeFs from 'node:fs';
import { promisify } from 'node:util';
import type { Stats, Dirent } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type {
  DirEntry,
  FileKind,
  FsHost,
  ReadHandle,
  Stat,
  WriteHandle,
  WriteOptions,
  XattrHost,
} from '../../src/host.ts';
import { codeOf, errnoError, withPath } from './errors.ts';
import { setImmutableFlag } from './immutable.ts';

// Path-based calls go through promisified callback APIs: measured on this machine, fs.lstat and
// fs.readFile that way take about half the time of their node:fs/promises twins in Node 20 and
// Deno (about the same in Bun). File handles (openRead/openWrite) stay on FileHandle.
const lstatP = promisify(nodeFs.lstat) as (path: string) => Promise<Stats>;
const statP = promisify(nodeFs.stat) as (path: string) => Promise<Stats>;
const readFileP = promisify(nodeFs.readFile) as (path: string) => Promise<Uint8Array>;
const renameP = promisify(nodeFs.rename);
const linkP = promisify(nodeFs.link);
const symlinkP = promisify(nodeFs.symlink) as (target: string, path: string) => Promise<void>;
const unlinkP = promisify(nodeFs.unlink);
const rmdirP = promisify(nodeFs.rmdir) as (path: string) => Promise<void>;
const chmodP = promisify(nodeFs.chmod);
const lchownP = promisify(nodeFs.lchown);
const COPYFILE_FICLONE = nodeFs.constants.COPYFILE_FICLONE;

/** The path-based calls, in two flavours: through libuv's thread pool, or blocking. */
const ASYNC_OPS = {
  lstat: lstatP,
  stat: statP,
  readFile: readFileP,
  readdir: (p: string) => fsp.readdir(p, { withFileTypes: true }),
  readlink: (p: string) => fsp.readlink(p),
  mkdir: (p: string, o: { mode: number; recursive: boolean }) => fsp.mkdir(p, o).then(() => undefined),
  writeFile: (p: string, d: Uint8Array, o: { mode: number; flag: string }) => fsp.writeFile(p, d, o),
  rename: renameP as (a: string, b: string) => Promise<void>,
  link: linkP as (a: string, b: string) => Promise<void>,
  symlink: symlinkP,
  unlink: unlinkP as (p: string) => Promise<void>,
  rmdir: rmdirP,
  chmod: chmodP as (p: string, m: number) => Promise<void>,
  lchown: lchownP as (p: string, u: number, g: number) => Promise<void>,
  lutimes: (p: string, a: number, m: number) => fsp.lutimes(p, a, m),
};

// Blocking calls are several times cheaper for metadata on cached filesystems (no thread-pool
// round trip): what a CLI doing tens of thousands of lstat/link/mkdir wants.
// A missing path is the common answer of lstat/stat (object lookups): ask for undefined instead of
// an exception, whose construction (stack trace, message) costs more than the syscall.
const ENOENT_STAT = Symbol('ENOENT');
const SYNC_OPS: typeof ASYNC_OPS = {
  lstat: async (p) => nodeFs.lstatSync(p, { throwIfNoEntry: false }) ?? (ENOENT_STAT as unknown as Stats),
  stat: async (p) => nodeFs.statSync(p, { throwIfNoEntry: false }) ?? (ENOENT_STAT as unknown as Stats),
  readFile: async (p) => nodeFs.readFileSync(p),
  readdir: async (p) => nodeFs.readdirSync(p, { withFileTypes: true }),
  readlink: async (p) => nodeFs.readlinkSync(p),
  mkdir: async (p, o) => void nodeFs.mkdirSync(p, o),
  writeFile: async (p, d, o) => nodeFs.writeFileSync(p, d, o),
  rename: async (a, b) => nodeFs.renameSync(a, b),
  link: async (a, b) => nodeFs.linkSync(a, b),
  symlink: async (t, p) => nodeFs.symlinkSync(t, p),
  unlink: async (p) => nodeFs.unlinkSync(p),
  rmdir: async (p) => nodeFs.rmdirSync(p),
  chmod: async (p, m) => nodeFs.chmodSync(p, m),
  lchown: async (p, u, g) => nodeFs.lchownSync(p, u, g),
  lutimes: async (p, a, m) => nodeFs.lutimesSync(p, a, m),
};

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DEFAULT_FILE_MODE = 0o644;

export interface PosixFsOptions {
  /** Extended-attribute support to expose as `fs.xattrs` (none by default). */
  xattrs?: XattrHost;
  /**
   * Check with lstat that unlink's target is not a directory. Deno's node:fs unlink removes
   * empty directories (and reports ENOTEMPTY for full ones) instead of failing with EISDIR;
   * defaults to true under Deno only.
   */
  strictUnlink?: boolean;
  /**
   * Make path-based calls (lstat, link, mkdir, readFile …) as blocking syscalls instead of
   * thread-pool jobs. Faster for metadata-heavy CLI work on local filesystems; a server that must
   * stay responsive keeps the default (false). File handles are always asynchronous.
   */
  blockingCalls?: boolean;
}

/** Kind of an entry from the S_IFMT bits of its st_mode. */
export function kindOfMode(mode: number): FileKind {
  switch (mode & S_IFMT) {
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

function toStat(s: Stats): Stat {
  const mode = s.mode;
  return {
    kind: kindOfMode(mode),
    mode,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    ino: s.ino,
    dev: s.dev,
    nlink: s.nlink,
    mtimeMs: s.mtimeMs,
  };
}

function direntKind(d: Dirent): FileKind {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
}

/** A plain Uint8Array view of a Buffer (no copy), so every host hands out the same type. */
function plainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await fh.write(data, done, data.byteLength - done, null);
    done += bytesWritten;
  }
}

class PosixReadHandle implements ReadHandle {
  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
  ) {}

  async read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    try {
      return (await this.fh.read(buf, offset, length, position)).bytesRead;
    } catch (e) {
      throw withPath(e, this.path);
    }
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

class PosixWriteHandle implements WriteHandle {
  constructor(
    private readonly fh: FileHandle,
    private readonly path: string,
    /** WriteOptions.fsync: the data is made durable before close() resolves */
    private readonly fsyncOnClose = false,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    try {
      await writeAll(this.fh, chunk);
    } catch (e) {
      throw withPath(e, this.path);
    }
  }

  async sync(): Promise<void> {
    try {
      await this.fh.sync();
    } catch (e) {
      throw withPath(e, this.path);
    }
  }

  async close(): Promise<void> {
    try {
      if (this.fsyncOnClose) await this.sync();
    } finally {
      await this.fh.close();
    }
  }
}

interface SyncHelper {
  request(path: string): Promise<void>;
}

let syncHelper: Promise<SyncHelper> | null = null;

/**
 * One long-lived `sh` that runs `sync -f PATH` per line it reads: forking it once is far cheaper
 * than forking a big Node process for every syncfs (a pull syncs after every batch). Its pipes
 * are unref'd while idle, so it never keeps the process alive; it exits when our stdin closes.
 * child_process is loaded on first use, not at start-up (it drags in net, dgram and streams).
 */
async function startSyncHelper(): Promise<SyncHelper> {
  const { spawn } = await import('node:child_process');
  const child = spawn('sh', ['-c', 'while IFS= read -r p; do if sync -f "$p"; then echo ok; else echo err; fi; done'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const stdin = child.stdin!;
  const stdout = child.stdout! as typeof child.stdout & { ref(): void; unref(): void };
  const waiting: Array<{ resolve: () => void; reject: (e: unknown) => void; path: string }> = [];
  const idle = () => {
    stdout.unref();
    (stdin as unknown as { unref?: () => void }).unref?.();
    child.unref();
  };
  let buf = '';
  stdout.setEncoding('utf8');
  stdout.on('data', (d: string) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (!w) continue;
      if (line === 'ok') w.resolve();
      else w.reject(errnoError('EIO', 'syncfs', w.path));
    }
    if (waiting.length === 0) idle();
  });
  const fail = (e: unknown) => {
    syncHelper = null;
    for (const w of waiting.splice(0)) w.reject(e);
  };
  child.on('error', fail);
  child.on('exit', () => fail(new Error('the sync helper exited')));
  idle();
  return {
    request(path: string): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        waiting.push({ resolve, reject, path });
        stdout.ref();
        child.ref();
        stdin.write(`${path}\n`);
      });
    },
  };
}

// FIFREEZE then FITHAW in one python3 process: nothing runs between the two ioctls (a second
// process would have to be started from the frozen filesystem, and an atime update there blocks).
// Exit 0 also when the filesystem cannot freeze (EOPNOTSUPP, ENOTTY, EINVAL) or we may not (EPERM),
// as libostree does. Without python3 only the syncfs is done.
const FREEZE_THAW_PY = [
  'import errno, fcntl, os, sys',
  'fd = os.open(sys.argv[1], os.O_RDONLY)',
  'try:',
  '    fcntl.ioctl(fd, 0xC0045877, 0)',
  'except OSError as e:',
  '    if e.errno in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EINVAL, errno.EPERM): sys.exit(0)',
  '    sys.stderr.write("FIFREEZE: " + os.strerror(e.errno)); sys.exit(1)',
  'fcntl.ioctl(fd, 0xC0045878, 0)',
].join('\n');

async function freezeThawFilesystem(path: string): Promise<void> {
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    execFile('python3', ['-c', FREEZE_THAW_PY, path], { timeout: 60_000 }, (err, _out, stderr) => {
      if (!err || (err as NodeJS.ErrnoException).code === 'ENOENT') resolve();
      else reject(withPath(new Error(`freeze/thaw of the filesystem failed: ${String(stderr).trim() || err.message}`), path));
    });
  });
}

async function syncFilesystem(path: string): Promise<void> {
  if (!path.includes('\n')) {
    try {
      syncHelper ??= startSyncHelper();
      return await (await syncHelper).request(path);
    } catch {
      // fall back to one process per call
    }
  }
  const { execFile } = await import('node:child_process');
  await new Promise<void>((resolve, reject) => {
    execFile('sync', ['-f', path], (err) => (err ? reject(withPath(err, path)) : resolve()));
  });
}

function isMissing(e: unknown): boolean {
  const code = codeOf(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Creates an FsHost over node:fs/promises. Works unchanged under Node ≥20, Bun and Deno. */
export function createPosixFs(options: PosixFsOptions = {}): FsHost {
  if (typeof options !== 'object' || options === null) throw new TypeError('createPosixFs: options must be an object');
  const strictUnlink = options.strictUnlink ?? (globalThis as { Deno?: unknown }).Deno !== undefined;
  const ops = options.blockingCalls ? SYNC_OPS : ASYNC_OPS;

  const fs: FsHost = {
    async lstat(path: string): Promise<Stat | null> {
      try {
        const s = await ops.lstat(path);
        return (s as unknown) === ENOENT_STAT ? null : toStat(s);
      } catch (e) {
        if (isMissing(e)) return null;
        throw withPath(e, path);
      }
    },

    async stat(path: string): Promise<Stat | null> {
      try {
        const s = await ops.stat(path);
        return (s as unknown) === ENOENT_STAT ? null : toStat(s);
      } catch (e) {
        if (isMissing(e)) return null;
        throw withPath(e, path);
      }
    },

    async readFile(path: string): Promise<Uint8Array> {
      try {
        return plainBytes(await ops.readFile(path));
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async openRead(path: string): Promise<ReadHandle> {
      try {
        return new PosixReadHandle(await fsp.open(path, 'r'), path);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async readdir(path: string): Promise<DirEntry[]> {
      let dirents: Dirent[];
      try {
        dirents = await ops.readdir(path);
      } catch (e) {
        throw withPath(e, path);
      }
      const out = new Array<DirEntry>(dirents.length);
      for (let i = 0; i < dirents.length; i++) {
        const d = dirents[i];
        out[i] = { name: d.name, kind: direntKind(d) };
      }
      return out;
    },

    async readlink(path: string): Promise<string> {
      try {
        return await ops.readlink(path);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async mkdir(path: string, opts?: { mode?: number; recursive?: boolean }): Promise<void> {
      try {
        await ops.mkdir(path, { mode: opts?.mode ?? 0o777, recursive: opts?.recursive ?? false });
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async writeFile(path: string, data: Uint8Array, opts?: WriteOptions): Promise<void> {
      const flag = opts?.exclusive ? 'wx' : 'w';
      const mode = opts?.mode ?? DEFAULT_FILE_MODE;
      try {
        if (!opts?.fsync) {
          await ops.writeFile(path, data, { mode, flag });
          return;
        }
        const fh = await fsp.open(path, flag, mode);
        try {
          await writeAll(fh, data);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async openWrite(path: string, opts?: WriteOptions): Promise<WriteHandle> {
      const flag = opts?.exclusive ? 'wx' : 'w';
      try {
        return new PosixWriteHandle(await fsp.open(path, flag, opts?.mode ?? DEFAULT_FILE_MODE), path, opts?.fsync === true);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async rename(from: string, to: string): Promise<void> {
      try {
        await ops.rename(from, to);
      } catch (e) {
        throw withPath(e, from);
      }
    },

    async link(existing: string, newPath: string): Promise<void> {
      try {
        await ops.link(existing, newPath);
      } catch (e) {
        throw withPath(e, newPath);
      }
    },

    async symlink(target: string, path: string): Promise<void> {
      try {
        await ops.symlink(target, path);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async unlink(path: string): Promise<void> {
      try {
        if (strictUnlink) {
          const st = await ops.lstat(path);
          if ((st.mode & S_IFMT) === S_IFDIR) throw errnoError('EISDIR', 'unlink', path);
        }
        await ops.unlink(path);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async rmdir(path: string): Promise<void> {
      try {
        await ops.rmdir(path);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async rmrf(path: string): Promise<void> {
      try {
        await fsp.rm(path, { recursive: true, force: true });
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async chmod(path: string, mode: number): Promise<void> {
      try {
        await ops.chmod(path, mode);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async lchown(path: string, uid: number, gid: number): Promise<void> {
      try {
        await ops.lchown(path, uid, gid);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async lutimes(path: string, atime: number, mtime: number): Promise<void> {
      try {
        await ops.lutimes(path, atime, mtime);
      } catch (e) {
        throw withPath(e, path);
      }
    },

    async syncfs(path: string): Promise<void> {
      // Node has no syncfs(2); coreutils' `sync -f` calls it for the filesystem holding path.
      await syncFilesystem(path);
    },

    async freezeThaw(path: string): Promise<void> {
      await syncFilesystem(path);
      await freezeThawFilesystem(path);
    },

    async mkWhiteout(path: string): Promise<void> {
      // Node has no mknod(2); coreutils' mknod makes the 0:0 character device.
      const { execFile } = await import('node:child_process');
      await new Promise<void>((resolve, reject) => {
        execFile('mknod', [path, 'c', '0', '0'], (err) => (err ? reject(withPath(err, path)) : resolve()));
      });
    },

    setImmutable: setImmutableFlag,

    async fsyncDir(path: string): Promise<void> {
      let fh: FileHandle;
      try {
        fh = await fsp.open(path, 'r');
      } catch (e) {
        throw withPath(e, path);
      }
      try {
        await fh.sync();
      } catch (e) {
        const code = codeOf(e);
        // Some filesystems refuse fsync on directories; there is nothing more to make durable.
        if (code !== 'EINVAL' && code !== 'EISDIR') throw withPath(e, path);
      } finally {
        await fh.close();
      }
    },

    async copyFile(from: string, to: string): Promise<void> {
      try {
        await fsp.copyFile(from, to, COPYFILE_FICLONE);
      } catch (e) {
        throw withPath(e, from);
      }
    },

    async freeSpace(path: string): Promise<{ freeBytes: number; totalBytes: number } | null> {
      if (typeof fsp.statfs !== 'function') return null;
      try {
        const s = await fsp.statfs(path);
        return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
      } catch (e) {
        if (codeOf(e) === 'ENOSYS') return null;
        throw withPath(e, path);
      }
    },
  };
  if (options.xattrs !== undefined) fs.xattrs = options.xattrs;
  return fs;
}
