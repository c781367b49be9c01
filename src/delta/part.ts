// A static-delta part: byte 0 names the compression ('x' = xz, 0 = none), the rest is the
// GVariant payload `(a(uuu)aa(ayay)ayay)`: a mode table (uid, gid, mode, stored big-endian), an
// xattr table, the data blob the operations read from, and the operation bytes. Decompression is
// capped (see payloadCap).

import { decode, encode, type GVValue } from '../format/gvariant.ts';
import { type Xattr, xattrsToGV } from '../format/objects.ts';
import { bswap32, fromUtf8 } from '../util/bytes.ts';
import { CorruptionError } from '../util/errors.ts';
import { hostile } from './superblock.ts';
import type { XzDecoder, XzEncoder } from './xz.ts';

export const PART_PAYLOAD_TYPE = '(a(uuu)aa(ayay)ayay)';
export const COMPRESSION_NONE = 0x00;
export const COMPRESSION_XZ = 0x78; // 'x'

export interface PartMode {
  uid: number;
  gid: number;
  mode: number;
}

export interface PartPayload {
  modes: PartMode[];
  xattrs: Xattr[][];
  /** Data the operations copy from (object bytes, bsdiff patches, source checksums). */
  blob: Uint8Array;
  ops: Uint8Array;
}

/**
 * Most bytes a part's payload may decompress to. The superblock's usize is the total size of the
 * objects the part produces, not the payload size (which adds patches, checksums, ops and tables,
 * or is far smaller for bsdiff/rollsum parts), so the cap is generous but bounded: 4 × usize +
 * 64 MiB, and never more than `hardCap`. An xz bomb stops there.
 */
export function payloadCap(usize: bigint | number, hardCap: number): number {
  const u = typeof usize === 'bigint' ? usize : BigInt(usize);
  const cap = u * 4n + 64n * 1024n * 1024n;
  return cap < BigInt(hardCap) ? Number(cap) : hardCap;
}

/** Decompresses a part (file or inline) to its payload bytes, refusing more than `maxSize` bytes. */
export async function decompressPart(data: Uint8Array, maxSize: number, xz: XzDecoder): Promise<Uint8Array> {
  if (data.length < 1) throw new CorruptionError('Static delta part is empty');
  const kind = data[0]!;
  const body = data.subarray(1);
  if (kind === COMPRESSION_NONE) {
    if (body.length > maxSize) throw new CorruptionError(`Static delta part payload of ${body.length} bytes is over the limit of ${maxSize}`);
    return body;
  }
  if (kind === COMPRESSION_XZ) return xz.decompress(body, maxSize);
  throw new CorruptionError(`Invalid compression type '${kind}' in static delta part`);
}

function decodeXattrs(v: GVValue, i: number): Xattr[] {
  return (v as Array<[Uint8Array, Uint8Array]>).map(([n, val]) => {
    const name = n.length > 0 && n[n.length - 1] === 0 ? n.subarray(0, n.length - 1) : n;
    let s: string;
    try {
      s = fromUtf8(name);
    } catch {
      throw new CorruptionError(`Static delta part: invalid xattr name in xattr table entry ${i}`);
    }
    return { name: s, value: val };
  });
}

/** Parses a decompressed payload. */
export function parsePartPayload(payload: Uint8Array): PartPayload {
  const [modes, xattrs, blob, ops] = hostile(() => decode(PART_PAYLOAD_TYPE, payload, { context: 'static delta part' })) as [
    Array<[number, number, number]>,
    GVValue[],
    Uint8Array,
    Uint8Array,
  ];
  return {
    modes: modes.map(([u, g, m]) => ({ uid: bswap32(u), gid: bswap32(g), mode: bswap32(m) })),
    xattrs: xattrs.map((x, i) => decodeXattrs(x, i)),
    blob,
    ops,
  };
}

export function encodePartPayload(p: PartPayload): Uint8Array {
  return encode(PART_PAYLOAD_TYPE, [
    p.modes.map((m) => [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode)]),
    p.xattrs.map((x) => xattrsToGV(x)),
    p.blob,
    p.ops,
  ]);
}

/** Compresses a payload into a part ('x' + xz stream, or 0 + payload when xz is null). */
export async function compressPart(payload: Uint8Array, xz: XzEncoder | null): Promise<Uint8Array> {
  if (xz?.compressPieces) {
    const pieces = await xz.compressPieces(payload);
    let n = 1;
    for (const p of pieces) n += p.length;
    const out = new Uint8Array(n);
    out[0] = COMPRESSION_XZ;
    let o = 1;
    for (const p of pieces) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
  const body = xz ? await xz.compress(payload) : payload;
  return framed(body, xz ? COMPRESSION_XZ : COMPRESSION_NONE);
}

/**
 * compressPart's bytes piece by piece (the leading byte, then the compressed stream as the
 * encoder makes it, when it can stream), for writing a part without holding it whole.
 */
export async function* compressPartStream(payload: Uint8Array, xz: XzEncoder | null): AsyncGenerator<Uint8Array, void, undefined> {
  if (xz?.compressStream) {
    yield Uint8Array.of(COMPRESSION_XZ);
    yield* xz.compressStream(payload);
    return;
  }
  yield await compressPart(payload, xz);
}

function framed(body: Uint8Array, kind: number): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = kind;
  out.set(body, 1);
  return out;
}
