// The tree half of the audit: walks a commit's tree over HTTP (dirtree, dirmeta and .filez of an
// archive repo), fetches every unique object once, re-hashes it in the WASM core (inflating
// .filez content with fflate, streamed in slices so a deflate bomb allocates nothing) and records
// every object whose bytes do not hash to its name, with its path.

import { Inflate } from 'fflate';
import { decodeDirMeta, decodeDirTree, fileStreamHeader, isReg, isLnk, parseArchiveHeader } from '../format/objects.ts';
import { toHex } from '../util/bytes.ts';
import type { RemoteReader } from './http.ts';
import { AuditHasher, BATCH_MAX_INPUT } from './hasher.ts';
import type { AuditCounts, AuditObjectType, ChecksumMismatch, ObjectError } from './report.ts';

export interface WalkLimits {
  /** Largest dirtree / dirmeta fetched (ostree: 10 MiB). */
  maxMetadataBytes: number;
  /** Largest .filez fetched. */
  maxObjectBytes: number;
  /** Largest uncompressed file accepted. */
  maxFileSize: number;
  /** Most unique objects walked. */
  maxObjects: number;
  /** Deepest directory nesting. */
  maxDepth: number;
}

/** Entries kept in the mismatch and error lists (further ones are counted in `dropped`). */
const MAX_LISTED = 10_000;
/** Compressed bytes pushed into the inflater at a time (bounds each output chunk). */
const INFLATE_SLICE = 16 * 1024;

export class TreeWalker {
  readonly counts: AuditCounts = { commits: 0, dirtrees: 0, dirmetas: 0, files: 0, total: 0 };
  readonly mismatches: ChecksumMismatch[] = [];
  readonly errors: ObjectError[] = [];
  dropped = 0;
  bytesHashed = 0;
  known = 0;
  private readonly seen = new Set<string>();

  constructor(
    private readonly reader: RemoteReader,
    private readonly hasher: AuditHasher,
    private readonly limits: WalkLimits,
    private readonly onObject: () => void,
  ) {}

  /** Walks the tree rooted at (tree, meta); resolves when every object is done. */
  async walk(rootTree: string, rootMeta: string): Promise<void> {
    await this.visitDir(rootTree, rootMeta, '/', 0);
  }

  private claim(type: AuditObjectType, checksum: string, path: string): boolean {
    const key = `${type}:${checksum}`;
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.limits.maxObjects) {
      this.error(type, checksum, path, `more than ${this.limits.maxObjects} objects; not audited`);
      return false;
    }
    this.seen.add(key);
    this.known++;
    return true;
  }

  private error(type: AuditObjectType, checksum: string, path: string, message: string): void {
    if (this.errors.length < MAX_LISTED) this.errors.push({ type, checksum, path, message });
    else this.dropped++;
  }

  private mismatch(type: AuditObjectType, checksum: string, actual: string, path: string): void {
    if (this.mismatches.length < MAX_LISTED) this.mismatches.push({ type, checksum, actual, path });
    else this.dropped++;
  }

  private done(type: AuditObjectType): void {
    if (type === 'dirtree') this.counts.dirtrees++;
    else if (type === 'dirmeta') this.counts.dirmetas++;
    else if (type === 'file') this.counts.files++;
    this.counts.total++;
    this.onObject();
  }

  private async visitDir(tree: string, meta: string, path: string, depth: number): Promise<void> {
    if (depth > this.limits.maxDepth) {
      this.error('dirtree', tree, path, `directory nesting deeper than ${this.limits.maxDepth}; not audited`);
      return;
    }
    const jobs: Promise<void>[] = [];
    if (this.claim('dirmeta', meta, path)) jobs.push(this.guard('dirmeta', meta, path, () => this.auditDirMeta(meta, path)));
    if (this.claim('dirtree', tree, path)) jobs.push(this.guard('dirtree', tree, path, () => this.auditDirTree(tree, path, depth)));
    await Promise.all(jobs);
  }

  /** Runs one object's audit; a thrown error becomes an ObjectError (missing, malformed, over a cap). */
  private async guard(type: AuditObjectType, checksum: string, path: string, job: () => Promise<void>): Promise<void> {
    try {
      await job();
    } catch (e) {
      this.error(type, checksum, path, (e as Error)?.message ?? String(e));
    }
  }

  private async fetchMetadata(checksum: string, ext: string): Promise<Uint8Array> {
    const data = await this.reader.get(objectPath(checksum, ext), this.limits.maxMetadataBytes);
    return data!;
  }

  private async auditDirMeta(checksum: string, path: string): Promise<void> {
    const data = await this.fetchMetadata(checksum, 'dirmeta');
    const actual = toHex(await this.hasher.hash(data));
    this.bytesHashed += data.length;
    this.done('dirmeta');
    if (actual !== checksum) return this.mismatch('dirmeta', checksum, actual, path);
    decodeDirMeta(data, `${checksum}.dirmeta`);
  }

  private async auditDirTree(checksum: string, path: string, depth: number): Promise<void> {
    const data = await this.fetchMetadata(checksum, 'dirtree');
    const actual = toHex(await this.hasher.hash(data));
    this.bytesHashed += data.length;
    this.done('dirtree');
    // A tree that is not what its parent names cannot be trusted to say what lies below it.
    if (actual !== checksum) return this.mismatch('dirtree', checksum, `${actual} (contents not audited)`, path);
    const tree = decodeDirTree(data, `${checksum}.dirtree`);
    const jobs: Promise<void>[] = [];
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const f of tree.files) {
      const p = prefix + f.name;
      if (this.claim('file', f.checksum, p)) jobs.push(this.guard('file', f.checksum, p, () => this.auditFile(f.checksum, p)));
    }
    for (const d of tree.dirs) jobs.push(this.visitDir(d.treeChecksum, d.metaChecksum, prefix + d.name, depth + 1));
    await Promise.all(jobs);
  }

  private async auditFile(checksum: string, path: string): Promise<void> {
    const data = (await this.reader.get(objectPath(checksum, 'filez'), this.limits.maxObjectBytes))!;
    const ctx = `${checksum}.filez`;
    const { header, size, offset } = parseArchiveHeader(data, ctx);
    if (size > this.limits.maxFileSize) throw new Error(`${ctx}: uncompressed size ${size} exceeds the limit of ${this.limits.maxFileSize}`);
    if (!isReg(header.mode) && !isLnk(header.mode)) throw new Error(`${ctx}: not a regular file or symlink (mode 0${header.mode.toString(8)})`);
    const head = fileStreamHeader(header);
    let digest: Uint8Array;
    if (isLnk(header.mode)) {
      if (size !== 0 || offset !== data.length) throw new Error(`${ctx}: symlink object carries content`);
      digest = await this.hasher.hash(head);
    } else if (head.length + size <= BATCH_MAX_INPUT) {
      const stream = new Uint8Array(head.length + size);
      stream.set(head, 0);
      let o = head.length;
      inflateSliced(data.subarray(offset), size, ctx, (chunk) => {
        stream.set(chunk, o);
        o += chunk.length;
      });
      digest = await this.hasher.hash(stream);
    } else {
      const h = this.hasher.stream();
      h.update(head);
      inflateSliced(data.subarray(offset), size, ctx, (chunk) => h.update(chunk));
      digest = h.digest();
    }
    this.bytesHashed += head.length + size;
    this.done('file');
    const actual = toHex(digest);
    if (actual !== checksum) this.mismatch('file', checksum, actual, path);
  }
}

/** objects/XX/REST.ext */
export function objectPath(checksum: string, ext: string): string {
  return `objects/${checksum.slice(0, 2)}/${checksum.slice(2)}.${ext}`;
}

/**
 * Inflates a raw deflate stream that must produce exactly `size` bytes, handing output to `sink`
 * chunk by chunk; more output than `size` stops it before it is kept.
 */
function inflateSliced(compressed: Uint8Array, size: number, ctx: string, sink: (chunk: Uint8Array) => void): void {
  let total = 0;
  let ended = false;
  const inf = new Inflate((chunk, final) => {
    total += chunk.length;
    if (total > size) throw new Error(`${ctx}: content inflates to more than the declared ${size} bytes`);
    if (chunk.length > 0) sink(chunk);
    if (final) ended = true;
  });
  try {
    if (compressed.length === 0) throw new Error('no deflate stream');
    for (let i = 0; i < compressed.length; i += INFLATE_SLICE) {
      const end = Math.min(i + INFLATE_SLICE, compressed.length);
      inf.push(compressed.subarray(i, end), end === compressed.length);
    }
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    throw new Error(msg.startsWith(ctx) ? msg : `${ctx}: invalid deflate data (${msg})`);
  }
  if (!ended || total !== size) throw new Error(`${ctx}: content inflates to ${total} bytes, the header declares ${size}`);
}
