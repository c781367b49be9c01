// A streaming reader of the cpio archives inside rpm payloads (rpm's lib/cpio.cc): "newc" entries
// (magic 070701, 110-byte ASCII header of 13 eight-digit hex fields, NUL-terminated name, name and
// data each padded to 4) and rpm's stripped entries (magic 07070X + 8 hex digits = index into the
// header's file arrays; no name; size taken from the header), ending at `TRAILER!!!`. Works on an
// async stream of decompressed chunks and never buffers more than one header or one chunk.

import { RpmError, RpmErrorCode } from './errors.ts';

/** Pulls bytes from an async chunk stream. */
export class ChunkReader {
  private cur: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private done = false;
  /** Bytes consumed so far. */
  offset = 0;
  constructor(
    private readonly it: AsyncIterator<Uint8Array>,
    private readonly pkg: string,
  ) {}

  private async fill(): Promise<boolean> {
    while (this.pos >= this.cur.length) {
      if (this.done) return false;
      const n = await this.it.next();
      if (n.done) {
        this.done = true;
        return false;
      }
      this.cur = n.value;
      this.pos = 0;
    }
    return true;
  }

  /** Exactly n bytes (n small: headers and names), or a truncation error naming `what`. */
  async readExact(n: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill())) throw new RpmError(RpmErrorCode.TRUNCATED, this.pkg, `payload ends inside ${what}`);
    if (this.cur.length - this.pos >= n) {
      const b = this.cur.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return b;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) throw new RpmError(RpmErrorCode.TRUNCATED, this.pkg, `payload ends inside ${what}`);
      const take = Math.min(n - got, this.cur.length - this.pos);
      out.set(this.cur.subarray(this.pos, this.pos + take), got);
      this.pos += take;
      got += take;
    }
    this.offset += n;
    return out;
  }

  /** Up to `max` bytes (at least 1) as a view of the current chunk; truncation error at the end. */
  async readSome(max: number, what: string): Promise<Uint8Array> {
    if (!(await this.fill())) throw new RpmError(RpmErrorCode.TRUNCATED, this.pkg, `payload ends inside ${what}`);
    const take = Math.min(max, this.cur.length - this.pos);
    const b = this.cur.subarray(this.pos, this.pos + take);
    this.pos += take;
    this.offset += take;
    return b;
  }

  async skip(n: number, what: string): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.readSome(left, what)).length;
  }
}

/** The header of one cpio entry. */
export interface CpioHeader {
  /** 'newc' (070701) or 'stripped' (07070X). */
  form: 'newc' | 'stripped';
  /** The stored name ('' for stripped entries). */
  name: string;
  /** For stripped entries: the index into the header's file arrays; else -1. */
  fileIndex: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  /** Data size as stored (-1 for stripped entries: the rpm header has it). */
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
}

/** Longest name accepted (PATH_MAX). */
export const CPIO_MAX_NAME = 4096;
const MAGIC = '07070';
const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function hexField(b: Uint8Array, at: number, pkg: string): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = b[i]!;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else throw new RpmError(RpmErrorCode.CPIO, pkg, `cpio header has a non-hex digit (0x${c.toString(16)}) in a numeric field`);
    v = v * 16 + d;
  }
  return v;
}

function decodeName(b: Uint8Array): string {
  try {
    return utf8.decode(b);
  } catch {
    return latin1.decode(b);
  }
}

/** Reads the next entry header; null at `TRAILER!!!`. Leaves the reader at the entry's data. */
export async function readCpioHeader(r: ChunkReader, pkg: string): Promise<CpioHeader | null> {
  if (r.offset % 4 !== 0) await r.skip(4 - (r.offset % 4), 'cpio padding');
  const m = await r.readExact(6, 'a cpio header');
  for (let i = 0; i < 5; i++)
    if (m[i] !== MAGIC.charCodeAt(i)) throw new RpmError(RpmErrorCode.CPIO, pkg, `bad cpio magic ${JSON.stringify(latin1.decode(m))} at payload offset ${r.offset - 6}`);
  if (m[5] === 0x58 /* X */) {
    const idx = await r.readExact(8, 'a cpio header');
    const fileIndex = hexField(idx, 0, pkg);
    if (r.offset % 4 !== 0) await r.skip(4 - (r.offset % 4), 'cpio header padding');
    return { form: 'stripped', name: '', fileIndex, ino: 0, mode: 0, uid: 0, gid: 0, nlink: 0, mtime: 0, size: -1, rdevMajor: 0, rdevMinor: 0, devMajor: 0, devMinor: 0 };
  }
  if (m[5] !== 0x31 /* 1 */) throw new RpmError(RpmErrorCode.CPIO, pkg, `unsupported cpio format ${JSON.stringify(latin1.decode(m))} (rpm writes 070701)`);
  const h = await r.readExact(104, 'a cpio header');
  const f = (i: number): number => hexField(h, 8 * i, pkg);
  const namesize = f(11);
  if (namesize < 2 || namesize > CPIO_MAX_NAME) throw new RpmError(RpmErrorCode.CPIO, pkg, `cpio entry name size ${namesize} is out of range`);
  const nameBytes = await r.readExact(namesize, 'a cpio name');
  if (nameBytes[namesize - 1] !== 0 || nameBytes.subarray(0, namesize - 1).includes(0)) throw new RpmError(RpmErrorCode.CPIO, pkg, 'cpio entry name is not a NUL-terminated string');
  const name = decodeName(nameBytes.subarray(0, namesize - 1));
  if (r.offset % 4 !== 0) await r.skip(4 - (r.offset % 4), 'cpio name padding');
  const hdr: CpioHeader = {
    form: 'newc',
    name,
    fileIndex: -1,
    ino: f(0),
    mode: f(1),
    uid: f(2),
    gid: f(3),
    nlink: f(4),
    mtime: f(5),
    size: f(6),
    devMajor: f(7),
    devMinor: f(8),
    rdevMajor: f(9),
    rdevMinor: f(10),
  };
  if (name === 'TRAILER!!!') return null;
  return hdr;
}
