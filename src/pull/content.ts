// Bringing one content object into the destination repo: checks the bareuseronly rule, inflates
// an archive `.filez`, verifies its checksum and writes it in the destination's mode (the fetched
// `.filez` is stored verbatim when the destination is an archive repo).

import type { DeflateProvider } from '../host.ts';
import { parseArchiveHeader, fileStreamHeader, isReg, type FileHeader } from '../format/objects.ts';
import { CorruptionError, XylemError } from '../util/errors.ts';
import { toHex } from '../util/bytes.ts';
import type { Repo } from '../repo/repo.ts';
import type { PullWriter } from './writer.ts';
import { inflateRawChunks } from '../util/deflate.ts';

/** Regular files at least this big are inflated chunk by chunk into bare-family repos. */
export const STREAM_MIN_SIZE = 1024 * 1024;

/** Largest content object inflated in memory (regular files are bigger only in exotic trees). */
export const MAX_CONTENT_SIZE = 4 * 1024 * 1024 * 1024;

/** Largest archive header (`(tuuuusa(ayay))`, mostly xattrs) a `.filez` may start with. */
export const MAX_FILEZ_HEADER = 10 * 1024 * 1024;

/**
 * The most a raw deflate stream of `n` bytes of content may take: zlib's conservative
 * deflateBound (any level, window and memLevel: 1/8 + 1/64 over the input, fixed-Huffman worst
 * case included) plus a little slack for block framing.
 */
export function deflateBound(n: number): number {
  return n + Math.ceil(n / 8) + Math.ceil(n / 64) + 5 + 1024;
}

/**
 * The largest a fetched `.filez` may be, from its first bytes (FetchRequest.capFromHead): once its
 * header is in, the header plus the deflate bound of the size it declares. A header that is too
 * long or declares more than MAX_CONTENT_SIZE is refused before anything more is read.
 */
export function filezCap(csum: string, head: Uint8Array): number | { need: number } {
  const ctx = `${csum}.filez`;
  if (head.length < 8) return { need: 8 };
  const len = new DataView(head.buffer, head.byteOffset, 8).getUint32(0, false);
  if (len > MAX_FILEZ_HEADER) throw new CorruptionError(`Corrupted file object ${ctx}: header length ${len} over the maximum ${MAX_FILEZ_HEADER}`);
  if (head.length < 8 + len) return { need: 8 + len };
  const { header, size } = parseArchiveHeader(head.subarray(0, 8 + len), ctx);
  if (size > MAX_CONTENT_SIZE) throw new CorruptionError(`Corrupted file object ${ctx}: content size ${size} too large`);
  return 8 + len + deflateBound(isReg(header.mode) ? size : 0);
}

/** `--bareuseronly-files`: regular files may not be setuid/setgid/sticky or world-writable. */
export function checkBareUserOnly(csum: string, header: FileHeader): void {
  if (!isReg(header.mode)) return;
  const bad = header.mode & 0o7002;
  if (bad !== 0) {
    const oct = (n: number) => `0${n.toString(8).padStart(4, '0')}`;
    throw new XylemError(`Content object ${csum}: invalid mode ${oct(header.mode & 0o7777)} with bits ${oct(bad)}`);
  }
}

/** Checksum of a content object given its header and content. */
export function contentChecksum(repo: Repo, header: FileHeader, content: Uint8Array): string {
  const h = repo.createSha256();
  h.update(fileStreamHeader(header));
  if (isReg(header.mode)) h.update(content);
  return toHex(h.digest());
}

/** Header and content of a `.filez` (hostile input: sizes checked, body fully inflated). */
export async function inflateFilez(
  deflate: DeflateProvider,
  csum: string,
  filez: Uint8Array,
): Promise<{ header: FileHeader; content: Uint8Array }> {
  const ctx = `${csum}.filez`;
  const { header, size, offset } = parseArchiveHeader(filez, ctx);
  if (!isReg(header.mode)) return { header, content: new Uint8Array(0) };
  if (size > MAX_CONTENT_SIZE) throw new CorruptionError(`${ctx}: content size ${size} too large`);
  let content: Uint8Array;
  try {
    content = size === 0 && offset === filez.length ? new Uint8Array(0) : await deflate.inflateRaw(filez.subarray(offset), size);
  } catch (e) {
    throw new CorruptionError(`Corrupted file object ${csum}: ${(e as Error).message}`);
  }
  if (content.length !== size)
    throw new CorruptionError(`Corrupted file object ${csum}: expected ${size} bytes of content, got ${content.length}`);
  return { header, content };
}

export interface IngestOptions {
  /** Verify the checksum (false only for --http-trusted mirroring into archive). */
  verify: boolean;
  bareuseronlyFiles: boolean;
}

/** Writes a fetched `.filez` into `writer`'s repo; returns the uncompressed content size. */
export async function ingestFilez(writer: PullWriter, csum: string, filez: Uint8Array, opts: IngestOptions): Promise<number> {
  const repo = writer.repo;
  if (repo.mode === 'archive' && !opts.verify && !opts.bareuseronlyFiles) {
    const { header, size } = parseArchiveHeader(filez, `${csum}.filez`);
    await writer.storeRawArchiveObject(csum, filez, isReg(header.mode) ? size : 0);
    return size;
  }
  if (repo.mode !== 'archive') {
    const { header, size, offset } = parseArchiveHeader(filez, `${csum}.filez`);
    if (isReg(header.mode) && size >= STREAM_MIN_SIZE) {
      // Big: inflated chunk by chunk straight into the staged file, never whole in memory.
      if (opts.bareuseronlyFiles) checkBareUserOnly(csum, header);
      if (size > MAX_CONTENT_SIZE) throw new CorruptionError(`${csum}.filez: content size ${size} too large`);
      await writeStreamed(writer, csum, header, size, inflateRawChunks(repo.deflate, filez.subarray(offset), size));
      return size;
    }
  }
  const { header, content } = await inflateFilez(repo.deflate, csum, filez);
  if (opts.bareuseronlyFiles) checkBareUserOnly(csum, header);
  const actual = contentChecksum(repo, header, content);
  if (actual !== csum) throw new CorruptionError(`Corrupted file object; checksum expected='${csum}' actual='${actual}'`);
  if (repo.mode === 'archive') await writer.storeRawArchiveObject(csum, filez, content.length);
  else await writer.writeVerifiedContent(header, content, csum);
  return content.length;
}

/** Reads of a spilled `.filez` while streaming it. */
const FILE_CHUNK = 1024 * 1024;

/**
 * Writes a `.filez` that was downloaded to `path` (a big body kept out of memory): big regular
 * files into bare-family repos are streamed from the file (read, inflated, hashed, written chunk
 * by chunk); anything else is read into memory and goes through ingestFilez.
 */
export async function ingestFilezFile(writer: PullWriter, csum: string, path: string, size: number, opts: IngestOptions): Promise<number> {
  const repo = writer.repo;
  const ctx = `${csum}.filez`;
  if (repo.mode !== 'archive') {
    const fh = await repo.fs.openRead(path);
    try {
      const read = async (buf: Uint8Array, pos: number): Promise<Uint8Array> => {
        let got = 0;
        while (got < buf.length) {
          const n = await fh.read(buf, got, buf.length - got, pos + got);
          if (n === 0) break;
          got += n;
        }
        return buf.subarray(0, got);
      };
      const first = await read(new Uint8Array(Math.min(8, size)), 0);
      if (first.length < 8) throw new CorruptionError(`${ctx}: File header too short (${first.length} bytes)`);
      const len = new DataView(first.buffer, first.byteOffset, 8).getUint32(0, false);
      if (len > 10 * 1024 * 1024 || 8 + len > size)
        throw new CorruptionError(`${ctx}: Corrupted file object; header length ${len} exceeds object size ${size}`);
      const headBytes = await read(new Uint8Array(8 + len), 0);
      const { header, size: contentSize, offset } = parseArchiveHeader(headBytes, ctx);
      if (isReg(header.mode) && contentSize >= STREAM_MIN_SIZE) {
        if (opts.bareuseronlyFiles) checkBareUserOnly(csum, header);
        if (contentSize > MAX_CONTENT_SIZE) throw new CorruptionError(`${ctx}: content size ${contentSize} too large`);
        async function* body(): AsyncIterable<Uint8Array> {
          for (let pos = offset; pos < size; ) {
            // A fresh buffer per read: the inflater may still hold the previous one.
            const b = await read(new Uint8Array(Math.min(FILE_CHUNK, size - pos)), pos);
            if (b.length === 0) return;
            pos += b.length;
            yield b;
          }
        }
        await writeStreamed(writer, csum, header, contentSize, inflateRawChunks(repo.deflate, body(), contentSize));
        return contentSize;
      }
    } finally {
      await fh.close();
    }
  }
  return ingestFilez(writer, csum, await repo.fs.readFile(path), opts);
}

/** writer.writeContentStream, with inflate failures reported as a corrupted object. */
async function writeStreamed(writer: PullWriter, csum: string, header: FileHeader, size: number, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  try {
    await writer.writeContentStream(header, size, chunks, csum);
  } catch (e) {
    if (e instanceof CorruptionError || /^inflateRaw:/.test((e as Error).message)) {
      const m = (e as Error).message;
      throw new CorruptionError(m.startsWith('Corrupted') ? m : `Corrupted file object ${csum}: ${m}`);
    }
    throw e;
  }
}
