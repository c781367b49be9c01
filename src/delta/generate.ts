// Static-delta generation (`static-delta generate`), after libostree's "low latency" planner:
// the new objects are those reachable from the target commit and not from the source (the
// commit itself travels in the superblock). Regular files that have a "similar" old version
// (same basename, size within 30 %, old object world-readable) are encoded with rollsum (when at
// least half of the new file's bupsplit chunks exist in the old one, keyed as ostree keys them,
// see prefixCrcKeys) or else bsdiff (unless
// disabled or old + new exceeds max-bsdiff-size); big remaining content becomes fallback objects
// (fetched loose); everything else is spliced whole. Parts are cut at max-chunk-size.
// Parts are compressed and written as soon as they are full (up to the encoder's `parallelism`
// at a time), so memory holds a few parts, never the whole delta. The plan holds no JS object
// per repository object: the source's objects are an ObjectSet, the new ones packed raw
// checksums with a size and a kind each, and each part's object list is packed as stored.
// Output is reproducible: objects in checksum order within each group, the superblock
// timestamp is the target commit's, and the xz encoder must be deterministic.

import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic, writeFileAtomicStream } from '../util/atomic-write.ts';
import { ObjectType, isReg, isLnk, type FileHeader } from '../format/objects.ts';
import type { GVValue, GVVariant } from '../format/gvariant.ts';
import type { Metadata } from '../format/objects.ts';
import { fromHex, toHex, utf8 } from '../util/bytes.ts';
import { ObjectSet } from '../util/object-set.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { PartBuilder } from './part-builder.ts';
import { compressPart, compressPartStream } from './part.ts';
import { deltaNameString, deltaRelDir, superblockKey } from './paths.ts';
import { encodeSignedSuperblock, encodeSuperblock, type Endianness, type FallbackEntry, type PartHeader } from './superblock.ts';
import { crc32, lzma2XzEncoder, type XzEncoder } from './xz.ts';

/** The WASM kernels generation needs (structurally a subset of core-wasm's Core). */
export interface DeltaKernels {
  bsdiff(old: Uint8Array, new_: Uint8Array): Uint8Array;
  rollsumChunks(data: Uint8Array): { lengths: Uint32Array; crcs: Uint32Array };
}

/** Signs the plain superblock bytes: returns the metadata key ("ostree.sign.<type>") and a signature. */
export interface DeltaSigner {
  readonly metadataKey: string;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface GenerateDeltaOptions {
  /** Source commit; null = from scratch. */
  from: string | null;
  to: string;
  /** Put parts into the superblock. */
  inline?: boolean;
  /** Content larger than this many bytes becomes a fallback object (default 4 000 000; 0: never). */
  minFallbackSize?: number;
  /** bsdiff only when old + new are at most this many bytes (default 128 000 000). */
  maxBsdiffSize?: number;
  /** Start a new part when the payload exceeds this many bytes (default 32 000 000). */
  maxChunkSize?: number;
  disableBsdiff?: boolean;
  /** Byte order of the superblock's sizes (default little). */
  endianness?: Endianness;
  /** Compressor for parts (default: the built-in LZMA2 encoder). */
  xz?: XzEncoder;
  /** bsdiff / rollsum kernels (default: the WASM core). */
  kernels?: DeltaKernels;
  /** Signers: when given, the superblock is written in the signed form. */
  signers?: DeltaSigner[];
  /** Write the superblock to this file (parts beside it) instead of into the repository. */
  filename?: string;
  /** Report lines, as ostree prints them: the header on stdout ('out'), the statistics on stderr ('err'). */
  log?: (line: string, stream: 'out' | 'err') => void;
}

export interface GenerateDeltaResult {
  name: string;
  superblockPath: string;
  parts: number;
  fallbacks: number;
  rollsumObjects: number;
  rollsumBytes: number;
  bsdiffObjects: number;
  compressedSize: number;
  uncompressedSize: number;
}

/**
 * Raw 32-byte checksums packed one after the other in a growing buffer (no string or object per
 * entry), sorted on demand into checksum order (= the hex strings' order).
 */
class ChecksumList {
  private buf = new Uint8Array(32 * 256);
  length = 0;

  push(raw: Uint8Array): void {
    if ((this.length + 1) * 32 > this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf.set(raw.subarray(0, 32), this.length * 32);
    this.length++;
  }

  /** The permutation that sorts the list (indices into it). */
  sortedOrder(): Uint32Array {
    const b = this.buf;
    const order = new Uint32Array(this.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    order.sort((x, y) => {
      const ox = x * 32;
      const oy = y * 32;
      for (let j = 0; j < 32; j++) {
        const d = b[ox + j]! - b[oy + j]!;
        if (d !== 0) return d;
      }
      return 0;
    });
    return order;
  }

  /** A copy holding the entries in `order`. */
  permuted(order: Uint32Array): ChecksumList {
    const out = new ChecksumList();
    out.buf = new Uint8Array(Math.max(32, order.length * 32));
    for (let i = 0; i < order.length; i++) out.buf.set(this.buf.subarray(order[i]! * 32, order[i]! * 32 + 32), i * 32);
    out.length = order.length;
    return out;
  }

  hexAt(i: number): string {
    return toHex(this.buf.subarray(i * 32, i * 32 + 32));
  }
}

/**
 * Walks a commit's tree as ostree's delta planner does (depth first, files before subdirectories,
 * a dirtree seen before is not walked again; the root dirmeta first, then every subdirectory's),
 * calling `visit` for each object once per occurrence. `seen` dedups dirtrees.
 */
async function walkCommit(
  repo: Repo,
  csum: string,
  visit: (type: ObjectType, raw: Uint8Array, name: string) => void,
): Promise<void> {
  const commit = await repo.loadCommit(csum);
  const seen = new ObjectSet();
  visit(ObjectType.DirMeta, fromHex(commit.rootMeta), '');
  const walk = async (tree: string): Promise<void> => {
    if (!seen.add(tree, ObjectType.DirTree)) return;
    visit(ObjectType.DirTree, fromHex(tree), '');
    const dt = await repo.loadDirTree(tree);
    for (const f of dt.files) visit(ObjectType.File, fromHex(f.checksum), f.name);
    for (const d of dt.dirs) {
      visit(ObjectType.DirMeta, fromHex(d.metaChecksum), '');
      await walk(d.treeChecksum);
    }
  };
  await walk(commit.rootTree);
}

/** What the target commit adds over the source: new objects per kind, sorted by checksum. */
interface NewObjects {
  trees: ChecksumList;
  metas: ChecksumList;
  content: ChecksumList;
  /** For each new content object (same index), a basename it appears under (first in walk order); only with a source. */
  names: string[] | null;
  /** The source's objects (dirtrees, dirmetas, content), or null from scratch. */
  from: ObjectSet | null;
}

async function planNewObjects(repo: Repo, from: string | null, to: string): Promise<NewObjects> {
  let fromSet: ObjectSet | null = null;
  if (from !== null) {
    const set = new ObjectSet();
    await walkCommit(repo, from, (type, raw) => void set.add(raw, type));
    fromSet = set;
  }
  const toSeen = new ObjectSet();
  const trees = new ChecksumList();
  const metas = new ChecksumList();
  const content = new ChecksumList();
  const names: string[] | null = from === null ? null : [];
  await walkCommit(repo, to, (type, raw, name) => {
    if (!toSeen.add(raw, type)) return;
    if (fromSet?.has(raw, type)) return;
    if (type === ObjectType.DirTree) trees.push(raw);
    else if (type === ObjectType.DirMeta) metas.push(raw);
    else {
      content.push(raw);
      names?.push(name);
    }
  });
  const contentOrder = content.sortedOrder();
  return {
    trees: trees.permuted(trees.sortedOrder()),
    metas: metas.permuted(metas.sortedOrder()),
    content: content.permuted(contentOrder),
    names: names === null ? null : Array.from(contentOrder, (i) => names[i]!),
    from: fromSet,
  };
}

/**
 * The source's content checksums under each of `wanted`'s basenames (distinct, in walk order):
 * the candidates for "modified" files. Only names the target's new files carry are kept.
 */
async function sourceByName(repo: Repo, from: string, wanted: ReadonlySet<string>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (wanted.size === 0) return out;
  await walkCommit(repo, from, (type, raw, name) => {
    if (type !== ObjectType.File || !wanted.has(name)) return;
    const c = toHex(raw);
    const l = out.get(name);
    if (!l) out.set(name, [c]);
    else if (!l.includes(c)) l.push(c);
  });
  return out;
}

let wasmKernels: DeltaKernels | undefined;

async function defaultKernels(): Promise<DeltaKernels> {
  if (!wasmKernels) {
    const { loadCore } = await import('../../core-wasm/index.ts');
    const core = await loadCore();
    wasmKernels = { bsdiff: (a, b) => core.bsdiff(a, b), rollsumChunks: (d) => core.rollsumChunks(d) };
  }
  return wasmKernels;
}

const SIMILARITY_PERCENT = 30;
/**
 * Content bigger than this is copied into its part piece by piece (no whole-file buffer); smaller
 * content is read in one go (a zlib stream per small object would cost more than the object).
 */
const STREAM_CONTENT_ABOVE = 256 * 1024;

/**
 * ostree's key for each chunk (ostree 2022.7 quirk, kept for identical decisions): the CRC-32 of
 * the file's first `length` bytes, not of the chunk itself, so chunks match only when they have
 * the same length and the two files share that prefix. Prefix CRCs are computed incrementally
 * over the distinct chunk lengths (at most 32 KiB of hashing per file).
 */
function prefixCrcKeys(data: Uint8Array, lengths: Uint32Array): number[] {
  const distinct = [...new Set(lengths)].sort((x, y) => x - y);
  const byLen = new Map<number, number>();
  let crc = 0;
  let at = 0;
  for (const len of distinct) {
    crc = crc32(data.subarray(at, len), crc);
    at = len;
    byLen.set(len, crc);
  }
  return [...lengths].map((l) => byLen.get(l)!);
}

/**
 * Rollsum pieces for `next` against `prev`, or null when fewer than half of next's chunks match
 * (ostree's rule). Chunks are keyed as ostree keys them (prefixCrcKeys); a next chunk is copied
 * from the first old chunk with the same key and length and equal bytes.
 */
function rollsumPieces(
  kernels: DeltaKernels,
  prev: Uint8Array,
  next: Uint8Array,
): { pieces: Array<{ from: number; length: number } | { data: Uint8Array }>; matchedBytes: number; matched: number; crcMatches: number; total: number } | null {
  const a = kernels.rollsumChunks(prev);
  const b = kernels.rollsumChunks(next);
  const aKeys = prefixCrcKeys(prev, a.lengths);
  const bKeys = prefixCrcKeys(next, b.lengths);
  const byCrc = new Map<number, Array<{ off: number; len: number }>>();
  let off = 0;
  for (let i = 0; i < a.lengths.length; i++) {
    const len = a.lengths[i]!;
    const l = byCrc.get(aKeys[i]!);
    if (l) l.push({ off, len });
    else byCrc.set(aKeys[i]!, [{ off, len }]);
    off += len;
  }
  const pieces: Array<{ from: number; length: number } | { data: Uint8Array }> = [];
  let matched = 0;
  let matchedBytes = 0;
  off = 0;
  for (let i = 0; i < b.lengths.length; i++) {
    const len = b.lengths[i]!;
    const chunk = next.subarray(off, off + len);
    const cand = byCrc.get(bKeys[i]!)?.find((c) => c.len === len && equalBytes(prev.subarray(c.off, c.off + len), chunk));
    const last = pieces[pieces.length - 1];
    if (cand) {
      matched++;
      matchedBytes += len;
      if (last && 'from' in last && last.from + last.length === cand.off) last.length += len;
      else pieces.push({ from: cand.off, length: len });
    } else if (last && 'data' in last) {
      last.data = next.subarray(off - last.data.length, off + len);
    } else pieces.push({ data: chunk });
    off += len;
  }
  const total = b.lengths.length;
  if (total === 0 || matched * 100 < total * 50) return null;
  const crcMatches = new Set(bKeys.filter((c) => byCrc.has(c))).size;
  return { pieces, matchedBytes, matched, crcMatches, total };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Content bytes for a part: file data, or the symlink target. */
function rawContent(header: FileHeader, data: Uint8Array): Uint8Array {
  return isLnk(header.mode) ? utf8(header.symlinkTarget) : data;
}

/** Generates the delta from opts.from (or scratch) to opts.to and writes it. */
export async function generateDelta(repo: Repo, opts: GenerateDeltaOptions): Promise<GenerateDeltaResult> {
  const log = opts.log ?? (() => undefined);
  const { from, to } = opts;
  const minFallback = opts.minFallbackSize ?? 4_000_000;
  const maxBsdiff = opts.maxBsdiffSize ?? 128_000_000;
  const maxChunk = opts.maxChunkSize ?? 32_000_000;
  const xz = opts.xz ?? lzma2XzEncoder;
  for (const [n, v] of [['minFallbackSize', minFallback], ['maxBsdiffSize', maxBsdiff], ['maxChunkSize', maxChunk]] as const)
    if (!Number.isSafeInteger(v) || v < 0) throw new XylemError(`generate: invalid ${n} ${v}`);
  // the WASM kernels are loaded only when a modified file needs rollsum or bsdiff
  let kernelsLoaded: DeltaKernels | undefined = opts.kernels;
  const kernels = async (): Promise<DeltaKernels> => (kernelsLoaded ??= await defaultKernels());

  const commitBytes = await repo.loadMetadataBytes(ObjectType.Commit, to);
  const toCommit = await repo.loadCommit(to);
  const plan = await planNewObjects(repo, from, to);

  log('Generating static delta:', 'out');
  log(`  From: ${from ?? 'empty'}`, 'out');
  log(`  To:   ${to}`, 'out');

  const byCsum = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const newContent = plan.content;
  const nContent = newContent.length;

  // Sizes and kinds of the new content, one number and one flag each (headers are reloaded when
  // the objects are emitted).
  const sizes = new Float64Array(nContent);
  const regular = new Uint8Array(nContent);
  let nReg = 0;
  let nLnk = 0;
  for (let i = 0; i < nContent; i++) {
    const o = await repo.loadFile(newContent.hexAt(i));
    sizes[i] = o.size;
    if (isReg(o.header.mode)) {
      regular[i] = 1;
      nReg++;
    } else nLnk++;
  }

  // "Modified" files: same basename in the source, size within 30 %, old object world-readable.
  // Keyed by the new object's index (its place in checksum order).
  const modified = new Map<number, string>();
  if (from !== null && plan.names) {
    const names = plan.names;
    const wanted = new Set<string>();
    for (let i = 0; i < nContent; i++) if (regular[i]) wanted.add(names[i]!);
    const byName = await sourceByName(repo, from, wanted);
    for (let i = 0; i < nContent; i++) {
      if (!regular[i]) continue;
      const candidates = byName.get(names[i]!) ?? [];
      const size = sizes[i]!;
      let best: { csum: string; diff: number } | null = null;
      for (const old of [...candidates].sort(byCsum)) {
        const o = await repo.loadFile(old);
        if (!isReg(o.header.mode) || (o.header.mode & 0o004) === 0) continue;
        const diff = Math.abs(o.size - size);
        if (diff * 100 > Math.max(o.size, size) * SIMILARITY_PERCENT) continue;
        if (!best || diff < best.diff) best = { csum: old, diff };
      }
      if (best) modified.set(i, best.csum);
    }
  }
  log(`modified: ${modified.size}`, 'err');
  log(`new reachable: metadata=${plan.trees.length + plan.metas.length + 1} content regular=${nReg} symlink=${nLnk}`, 'err');

  // Where the delta goes: parts are written as they are made, the superblock last (atomically),
  // so a reader never sees a superblock whose parts are missing.
  const fs = repo.fs;
  let dir: string;
  let superblockPath: string;
  if (opts.filename !== undefined) {
    superblockPath = opts.filename;
    const slash = superblockPath.lastIndexOf('/');
    dir = slash < 0 ? '.' : slash === 0 ? '/' : superblockPath.slice(0, slash);
  } else {
    dir = joinPath(repo.path, deltaRelDir(from, to));
    superblockPath = joinPath(dir, 'superblock');
    await fs.rmrf(dir);
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  }

  // Finished parts: compressed (at most `parallelism` at once, in order of creation) and written.
  const parallelism = Math.max(1, Math.min(64, Math.floor(xz.parallelism ?? 1)));
  const headersOut: PartHeader[] = [];
  const partFiles: Uint8Array[] = [];
  const partLogs: string[] = [];
  const inflight: Array<Promise<void>> = [];
  let compressed = 0;
  let uncompressed = 0;
  let nParts = 0;
  const finishPart = async (p: PartBuilder): Promise<void> => {
    const k = nParts++;
    const payload = p.payload();
    const { objectCount, objectBytes } = p;
    const packedObjects = p.packedObjects();
    const job = (async () => {
      let checksum: Uint8Array;
      let size: number;
      if (opts.inline) {
        const file = await compressPart(payload, xz);
        partFiles[k] = file;
        checksum = repo.sha256(file);
        size = file.length;
      } else {
        // written and hashed as the encoder makes it: the compressed part is never held whole
        const h = repo.hashProvider.createSha256();
        const hashed = async function* (): AsyncGenerator<Uint8Array, void, undefined> {
          for await (const piece of compressPartStream(payload, xz)) {
            h.update(piece);
            yield piece;
          }
        };
        size = await writeFileAtomicStream(fs, joinPath(dir, String(k)), hashed(), { fsync: repo.fsyncEnabled });
        checksum = h.digest();
      }
      headersOut[k] = { version: 0, checksum, size, usize: objectBytes, objects: [], packedObjects };
      compressed += size;
      uncompressed += objectBytes;
      partLogs[k] = `part ${k + 1} n:${objectCount} compressed:${size} uncompressed:${objectBytes}`;
    })();
    job.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
    inflight.push(job);
    if (inflight.length >= parallelism) await inflight.shift();
  };
  // a part's blob is reserved at the part size limit (pages never written cost nothing)
  const reserve = Math.min(maxChunk, 64 << 20) + 4096;
  let current = new PartBuilder(reserve);
  const place = async (estimate: number): Promise<PartBuilder> => {
    if (current.objectCount > 0 && current.payloadSize + estimate > maxChunk) {
      await finishPart(current);
      current = new PartBuilder(reserve);
    }
    return current;
  };

  for (let i = 0; i < plan.trees.length; i++) {
    const c = plan.trees.hexAt(i);
    const data = await repo.loadMetadataBytes(ObjectType.DirTree, c);
    (await place(data.length)).addMetadata(ObjectType.DirTree, c, data);
  }
  for (let i = 0; i < plan.metas.length; i++) {
    const c = plan.metas.hexAt(i);
    const data = await repo.loadMetadataBytes(ObjectType.DirMeta, c);
    (await place(data.length)).addMetadata(ObjectType.DirMeta, c, data);
  }

  /** 1 for each new content object already emitted by rollsum or bsdiff. */
  const done = new Uint8Array(nContent);
  let rollsumObjects = 0;
  let rollsumBytes = 0;
  let bsdiffObjects = 0;
  // indices ascend with checksums, so this is checksum order
  const modifiedList = [...modified.keys()].sort((x, y) => x - y);
  for (const i of modifiedList) {
    const c = newContent.hexAt(i);
    const old = modified.get(i)!;
    const prev = await (await repo.loadFile(old)).read();
    const nextObj = await repo.loadFile(c);
    const next = await nextObj.read();
    const r = rollsumPieces(await kernels(), prev, next);
    if (r) {
      log(`rollsum for ${old} -> ${c}; crcs=${r.crcMatches} bufs=${r.matched} total=${r.total} matchsize=${r.matchedBytes}`, 'err');
      (await place(next.length - r.matchedBytes + 64)).addRollsum(c, nextObj.header, nextObj.size, old, r.pieces);
      rollsumObjects++;
      rollsumBytes += r.matchedBytes;
      done[i] = 1;
    }
  }
  log(`rollsum for ${rollsumObjects}/${modified.size} modified`, 'err');
  if (!opts.disableBsdiff) {
    const todo = modifiedList.filter((i) => !done[i]);
    let n = 0;
    for (const i of todo) {
      const c = newContent.hexAt(i);
      const old = modified.get(i)!;
      const prevObj = await repo.loadFile(old);
      if (prevObj.size + sizes[i]! > maxBsdiff) continue;
      log(`processing bsdiff: [${n}/${todo.length}]`, 'err');
      const nextObj = await repo.loadFile(c);
      const patch = (await kernels()).bsdiff(await prevObj.read(), await nextObj.read());
      (await place(patch.length + 32)).addBsdiff(c, nextObj.header, nextObj.size, old, patch);
      bsdiffObjects++;
      done[i] = 1;
      n++;
    }
  }

  const fallbacks: FallbackEntry[] = [];
  for (let i = 0; i < nContent; i++) {
    if (done[i]) continue;
    const c = newContent.hexAt(i);
    const size = sizes[i]!;
    if (minFallback > 0 && regular[i] && size > minFallback) {
      const st = await repo.fs.lstat(repo.objectPath(c, ObjectType.File));
      fallbacks.push({ type: ObjectType.File, checksum: c, size: st?.size ?? size, usize: size });
      continue;
    }
    const obj = await repo.loadFile(c);
    if (isReg(obj.header.mode) && obj.size > STREAM_CONTENT_ABOVE) {
      await (await place(obj.size)).addContentStream(c, obj.header, obj.size, obj.stream());
    } else if (isReg(obj.header.mode)) {
      const data = await obj.read();
      (await place(data.length)).addContent(c, obj.header, data);
    } else {
      const raw = rawContent(obj.header, new Uint8Array(0));
      (await place(raw.length)).addContent(c, obj.header, raw);
    }
  }

  // The last part (a delta always has at least one, possibly empty), then wait for all.
  await finishPart(current);
  while (inflight.length > 0) await inflight.shift();
  for (const l of partLogs) log(l, 'err');

  const metadata: Metadata = [];
  if (opts.inline) {
    partFiles.forEach((f, k) => metadata.push([superblockKey(from, to, String(k)), { type: '(yay)', value: [f[0]!, f.subarray(1)] }]));
  }
  const detached = await repo.loadCommitMeta(to);
  if (detached) metadata.push([superblockKey(from, to, 'commitmeta'), { type: 'a{sv}', value: detached as GVValue[] }]);

  let superblock = encodeSuperblock({
    metadata,
    timestamp: toCommit.timestamp,
    from,
    to,
    commitBytes,
    parts: headersOut,
    fallbacks,
    endianness: opts.endianness ?? 'little',
  });
  if (opts.signers && opts.signers.length > 0) {
    const sigs = new Map<string, Uint8Array[]>();
    for (const s of opts.signers) {
      const l = sigs.get(s.metadataKey) ?? [];
      l.push(await s.sign(superblock));
      sigs.set(s.metadataKey, l);
    }
    const entries: Array<[string, GVVariant]> = [...sigs].map(([k, v]) => [k, { type: 'aay', value: v }]);
    superblock = encodeSignedSuperblock(superblock, entries);
  }
  let loose = 0;
  for (const f of fallbacks) loose += f.size;
  log(`uncompressed=${uncompressed} compressed=${compressed} loose=${loose}`, 'err');
  log(`rollsum=${rollsumObjects} objects, ${rollsumBytes} bytes`, 'err');
  log(`bsdiff=${bsdiffObjects} objects`, 'err');

  await writeFileAtomic(fs, superblockPath, superblock, { fsync: repo.fsyncEnabled });
  return {
    name: deltaNameString({ from, to }),
    superblockPath,
    parts: nParts,
    fallbacks: fallbacks.length,
    rollsumObjects,
    rollsumBytes,
    bsdiffObjects,
    compressedSize: compressed,
    uncompressedSize: uncompressed,
  };
}
