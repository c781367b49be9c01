// Assembles one static-delta part while generating: the mode and xattr tables (deduplicated),
// the data blob, the op bytes and the list of objects the ops produce, plus the total size of
// those objects (the part header's "uncompressed size", as ostree counts it).

import { encode } from '../format/gvariant.ts';
import { ObjectType, type FileHeader, type Xattr, xattrsToGV } from '../format/objects.ts';
import { toHex, concatBytes } from '../util/bytes.ts';
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
import type { DeltaObjectRef } from './superblock.ts';
import { writeVarint } from './varint.ts';

export class PartBuilder {
  readonly objects: DeltaObjectRef[] = [];
  /** Sum of the sizes of the objects produced. */
  objectBytes = 0;
  private readonly modes: PartMode[] = [];
  private readonly modeIndex = new Map<string, number>();
  private readonly xattrs: Xattr[][] = [];
  private readonly xattrIndex = new Map<string, number>();
  private readonly blobChunks: Uint8Array[] = [];
  private blobLength = 0;
  private readonly ops: number[] = [];

  /** Bytes of blob and ops so far (what --max-chunk-size limits). */
  get payloadSize(): number {
    return this.blobLength + this.ops.length;
  }

  private op(code: number, ...args: number[]): void {
    this.ops.push(code);
    for (const a of args) writeVarint(this.ops, a);
  }

  /** Appends bytes to the blob; returns their offset. */
  private blob(data: Uint8Array): number {
    const off = this.blobLength;
    if (data.length) this.blobChunks.push(data);
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
    this.objects.push({ type, checksum });
    this.objectBytes += data.length;
  }

  /** A content object spliced whole: `raw` is the file data, or the symlink target's bytes. */
  addContent(checksum: string, header: FileHeader, raw: Uint8Array): void {
    const m = this.modeIdx(header);
    const x = this.xattrIdx(header);
    const off = this.blob(raw);
    this.op(OP_OPEN_SPLICE_AND_CLOSE, m, x, raw.length, off);
    this.objects.push({ type: ObjectType.File, checksum });
    this.objectBytes += raw.length;
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
    this.objects.push({ type: ObjectType.File, checksum });
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
    this.objects.push({ type: ObjectType.File, checksum });
    this.objectBytes += size;
  }

  /** The GVariant payload `(a(uuu)aa(ayay)ayay)`. */
  payload(): Uint8Array {
    const blob = concatBytes(this.blobChunks);
    return encodePartPayload({ modes: this.modes, xattrs: this.xattrs, blob, ops: new Uint8Array(this.ops) });
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
