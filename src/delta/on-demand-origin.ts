// The origin side of the on-demand delta service: reading files of an archive repository over
// HTTP (any static server, through a Web `fetch`), with hostile-server limits, and an FsHost that
// lets the ordinary Repo / generateDelta code run on such a remote repository. Reads under the
// repository root come from the origin (immutable objects/ files are kept in a shared, bounded
// cache); writes land in an in-memory scratch area the service collects the generated delta from.
// Redirects are followed only within the origin (same scheme, host and port): the service must
// never relay, cache or build deltas from bytes of a host it was not configured with.

import type { DirEntry, FsHost, ReadHandle, Stat, WriteHandle, WriteOptions } from '../host.ts';
import { XylemError } from '../util/errors.ts';
import { readBodyCapped } from '../util/read-body.ts';
import { concatBytes } from '../util/bytes.ts';

/** Fetches one file of the origin by repo-relative path; null when the origin answers 404. */
export type OriginGet = (relPath: string, maxBytes: number) => Promise<Uint8Array | null>;

/** Repository paths the service reads from an origin or serves (anything else is refused). */
const SAFE_REL_PATH = /^(config|summary|summary\.sig|(objects|refs|deltas|delta-indexes)(\/[A-Za-z0-9._+\-]+)+)$/;

/** Whether `rel` is a well-formed repository path the service may proxy (no '..', no empty parts). */
export function isSafeRepoPath(rel: string): boolean {
  if (typeof rel !== 'string' || rel.length > 1024 || !SAFE_REL_PATH.test(rel)) return false;
  return !rel.split('/').some((c) => c === '.' || c === '..');
}

/** Reads a response body, refusing more than `maxBytes` (hostile or broken origins). */
export function readCapped(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  return readBodyCapped(res, maxBytes, (over) =>
    over.kind === 'declared'
      ? new XylemError(`${what}: the origin declares ${over.declared} bytes, over the limit of ${maxBytes}`)
      : new XylemError(`${what}: the origin sent more than ${maxBytes} bytes`),
  );
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Redirects followed within the origin before giving up (fetch's limit is 20). */
const MAX_ORIGIN_REDIRECTS = 10;

/**
 * `fetchFn(url)` for a file of the origin at `originBase`, following redirects itself and only
 * to the same origin (scheme, host, port); a redirect elsewhere is refused with an error naming
 * both. A fetch that followed a redirect on its own (ignoring `redirect: 'manual'`) is checked by
 * its final URL.
 */
export async function fetchWithinOrigin(
  fetchFn: typeof fetch,
  url: string,
  init: { method?: string; headers?: Record<string, string> },
  originBase: string,
): Promise<Response> {
  const origin = new URL(originBase).origin;
  const leaves = (from: string, to: string) =>
    new XylemError(`Origin ${from}: refusing a redirect to ${to}: it leaves the origin ${origin} (only same scheme, host and port are followed)`);
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await fetchFn(current, { ...init, redirect: 'manual' });
    if (res.type === 'opaqueredirect') throw new XylemError(`Origin ${current}: refusing a redirect this runtime does not let the service inspect`);
    if (res.redirected && res.url && new URL(res.url).origin !== origin) {
      await res.body?.cancel().catch(() => undefined);
      throw leaves(current, res.url);
    }
    if (!REDIRECT_STATUSES.has(res.status)) return res;
    await res.body?.cancel().catch(() => undefined);
    const loc = res.headers.get('location');
    if (loc === null) throw new XylemError(`Origin ${current}: HTTP ${res.status} redirect without a Location`);
    let next: URL;
    try {
      next = new URL(loc, current);
    } catch {
      throw new XylemError(`Origin ${current}: HTTP ${res.status} redirect to an invalid Location '${loc}'`);
    }
    if (next.origin !== origin) throw leaves(current, next.href);
    if (hop >= MAX_ORIGIN_REDIRECTS) throw new XylemError(`Origin ${url}: more than ${MAX_ORIGIN_REDIRECTS} redirects`);
    current = next.href;
  }
}

/** An OriginGet over `fetchFn` for the archive repository at `baseUrl` (http/https). */
export function httpOriginGet(baseUrl: string, fetchFn: typeof fetch, headers: Record<string, string> = {}): OriginGet {
  if (typeof baseUrl !== 'string' || !/^https?:\/\//.test(baseUrl)) throw new XylemError(`Invalid origin URL '${String(baseUrl)}'`);
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return async (relPath, maxBytes) => {
    if (!isSafeRepoPath(relPath)) throw new XylemError(`Refusing origin path '${relPath}'`);
    const res = await fetchWithinOrigin(fetchFn, base + relPath, { headers }, base);
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw new XylemError(`Origin ${base}${relPath}: HTTP ${res.status}`);
    }
    return readCapped(res, maxBytes, `Origin ${base}${relPath}`);
  };
}

/** A bounded map of immutable origin files (objects/), oldest dropped first. */
export class OriginObjectCache {
  private readonly entries = new Map<string, Promise<Uint8Array | null>>();
  private readonly sizes = new Map<string, number>();
  private bytes = 0;
  constructor(readonly maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new XylemError(`Invalid origin cache size ${maxBytes}`);
  }

  /** The file, fetched once however many callers ask at the same time. */
  get(rel: string, load: () => Promise<Uint8Array | null>): Promise<Uint8Array | null> {
    const hit = this.entries.get(rel);
    if (hit) {
      this.entries.delete(rel);
      this.entries.set(rel, hit);
      return hit;
    }
    const p = load();
    this.entries.set(rel, p);
    p.then(
      (d) => {
        if (this.entries.get(rel) !== p) return;
        const n = d?.length ?? 0;
        this.sizes.set(rel, n);
        this.bytes += n;
        this.evict();
      },
      () => {
        if (this.entries.get(rel) === p) this.entries.delete(rel);
      },
    );
    return p;
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      const n = this.sizes.get(key);
      if (n === undefined) continue; // still loading
      this.entries.delete(key);
      this.sizes.delete(key);
      this.bytes -= n;
    }
  }
}

function fsError(code: string, syscall: string, path: string): Error {
  const e = new Error(`${code}: ${syscall} '${path}'`) as Error & { code: string };
  e.code = code;
  return e;
}

function fileStat(size: number): Stat {
  return { kind: 'file', mode: 0o100644, uid: 0, gid: 0, size, ino: 0, dev: 0, nlink: 1, mtimeMs: 0 };
}

export interface OriginFsOptions {
  /** Where the origin repository appears in this filesystem (default "/origin"). */
  root?: string;
  get: OriginGet;
  /** Shared cache of objects/ files. */
  objects: OriginObjectCache;
  /** Largest origin file read. */
  maxFileBytes: number;
}

/**
 * A read-mostly FsHost: paths under `root` are the origin repository's files (read-only, fetched
 * on demand); every other path is an in-memory scratch file (writeFile/rename/unlink only).
 */
export class OriginFs implements FsHost {
  readonly root: string;
  private readonly get: OriginGet;
  private readonly objects: OriginObjectCache;
  private readonly maxFileBytes: number;
  /** Mutable origin files (config, refs) read during one generation: fetched once. */
  private readonly mutable = new Map<string, Promise<Uint8Array | null>>();
  readonly scratch = new Map<string, Uint8Array>();

  constructor(opts: OriginFsOptions) {
    this.root = opts.root ?? '/origin';
    this.get = opts.get;
    this.objects = opts.objects;
    this.maxFileBytes = opts.maxFileBytes;
  }

  private rel(path: string): string | null {
    if (!path.startsWith(`${this.root}/`)) return null;
    const r = path.slice(this.root.length + 1);
    return isSafeRepoPath(r) ? r : null;
  }

  private async origin(path: string): Promise<Uint8Array | null> {
    const scratch = this.scratch.get(path);
    if (scratch) return scratch;
    const rel = this.rel(path);
    if (rel === null) return null;
    if (rel.startsWith('objects/')) return this.objects.get(rel, () => this.get(rel, this.maxFileBytes));
    let p = this.mutable.get(rel);
    if (!p) {
      p = this.get(rel, this.maxFileBytes);
      this.mutable.set(rel, p);
    }
    return p;
  }

  async lstat(path: string): Promise<Stat | null> {
    const d = await this.origin(path);
    return d ? fileStat(d.length) : null;
  }
  stat(path: string): Promise<Stat | null> {
    return this.lstat(path);
  }
  async readFile(path: string): Promise<Uint8Array> {
    const d = await this.origin(path);
    if (!d) throw fsError('ENOENT', 'open', path);
    return d;
  }
  async openRead(path: string): Promise<ReadHandle> {
    const d = await this.readFile(path);
    return {
      async read(buf, offset, length, position) {
        if (position >= d.length) return 0;
        const n = Math.min(length, d.length - position);
        buf.set(d.subarray(position, position + n), offset);
        return n;
      },
      async close() {},
    };
  }
  async readdir(path: string): Promise<DirEntry[]> {
    throw fsError('ENOENT', 'opendir', path);
  }
  async readlink(path: string): Promise<string> {
    throw fsError('EINVAL', 'readlink', path);
  }
  async mkdir(): Promise<void> {}
  private writable(path: string): void {
    if (path === this.root || path.startsWith(`${this.root}/`)) throw fsError('EROFS', 'open', path);
  }
  async writeFile(path: string, data: Uint8Array, opts?: WriteOptions): Promise<void> {
    this.writable(path);
    if (opts?.exclusive && this.scratch.has(path)) throw fsError('EEXIST', 'open', path);
    this.scratch.set(path, data.slice());
  }
  async openWrite(path: string, opts?: WriteOptions): Promise<WriteHandle> {
    this.writable(path);
    if (opts?.exclusive && this.scratch.has(path)) throw fsError('EEXIST', 'open', path);
    const chunks: Uint8Array[] = [];
    const scratch = this.scratch;
    scratch.set(path, new Uint8Array(0));
    return {
      async write(chunk) {
        chunks.push(chunk.slice());
      },
      async sync() {},
      async close() {
        scratch.set(path, concatBytes(chunks));
      },
    };
  }
  async rename(from: string, to: string): Promise<void> {
    this.writable(to);
    const d = this.scratch.get(from);
    if (!d) throw fsError('ENOENT', 'rename', from);
    this.scratch.delete(from);
    this.scratch.set(to, d);
  }
  async link(existing: string, newPath: string): Promise<void> {
    throw fsError('EPERM', 'link', `${existing} -> ${newPath}`);
  }
  async symlink(_target: string, path: string): Promise<void> {
    throw fsError('EPERM', 'symlink', path);
  }
  async unlink(path: string): Promise<void> {
    this.writable(path);
    if (!this.scratch.delete(path)) throw fsError('ENOENT', 'unlink', path);
  }
  async rmdir(): Promise<void> {}
  async rmrf(path: string): Promise<void> {
    this.writable(path);
    for (const k of [...this.scratch.keys()]) if (k === path || k.startsWith(`${path}/`)) this.scratch.delete(k);
  }
  async chmod(): Promise<void> {}
  async lchown(): Promise<void> {}
  async lutimes(): Promise<void> {}
  async fsyncDir(): Promise<void> {}
  async copyFile(from: string, to: string): Promise<void> {
    await this.writeFile(to, await this.readFile(from));
  }
}
