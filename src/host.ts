// The host interface: everything the runtime-neutral engine needs from the outside world.
// src/ never touches a runtime API directly; runtimes/ implement these contracts (posix over
// node:fs/promises for Node/Bun/Deno, in-memory for tests and browsers).

/** Kind of a filesystem entry, as lstat() sees it (symlinks are never followed). */
export type FileKind = 'file' | 'dir' | 'symlink' | 'other';

/** lstat() result. `mode` is the full st_mode including the S_IFMT type bits. */
export interface Stat {
  kind: FileKind;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  ino: number;
  dev: number;
  nlink: number;
  mtimeMs: number;
}

export interface DirEntry {
  name: string;
  kind: FileKind;
}

/** A file opened for reading; positional reads so several can be in flight. */
export interface ReadHandle {
  /** Reads up to `length` bytes at `position` into `buf[offset..]`; returns bytes read (0 = EOF). */
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** A file opened for writing (created, truncated). */
export interface WriteHandle {
  write(chunk: Uint8Array): Promise<void>;
  /** fsync(2) of the data and metadata. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface WriteOptions {
  /** Permission bits for a newly created file (default 0o644). */
  mode?: number;
  /** fsync the file: before writeFile returns; for openWrite, before the handle's close() resolves. */
  fsync?: boolean;
  /** Fail with code EEXIST if the path exists. */
  exclusive?: boolean;
}

/** Error thrown by hosts: `code` is the errno name (ENOENT, EEXIST, ENOTEMPTY, EXDEV, …). */
export interface HostError extends Error {
  code?: string;
}

/**
 * Extended attributes, acting on the entry itself (l*xattr: a symlink's own xattrs, never its
 * target's). Optional: hosts without it support archive and bare-user-only repos only.
 */
export interface XattrHost {
  list(path: string): Promise<string[]>;
  /** Returns null when the attribute is absent. */
  get(path: string, name: string): Promise<Uint8Array | null>;
  set(path: string, name: string, value: Uint8Array): Promise<void>;
  remove(path: string, name: string): Promise<void>;
}

/** Filesystem primitives. Paths are POSIX strings (absolute, or relative to the process cwd). */
export interface FsHost {
  /** lstat(2); resolves null when the path does not exist (ENOENT/ENOTDIR). */
  lstat(path: string): Promise<Stat | null>;
  /** stat(2) following symlinks; null when missing or dangling. */
  stat(path: string): Promise<Stat | null>;
  readFile(path: string): Promise<Uint8Array>;
  openRead(path: string): Promise<ReadHandle>;
  /** Entries other than '.' and '..', in no particular order. */
  readdir(path: string): Promise<DirEntry[]>;
  readlink(path: string): Promise<string>;
  /** mkdir(2); with `recursive`, creates parents and does not fail on an existing directory. */
  mkdir(path: string, opts?: { mode?: number; recursive?: boolean }): Promise<void>;
  writeFile(path: string, data: Uint8Array, opts?: WriteOptions): Promise<void>;
  openWrite(path: string, opts?: WriteOptions): Promise<WriteHandle>;
  rename(from: string, to: string): Promise<void>;
  /** link(2): a new hardlink `newPath` to `existing`. */
  link(existing: string, newPath: string): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  /** rm -rf; no error when missing. */
  rmrf(path: string): Promise<void>;
  chmod(path: string, mode: number): Promise<void>;
  /** lchown(2): never follows symlinks. */
  lchown(path: string, uid: number, gid: number): Promise<void>;
  /** Set atime and mtime (seconds) without following symlinks. */
  lutimes(path: string, atime: number, mtime: number): Promise<void>;
  /** fsync a directory so that renames/creations in it are durable. */
  fsyncDir(path: string): Promise<void>;
  /** Copy a regular file's content (reflink where possible); mode is set by the caller. */
  copyFile(from: string, to: string): Promise<void>;
  /**
   * syncfs(2) of the filesystem holding `path`: makes every earlier write durable. Optional;
   * without it the engine fsyncs each staged file instead.
   */
  syncfs?(path: string): Promise<void>;
  /**
   * syncfs, then FIFREEZE and FITHAW of the filesystem holding `path`: the freeze checkpoints the
   * journal, so a boot loader that reads the disk without replaying it (GRUB) sees what the kernel
   * will see after it replays. A filesystem that cannot freeze (tmpfs, overlayfs) or a caller
   * without the privilege is not an error: the call then only syncs. Optional.
   */
  freezeThaw?(path: string): Promise<void>;
  /**
   * Creates an overlayfs whiteout (a character device 0:0) at `path`. Optional: mknod(2) needs
   * privileges and a runtime that can reach it.
   */
  mkWhiteout?(path: string): Promise<void>;
  /**
   * Sets or clears the immutable flag (FS_IMMUTABLE_FL, `chattr +i`) of a directory or file, as
   * libostree seals deployment roots. Optional. Resolves false, without error, when the file
   * system does not support the flag (EOPNOTSUPP/ENOTTY) or the process may not change it (EPERM).
   */
  setImmutable?(path: string, immutable: boolean): Promise<boolean>;
  /** Free bytes on the filesystem holding `path`, if known. */
  freeSpace?(path: string): Promise<{ freeBytes: number; totalBytes: number } | null>;
  xattrs?: XattrHost;
}

/** Incremental SHA-256. */
export interface Sha256 {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

/** A source of SHA-256 implementations (native on hosts, WASM or JS elsewhere). */
export interface HashProvider {
  readonly name: string;
  createSha256(): Sha256;
  /** One-shot digest; providers may make this faster than create/update/digest. */
  sha256?(data: Uint8Array): Uint8Array;
}

/** Raw DEFLATE (zlib windowBits -15), possibly running off the main thread. */
export interface DeflateProvider {
  readonly name: string;
  deflateRaw(data: Uint8Array, level: number): Promise<Uint8Array>;
  inflateRaw(data: Uint8Array, maxOutput?: number): Promise<Uint8Array>;
  /**
   * Inflates chunk by chunk (optional): big objects never exist whole in memory. Fails once the
   * output passes maxOutput bytes.
   */
  inflateRawChunks?(data: Uint8Array | AsyncIterable<Uint8Array>, maxOutput: number): AsyncIterable<Uint8Array>;
  /**
   * Deflates a stream chunk by chunk (optional): a big file committed to an archive repo is
   * compressed as it is read, never whole in memory. The output is one raw DEFLATE stream. An
   * input chunk is done with once the next one is requested, so the source may reuse its buffer.
   */
  deflateRawChunks?(data: AsyncIterable<Uint8Array>, level: number): AsyncIterable<Uint8Array>;
  /**
   * Decompresses a gzip file (RFC 1952: every member, each trailer's CRC-32 and size checked)
   * chunk by chunk (optional; rpm-md metadata is read through it when present). Fails once the
   * output passes maxOutput bytes.
   */
  gunzipChunks?(data: AsyncIterable<Uint8Array>, maxOutput: number): AsyncIterable<Uint8Array>;
}

/**
 * CPU-bound work run on other threads (Node/Bun/Deno worker_threads, Web Workers), so the main
 * thread only orchestrates. Every call copies its input (the caller keeps its buffer and may reuse
 * it once the promise settles) and receives a fresh, transferred output. The pool bounds what it
 * holds: a few jobs per worker and a cap on the bytes in flight; further calls wait their turn.
 * Workers start on first use and never keep the process alive while idle.
 */
export interface WorkerPool {
  readonly name: string;
  /** Worker threads it runs at most. */
  readonly size: number;
  /**
   * Name of the DeflateProvider whose output deflateRaw reproduces byte for byte (e.g.
   * 'node:zlib'); the engine sends deflate work only to a pool matching its in-thread provider.
   */
  readonly deflateName: string;
  /** Raw DEFLATE at `level` (-1..9), identical to the named provider's output. */
  deflateRaw(data: Uint8Array, level: number): Promise<Uint8Array>;
  /** Inflates a raw DEFLATE stream; rejects with a CorruptionError when invalid or past maxOutput bytes. */
  inflateRaw(data: Uint8Array, maxOutput: number): Promise<Uint8Array>;
  /** One-shot SHA-256. */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /**
   * Bytes of work the engine does in the calling thread (per repo opened) before it starts using
   * the pool, so small commands never pay a worker's start-up (default 16 MiB; 0 = use it at once).
   */
  readonly warmupBytes?: number;
  /** Stops every worker (later calls start them again). */
  close(): Promise<void>;
}

/** A response being received from an HttpClient. */
export interface HttpResponse {
  readonly status: number;
  /** A response header (name case-insensitive); null when absent. */
  header(name: string): string | null;
  /** The next chunk of the body (the caller may keep it); null at the end. Rejects when the connection breaks. */
  read(): Promise<Uint8Array | null>;
  /** Stops receiving; the connection is closed, not reused. */
  cancel(): void;
}

/** One request in flight: its response, and a way to abort it (then `response`/`read` reject). */
export interface HttpExchange {
  readonly response: Promise<HttpResponse>;
  abort(): void;
}

/**
 * A lean HTTP(S) client (GET/HEAD, keep-alive connections, redirects followed): what pulls use
 * for their thousands of small requests when the runtime has one cheaper than `fetch`.
 */
export interface HttpClient {
  request(url: string, init: { method?: 'GET' | 'HEAD'; headers: Record<string, string> }): HttpExchange;
}

/** Kind of an advisory file lock: many shared holders, or one exclusive holder. */
export type LockKind = 'shared' | 'exclusive';

/** A lock held on one open file (see LockHost). */
export interface HeldLock {
  /**
   * Changes the lock's kind in place on the same open file (shared → exclusive upgrade, or the
   * downgrade back). Never waits: resolves false, keeping the current kind, when another holder
   * conflicts.
   */
  change(kind: LockKind): Promise<boolean>;
  /** Drops the lock and closes the file; with `unlink`, removes the file first (while still locked). */
  release(opts?: { unlink?: boolean }): Promise<void>;
}

/** Options of LockHost.tryLock. */
export interface TryLockOptions {
  /** Permission bits when the lock file is created (default 0o644). */
  mode?: number;
  /**
   * After locking, check that the file is still linked (another holder may have unlinked it on
   * release, glnx_make_lock_file's loop) and retry on the new file if not.
   */
  relockIfUnlinked?: boolean;
}

/**
 * Advisory locks between processes that are compatible with libostree's: an open file
 * description (OFD) fcntl record lock over the whole file, which is what ostree 2022.7 takes on
 * a repo's `.lock` and a sysroot's `ostree/lock` (flock only where OFD locks are missing). Each
 * tryLock opens the file anew, so two locks of one process conflict with each other like those of
 * two processes; the engine keeps one lock per file and counts its users (src/util/lock-table.ts).
 * Optional: without it the engine does not lock. Errors carry the errno name in `code`; a host
 * that finds it cannot lock after all (no helper available) throws code ENOSYS.
 */
export interface LockHost {
  /**
   * Opens `path` (created when missing, symlinks refused) and takes a lock of `kind` without
   * waiting: resolves null when another holder conflicts. The engine polls to wait.
   */
  tryLock(path: string, kind: LockKind, opts?: TryLockOptions): Promise<HeldLock | null>;
  /** Describes who holds locks on `path` ("pid 123 (ostree)"), where the host can tell. */
  describeHolders?(path: string): Promise<string[]>;
}

/** A host directory made visible inside a sandbox (see SandboxHost). */
export interface SandboxBind {
  /** Host path (absolute). */
  source: string;
  /** Absolute path inside the sandbox; no `..` components. */
  dest: string;
  /** Read-write when true; read-only otherwise. */
  writable?: boolean;
}

/** One program to run inside a root being built (see SandboxHost.run). */
export interface SandboxRequest {
  /** Host path of the root filesystem (its usr, etc, var… become the sandbox's). */
  root: string;
  /** Program and arguments; argv[0] is resolved inside the sandbox (PATH applies). */
  argv: string[];
  /**
   * Script text handed to the program as file descriptor 5, readable at `/proc/self/fd/5` (a
   * regular file outside the root, as rpm-ostree's sealed memfd): put that path in `argv`.
   */
  script?: Uint8Array;
  /** Bytes fed to standard input (streamed when an iterable); empty when absent. */
  stdin?: Uint8Array | AsyncIterable<Uint8Array>;
  /** The whole environment of the program: nothing of the caller's environment is inherited. */
  env: Record<string, string>;
  /** Extra binds, after the fixed layout (e.g. a writable /var/lib/rpm-state). */
  binds?: SandboxBind[];
  /**
   * How /usr and /etc are visible: 'copyup' (writable; a file with several hardlinks is copied
   * before it is changed, so other links never see the change: rofiles-fuse --copyup) or
   * 'readonly'.
   */
  mutability: 'copyup' | 'readonly';
  /** Killed after this many milliseconds (timedOut then true). */
  timeoutMs: number;
  /** Stdout and stderr (merged, in order) kept up to this many bytes; the rest is dropped. */
  maxOutputBytes: number;
}

/** What a sandboxed program did. */
export interface SandboxResult {
  /** Exit status, or null when killed by a signal. */
  exitCode: number | null;
  /** Signal name when killed by one (e.g. SIGKILL after a timeout). */
  signal: string | null;
  timedOut: boolean;
  /** Merged stdout and stderr, at most maxOutputBytes. */
  output: Uint8Array;
  outputTruncated: boolean;
}

/**
 * Runs programs inside a root being assembled, confined as rpm-ostree confines RPM scriptlets
 * (bubblewrap: private pid/ipc/uts/network namespaces, reduced capabilities, /dev and /proc of
 * their own, tmpfs /tmp and /run, /var read-only). The confinement is the host's job and is not
 * optional: requests can add binds but never share the network or the host's filesystem.
 * Optional: without it the engine refuses to run scriptlets.
 */
export interface SandboxHost {
  /** Short name of the mechanism ("bwrap"). */
  readonly name: string;
  run(req: SandboxRequest): Promise<SandboxResult>;
  /**
   * Optional: sets a root up once (the copy-up mounts) for several runs with the same root and
   * mutability, saving that cost per run. While a session is open, the root must be changed only
   * through its runs (a change made beside it may be seen late); close() releases it.
   */
  open?(root: string, mutability: SandboxRequest['mutability']): Promise<SandboxSession>;
}

/** Several sandboxed runs sharing one set-up of a root (see SandboxHost.open). */
export interface SandboxSession {
  /** As SandboxHost.run; `root` and `mutability` must be the session's. */
  run(req: SandboxRequest): Promise<SandboxResult>;
  close(): Promise<void>;
}

/** An overlayfs mount (ostree admin unlock): `lower` read-only, `upper` + `work` writable, same filesystem. */
export interface OverlayMountRequest {
  lower: string;
  upper: string;
  work: string;
  /** The mount point (ostree: /usr of the running system). */
  target: string;
  /** Mount read-only (ostree's --transient unlock); remount() can make it writable later. */
  readOnly?: boolean;
}

/** What the running system has mounted at one path (the topmost mount there). */
export interface MountInfo {
  fstype: string;
  readOnly: boolean;
  /** The superblock options (overlay: lowerdir=…,upperdir=…,workdir=…). */
  options: string;
}

/**
 * Mounts on the running system, for `admin unlock` / `usroverlay` / `apply-live` (ostree mounts
 * an overlayfs on /usr of the booted deployment). Needs privileges; optional: without it those
 * commands are refused. Paths are absolute; a path the mechanism cannot express is refused.
 */
export interface MountHost {
  overlay(req: OverlayMountRequest): Promise<void>;
  /** Remounts `target` read-only or read-write (its topmost mount). */
  remount(target: string, readOnly: boolean): Promise<void>;
  /** The topmost mount whose mount point is exactly `target`, or null when none is. */
  info(target: string): Promise<MountInfo | null>;
}

/**
 * WebAssembly modules that npm dependencies ship as separate files, handed to the engine by the
 * runtime (src/ cannot read node_modules itself). Optional; each member is optional too.
 */
export interface WasmSources {
  /** sql.js's `dist/sql-wasm.wasm` (SQLite), as bytes or a compiled module: used to read and write rpmdb.sqlite. */
  sqlJs?(): Promise<Uint8Array | WebAssembly.Module>;
}

/** Everything the engine may use. Only `fs` is required. */
export interface Host {
  fs: FsHost;
  /** Native hashing, if the runtime has a fast one. */
  hash?: HashProvider;
  /** Native deflate, if the runtime has one. */
  deflate?: DeflateProvider;
  /** Threads for deflate/inflate and hashing; without it that work runs on the calling thread. */
  workers?: WorkerPool;
  /** Web-standard fetch for pulls. */
  fetch?: typeof fetch;
  /** A cheaper HTTP client than `fetch` for pulls (optional; pulls fall back to `fetch`). */
  http?: HttpClient;
  /** Environment variables (OSTREE_* etc). */
  env?: Record<string, string | undefined>;
  /** Wall clock in milliseconds since the epoch. */
  now?(): number;
  /** Effective uid/gid of the process, when meaningful. */
  uid?: number;
  gid?: number;
  /** Cores available for parallel work (default 1). */
  concurrency?: number;
  /** Inter-process file locks (repo and sysroot locks); without it the engine does not lock. */
  locks?: LockHost;
  /** Runs programs confined inside a root being built (RPM scriptlets); without it scripts are refused. */
  sandbox?: SandboxHost;
  /** Mounts on the running system (overlayfs on /usr for unlock / apply-live); without it those are refused. */
  mounts?: MountHost;
  /** WASM modules of dependencies (SQLite for the rpmdb); without it rpmdb reads/writes fail with ENOSYS. */
  wasm?: WasmSources;
}
