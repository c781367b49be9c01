// The static-delta superblock `(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))`: metadata
// (ostree.endianness, inline parts, the target's detached metadata), timestamp (big-endian), from
// and to checksums, the complete target commit, (unused) dependencies, part headers and fallback
// objects; and the signed wrapper `(taya{sv})` that starts with the magic "OSTSGNDT".
// Part sizes are in the generating host's byte order, named by ostree.endianness ('l' / 'B'); when
// the key is missing the order is guessed as libostree does. Input is treated as hostile.

import { decode, encode, type GVValue, type GVVariant } from '../format/gvariant.ts';
import { COMMIT_TYPE, ObjectType, decodeCommit, encodeCommit, type Commit, type Metadata, MAX_METADATA_SIZE } from '../format/objects.ts';
import { bswap32, bswap64, bytesEqual, fromHex, toHex } from '../util/bytes.ts';
import { CorruptionError, XylemError } from '../util/errors.ts';

export const SUPERBLOCK_TYPE = `(a{sv}tayay${COMMIT_TYPE}aya(uayttay)a(yaytt))`;
export const SIGNED_SUPERBLOCK_TYPE = '(taya{sv})';
/** "OSTSGNDT": the first 8 bytes of a signed superblock. */
export const SIGNED_MAGIC = new Uint8Array([0x4f, 0x53, 0x54, 0x53, 0x47, 0x4e, 0x44, 0x54]);
/** Largest superblock accepted (inline parts live in it). */
export const MAX_SUPERBLOCK_SIZE = MAX_METADATA_SIZE;
/** Object types a delta part may produce (the commit travels in the superblock). */
const PART_OBJECT_TYPES = new Set<number>([ObjectType.File, ObjectType.DirTree, ObjectType.DirMeta]);

export interface DeltaObjectRef {
  type: ObjectType;
  checksum: string;
}

export interface PartHeader {
  /** Format version (0). */
  version: number;
  /** SHA-256 of the part file (byte 0 included). */
  checksum: Uint8Array;
  /** Size of the part file (compressed). */
  size: number;
  /** Size of the decompressed payload. */
  usize: number;
  /** Objects the part writes, in execution order. */
  objects: DeltaObjectRef[];
  /**
   * The same list already packed as stored (33 bytes each: type, raw checksum); when set, the
   * encoder uses it and ignores `objects` (generation keeps parts compact this way).
   */
  packedObjects?: Uint8Array;
  /** size and usize exactly as stored (they may be absurd in a hostile or misread superblock). */
  sizeExact?: bigint;
  usizeExact?: bigint;
}

export interface FallbackEntry {
  type: ObjectType;
  checksum: string;
  /** Size of the object as fetched (compressed .filez for content). */
  size: number;
  /** Uncompressed size. */
  usize: number;
  sizeExact?: bigint;
  usizeExact?: bigint;
}

export type Endianness = 'little' | 'big';

export interface Superblock {
  metadata: Metadata;
  /** Generation time, seconds since the epoch. */
  timestamp: bigint;
  from: string | null;
  to: string;
  /** The target commit object as serialised (its SHA-256 is `to`). */
  commitBytes: Uint8Array;
  commit: Commit;
  parts: PartHeader[];
  fallbacks: FallbackEntry[];
  /** Byte order of the part/fallback sizes. */
  endianness: Endianness;
  /** True when ostree.endianness was missing and the order was guessed. */
  endiannessGuessed: boolean;
}

export interface SignedSuperblock {
  /** The plain superblock bytes the signatures cover. */
  superblockBytes: Uint8Array;
  /** `ostree.sign.<type>` → signatures (aay). */
  signatures: Array<[string, GVVariant]>;
}

/** True when `data` starts with the signed-superblock magic. */
export function isSignedSuperblock(data: Uint8Array): boolean {
  return data.length >= 8 && bytesEqual(data.subarray(0, 8), SIGNED_MAGIC);
}

/** Splits a signed superblock into the plain superblock bytes and its signatures. */
export function parseSignedSuperblock(data: Uint8Array): SignedSuperblock {
  if (!(data instanceof Uint8Array)) throw new TypeError('parseSignedSuperblock: expected a Uint8Array');
  if (data.length > MAX_SUPERBLOCK_SIZE) throw new CorruptionError(`Static delta superblock of ${data.length} bytes is too large`);
  if (!isSignedSuperblock(data)) throw new CorruptionError('Static delta superblock is not signed (no OSTSGNDT magic)');
  const [, bytes, sigs] = hostile(() => decode(SIGNED_SUPERBLOCK_TYPE, data, { context: 'signed static delta superblock' })) as [
    bigint,
    Uint8Array,
    Array<[string, GVVariant]>,
  ];
  return { superblockBytes: bytes, signatures: sigs };
}

/** Runs a decoder on hostile bytes: any failure that is not already typed becomes a CorruptionError. */
export function hostile<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof XylemError) throw e;
    throw new CorruptionError(e instanceof Error ? e.message : String(e));
  }
}

/** Wraps plain superblock bytes and signatures into the signed form. */
export function encodeSignedSuperblock(superblockBytes: Uint8Array, signatures: Array<[string, GVVariant]>): Uint8Array {
  // the magic is stored big-endian inside a little-endian GVariant
  const magic = new DataView(SIGNED_MAGIC.buffer, SIGNED_MAGIC.byteOffset).getBigUint64(0, true);
  return encode(SIGNED_SUPERBLOCK_TYPE, [magic, superblockBytes, signatures as GVValue[]]);
}


function csumOf(b: Uint8Array, what: string): string {
  if (b.length !== 32) throw new CorruptionError(`Static delta: invalid ${what} checksum of length ${b.length}`);
  return toHex(b);
}

/** Parses the concatenated 33-byte (type, checksum) records of a part header. */
export function parsePartObjects(b: Uint8Array): DeltaObjectRef[] {
  if (b.length % 33 !== 0) throw new CorruptionError(`Static delta: part object list of ${b.length} bytes is not a multiple of 33`);
  const out: DeltaObjectRef[] = [];
  for (let i = 0; i < b.length; i += 33) {
    const t = b[i]!;
    if (!PART_OBJECT_TYPES.has(t)) throw new CorruptionError(`Static delta: invalid object type ${t} in a part header`);
    out.push({ type: t as ObjectType, checksum: toHex(b.subarray(i + 1, i + 33)) });
  }
  return out;
}

export function encodePartObjects(objects: readonly DeltaObjectRef[]): Uint8Array {
  const out = new Uint8Array(objects.length * 33);
  objects.forEach((o, i) => {
    out[i * 33] = o.type;
    out.set(fromHex(o.checksum), i * 33 + 1);
  });
  return out;
}

type RawPart = [number, Uint8Array, bigint, bigint, Uint8Array];
type RawFallback = [number, Uint8Array, bigint, bigint];

/**
 * libostree's guess when ostree.endianness is absent: the sizes were written in the other byte
 * order if, read natively, any part is more than 20 % larger compressed than uncompressed or
 * parts average more than 4 GiB per object.
 */
function guessSwapped(parts: RawPart[]): boolean {
  let totalObjects = 0;
  let totalUsize = 0n;
  for (const [, , size, usize, objs] of parts) {
    if (usize > 0n && size * 10n > usize * 12n) return true;
    totalObjects += Math.floor(objs.length / 33);
    totalUsize += usize;
  }
  return totalObjects > 0 && totalUsize / BigInt(totalObjects) > 0xffffffffn;
}

/** Strictly parses plain superblock bytes (not the signed wrapper). */
export function parseSuperblock(data: Uint8Array): Superblock {
  if (!(data instanceof Uint8Array)) throw new TypeError('parseSuperblock: expected a Uint8Array');
  if (data.length > MAX_SUPERBLOCK_SIZE) throw new CorruptionError(`Static delta superblock of ${data.length} bytes is too large`);
  if (isSignedSuperblock(data)) throw new CorruptionError('Static delta superblock is signed: unwrap it first');
  return hostile(() => parseSuperblockBytes(data));
}

function parseSuperblockBytes(data: Uint8Array): Superblock {
  const v = decode(SUPERBLOCK_TYPE, data, { context: 'static delta superblock' }) as GVValue[];
  const metadata = v[0] as Metadata;
  const fromB = v[2] as Uint8Array;
  const toB = v[3] as Uint8Array;
  const from = fromB.length === 0 ? null : csumOf(fromB, 'from');
  const to = csumOf(toB, 'to');
  const commitBytes = encode(COMMIT_TYPE, v[4] as GVValue);
  const commit = decodeCommit(commitBytes, 'static delta superblock commit');
  const rawParts = v[6] as RawPart[];
  const rawFallbacks = v[7] as RawFallback[];

  let endianness: Endianness;
  let guessed = false;
  const e = metadata.find(([k]) => k === 'ostree.endianness')?.[1];
  if (e) {
    if (e.type !== 'y' || (e.value !== 0x6c && e.value !== 0x42))
      throw new CorruptionError('Static delta superblock: invalid ostree.endianness');
    endianness = e.value === 0x42 ? 'big' : 'little';
  } else {
    guessed = true;
    endianness = guessSwapped(rawParts) ? 'big' : 'little';
  }
  const swap = endianness === 'big';
  // Sizes beyond 2^53 stay (inexact) numbers: every consumer compares them with real sizes and caps.
  const u64 = (x: bigint): bigint => (swap ? bswap64(x) : x);
  const parts = rawParts.map(([version, csum, size, usize, objs], i): PartHeader => {
    if (csum.length !== 32) throw new CorruptionError(`Static delta: part ${i} has a checksum of length ${csum.length}`);
    const ver = swap ? bswap32(version) : version;
    if (ver !== 0) throw new CorruptionError(`Static delta: part ${i} has unsupported version ${ver}`);
    const sz = u64(size);
    const usz = u64(usize);
    return { version: ver, checksum: csum.slice(), size: Number(sz), usize: Number(usz), objects: parsePartObjects(objs), sizeExact: sz, usizeExact: usz };
  });
  const fallbacks = rawFallbacks.map(([t, csum, size, usize], i): FallbackEntry => {
    if (t !== ObjectType.File && t !== ObjectType.DirTree && t !== ObjectType.DirMeta)
      throw new CorruptionError(`Static delta: fallback ${i} has invalid object type ${t}`);
    const sz = u64(size);
    const usz = u64(usize);
    return { type: t as ObjectType, checksum: csumOf(csum, `fallback ${i}`), size: Number(sz), usize: Number(usz), sizeExact: sz, usizeExact: usz };
  });
  return {
    metadata,
    timestamp: bswap64(v[1] as bigint),
    from,
    to,
    commitBytes,
    commit,
    parts,
    fallbacks,
    endianness,
    endiannessGuessed: guessed,
  };
}

export interface EncodeSuperblockInput {
  /** Metadata other than ostree.endianness (which is set from `endianness`), in order. */
  metadata: Metadata;
  timestamp: bigint;
  from: string | null;
  to: string;
  commitBytes: Uint8Array;
  parts: PartHeader[];
  fallbacks: FallbackEntry[];
  /** Byte order of the sizes (default little). */
  endianness?: Endianness;
}

/** Serialises a superblock; ostree.endianness comes first in the metadata, as ostree writes it. */
export function encodeSuperblock(sb: EncodeSuperblockInput): Uint8Array {
  const swap = sb.endianness === 'big';
  const u64 = (n: number): bigint => (swap ? bswap64(BigInt(n)) : BigInt(n));
  const metadata: Metadata = [['ostree.endianness', { type: 'y', value: swap ? 0x42 : 0x6c }], ...sb.metadata.filter(([k]) => k !== 'ostree.endianness')];
  const commit = decode(COMMIT_TYPE, sb.commitBytes, { context: 'commit' });
  return encode(SUPERBLOCK_TYPE, [
    metadata as GVValue[],
    bswap64(sb.timestamp),
    sb.from === null ? new Uint8Array(0) : fromHex(sb.from),
    fromHex(sb.to),
    commit,
    new Uint8Array(0),
    sb.parts.map((p) => [swap ? bswap32(p.version) : p.version, p.checksum, u64(p.size), u64(p.usize), p.packedObjects ?? encodePartObjects(p.objects)]),
    sb.fallbacks.map((f) => [f.type, fromHex(f.checksum), u64(f.size), u64(f.usize)]),
  ]);
}

/** Looks up a superblock metadata entry. */
export function superblockMeta(sb: Superblock, key: string): GVVariant | undefined {
  return sb.metadata.find(([k]) => k === key)?.[1];
}

/** Re-encodes `commit` (for callers that need the object's bytes from a decoded commit). */
export function commitBytesOf(commit: Commit): Uint8Array {
  return encodeCommit(commit);
}

export function assertDeltaTarget(sb: Superblock, expected: { from: string | null; to: string }): void {
  if (sb.to !== expected.to || sb.from !== expected.from)
    throw new XylemError(
      `Static delta superblock is for ${sb.from ? `${sb.from}-` : ''}${sb.to}, expected ${expected.from ? `${expected.from}-` : ''}${expected.to}`,
    );
}
