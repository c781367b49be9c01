// A package's payload as rpm's fsm (lib/fsm.cc) sees it: decompressed, walked entry by entry and
// checked against the header. Each cpio entry must name a file the header lists (by path, or by
// index in the stripped 07070X form), at most once, never a %ghost; names are relative (`./x`):
// absolute names, `..` components and paths that pass through a symlink of the package are
// refused. Sizes come from the header and cap each entry's data; the whole archive is capped by
// what the header's files add up to (decompression bombs stop there). Hardlink sets are extracted
// as rpm does: earlier members carry no data, the last carries it and is yielded once with the
// others listed. Regular files' contents are checked against FILEDIGESTS as they stream past.

import type { HashProvider } from '../host.ts';
import { toHex } from '../util/bytes.ts';
import { selectHashProvider } from '../util/sha256.ts';
import { ChunkReader, readCpioHeader, type CpioHeader } from './cpio.ts';
import { createHasher, digestAlgoName, type Hasher } from './digest.ts';
import { RpmError, RpmErrorCode } from './errors.ts';
import { fileDigestAlgo, fileKind, readFiles, S_IFMT, type RpmFile } from './files.ts';
import type { RpmHeaders } from './layout.ts';
import { decompressPayload } from './payload.ts';
import { DigestAlgo, Tag } from './tags.ts';

/** One file of the payload, in archive order. */
export interface PayloadEntry {
  /** The header's description of the file (path, mode, owner, mtime, flags… from the header, not cpio). */
  file: RpmFile;
  kind: 'file' | 'dir' | 'symlink' | 'other';
  /** The other members of this file's hardlink set (they share its content); [] when none. */
  hardlinks: RpmFile[];
  /**
   * The content (regular files) or target bytes (symlinks), streamed; consume it before asking for
   * the next entry (unread data is skipped, still digest-checked). The last chunk's read fails when
   * the content does not match FILEDIGESTS.
   */
  data: AsyncIterable<Uint8Array>;
  /** The whole content in memory (at most the header's size for the file). */
  bytes(): Promise<Uint8Array>;
}

/** Options of readPayload. */
export interface ReadPayloadOptions {
  /** Check each regular file against FILEDIGESTS (default true). */
  verifyDigests?: boolean;
  /** A lower cap on the decompressed archive, in bytes (default: what the header's files add up to). */
  maxArchiveSize?: number;
  /** SHA-256 for per-file digests (the Host's native one is fastest; default: WASM core, else JS). */
  hash?: HashProvider;
}

const DATA_CHUNK = 256 * 1024;

class EntryData implements AsyncIterable<Uint8Array> {
  private remaining: number;
  private started = false;
  constructor(
    private readonly r: ChunkReader,
    size: number,
    private readonly hasher: Hasher | null,
    private readonly onEnd: (digest: Uint8Array | null) => void,
  ) {
    this.remaining = size;
  }
  async next(): Promise<Uint8Array | null> {
    if (this.remaining === 0) return null;
    const b = await this.r.readSome(Math.min(this.remaining, DATA_CHUNK), 'file data');
    this.remaining -= b.length;
    this.hasher?.update(b);
    if (this.remaining === 0) this.onEnd(this.hasher ? this.hasher.digest() : null);
    return b;
  }
  get finished(): boolean {
    return this.remaining === 0;
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    if (this.started) throw new TypeError('payload entry data can be iterated once');
    this.started = true;
    for (let b = await this.next(); b !== null; b = await this.next()) yield b;
  }
  async drain(): Promise<void> {
    while ((await this.next()) !== null);
  }
}

/** Upper bound of the decompressed archive implied by the header's file list. */
export function archiveSizeBound(files: readonly RpmFile[]): number {
  let n = 124 + 512; // trailer entry and slack
  for (const f of files) n += 110 + 4 * f.path.length + 8 + f.size + 3 + (f.linkto.length * 4);
  return n;
}

/** Turns a cpio name into an absolute package path, refusing names that escape. */
export function cpioNameToPath(name: string, pkg: string): string {
  let rel = name;
  if (rel.startsWith('./')) rel = rel.slice(2);
  else if (rel.startsWith('/')) throw new RpmError(RpmErrorCode.PATH, pkg, `payload entry ${JSON.stringify(name)} has an absolute path`);
  if (rel === '' || rel === '.') throw new RpmError(RpmErrorCode.PATH, pkg, `payload entry ${JSON.stringify(name)} names the root`);
  for (const c of rel.split('/'))
    if (c === '..' || c === '.' || c === '') throw new RpmError(RpmErrorCode.PATH, pkg, `payload entry ${JSON.stringify(name)} has a ${c === '..' ? "'..'" : 'empty or "."'} component`);
  return '/' + rel;
}

/**
 * Decompresses and walks a package's payload. `compressed` yields the bytes after the main header
 * (to the end of the file). Entries arrive in archive order; every listed non-ghost file is
 * yielded once (hardlink sets once, with their other members), else the walk fails at the end.
 */
export async function* readPayload(headers: RpmHeaders, compressed: AsyncIterable<Uint8Array>, opts: ReadPayloadOptions = {}): AsyncGenerator<PayloadEntry> {
  const pkg = headers.pkg;
  const h = headers.header;
  const format = h.getString(Tag.PAYLOADFORMAT) ?? 'cpio';
  if (format !== 'cpio') throw new RpmError(RpmErrorCode.UNSUPPORTED, pkg, `payload format ${format} is not supported`);
  const files = readFiles(h);
  const verify = opts.verifyDigests ?? true;
  const algo = fileDigestAlgo(h);
  if (verify && files.some((f) => f.digest !== '') && createHasher(algo) === null)
    throw new RpmError(RpmErrorCode.UNSUPPORTED, pkg, `file digest algorithm ${algo} is not supported`);
  const sha256Provider = selectHashProvider(opts.hash);
  let cap = archiveSizeBound(files);
  if (opts.maxArchiveSize !== undefined) cap = Math.min(cap, opts.maxArchiveSize);

  const byPath = new Map<string, number>();
  const symlinks = new Set<string>();
  // keyed without the leading '/': source packages list relative names (`foo.spec`)
  for (const f of files) {
    byPath.set(f.path.startsWith('/') ? f.path.slice(1) : f.path, f.index);
    if (fileKind(f.mode) === 'symlink') symlinks.add(f.path);
  }
  // hardlink sets: members in header order; seen counts as entries arrive
  const setOf = new Map<number, number[]>();
  const byId = new Map<string, number[]>();
  for (const f of files) {
    if (fileKind(f.mode) !== 'file' || f.ghost) continue;
    const k = `${f.device}:${f.inode}`;
    const l = byId.get(k);
    if (l) l.push(f.index);
    else byId.set(k, [f.index]);
  }
  for (const l of byId.values()) if (l.length > 1) for (const i of l) setOf.set(i, l);
  const seenInSet = new Map<number[], number>();
  const seen = new Uint8Array(files.length);

  const cpio = decompressPayload(compressed, { pkg, maxOutput: cap, declared: h.getString(Tag.PAYLOADCOMPRESSOR) ?? 'gzip' });
  const r = new ChunkReader(cpio[Symbol.asyncIterator](), pkg);
  let current: EntryData | null = null;
  try {
    for (;;) {
      if (current && !current.finished) await current.drain();
      current = null;
      const ch: CpioHeader | null = await readCpioHeader(r, pkg);
      if (ch === null) break;
      let idx: number;
      if (ch.form === 'stripped') {
        if (ch.fileIndex >= files.length) throw new RpmError(RpmErrorCode.CPIO, pkg, `payload entry names file index ${ch.fileIndex}, the header lists ${files.length} files`);
        idx = ch.fileIndex;
      } else {
        const path = cpioNameToPath(ch.name, pkg);
        const i = byPath.get(path.slice(1));
        if (i === undefined) throw new RpmError(RpmErrorCode.CPIO, pkg, `payload entry ${path} is not in the header's file list`);
        idx = i;
      }
      const f = files[idx]!;
      if (seen[idx]) throw new RpmError(RpmErrorCode.CPIO, pkg, `payload holds ${f.path} twice`);
      seen[idx] = 1;
      if (f.ghost) throw new RpmError(RpmErrorCode.CPIO, pkg, `payload holds ${f.path}, a %ghost file`);
      for (let p = f.path.lastIndexOf('/'); p > 0; p = f.path.lastIndexOf('/', p - 1)) {
        const anc = f.path.slice(0, p);
        if (symlinks.has(anc)) throw new RpmError(RpmErrorCode.PATH, pkg, `payload entry ${f.path} lies below ${anc}, a symlink of the package`);
      }
      const kind = fileKind(f.mode);
      if (ch.form === 'newc' && (ch.mode & S_IFMT) !== (f.mode & S_IFMT))
        throw new RpmError(RpmErrorCode.CPIO, pkg, `payload entry ${f.path} has file type ${(ch.mode & S_IFMT).toString(8)}, the header says ${(f.mode & S_IFMT).toString(8)}`);
      const set = setOf.get(idx);
      let size: number;
      let carriesData = true;
      if (set) {
        const n = (seenInSet.get(set) ?? 0) + 1;
        seenInSet.set(set, n);
        carriesData = n === set.length;
        size = carriesData ? f.size : 0;
        if (ch.form === 'newc' && ch.size !== size)
          throw new RpmError(RpmErrorCode.CPIO, pkg, `payload entry ${f.path} (hardlink ${n} of ${set.length}) holds ${ch.size} bytes, expected ${size}`);
      } else if (kind === 'file') {
        size = f.size;
        if (ch.form === 'newc' && ch.size !== size) throw new RpmError(RpmErrorCode.CPIO, pkg, `payload entry ${f.path} holds ${ch.size} bytes, the header says ${size}`);
      } else if (kind === 'symlink') {
        size = ch.form === 'newc' ? ch.size : new TextEncoder().encode(f.linkto).length;
        if (size > 4096) throw new RpmError(RpmErrorCode.CPIO, pkg, `payload symlink ${f.path} has a ${size}-byte target`);
      } else {
        size = 0;
        if (ch.form === 'newc' && ch.size !== 0) throw new RpmError(RpmErrorCode.CPIO, pkg, `payload entry ${f.path} (a ${kind}) holds ${ch.size} bytes`);
      }
      const wantDigest = verify && kind === 'file' && carriesData && f.digest !== '';
      const hasher = !wantDigest ? null : algo === DigestAlgo.SHA256 ? sha256Provider.createSha256() : createHasher(algo);
      const data = new EntryData(r, size, hasher, (d) => {
        if (d && toHex(d) !== f.digest.toLowerCase())
          throw new RpmError(RpmErrorCode.DIGEST, pkg, `${f.path}: ${digestAlgoName(algo)} digest ${toHex(d)} does not match the header's ${f.digest}`);
      });
      if (wantDigest && size === 0) {
        const d = hasher!.digest();
        if (toHex(d) !== f.digest.toLowerCase()) throw new RpmError(RpmErrorCode.DIGEST, pkg, `${f.path}: ${digestAlgoName(algo)} digest ${toHex(d)} does not match the header's ${f.digest}`);
      }
      current = data;
      if (!carriesData) continue;
      if (kind === 'symlink') {
        const target = await readAll(data, size);
        const text = new TextDecoder().decode(target);
        if (text !== f.linkto) throw new RpmError(RpmErrorCode.CPIO, pkg, `payload symlink ${f.path} points to ${JSON.stringify(text)}, the header says ${JSON.stringify(f.linkto)}`);
        yield entry(f, kind, [], oneChunk(target), target);
        continue;
      }
      const links = set ? set.filter((i) => i !== idx).map((i) => files[i]!) : [];
      yield entry(f, kind, links, data, null, size);
    }
  } finally {
    // stop the decompressor
    await cpio.return(undefined).catch(() => undefined);
  }
  const missing = files.filter((f, i) => !seen[i] && !f.ghost);
  if (missing.length > 0) throw new RpmError(RpmErrorCode.CPIO, pkg, `${missing.length} file(s) the header lists are missing from the payload (first: ${missing[0]!.path})`);
}

function entry(file: RpmFile, kind: PayloadEntry['kind'], hardlinks: RpmFile[], data: AsyncIterable<Uint8Array>, whole: Uint8Array | null, size = 0): PayloadEntry {
  return {
    file,
    kind,
    hardlinks,
    data,
    bytes: async () => whole ?? readAll(data, size),
  };
}

async function* oneChunk(b: Uint8Array): AsyncGenerator<Uint8Array> {
  if (b.length) yield b;
}

async function readAll(data: AsyncIterable<Uint8Array>, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let o = 0;
  for await (const b of data) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}
