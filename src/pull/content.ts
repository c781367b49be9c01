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
export const STREAM_MIN_SIZE = 4 * 1024 * 1024;

/** Largest content object inflated in memory (regular files are bigger only in exotic trees). */
export const MAX_CONTENT_SIZE = 4 * 1024 * 1024 * 1024;

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
      const chunks = inflateRawChunks(repo.deflate, filez.subarray(offset), size);
      try {
        await writer.writeContentStream(header, size, chunks, csum);
      } catch (e) {
        if (e instanceof CorruptionError || /^inflateRaw:/.test((e as Error).message)) {
          const m = (e as Error).message;
          throw new CorruptionError(m.startsWith('Corrupted') ? m : `Corrupted file object ${csum}: ${m}`);
        }
        throw e;
      }
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
