// Assembles one static-delta part while generating: the mode and xattr tables (deduplicated),
// the data blob, the op bytes and the list of objects the ops produce, plus the total size of
// those objects (the part header's "uncompressed size", as ostree counts it).
// Memory: the blob is copied as it arrives into one buffer that leaves room in front for the two
// tables, so payload() frames the GVariant in place (the tables slide in, the ops and offsets go
// behind) instead of holding the loaded objects, a concatenated blob and the payload at once; the
// object list is kept packed, 33 bytes per object, as the superblock stores it.

import { encode } from '../format/gvariant.ts';
import { ObjectType, type FileHeader, type Xattr, xattrsToGV } from '../format/objects.ts';
import { bswap32, toHex } from '../util/bytes.ts';
import { CorruptionError } from '../util/errors.ts';
import {
  OP_BSPATCH,
  OP_CLOSE,
  OP_OPEN,
  OP_OPEN_SPLICE_AND_CLOSE,
  OP_SET_READ_SOURCE,
  OP_UNSET_READ_SOURCE,
  OP_WRITE,
} from './execute.ts';
import { encodePartPayload, type PartMode } from './part.ts';
import { writeVarint } from './varint.ts';

/** Room kept in front of the blob for the mode and xattr tables (they move elsewhere when bigger). */
const HEADROOM = 64 * 1024;

/** Parses a 64-digit hex checksum into out[at..at+32). */
function putHex(out: Uint8Array, at: number, hex: string): void {
  if (hex.length !== 64) throw new RangeError(`PartBuilder: invalid checksum '${hex}'`);
  for (let i = 0; i < 32; i++) {
    const b = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    if (Number.isNaN(b)) throw new RangeError(`PartBuilder: invalid checksum '${hex}'`);
    out[at + i] = b;
  }
}

/** GVariant framing-offset width for a container of `body` bytes with `n` offsets. */
function offsetWidth(body: number, n: number): number {
  if (body + n <= 0xff) return 1;
  if (body + 2 * n <= 0xffff) return 2;
  if (body + 4 * n <= 0xffffffff) return 4;
  return 8;
}

export class PartBuilder {
  /** Objects produced, in order: 33 bytes each (type, raw checksum), in packed[0..objectCount*33). */
  private packed = new Uint8Array(33 * 64);
  objectCount = 0;
  /** Sum of the sizes of the objects produced. */
  objectBytes = 0;
  private readonly modes: PartMode[] = [];
  private readonly modeIndex = new Map<string, number>();
  private readonly xattrs: Xattr[][] = [];
  private readonly xattrIndex = new Map<string, number>();
  /** HEADROOM bytes, then the blob. */
  private buf: Uint8Array;
  private blobLength = 0;
  private readonly ops: number[] = [];

  /**
   * `capacityHint`: blob bytes to reserve up front (the part size limit); pages never written are
   * not resident, so reserving is cheap and saves copies as the blob grows.
   */
  constructor(capacityHint = 0) {
    if (!Number.isSafeInteger(capacityHint) || capacityHint < 0) throw new RangeError(`PartBuilder: invalid capacity ${capacityHint}`);
    this.buf = new Uint8Array(HEADROOM + Math.max(capacityHint, 4096));
  }

  /** Bytes of blob and ops so far (what --max-chunk-size limits). */
  get payloadSize(): number {
    return this.blobLength + this.ops.length;
  }

  /** The objects the part produces (33 bytes each: type, raw checksum), as part headers store them. */
  packedObjects(): Uint8Array {
    return this.packed.slice(0, this.objectCount * 33);
  }

  private pushObject(type: ObjectType, checksum: string): void {
    const at = this.objectCount * 33;
    if (at + 33 > this.packed.length) {
      const next = new Uint8Array(this.packed.length * 2);
      next.set(this.packed.subarray(0, at));
      this.packed = next;
    }
    this.packed[at] = type;
    putHex(this.packed, at + 1, checksum);
    this.objectCount++;
  }

  private op(code: number, ...args: number[]): void {
    this.ops.push(code);
    for (const a of args) writeVarint(this.ops, a);
  }

  /** Makes room for `n` more blob bytes. */
  private ensure(n: number): void {
    const need = HEADROOM + this.blobLength + n;
    if (need > this.buf.length) {
      const next = new Uint8Array(Math.max(need, Math.min(this.buf.length * 2, need + (64 << 20))));
      next.set(this.buf.subarray(0, HEADROOM + this.blobLength));
      this.buf = next;
    }
  }

  /** Appends bytes to the blob; returns their offset. */
  private blob(data: Uint8Array): number {
    const off = this.blobLength;
    this.ensure(data.length);
    this.buf.set(data, HEADROOM + off);
    this.blobLength += data.length;
    return off;
  }

  private modeIdx(h: FileHeader): number {
    const key = `${h.uid}:${h.gid}:${h.mode}`;
    let i = this.modeIndex.get(key);
    if (i === undefined) {
      i = this.modes.length;
      this.modes.push({ uid: h.uid, gid: h.gid, mode: h.mode });
      this.modeIndex.set(key, i);
    }
    return i;
  }

  private xattrIdx(h: FileHeader): number {
    const key = toHex(encode('a(ayay)', xattrsToGV(h.xattrs)));
    let i = this.xattrIndex.get(key);
    if (i === undefined) {
      i = this.xattrs.length;
      this.xattrs.push(h.xattrs);
      this.xattrIndex.set(key, i);
    }
    return i;
  }

  /** A dirtree or dirmeta object, spliced whole. */
  addMetadata(type: ObjectType, checksum: string, data: Uint8Array): void {
    const off = this.blob(data);
    this.op(OP_OPEN_SPLICE_AND_CLOSE, data.length, off);
    this.pushObject(type, checksum);
    this.objectBytes += data.length;
  }

  /** A content object spliced whole: `raw` is the file data, or the symlink target's bytes. */
  addContent(checksum: string, header: FileHeader, raw: Uint8Array): void {
    const m = this.modeIdx(header);
    const x = this.xattrIdx(header);
    const off = this.blob(raw);
    this.op(OP_OPEN_SPLICE_AND_CLOSE, m, x, raw.length, off);
    this.pushObject(ObjectType.File, checksum);
    this.objectBytes += raw.length;
  }

  /**
   * addContent for a regular file whose `size` bytes arrive in pieces (an object's stream()),
   * copied straight into the blob: no whole-file buffer.
   */
  async addContentStream(checksum: string, header: FileHeader, size: number, pieces: AsyncIterable<Uint8Array>): Promise<void> {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`PartBuilder: invalid size ${size} for ${checksum}`);
    const m = this.modeIdx(header);
    const x = this.xattrIdx(header);
    const off = this.blobLength;
    this.ensure(size);
    let got = 0;
    for await (const p of pieces) {
      if (got + p.length > size) throw new CorruptionError(`Content object ${checksum}: more than its declared ${size} bytes`);
      this.buf.set(p, HEADROOM + off + got);
      got += p.length;
    }
    if (got !== size) throw new CorruptionError(`Content object ${checksum}: ${got} bytes, expected ${size}`);
    this.blobLength += size;
    this.op(OP_OPEN_SPLICE_AND_CLOSE, m, x, size, off);
    this.pushObject(ObjectType.File, checksum);
    this.objectBytes += size;
  }

  /** A regular file rebuilt from `source` (a local content object) with a bsdiff patch. */
  addBsdiff(checksum: string, header: FileHeader, size: number, source: string, patch: Uint8Array): void {
    const m = this.modeIdx(header);
    const x = this.xattrIdx(header);
    const srcOff = this.blob(hexBytes(source));
    const patchOff = this.blob(patch);
    this.op(OP_SET_READ_SOURCE, srcOff);
    this.op(OP_OPEN, m, x, size);
    this.op(OP_BSPATCH, patchOff, patch.length);
    this.op(OP_CLOSE);
    this.op(OP_UNSET_READ_SOURCE);
    this.pushObject(ObjectType.File, checksum);
    this.objectBytes += size;
  }

  /**
   * A regular file written piecewise: `pieces` in order, each either a range of the source object
   * (`from` set) or literal bytes.
   */
  addRollsum(
    checksum: string,
    header: FileHeader,
    size: number,
    source: string,
    pieces: ReadonlyArray<{ from: number; length: number } | { data: Uint8Array }>,
  ): void {
    const m = this.modeIdx(header);
    const x = this.xattrIdx(header);
    this.op(OP_OPEN, m, x, size);
    let srcOff = -1;
    let reading = false;
    for (const p of pieces) {
      if ('from' in p) {
        if (!reading) {
          if (srcOff < 0) srcOff = this.blob(hexBytes(source));
          this.op(OP_SET_READ_SOURCE, srcOff);
          reading = true;
        }
        this.op(OP_WRITE, p.length, p.from);
      } else {
        if (reading) {
          this.op(OP_UNSET_READ_SOURCE);
          reading = false;
        }
        const off = this.blob(p.data);
        this.op(OP_WRITE, p.data.length, off);
      }
    }
    if (reading) this.op(OP_UNSET_READ_SOURCE);
    this.op(OP_CLOSE);
    this.pushObject(ObjectType.File, checksum);
    this.objectBytes += size;
  }

  /**
   * The GVariant payload `(a(uuu)aa(ayay)ayay)`, byte for byte what encodePartPayload makes of
   * the same tables, blob and ops. Built in place in the blob's buffer: call it once, last.
   */
  payload(): Uint8Array {
    const modes = encode('a(uuu)', encodePartPayloadTables(this.modes));
    const xattrs = encode('aa(ayay)', this.xattrs.map((x) => xattrsToGV(x)));
    const blobLen = this.blobLength;
    const tables = modes.length + xattrs.length;
    const body = tables + blobLen + this.ops.length;
    const w = offsetWidth(body, 3);
    const total = body + 3 * w;
    let out: Uint8Array;
    if (tables <= HEADROOM && total <= this.buf.length) {
      out = this.buf;
      out.copyWithin(tables, HEADROOM, HEADROOM + blobLen);
    } else {
      out = new Uint8Array(total);
      out.set(this.buf.subarray(HEADROOM, HEADROOM + blobLen), tables);
    }
    this.buf = new Uint8Array(0);
    out.set(modes, 0);
    out.set(xattrs, modes.length);
    out.set(this.ops, tables + blobLen);
    // framing offsets: the ends of the first three members, last member's first
    let o = body;
    for (const end of [tables + blobLen, tables, modes.length]) {
      let v = end;
      for (let i = 0; i < w; i++) {
        out[o++] = v % 256;
        v = Math.floor(v / 256);
      }
    }
    return out.subarray(0, total);
  }

  /** The payload through the generic GVariant encoder (the reference payload() must equal; tests). */
  payloadReference(): Uint8Array {
    return encodePartPayload({
      modes: this.modes,
      xattrs: this.xattrs,
      blob: this.buf.slice(HEADROOM, HEADROOM + this.blobLength),
      ops: new Uint8Array(this.ops),
    });
  }
}

/** The mode table as the payload stores it (each field big-endian, as encodePartPayload does). */
function encodePartPayloadTables(modes: readonly PartMode[]): Array<[number, number, number]> {
  return modes.map((m) => [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode)]);
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(32);
  putHex(out, 0, hex);
  return out;
}
