// Where the RPM reader gets bytes from: a whole package in memory, or an open file read by position
// (the Host's ReadHandle), so a package's headers can be read and its payload streamed without the
// payload ever being held whole. Reads are chunked so a lying size never allocates more than the
// data that is actually there.

import type { ReadHandle } from '../host.ts';
import { concatBytes } from '../util/bytes.ts';
import { RpmError, RpmErrorCode } from './errors.ts';

/** A random-access byte source. */
export interface RpmSource {
  /** Reads up to `length` bytes at `position`; returns fewer only at the end of the data. */
  read(position: number, length: number): Promise<Uint8Array>;
}

/** A source over bytes already in memory (reads are views, no copies). */
export function bytesSource(bytes: Uint8Array): RpmSource {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytesSource: expected a Uint8Array');
  return {
    read: async (position, length) => bytes.subarray(Math.min(position, bytes.length), Math.min(position + length, bytes.length)),
  };
}

/** A source over an open file (Host.fs.openRead); the caller closes the handle. */
export function handleSource(handle: ReadHandle): RpmSource {
  if (!handle || typeof handle.read !== 'function') throw new TypeError('handleSource: expected a ReadHandle');
  return {
    async read(position, length) {
      const buf = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const n = await handle.read(buf, got, length - got, position + got);
        if (n <= 0) break;
        got += n;
      }
      return got === length ? buf : buf.subarray(0, got);
    },
  };
}

/** Largest single read; bigger requests are assembled from reads of this size. */
const READ_CHUNK = 1 << 20;

/** Reads exactly `length` bytes at `position` or fails naming the package and what was being read. */
export async function readExact(src: RpmSource, position: number, length: number, pkg: string, what: string): Promise<Uint8Array> {
  if (length <= READ_CHUNK) {
    const b = await src.read(position, length);
    if (b.length < length) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, `${what} is truncated: ${b.length} of ${length} bytes`);
    return b;
  }
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < length) {
    const want = Math.min(READ_CHUNK, length - got);
    const b = await src.read(position + got, want);
    parts.push(b);
    got += b.length;
    if (b.length < want) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, `${what} is truncated: ${got} of ${length} bytes`);
  }
  return concatBytes(parts);
}

/** The bytes from `position` to the end of the source, in chunks of `chunk` bytes. */
export async function* readChunks(src: RpmSource, position: number, chunk = 256 * 1024): AsyncGenerator<Uint8Array> {
  let pos = position;
  for (;;) {
    const b = await src.read(pos, chunk);
    if (b.length === 0) return;
    pos += b.length;
    yield b;
    if (b.length < chunk) return;
  }
}
