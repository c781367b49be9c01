// Locates the two headers of a v4 .rpm file — the signature header after the 96-byte lead, then
// the main header at the next 8-byte boundary — and hands back both as verified HeaderBlobs. Only
// the header bytes are read (never the payload), from a byte buffer or through the Host's
// positional reads. A minimal reader for the rpmdb writer (rpm-packages.md §1.1); src/rpm holds
// the full package reader.

import type { FsHost } from '../host.ts';
import { CorruptionError } from '../util/errors.ts';
import { HeaderBlob, REGION_IMMUTABLE, REGION_SIGNATURES, MAX_HEADER_DATA, MAX_HEADER_ENTRIES } from './header-blob.ts';

const LEAD_SIZE = 96;
const LEAD_MAGIC = [0xed, 0xab, 0xee, 0xdb];
const HEADER_MAGIC = [0x8e, 0xad, 0xe8, 0x01];
/** librpm's limits for a signature header (hdrblobVerifyLengths). */
const SIG_MAX_ENTRIES = 32;
const SIG_MAX_DATA = 64 * 1024 * 1024;

/** The two headers of a package; `headerStart`/`payloadStart` are file offsets. */
export interface RpmHeaders {
  signature: HeaderBlob;
  main: HeaderBlob;
  headerStart: number;
  payloadStart: number;
}

/** Reads `length` bytes at `position`; fewer means the file ended. */
type ReadAt = (position: number, length: number) => Promise<Uint8Array>;

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

async function readHeaderAt(read: ReadAt, pos: number, what: string, maxIl: number, maxDl: number): Promise<{ blob: Uint8Array; end: number }> {
  const intro = await read(pos, 16);
  if (intro.length < 16) throw new CorruptionError(`${what}: file ends inside the header intro at offset ${pos}`);
  for (let i = 0; i < 4; i++) if (intro[i] !== HEADER_MAGIC[i]) throw new CorruptionError(`${what}: no header magic at offset ${pos}`);
  const il = u32(intro, 8);
  const dl = u32(intro, 12);
  if (il < 1 || il > maxIl) throw new CorruptionError(`${what}: header at offset ${pos} has ${il} entries (limit ${maxIl})`);
  if (dl > maxDl) throw new CorruptionError(`${what}: header at offset ${pos} has ${dl} data bytes (limit ${maxDl})`);
  const size = 16 * il + dl;
  const body = await read(pos + 16, size);
  if (body.length < size) throw new CorruptionError(`${what}: file ends inside the header at offset ${pos}`);
  const blob = new Uint8Array(8 + size);
  blob.set(intro.subarray(8, 16));
  blob.set(body, 8);
  return { blob, end: pos + 16 + size };
}

async function parseWith(read: ReadAt, what: string): Promise<RpmHeaders> {
  const lead = await read(0, LEAD_SIZE);
  if (lead.length < LEAD_SIZE || LEAD_MAGIC.some((m, i) => lead[i] !== m)) throw new CorruptionError(`${what}: not an rpm package (no lead magic)`);
  if (lead[4] !== 3) throw new CorruptionError(`${what}: rpm format ${lead[4]} is not supported (v4 packages only)`);
  const sig = await readHeaderAt(read, LEAD_SIZE, `${what} (signature header)`, SIG_MAX_ENTRIES, SIG_MAX_DATA);
  const signature = HeaderBlob.parse(sig.blob, `${what} (signature header)`, { regionTag: REGION_SIGNATURES });
  const headerStart = (sig.end + 7) & ~7;
  const main = await readHeaderAt(read, headerStart, `${what} (main header)`, MAX_HEADER_ENTRIES, MAX_HEADER_DATA);
  const header = HeaderBlob.parse(main.blob, `${what} (main header)`, { exactRegion: true, regionTag: REGION_IMMUTABLE });
  return { signature, main: header, headerStart, payloadStart: main.end };
}

/** The headers of a package held in memory (the payload may be absent). */
export async function readRpmHeadersFromBytes(bytes: Uint8Array, what: string = 'package'): Promise<RpmHeaders> {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('readRpmHeadersFromBytes: bytes must be a Uint8Array');
  return parseWith(async (pos, len) => bytes.subarray(Math.min(pos, bytes.length), Math.min(pos + len, bytes.length)), what);
}

/** The headers of the package at `path`, reading only the header bytes. */
export async function readRpmHeaders(fs: FsHost, path: string): Promise<RpmHeaders> {
  if (typeof path !== 'string' || path === '') throw new TypeError('readRpmHeaders: a package path is required');
  const h = await fs.openRead(path);
  try {
    return await parseWith(async (pos, len) => {
      const buf = new Uint8Array(len);
      let got = 0;
      while (got < len) {
        const n = await h.read(buf, got, len - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      return buf.subarray(0, got);
    }, path);
  } finally {
    await h.close();
  }
}
