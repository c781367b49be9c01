// A repository on a host filesystem: opening/creating it, its config, and reading and writing
// loose objects in any of libostree's modes (archive, bare, bare-user, bare-user-only).
// Writes go through a Transaction (transaction.ts) that stages objects under tmp/ and publishes them.

import type { FsHost, HashProvider, DeflateProvider, Host, Sha256 } from '../host.ts';
import { KeyFile } from '../format/keyfile.ts';
import {
  ObjectType,
  type RepoMode,
  objectRelPath,
  isValidChecksum,
  decodeCommit,
  decodeDirTree,
  decodeDirMeta,
  parseArchiveHeader,
  decodeOstreeMeta,
  type Commit,
  type DirTree,
  type DirMeta,
  type FileHeader,
  isLnk,
  isReg,
  S_IFLNK,
  MAX_METADATA_SIZE,
  objectTypeName,
} from '../format/objects.ts';
import { decode } from '../format/gvariant.ts';
import { joinPath } from '../util/path.ts';
import { selectHashProvider, oneShot } from '../util/sha256.ts';
import { fflateDeflateProvider, inflateRawChunks } from '../util/deflate.ts';
import { pooledDeflateProvider } from '../util/worker-deflate.ts';
import { CorruptionError, NotFoundError, XylemError, errnoCode } from '../util/errors.ts';
import { fromUtf8, textEncoder, toHex } from '../util/bytes.ts';
import { randomSuffix, writeFileAtomic } from '../util/atomic-write.ts';
import { boundedFs } from '../util/fd-pool.ts';


export const REPO_MODES: readonly RepoMode[] = ['bare', 'bare-user', 'bare-user-only', 'archive'];

/** Parses a mode as written in config or given to `init --mode`. */
export function parseRepoMode(s: string): RepoMode {
  if (s === 'archive-z2' || s === 'archive') return 'archive';
  if (s === 'bare' || s === 'bare-user' || s === 'bare-user-only') return s;
  throw new XylemError(`Invalid mode '${s}' in repository configuration`);
}

/**
 * Decodes a metadata object with its name as the decoder's context; an error that does not name
 * the object already is given its type and checksum ("Corrupted dirtree object CSUM.dirtree: …").
 */
function decodeNamed<T>(type: ObjectType, checksum: string, data: Uint8Array, decodeFn: (d: Uint8Array, ctx: string) => T): T {
  const t = objectTypeName(type);
  try {
    return decodeFn(data, `${checksum}.${t}`);
  } catch (e) {
    const name = `${checksum}.${t}`;
    let msg = e instanceof Error ? e.message : String(e);
    if (msg.startsWith(`${name}: `)) msg = msg.slice(name.length + 2);
    else if (msg.includes(checksum)) throw e;
    throw new CorruptionError(`Corrupted ${t} object ${name}: ${msg}`);
  }
}

/** How a mode is spelled in the config file. */
export function repoModeConfigName(m: RepoMode): string {
  return m === 'archive' ? 'archive-z2' : m;
}

export interface RepoInitOptions {
  mode?: RepoMode;
  collectionId?: string;
}

/** A content object as stored: its header and a way to read its (uncompressed) content. */
export interface ContentObject {
  header: FileHeader;
  size: number;
  /** Entire uncompressed content (empty for symlinks). */
  read(): Promise<Uint8Array>;
  /**
   * The uncompressed content in chunks of at most about CONTENT_CHUNK bytes (never whole in
   * memory; nothing for symlinks). Fails unless exactly `size` bytes come out.
   */
  stream(): AsyncIterable<Uint8Array>;
  /** Path of the loose object on disk (for hardlinking in bare modes). */
  path: string;
}

/** Loose object file extensions → type. */
const OBJECT_EXTENSIONS: Record<string, ObjectType> = {
  file: ObjectType.File,
  filez: ObjectType.File,
  dirtree: ObjectType.DirTree,
  dirmeta: ObjectType.DirMeta,
  commit: ObjectType.Commit,
  'tombstone-commit': ObjectType.TombstoneCommit,
  commitmeta: ObjectType.CommitMeta,
  'payload-link': ObjectType.PayloadLink,
};

// eslint-disable-next-line require-yield
async function* noChunks(): AsyncGenerator<Uint8Array> {}

/** Chunk size of ContentObject.stream(). */
export const CONTENT_CHUNK = 256 * 1024;

/** Chunks of a file from `start`, read through one handle (a fresh buffer each: consumers may keep it). */
async function* fileChunks(fs: FsHost, path: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  const fh = await fs.openRead(path);
  try {
    for (let pos = start; pos < end; ) {
      const buf = new Uint8Array(Math.min(CONTENT_CHUNK, end - pos));
      const n = await fh.read(buf, 0, buf.length, pos);
      if (n === 0) return;
      pos += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    await fh.close();
  }
}

/** Checks that a stream of content has exactly `size` bytes. */
async function* exactly(chunks: AsyncIterable<Uint8Array>, size: number, ctx: string): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const c of chunks) {
    n += c.length;
    if (n > size) throw new CorruptionError(`Corrupted file object ${ctx}: more than the expected ${size} bytes of content`);
    yield c;
  }
  if (n !== size) throw new CorruptionError(`Corrupted file object ${ctx}: expected ${size} bytes of content, got ${n}`);
}

export class Repo {
  readonly host: Host;
  readonly fs: FsHost;
  readonly path: string;
  readonly mode: RepoMode;
  config: KeyFile;
  readonly hashProvider: HashProvider;
  readonly deflate: DeflateProvider;
  readonly sha256: (data: Uint8Array) => Uint8Array;
  /** Cache: which object directories are known to exist. */
  private knownDirs = new Set<string>();
  private parentRepo: Promise<Repo | null> | undefined;

  private constructor(host: Host, path: string, mode: RepoMode, config: KeyFile) {
    this.host = host;
    // Every descriptor the engine opens through a repo comes from one bounded pool (fd-pool.ts).
    this.fs = boundedFs(host.fs);
    this.path = path;
    this.mode = mode;
    this.config = config;
    this.hashProvider = selectHashProvider(host.hash);
    const deflate = host.deflate ?? fflateDeflateProvider;
    // Whole-buffer (in)flating on the host's worker threads when it has them (worker-deflate.ts).
    this.deflate = host.workers ? pooledDeflateProvider(host.workers, deflate) : deflate;
    this.sha256 = oneShot(this.hashProvider);
  }

  /** The repo named by core.parent, opened on first use: objects missing here are read from it. */
  parent(): Promise<Repo | null> {
    this.parentRepo ??= (async () => {
      const p = this.config.get('core', 'parent');
      return p ? Repo.open(this.host, p) : null;
    })();
    return this.parentRepo;
  }

  createSha256(): Sha256 {
    return this.hashProvider.createSha256();
  }

  /** Creates a repository (idempotent on an existing one of the same mode, like `ostree init`). */
  static async init(host: Host, path: string, opts: RepoInitOptions = {}): Promise<Repo> {
    if (typeof path !== 'string' || path === '') throw new XylemError('init: a repository path is required');
    const mode = opts.mode ?? 'bare';
    const fs = host.fs;
    const configPath = joinPath(path, 'config');
    const existing = await fs.lstat(configPath);
    if (existing) {
      const repo = await Repo.open(host, path);
      return repo;
    }
    await fs.mkdir(path, { recursive: true });
    for (const d of ['objects', 'tmp', 'tmp/cache', 'extensions', 'state', 'refs', 'refs/heads', 'refs/mirrors', 'refs/remotes'])
      await fs.mkdir(joinPath(path, d), { recursive: true });
    const kf = new KeyFile();
    kf.set('core', 'repo_version', '1');
    kf.set('core', 'mode', repoModeConfigName(mode));
    if (opts.collectionId) kf.set('core', 'collection-id', opts.collectionId);
    await writeFileAtomic(fs, configPath, textEncoder.encode(kf.toString()), {});
    return new Repo(host, path, mode, kf);
  }

  static async open(host: Host, path: string): Promise<Repo> {
    if (typeof path !== 'string' || path === '') throw new XylemError('A repository path is required');
    const fs = host.fs;
    const configPath = joinPath(path, 'config');
    let text: string;
    try {
      text = fromUtf8(await fs.readFile(configPath));
    } catch (e) {
      const objs = await fs.lstat(joinPath(path, 'objects'));
      if (!objs) throw new NotFoundError(`opening repo: opendir(objects): No such file or directory`);
      throw new XylemError(`Couldn't read config file ${configPath}: ${(e as Error).message}`);
    }
    const kf = KeyFile.parse(text, configPath);
    const version = kf.get('core', 'repo_version');
    if (version !== '1') throw new XylemError(`Invalid repository version '${version}' in ${configPath}`);
    const modeStr = kf.get('core', 'mode') ?? 'bare';
    const mode = parseRepoMode(modeStr);
    // As libostree: opening a repo recreates a missing tmp/ (best effort on read-only repos).
    await fs.mkdir(joinPath(path, 'tmp'), { recursive: true }).catch(() => undefined);
    return new Repo(host, path, mode, kf);
  }

  /** Re-reads the config file from disk. */
  async reloadConfig(): Promise<void> {
    const configPath = joinPath(this.path, 'config');
    this.config = KeyFile.parse(fromUtf8(await this.fs.readFile(configPath)), configPath);
  }

  async writeConfig(kf: KeyFile): Promise<void> {
    await writeFileAtomic(this.fs, joinPath(this.path, 'config'), textEncoder.encode(kf.toString()), {});
    this.config = kf;
  }

  /** Whether writes should be fsync'd (core.fsync, default true). */
  get fsyncEnabled(): boolean {
    return this.config.getBoolean('core', 'fsync') ?? true;
  }

  objectPath(checksum: string, type: ObjectType): string {
    return joinPath(this.path, objectRelPath(checksum, type, this.mode));
  }

  async hasObject(checksum: string, type: ObjectType): Promise<boolean> {
    return (await this.fs.lstat(this.objectPath(checksum, type))) !== null;
  }

  /** Raw bytes of a metadata object (commit, dirtree, dirmeta, commitmeta, tombstone). */
  async loadMetadataBytes(type: ObjectType, checksum: string): Promise<Uint8Array> {
    const p = this.objectPath(checksum, type);
    try {
      const st = await this.fs.lstat(p);
      if (!st) {
        const parent = await this.parent();
        if (parent) return await parent.loadMetadataBytes(type, checksum);
        throw new NotFoundError(`No such metadata object ${checksum}.${objectTypeName(type)}`);
      }
      if (st.size > MAX_METADATA_SIZE)
        throw new CorruptionError(`Metadata object ${checksum}.${objectTypeName(type)} is ${st.size} bytes, over the limit of ${MAX_METADATA_SIZE}`);
      return await this.fs.readFile(p);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new NotFoundError(`No such metadata object ${checksum}.${objectTypeName(type)}`);
      throw e;
    }
  }

  /**
   * A commit, dirtree or dirmeta, checked against its checksum (cheap for metadata, and it turns
   * a damaged object into an error naming it rather than a wrong name or a missing-object error).
   */
  private async loadVerifiedMetadata(type: ObjectType, checksum: string): Promise<Uint8Array> {
    const data = await this.loadMetadataBytes(type, checksum);
    const actual = toHex(this.sha256(data));
    if (actual !== checksum)
      throw new CorruptionError(`Corrupted ${objectTypeName(type)} object ${checksum}.${objectTypeName(type)}: actual checksum is ${actual}`);
    return data;
  }

  async loadCommit(checksum: string): Promise<Commit> {
    return decodeNamed(ObjectType.Commit, checksum, await this.loadVerifiedMetadata(ObjectType.Commit, checksum), decodeCommit);
  }

  async loadDirTree(checksum: string): Promise<DirTree> {
    return decodeNamed(ObjectType.DirTree, checksum, await this.loadVerifiedMetadata(ObjectType.DirTree, checksum), decodeDirTree);
  }

  async loadDirMeta(checksum: string): Promise<DirMeta> {
    return decodeNamed(ObjectType.DirMeta, checksum, await this.loadVerifiedMetadata(ObjectType.DirMeta, checksum), decodeDirMeta);
  }

  /** Detached metadata (a{sv}) of a commit, or null if there is none. */
  async loadCommitMeta(checksum: string): Promise<Array<[string, import('../format/gvariant.ts').GVVariant]> | null> {
    const p = this.objectPath(checksum, ObjectType.CommitMeta);
    const st = await this.fs.lstat(p);
    if (!st) return null;
    const data = await this.fs.readFile(p);
    return decodeNamed(
      ObjectType.CommitMeta,
      checksum,
      data,
      (d, ctx) => decode('a{sv}', d, { context: ctx }) as Array<[string, import('../format/gvariant.ts').GVVariant]>,
    );
  }

  /** Whether a commit is only partially present (state/CSUM.commitpartial). */
  async isCommitPartial(checksum: string): Promise<boolean> {
    return (await this.fs.lstat(joinPath(this.path, 'state', `${checksum}.commitpartial`))) !== null;
  }

  /** Opens a content object, in whatever form this repo's mode stores it. */
  async loadFile(checksum: string): Promise<ContentObject> {
    const p = this.objectPath(checksum, ObjectType.File);
    const fs = this.fs;
    const ctx = `${checksum}.${this.mode === 'archive' ? 'filez' : 'file'}`;
    const st = await fs.lstat(p);
    if (!st) {
      const parent = await this.parent();
      if (parent) return parent.loadFile(checksum);
      throw new NotFoundError(`Couldn't find file object '${checksum}'`);
    }
    if (this.mode === 'archive') {
      // Read the header first; the compressed body is read on demand.
      const headBuf = new Uint8Array(Math.min(st.size, 65536));
      const fh = await fs.openRead(p);
      let n: number;
      try {
        n = await fh.read(headBuf, 0, headBuf.length, 0);
      } finally {
        await fh.close();
      }
      let parsed = parseArchiveHeader(headBuf.subarray(0, n), ctx);
      if (parsed.offset > n) {
        const all = await fs.readFile(p);
        parsed = parseArchiveHeader(all, ctx);
      }
      const { header, size, offset } = parsed;
      const deflate = this.deflate;
      return {
        header,
        size: isReg(header.mode) ? size : 0,
        path: p,
        async read() {
          if (!isReg(header.mode)) return new Uint8Array(0);
          const all = await fs.readFile(p);
          const body = all.subarray(offset);
          let out: Uint8Array;
          try {
            out = await deflate.inflateRaw(body, size);
          } catch (e) {
            throw new CorruptionError(`Corrupted file object ${ctx}: ${e instanceof Error ? e.message : String(e)}`);
          }
          if (out.length !== size)
            throw new CorruptionError(`Corrupted file object ${ctx}: expected ${size} bytes of content, got ${out.length}`);
          return out;
        },
        async *stream() {
          if (!isReg(header.mode)) return;
          try {
            yield* exactly(inflateRawChunks(deflate, fileChunks(fs, p, offset, st.size), size), size, ctx);
          } catch (e) {
            if (e instanceof CorruptionError) throw e;
            throw new CorruptionError(`Corrupted file object ${ctx}: ${e instanceof Error ? e.message : String(e)}`);
          }
        },
      };
    }
    if (this.mode === 'bare-user') {
      if (!fs.xattrs) throw new XylemError('bare-user repositories need extended attributes, which this runtime lacks');
      const meta = await fs.xattrs.get(p, 'user.ostreemeta');
      if (!meta) throw new CorruptionError(`Corrupted file object ${ctx}: missing user.ostreemeta xattr`);
      const m = decodeOstreeMeta(meta, `${ctx} user.ostreemeta`);
      if (isLnk(m.mode)) {
        const raw = await fs.readFile(p);
        if (raw.length === 0 || raw[raw.length - 1] !== 0)
          throw new CorruptionError(`Corrupted symlink object ${ctx}: target is not NUL-terminated`);
        const target = fromUtf8(raw.subarray(0, raw.length - 1));
        return { header: { uid: m.uid, gid: m.gid, mode: m.mode, rdev: 0, symlinkTarget: target, xattrs: m.xattrs }, size: 0, path: p, read: async () => new Uint8Array(0), stream: noChunks };
      }
      return {
        header: { uid: m.uid, gid: m.gid, mode: m.mode, rdev: 0, symlinkTarget: '', xattrs: m.xattrs },
        size: st.size,
        path: p,
        read: () => fs.readFile(p),
        stream: () => exactly(fileChunks(fs, p, 0, st.size), st.size, ctx),
      };
    }
    // bare, bare-user-only: the object is the real file/symlink.
    let xattrs: { name: string; value: Uint8Array }[] = [];
    if (this.mode === 'bare' && fs.xattrs) xattrs = await readXattrs(fs, p);
    if ((st.mode & 0o170000) === S_IFLNK) {
      const target = await fs.readlink(p);
      return { header: { uid: st.uid, gid: st.gid, mode: st.mode, rdev: 0, symlinkTarget: target, xattrs }, size: 0, path: p, read: async () => new Uint8Array(0), stream: noChunks };
    }
    const uid = this.mode === 'bare-user-only' ? 0 : st.uid;
    const gid = this.mode === 'bare-user-only' ? 0 : st.gid;
    return {
      header: { uid, gid, mode: st.mode, rdev: 0, symlinkTarget: '', xattrs },
      size: st.size,
      path: p,
      read: () => fs.readFile(p),
      stream: () => exactly(fileChunks(fs, p, 0, st.size), st.size, ctx),
    };
  }

  /** Every loose object in the repo, by type (an array: small repos and tools only; see objects()). */
  async listObjects(): Promise<Array<{ checksum: string; type: ObjectType }>> {
    const out: Array<{ checksum: string; type: ObjectType }> = [];
    for await (const o of this.objects()) out.push(o);
    return out;
  }

  /**
   * Every loose object in the repo, streamed one objects/XX folder at a time (memory does not
   * grow with the repository), optionally only objects of the given types.
   */
  async *objects(types?: ReadonlySet<ObjectType>): AsyncGenerator<{ checksum: string; type: ObjectType }> {
    const objDir = joinPath(this.path, 'objects');
    let prefixes: string[];
    try {
      prefixes = (await this.fs.readdir(objDir)).map((e) => e.name);
    } catch {
      return;
    }
    for (const pre of prefixes.sort()) {
      if (!/^[0-9a-f]{2}$/.test(pre)) continue;
      const entries = await this.fs.readdir(joinPath(objDir, pre));
      for (const e of entries) {
        const dot = e.name.indexOf('.');
        if (dot !== 62) continue;
        const t = OBJECT_EXTENSIONS[e.name.slice(dot + 1)];
        if (t === undefined || (types && !types.has(t))) continue;
        const csum = pre + e.name.slice(0, 62);
        if (!isValidChecksum(csum)) continue;
        if (t === ObjectType.File && (this.mode === 'archive') !== e.name.endsWith('.filez')) continue;
        yield { checksum: csum, type: t };
      }
    }
  }

  /** Makes sure objects/XX exists (cached). */
  async ensureObjectDir(checksum: string): Promise<void> {
    const pre = checksum.slice(0, 2);
    if (this.knownDirs.has(pre)) return;
    await this.fs.mkdir(joinPath(this.path, 'objects', pre), { recursive: true, mode: 0o755 });
    this.knownDirs.add(pre);
  }

  /** Removes a loose object (prune, fsck --delete). */
  async deleteObject(checksum: string, type: ObjectType): Promise<void> {
    try {
      await this.fs.unlink(this.objectPath(checksum, type));
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
  }

  /** A unique temp name under tmp/. */
  tmpName(prefix: string): string {
    return joinPath(this.path, 'tmp', `${prefix}-${randomSuffix()}`);
  }
}

export async function readXattrs(fs: FsHost, path: string): Promise<Array<{ name: string; value: Uint8Array }>> {
  if (!fs.xattrs) return [];
  const names = await fs.xattrs.list(path);
  const out: Array<{ name: string; value: Uint8Array }> = [];
  for (const n of names) {
    const v = await fs.xattrs.get(path, n);
    if (v && v.length > 0) out.push({ name: n, value: v });
  }
  return out;
}
