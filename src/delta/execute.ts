// The static-delta op-stream interpreter: runs one part's operations, producing its objects in
// order into a Transaction (every object's checksum is verified against the part header).
// Ops (one byte, then unsigned varint operands), each on "the current object":
//   S  open-splice-and-close   metadata: len, off | content: mode_idx, xattr_idx, size, off
//   o  open (content)          mode_idx, xattr_idx, size
//   w  write                   len, off (from the blob, or from the read source when one is set)
//   r  set read source         off of a 32-byte content checksum in the blob
//   R  unset read source
//   c  close                   the object must be complete; it is written and checked
//   B  bspatch                 off, len of a patch in the blob, applied to the read source
// Every operand is bounds-checked; o/w/B need a bare-family repository (as in libostree).

import { ObjectType, isLnk, isReg, type FileHeader } from '../format/objects.ts';
import type { Repo } from '../repo/repo.ts';
import type { Transaction } from '../repo/transaction.ts';
import { fromUtf8, toHex } from '../util/bytes.ts';
import { CorruptionError, XylemError } from '../util/errors.ts';
import type { PartPayload } from './part.ts';
import type { DeltaObjectRef } from './superblock.ts';
import { readVarint, type VarintCursor } from './varint.ts';

export const OP_OPEN_SPLICE_AND_CLOSE = 0x53; // 'S'
export const OP_OPEN = 0x6f; // 'o'
export const OP_WRITE = 0x77; // 'w'
export const OP_SET_READ_SOURCE = 0x72; // 'r'
export const OP_UNSET_READ_SOURCE = 0x52; // 'R'
export const OP_CLOSE = 0x63; // 'c'
export const OP_BSPATCH = 0x42; // 'B'

/** Applies a raw bsdiff stream (the WASM core's bspatch). */
export type BspatchFn = (old: Uint8Array, patch: Uint8Array, newSize: number) => Uint8Array;

export interface ExecutePartOptions {
  bspatch: BspatchFn;
  /** Largest content object an `o` may declare (default 2 GiB - 1). */
  maxObjectSize?: number;
}

/** Counts of each operation in an op stream (for `static-delta show`). */
export interface OpCounts {
  openspliceclose: number;
  open: number;
  write: number;
  setread: number;
  unsetread: number;
  close: number;
  bspatch: number;
}

const DEFAULT_MAX_OBJECT = 0x7fffffff;

interface OpenObject {
  ref: DeltaObjectRef;
  header: FileHeader;
  /** Declared size (the `o` operand). */
  size: number;
  /** Bytes written so far, in a buffer grown on demand (a hostile size allocates nothing up front). */
  content: Uint8Array;
  written: number;
}

function fail(msg: string): never {
  throw new CorruptionError(`Static delta part: ${msg}`);
}

function blobSlice(blob: Uint8Array, off: number, len: number, what: string): Uint8Array {
  if (off > blob.length || len > blob.length - off)
    fail(`${what} [${off}, +${len}) is outside the ${blob.length}-byte data blob`);
  return blob.subarray(off, off + len);
}

function contentHeader(p: PartPayload, modeIdx: number, xattrIdx: number): FileHeader {
  const m = p.modes[modeIdx];
  if (m === undefined) fail(`mode index ${modeIdx} out of range (${p.modes.length} modes)`);
  const x = p.xattrs[xattrIdx];
  if (x === undefined) fail(`xattr index ${xattrIdx} out of range (${p.xattrs.length} xattr sets)`);
  if (!isReg(m.mode) && !isLnk(m.mode)) fail(`invalid mode 0${m.mode.toString(8)} for a content object`);
  return { uid: m.uid, gid: m.gid, mode: m.mode, rdev: 0, symlinkTarget: '', xattrs: x };
}

/** The header and the bytes to write for content whose raw bytes (file data, or symlink target) are `raw`. */
function finishContent(header: FileHeader, raw: Uint8Array): { header: FileHeader; content: Uint8Array } {
  if (!isLnk(header.mode)) return { header, content: raw };
  let target: string;
  try {
    target = fromUtf8(raw);
  } catch {
    fail('symlink target is not valid UTF-8');
  }
  if (target.length === 0) fail('empty symlink target');
  return { header: { ...header, symlinkTarget: target }, content: new Uint8Array(0) };
}

/** Runs the operations of one part, writing `objects` (the part header's list) through `tx`. */
export async function executePart(
  repo: Repo,
  tx: Transaction,
  objects: readonly DeltaObjectRef[],
  part: PartPayload,
  opts: ExecutePartOptions,
): Promise<void> {
  const maxObject = opts.maxObjectSize ?? DEFAULT_MAX_OBJECT;
  const { blob } = part;
  const cur: VarintCursor = { data: part.ops, pos: 0 };
  let index = 0;
  let open: OpenObject | null = null;
  let source: Uint8Array | null = null;
  const bare = repo.mode !== 'archive';

  const current = (): DeltaObjectRef => {
    const o = objects[index];
    if (o === undefined) fail(`more operations than the ${objects.length} objects of the part`);
    return o;
  };
  const writeContent = async (ref: DeltaObjectRef, header: FileHeader, raw: Uint8Array): Promise<void> => {
    const f = finishContent(header, raw);
    await tx.writeContent(f.header, f.content, ref.checksum);
  };
  const append = (o: OpenObject, data: Uint8Array): void => {
    if (data.length > o.size - o.written) fail(`writes past the declared size ${o.size} of object ${o.ref.checksum}`);
    const need = o.written + data.length;
    if (need > o.content.length) {
      const grown = new Uint8Array(Math.min(o.size, Math.max(need, o.content.length * 2, 65536)));
      grown.set(o.content.subarray(0, o.written));
      o.content = grown;
    }
    o.content.set(data, o.written);
    o.written = need;
  };

  while (cur.pos < cur.data.length) {
    const op = cur.data[cur.pos++]!;
    switch (op) {
      case OP_OPEN_SPLICE_AND_CLOSE: {
        if (open) fail("'S' while an object is open");
        const ref = current();
        if (ref.type !== ObjectType.File) {
          const len = readVarint(cur);
          const off = readVarint(cur);
          await tx.writeMetadata(ref.type, blobSlice(blob, off, len, 'metadata object'), ref.checksum);
        } else {
          const header = contentHeader(part, readVarint(cur), readVarint(cur));
          const size = readVarint(cur);
          const off = readVarint(cur);
          await writeContent(ref, header, blobSlice(blob, off, size, 'content'));
        }
        index++;
        break;
      }
      case OP_OPEN: {
        if (open) fail("'o' while an object is open");
        const ref = current();
        if (ref.type !== ObjectType.File) fail(`'o' on ${ObjectType[ref.type]} object ${ref.checksum}`);
        if (!bare) throw new XylemError('Static delta uses open/write operations, which need a bare-mode repository (this one is archive)');
        const header = contentHeader(part, readVarint(cur), readVarint(cur));
        const size = readVarint(cur);
        if (size > maxObject) fail(`object ${ref.checksum} declares ${size} bytes, over the limit of ${maxObject}`);
        open = { ref, header, size, content: new Uint8Array(0), written: 0 };
        break;
      }
      case OP_WRITE: {
        if (!open) fail("'w' without an open object");
        const len = readVarint(cur);
        const off = readVarint(cur);
        if (source) {
          if (off > source.length || len > source.length - off)
            fail(`read [${off}, +${len}) is outside the ${source.length}-byte read source`);
          append(open, source.subarray(off, off + len));
        } else append(open, blobSlice(blob, off, len, 'write'));
        break;
      }
      case OP_SET_READ_SOURCE: {
        const off = readVarint(cur);
        const csum = toHex(blobSlice(blob, off, 32, 'read source checksum'));
        if (!bare) throw new XylemError('Static delta uses read sources, which need a bare-mode repository (this one is archive)');
        let obj;
        try {
          obj = await repo.loadFile(csum);
        } catch (e) {
          throw new XylemError(`Static delta read source ${csum} is not in the repository: ${e instanceof Error ? e.message : String(e)}`);
        }
        source = isReg(obj.header.mode) ? await obj.read() : new Uint8Array(0);
        break;
      }
      case OP_UNSET_READ_SOURCE:
        source = null;
        break;
      case OP_BSPATCH: {
        if (!open) fail("'B' without an open object");
        if (!source) fail("'B' without a read source");
        const off = readVarint(cur);
        const len = readVarint(cur);
        const patch = blobSlice(blob, off, len, 'bspatch data');
        if (open.written !== 0) fail("'B' on an object that was already written to");
        // every output byte of a raw bsdiff stream is stored in it (diff or extra bytes)
        if (open.size > patch.length) fail(`bspatch output of ${open.size} bytes cannot come from a ${patch.length}-byte patch`);
        let out: Uint8Array;
        try {
          out = opts.bspatch(source, patch, open.size);
        } catch (e) {
          fail(`${e instanceof Error ? e.message : String(e)} (object ${open.ref.checksum})`);
        }
        append(open, out);
        break;
      }
      case OP_CLOSE: {
        if (!open) fail("'c' without an open object");
        if (open.written !== open.size) fail(`object ${open.ref.checksum} closed after ${open.written} of its ${open.size} bytes`);
        await writeContent(open.ref, open.header, open.content.subarray(0, open.written));
        open = null;
        index++;
        break;
      }
      default:
        fail(`unknown operation 0x${op.toString(16).padStart(2, '0')} at offset ${cur.pos - 1}`);
    }
  }
  if (open) fail(`operations end with object ${open.ref.checksum} still open`);
  if (index !== objects.length) fail(`operations produced ${index} of the ${objects.length} objects of the part`);
}

/** Counts the operations of an op stream, checking only its syntax (for `static-delta show`). */
export function countOps(ops: Uint8Array, objects: readonly DeltaObjectRef[]): OpCounts {
  const c: OpCounts = { openspliceclose: 0, open: 0, write: 0, setread: 0, unsetread: 0, close: 0, bspatch: 0 };
  const cur: VarintCursor = { data: ops, pos: 0 };
  let index = 0;
  while (cur.pos < ops.length) {
    const op = ops[cur.pos++]!;
    switch (op) {
      case OP_OPEN_SPLICE_AND_CLOSE: {
        const ref = objects[index++];
        const n = ref && ref.type === ObjectType.File ? 4 : 2;
        for (let i = 0; i < n; i++) readVarint(cur);
        c.openspliceclose++;
        break;
      }
      case OP_OPEN:
        for (let i = 0; i < 3; i++) readVarint(cur);
        c.open++;
        break;
      case OP_WRITE:
        readVarint(cur);
        readVarint(cur);
        c.write++;
        break;
      case OP_SET_READ_SOURCE:
        readVarint(cur);
        c.setread++;
        break;
      case OP_UNSET_READ_SOURCE:
        c.unsetread++;
        break;
      case OP_CLOSE:
        index++;
        c.close++;
        break;
      case OP_BSPATCH:
        readVarint(cur);
        readVarint(cur);
        c.bspatch++;
        break;
      default:
        fail(`unknown operation 0x${op.toString(16).padStart(2, '0')} at offset ${cur.pos - 1}`);
    }
  }
  return c;
}
