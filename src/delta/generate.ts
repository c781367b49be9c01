// Static-delta generation (`static-delta generate`), after libostree's "low latency" planner:
// the new objects are those reachable from the target commit and not from the source (the
// commit itself travels in the superblock). Regular files that have a "similar" old version
// (same basename, size within 30 %, old object world-readable) are encoded with rollsum (when at
// least half of the new file's bupsplit chunks exist in the old one, keyed as ostree keys them,
// see prefixCrcKeys) or else bsdiff (unless
// disabled or old + new exceeds max-bsdiff-size); big remaining content becomes fallback objects
// (fetched loose); everything else is spliced whole. Parts are cut at max-chunk-size.
// Parts are compressed and written as soon as they are full (up to the encoder's `parallelism`
// at a time), so memory holds a few parts, never the whole delta.
// Output is reproducible: objects in checksum order within each group, the superblock
// timestamp is the target commit's, and the xz encoder must be deterministic.

import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { ObjectType, isReg, isLnk, type FileHeader } from '../format/objects.ts';
import type { GVValue, GVVariant } from '../format/gvariant.ts';
import type { Metadata } from '../format/objects.ts';
import { utf8 } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { PartBuilder } from './part-builder.ts';
import { compressPart } from './part.ts';
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

/** A commit's tree: dirtree/dirmeta checksums and regular-file/symlink content with one basename each. */
interface TreeIndex {
  dirtrees: Set<string>;
  dirmetas: Set<string>;
  /** content checksum → a basename it appears under (the first in walk order) */
  content: Map<string, string>;
  /** basename → content checksums under that name */
  byName: Map<string, string[]>;
}

async function indexCommit(repo: Repo, csum: string): Promise<TreeIndex> {
  const commit = await repo.loadCommit(csum);
  const idx: TreeIndex = { dirtrees: new Set(), dirmetas: new Set([commit.rootMeta]), content: new Map(), byName: new Map() };
  const walk = async (tree: string): Promise<void> => {
    if (idx.dirtrees.has(tree)) return;
    idx.dirtrees.add(tree);
    const dt = await repo.loadDirTree(tree);
    for (const f of dt.files) {
      if (!idx.content.has(f.checksum)) idx.content.set(f.checksum, f.name);
      const l = idx.byName.get(f.name);
      if (!l) idx.byName.set(f.name, [f.checksum]);
      else if (!l.includes(f.checksum)) l.push(f.checksum);
    }
    for (const d of dt.dirs) {
      idx.dirmetas.add(d.metaChecksum);
      await walk(d.treeChecksum);
    }
  };
  await walk(commit.rootTree);
  return idx;
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
  const kernels = opts.kernels ?? (await defaultKernels());

  const commitBytes = await repo.loadMetadataBytes(ObjectType.Commit, to);
  const toCommit = await repo.loadCommit(to);
  const toIdx = await indexCommit(repo, to);
  const fromIdx = from === null ? null : await indexCommit(repo, from);

  log('Generating static delta:', 'out');
  log(`  From: ${from ?? 'empty'}`, 'out');
  log(`  To:   ${to}`, 'out');

  const byCsum = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const newTrees = [...toIdx.dirtrees].filter((c) => !fromIdx?.dirtrees.has(c)).sort(byCsum);
  const newMetas = [...toIdx.dirmetas].filter((c) => !fromIdx?.dirmetas.has(c)).sort(byCsum);
  const newContent = [...toIdx.content.keys()].filter((c) => !fromIdx?.content.has(c)).sort(byCsum);

  // Load headers to classify content.
  const headers = new Map<string, { header: FileHeader; size: number }>();
  let nReg = 0;
  let nLnk = 0;
  for (const c of newContent) {
    const o = await repo.loadFile(c);
    headers.set(c, { header: o.header, size: o.size });
    if (isReg(o.header.mode)) nReg++;
    else nLnk++;
  }

  // "Modified" files: same basename in the source, size within 30 %, old object world-readable.
  const modified = new Map<string, string>();
  if (fromIdx) {
    for (const c of newContent) {
      const h = headers.get(c)!;
      if (!isReg(h.header.mode)) continue;
      const candidates = fromIdx.byName.get(toIdx.content.get(c)!) ?? [];
      let best: { csum: string; diff: number } | null = null;
      for (const old of [...candidates].sort(byCsum)) {
        const o = await repo.loadFile(old);
        if (!isReg(o.header.mode) || (o.header.mode & 0o004) === 0) continue;
        const diff = Math.abs(o.size - h.size);
        if (diff * 100 > Math.max(o.size, h.size) * SIMILARITY_PERCENT) continue;
        if (!best || diff < best.diff) best = { csum: old, diff };
      }
      if (best) modified.set(c, best.csum);
    }
  }
  log(`modified: ${modified.size}`, 'err');
  log(`new reachable: metadata=${newTrees.length + newMetas.length + 1} content regular=${nReg} symlink=${nLnk}`, 'err');

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
    const { objects, objectBytes } = p;
    const job = (async () => {
      const file = await compressPart(payload, xz);
      headersOut[k] = { version: 0, checksum: repo.sha256(file), size: file.length, usize: objectBytes, objects };
      compressed += file.length;
      uncompressed += objectBytes;
      partLogs[k] = `part ${k + 1} n:${objects.length} compressed:${file.length} uncompressed:${objectBytes}`;
      if (opts.inline) partFiles[k] = file;
      else await writeFileAtomic(fs, joinPath(dir, String(k)), file, { fsync: repo.fsyncEnabled });
    })();
    job.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
    inflight.push(job);
    if (inflight.length >= parallelism) await inflight.shift();
  };
  let current = new PartBuilder();
  const place = async (estimate: number): Promise<PartBuilder> => {
    if (current.objects.length > 0 && current.payloadSize + estimate > maxChunk) {
      await finishPart(current);
      current = new PartBuilder();
    }
    return current;
  };

  for (const c of newTrees) {
    const data = await repo.loadMetadataBytes(ObjectType.DirTree, c);
    (await place(data.length)).addMetadata(ObjectType.DirTree, c, data);
  }
  for (const c of newMetas) {
    const data = await repo.loadMetadataBytes(ObjectType.DirMeta, c);
    (await place(data.length)).addMetadata(ObjectType.DirMeta, c, data);
  }

  const done = new Set<string>();
  let rollsumObjects = 0;
  let rollsumBytes = 0;
  let bsdiffObjects = 0;
  const modifiedList = [...modified.keys()].sort(byCsum);
  for (const c of modifiedList) {
    const old = modified.get(c)!;
    const h = headers.get(c)!;
    const prev = await (await repo.loadFile(old)).read();
    const next = await (await repo.loadFile(c)).read();
    const r = rollsumPieces(kernels, prev, next);
    if (r) {
      log(`rollsum for ${old} -> ${c}; crcs=${r.crcMatches} bufs=${r.matched} total=${r.total} matchsize=${r.matchedBytes}`, 'err');
      (await place(next.length - r.matchedBytes + 64)).addRollsum(c, h.header, h.size, old, r.pieces);
      rollsumObjects++;
      rollsumBytes += r.matchedBytes;
      done.add(c);
    }
  }
  log(`rollsum for ${rollsumObjects}/${modified.size} modified`, 'err');
  if (!opts.disableBsdiff) {
    const todo = modifiedList.filter((c) => !done.has(c));
    let n = 0;
    for (const c of todo) {
      const old = modified.get(c)!;
      const h = headers.get(c)!;
      const prevObj = await repo.loadFile(old);
      if (prevObj.size + h.size > maxBsdiff) continue;
      log(`processing bsdiff: [${n}/${todo.length}]`, 'err');
      const patch = kernels.bsdiff(await prevObj.read(), await (await repo.loadFile(c)).read());
      (await place(patch.length + 32)).addBsdiff(c, h.header, h.size, old, patch);
      bsdiffObjects++;
      done.add(c);
      n++;
    }
  }

  const fallbacks: FallbackEntry[] = [];
  for (const c of newContent) {
    if (done.has(c)) continue;
    const h = headers.get(c)!;
    if (minFallback > 0 && isReg(h.header.mode) && h.size > minFallback) {
      const st = await repo.fs.lstat(repo.objectPath(c, ObjectType.File));
      fallbacks.push({ type: ObjectType.File, checksum: c, size: st?.size ?? h.size, usize: h.size });
      continue;
    }
    const data = isReg(h.header.mode) ? await (await repo.loadFile(c)).read() : new Uint8Array(0);
    const raw = rawContent(h.header, data);
    (await place(raw.length)).addContent(c, h.header, raw);
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
