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
// An open object's ops are scanned up to its 'c' first (checked, nothing read); its content is
// then produced piece by piece — blob bytes, positional reads of the read source (loaded whole
// only for bspatch) — and big regular files stream to disk, hashed on the way, never in memory.

import { ObjectType, isLnk, isReg, type FileHeader } from '../format/objects.ts';
import type { FsHost, ReadHandle } from '../host.ts';
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

/** A content object read source ('r'): ranges are read from its file; the whole is loaded only for bspatch. */
interface ReadSource {
  checksum: string;
  size: number;
  /** Loose bare-family file holding exactly the content (null: only `read()` works). */
  path: string | null;
  read: () => Promise<Uint8Array>;
  handle: ReadHandle | null;
  whole: Uint8Array | null;
  /** The last bytes read from the file: [windowOff, windowOff + windowLen). */
  window: Uint8Array | null;
  windowOff: number;
  windowLen: number;
}

/** One piece of an open object's content, in order. */
type Segment =
  | { kind: 'blob'; data: Uint8Array }
  | { kind: 'source'; src: ReadSource; off: number; len: number }
  | { kind: 'bspatch'; src: ReadSource; patch: Uint8Array };

/** Content is written in pieces of at most this many bytes (small writes are gathered). */
const CHUNK = 1 << 20;

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

async function wholeSource(src: ReadSource): Promise<Uint8Array> {
  if (!src.whole) {
    const data = await src.read();
    if (data.length !== src.size) throw new XylemError(`Static delta read source ${src.checksum} changed size while being read`);
    src.whole = data;
  }
  return src.whole;
}

/** Source bytes are read in windows of this size (rollsum deltas copy many small, mostly ascending ranges). */
const SOURCE_WINDOW = 1 << 20;

async function preadFully(src: ReadSource, handle: ReadHandle, buf: Uint8Array, at: number, len: number, off: number): Promise<void> {
  let done = 0;
  while (done < len) {
    const n = await handle.read(buf, at + done, len - done, off + done);
    if (n <= 0) throw new XylemError(`Static delta read source ${src.checksum} is shorter than expected`);
    done += n;
  }
}

/** Copies `len` bytes of the source at `off` into `buf[at..]` (from memory when loaded, else through a read window). */
async function readSourceRange(fs: FsHost, src: ReadSource, off: number, len: number, buf: Uint8Array, at: number): Promise<void> {
  if (src.whole || src.path === null) {
    buf.set((await wholeSource(src)).subarray(off, off + len), at);
    return;
  }
  src.handle ??= await fs.openRead(src.path);
  if (len >= SOURCE_WINDOW) {
    await preadFully(src, src.handle, buf, at, len, off);
    return;
  }
  if (!src.window || off < src.windowOff || off + len > src.windowOff + src.windowLen) {
    src.window ??= new Uint8Array(Math.min(SOURCE_WINDOW, src.size));
    const wlen = Math.min(src.window.length, src.size - off);
    await preadFully(src, src.handle, src.window, 0, wlen, off);
    src.windowOff = off;
    src.windowLen = wlen;
  }
  const w = off - src.windowOff;
  buf.set(src.window.subarray(w, w + len), at);
}

/**
 * The content of an open object, produced lazily from its segments in pieces of at most CHUNK
 * bytes; `buf` is reused between pieces (the consumer is done with a piece before asking for the next).
 */
async function* segmentChunks(fs: FsHost, segs: Segment[], size: number, bspatch: BspatchFn, checksum: string): AsyncGenerator<Uint8Array> {
  const buf = new Uint8Array(Math.max(1, Math.min(CHUNK, size)));
  let fill = 0;
  let last: ReadSource | null = null;
  for (const s of segs) {
    // one source file open at a time (a hostile op stream may switch sources at every write)
    if (s.kind !== 'blob' && s.src !== last) {
      if (last?.handle) {
        await last.handle.close();
        last.handle = null;
        last.window = null;
      }
      last = s.src;
    }
    if (s.kind === 'bspatch') {
      if (fill > 0) yield buf.subarray(0, fill);
      fill = 0;
      let out: Uint8Array;
      try {
        out = bspatch(await wholeSource(s.src), s.patch, size);
      } catch (e) {
        fail(`${e instanceof Error ? e.message : String(e)} (object ${checksum})`);
      }
      if (out.length !== size) fail(`bspatch produced ${out.length} of the ${size} bytes of object ${checksum}`);
      for (let o = 0; o < out.length; o += CHUNK) yield out.subarray(o, Math.min(out.length, o + CHUNK));
      continue;
    }
    const len = s.kind === 'blob' ? s.data.length : s.len;
    let done = 0;
    while (done < len) {
      const n = Math.min(len - done, buf.length - fill);
      if (s.kind === 'blob') buf.set(s.data.subarray(done, done + n), fill);
      else await readSourceRange(fs, s.src, s.off + done, n, buf, fill);
      fill += n;
      done += n;
      if (fill === buf.length) {
        yield buf;
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

/** Gathers segments into memory (small objects, symlinks, hosts without streaming writes). */
async function collectSegments(fs: FsHost, segs: Segment[], size: number, bspatch: BspatchFn, checksum: string): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let o = 0;
  for await (const c of segmentChunks(fs, segs, size, bspatch, checksum)) {
    out.set(c, o);
    o += c.length;
  }
  return out;
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
  const fs = repo.fs;
  const cur: VarintCursor = { data: part.ops, pos: 0 };
  let index = 0;
  let source: ReadSource | null = null;
  const opened: ReadSource[] = [];
  const bare = repo.mode !== 'archive';

  const current = (): DeltaObjectRef => {
    const o = objects[index];
    if (o === undefined) fail(`more operations than the ${objects.length} objects of the part`);
    return o;
  };
  const setSource = async (): Promise<void> => {
    const off = readVarint(cur);
    const csum = toHex(blobSlice(blob, off, 32, 'read source checksum'));
    if (!bare) throw new XylemError('Static delta uses read sources, which need a bare-mode repository (this one is archive)');
    if (source?.checksum === csum) return;
    let obj;
    try {
      obj = await repo.loadFile(csum);
    } catch (e) {
      throw new XylemError(`Static delta read source ${csum} is not in the repository: ${e instanceof Error ? e.message : String(e)}`);
    }
    const reg = isReg(obj.header.mode);
    // a loose object of a bare-family repo is the content itself (a parent repo may be archive)
    const direct = reg && !obj.path.endsWith('.filez');
    source = {
      checksum: csum,
      size: reg ? obj.size : 0,
      path: direct ? obj.path : null,
      read: reg ? () => obj.read() : async () => new Uint8Array(0),
      handle: null,
      whole: null,
      window: null,
      windowOff: 0,
      windowLen: 0,
    };
    opened.push(source);
  };
  /** Closes the read sources no longer current (segments of written objects no longer need them). */
  const release = async (): Promise<void> => {
    for (let i = opened.length - 1; i >= 0; i--) {
      const s = opened[i]!;
      if (s === source) continue;
      opened.splice(i, 1);
      await s.handle?.close();
      s.handle = null;
      s.window = null;
      s.whole = null;
    }
  };

  /** From just after 'o' up to its 'c': the object's segments (ops are checked, nothing is read yet). */
  const scanObject = async (ref: DeltaObjectRef, size: number): Promise<Segment[]> => {
    const segs: Segment[] = [];
    let written = 0;
    const add = (len: number): void => {
      if (len > size - written) fail(`writes past the declared size ${size} of object ${ref.checksum}`);
      written += len;
    };
    for (;;) {
      if (cur.pos >= cur.data.length) fail(`operations end with object ${ref.checksum} still open`);
      const op = cur.data[cur.pos++]!;
      switch (op) {
        case OP_WRITE: {
          const len = readVarint(cur);
          const off = readVarint(cur);
          if (source) {
            if (off > source.size || len > source.size - off)
              fail(`read [${off}, +${len}) is outside the ${source.size}-byte read source`);
            add(len);
            if (len > 0) segs.push({ kind: 'source', src: source, off, len });
          } else {
            const data = blobSlice(blob, off, len, 'write');
            add(len);
            if (len > 0) segs.push({ kind: 'blob', data });
          }
          break;
        }
        case OP_SET_READ_SOURCE:
          await setSource();
          break;
        case OP_UNSET_READ_SOURCE:
          source = null;
          break;
        case OP_BSPATCH: {
          if (!source) fail("'B' without a read source");
          const off = readVarint(cur);
          const len = readVarint(cur);
          const patch = blobSlice(blob, off, len, 'bspatch data');
          if (written !== 0) fail("'B' on an object that was already written to");
          // every output byte of a raw bsdiff stream is stored in it (diff or extra bytes)
          if (size > patch.length) fail(`bspatch output of ${size} bytes cannot come from a ${patch.length}-byte patch`);
          written = size;
          segs.push({ kind: 'bspatch', src: source, patch });
          break;
        }
        case OP_CLOSE:
          if (written !== size) fail(`object ${ref.checksum} closed after ${written} of its ${size} bytes`);
          return segs;
        case OP_OPEN_SPLICE_AND_CLOSE:
          fail("'S' while an object is open");
        // falls through (fail throws)
        case OP_OPEN:
          fail("'o' while an object is open");
        // falls through
        default:
          fail(`unknown operation 0x${op.toString(16).padStart(2, '0')} at offset ${cur.pos - 1}`);
      }
    }
  };

  try {
    while (cur.pos < cur.data.length) {
      const op = cur.data[cur.pos++]!;
      switch (op) {
        case OP_OPEN_SPLICE_AND_CLOSE: {
          const ref = current();
          if (ref.type !== ObjectType.File) {
            const len = readVarint(cur);
            const off = readVarint(cur);
            await tx.writeMetadata(ref.type, blobSlice(blob, off, len, 'metadata object'), ref.checksum);
          } else {
            const header = contentHeader(part, readVarint(cur), readVarint(cur));
            const size = readVarint(cur);
            const off = readVarint(cur);
            const f = finishContent(header, blobSlice(blob, off, size, 'content'));
            await tx.writeContent(f.header, f.content, ref.checksum);
          }
          index++;
          break;
        }
        case OP_OPEN: {
          const ref = current();
          if (ref.type !== ObjectType.File) fail(`'o' on ${ObjectType[ref.type]} object ${ref.checksum}`);
          if (!bare) throw new XylemError('Static delta uses open/write operations, which need a bare-mode repository (this one is archive)');
          const header = contentHeader(part, readVarint(cur), readVarint(cur));
          const size = readVarint(cur);
          if (size > maxObject) fail(`object ${ref.checksum} declares ${size} bytes, over the limit of ${maxObject}`);
          const segs = await scanObject(ref, size);
          if (isReg(header.mode) && size >= CHUNK) {
            // big regular files stream to their staged file (hashed on the way), never whole in memory
            // unless bspatch needs them; an object already stored is not rebuilt
            if (!(await tx.hasObject(ref.checksum, ObjectType.File)))
              await tx.writeContentStream(ref.checksum, header, size, segmentChunks(fs, segs, size, opts.bspatch, ref.checksum));
          } else {
            const f = finishContent(header, await collectSegments(fs, segs, size, opts.bspatch, ref.checksum));
            await tx.writeContent(f.header, f.content, ref.checksum);
          }
          await release();
          index++;
          break;
        }
        case OP_SET_READ_SOURCE:
          await setSource();
          break;
        case OP_UNSET_READ_SOURCE:
          source = null;
          break;
        case OP_WRITE:
          fail("'w' without an open object");
        // falls through
        case OP_BSPATCH:
          fail("'B' without an open object");
        // falls through
        case OP_CLOSE:
          fail("'c' without an open object");
        // falls through
        default:
          fail(`unknown operation 0x${op.toString(16).padStart(2, '0')} at offset ${cur.pos - 1}`);
      }
    }
  } finally {
    source = null;
    await release();
  }
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
