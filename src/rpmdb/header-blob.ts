// A parsed rpm header blob — `il, dl, index entries, data`, without the 8-byte magic — as found in
// a package file (after the magic) and in the rpmdb's Packages.blob. Every entry is checked the
// way librpm's hdrblobVerifyInfo/hdrblobVerifyRegion check hostile headers before anything is
// read: counts and sizes capped, types known, offsets aligned and inside the data, strings
// terminated inside the data, no overlapping data, region trailer consistent. Accessors return
// views into the blob (no copies). Used by the installed-header builder and the rpmdb reader.

import { CorruptionError } from '../util/errors.ts';
import { TagType } from '../rpm/tags.ts';

/** rpm's header data types (rpmtag.h): the RPM reader's table. */
export const HeaderType = TagType;

/** Region tags: a package's main header region, and the signature header's. */
export const REGION_IMMUTABLE = 63;
export const REGION_SIGNATURES = 62;
/** Largest entry count and data size librpm accepts in a main header (HEADER_TAGS_MAX, HEADER_DATA_MAX). */
export const MAX_HEADER_ENTRIES = 0xffff;
export const MAX_HEADER_DATA = 0x0fffffff;
/** librpm's cap on array counts (HEADER_ARRAY_MAX) for every type but BIN. */
const MAX_ARRAY_COUNT = 0x000fffff;
/** Byte size of one item per type (-1: variable), and the alignment of each type. */
const TYPE_SIZE = [0, 1, 1, 2, 4, 8, -1, 1, -1, -1];
const TYPE_ALIGN = [1, 1, 1, 2, 4, 8, 1, 1, 1, 1];

/** One index entry, with the byte length its data occupies. */
export interface HeaderEntry {
  tag: number;
  type: number;
  offset: number;
  count: number;
  length: number;
}

/** Byte size of one item of `type` (1 for strings and BIN), for the encoder. */
export function typeItemSize(type: number): number {
  return TYPE_SIZE[type] ?? -1;
}

/** Alignment of `type` inside the data area. */
export function typeAlignment(type: number): number {
  return TYPE_ALIGN[type] ?? 1;
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Length of `count` NUL-terminated strings starting at `off`, or -1 when they run past `end`. */
function stringsLength(data: Uint8Array, off: number, count: number, end: number): number {
  let p = off;
  for (let i = 0; i < count; i++) {
    const nul = data.indexOf(0, p);
    if (nul < 0 || nul >= end) return -1;
    p = nul + 1;
  }
  return p - off;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** A validated header blob. `what` names it in errors (a package file, an rpmdb row). */
export class HeaderBlob {
  readonly bytes: Uint8Array;
  readonly what: string;
  readonly il: number;
  readonly dl: number;
  /** Entries in blob order (region first, then dribbles). */
  readonly entries: readonly HeaderEntry[];
  /** Number of index entries the region covers (il when the whole blob is one region). */
  readonly regionEntries: number;
  /** Data bytes the region covers, trailer included. */
  readonly regionData: number;
  private readonly byTag = new Map<number, number>();
  private readonly dataStart: number;

  private constructor(bytes: Uint8Array, what: string, il: number, dl: number, entries: HeaderEntry[], ril: number, rdl: number) {
    this.bytes = bytes;
    this.what = what;
    this.il = il;
    this.dl = dl;
    this.entries = entries;
    this.regionEntries = ril;
    this.regionData = rdl;
    this.dataStart = 8 + 16 * il;
    entries.forEach((e, i) => {
      if (!this.byTag.has(e.tag)) this.byTag.set(e.tag, i);
    });
  }

  /**
   * Parses and verifies `bytes` (exactly one blob). `exactRegion` demands that the region cover
   * the whole header, as librpm demands of a package file's main header; an rpmdb blob may carry
   * dribbles after its region.
   */
  static parse(bytes: Uint8Array, what: string, opts: { exactRegion?: boolean; regionTag?: number } = {}): HeaderBlob {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('HeaderBlob.parse: bytes must be a Uint8Array');
    const bad = (msg: string): never => {
      throw new CorruptionError(`${what}: bad rpm header: ${msg}`);
    };
    if (bytes.length < 8) bad(`${bytes.length} bytes is too short for a header intro`);
    const il = u32(bytes, 0);
    const dl = u32(bytes, 4);
    if (il < 1 || il > MAX_HEADER_ENTRIES) bad(`index count ${il} out of range`);
    if (dl > MAX_HEADER_DATA) bad(`data size ${dl} out of range`);
    const total = 8 + 16 * il + dl;
    if (total !== bytes.length) bad(`sizes say ${total} bytes (il ${il}, dl ${dl}) but the blob holds ${bytes.length}`);
    const ds = 8 + 16 * il;
    const data = bytes.subarray(ds);
    const entry = (i: number): HeaderEntry => {
      const o = 8 + 16 * i;
      return { tag: u32(bytes, o), type: u32(bytes, o + 4), offset: u32(bytes, o + 8) | 0, count: u32(bytes, o + 12), length: 0 };
    };
    // Region: first entry tag 62/63, BIN, count 16, its trailer inside the data.
    const first = entry(0);
    let ril = 0;
    let rdl = 0;
    const wantRegion = opts.regionTag ?? REGION_IMMUTABLE;
    if (first.tag === wantRegion) {
      if (first.type !== HeaderType.BIN || first.count !== 16) bad(`region tag ${first.tag} has type ${first.type} count ${first.count}`);
      if (first.offset < 0 || first.offset + 16 > dl) bad(`region trailer offset ${first.offset} is outside the ${dl} data bytes`);
      const t = first.offset;
      const ttag = u32(data, t);
      const ttype = u32(data, t + 4);
      const toff = u32(data, t + 8) | 0;
      const tcount = u32(data, t + 12);
      if (ttag !== wantRegion || ttype !== HeaderType.BIN || tcount !== 16) bad(`region trailer is tag ${ttag} type ${ttype} count ${tcount}`);
      const rlen = -toff;
      if (rlen <= 0 || rlen % 16 !== 0) bad(`region trailer offset ${toff} is not a negative multiple of 16`);
      ril = rlen / 16;
      rdl = t + 16;
      if (ril > il) bad(`region claims ${ril} entries but the header has ${il}`);
      first.length = 16;
      if (opts.exactRegion && (ril !== il || rdl !== dl)) bad(`region covers ${ril}/${il} entries and ${rdl}/${dl} data bytes; a package header must be one region`);
    } else if (opts.exactRegion || first.tag === REGION_IMMUTABLE || first.tag === REGION_SIGNATURES) {
      bad(`first entry is tag ${first.tag}, not the region tag ${wantRegion}`);
    }
    const entries: HeaderEntry[] = ril > 0 ? [first] : [];
    let end = 0;
    for (let i = entries.length; i < il; i++) {
      const e = entry(i);
      const where = `entry ${i} (tag ${e.tag} type ${e.type} offset ${e.offset} count ${e.count})`;
      if (e.tag < 100) bad(`${where}: tag below 100`);
      if (e.type < HeaderType.CHAR || e.type > HeaderType.I18NSTRING) bad(`${where}: unknown type`);
      if (e.count < 1 || e.count > dl) bad(`${where}: count out of range`);
      if (e.type !== HeaderType.BIN && e.count > MAX_ARRAY_COUNT) bad(`${where}: array too long`);
      if (e.offset < 0 || e.offset > dl) bad(`${where}: offset outside the data`);
      if (e.offset % TYPE_ALIGN[e.type]! !== 0) bad(`${where}: misaligned data`);
      if (e.offset < end) bad(`${where}: data overlaps the previous entry's`);
      if (e.type === HeaderType.STRING && e.count !== 1) bad(`${where}: a STRING must have count 1`);
      const size = TYPE_SIZE[e.type]!;
      const len = size > 0 ? size * e.count : stringsLength(data, e.offset, e.count, dl);
      if (len <= 0 || e.offset + len > dl) bad(`${where}: data runs past the end`);
      if (ril > 0 && e.offset + len > rdl - 16 && e.offset < rdl) bad(`${where}: data overlaps the region trailer`);
      e.length = len;
      end = e.offset + len;
      entries.push(e);
    }
    return new HeaderBlob(bytes, what, il, dl, entries, ril, rdl);
  }

  has(tag: number): boolean {
    return this.byTag.has(tag);
  }

  entry(tag: number): HeaderEntry | undefined {
    const i = this.byTag.get(tag);
    return i === undefined ? undefined : this.entries[i];
  }

  /** The raw data bytes of `tag` (a view), or undefined when absent. */
  raw(tag: number): Uint8Array | undefined {
    const e = this.entry(tag);
    return e ? this.bytes.subarray(this.dataStart + e.offset, this.dataStart + e.offset + e.length) : undefined;
  }

  private expect(tag: number, types: readonly number[]): HeaderEntry | undefined {
    const e = this.entry(tag);
    if (e && !types.includes(e.type)) throw new CorruptionError(`${this.what}: tag ${tag} has type ${e.type}, expected ${types.join(' or ')}`);
    return e;
  }

  /** The items of a STRING, STRING_ARRAY or I18NSTRING tag as byte views (no NULs); [] when absent. */
  stringBytes(tag: number): Uint8Array[] {
    const e = this.expect(tag, [HeaderType.STRING, HeaderType.STRING_ARRAY, HeaderType.I18NSTRING]);
    if (!e) return [];
    const out: Uint8Array[] = [];
    let p = this.dataStart + e.offset;
    for (let i = 0; i < e.count; i++) {
      const nul = this.bytes.indexOf(0, p);
      out.push(this.bytes.subarray(p, nul));
      p = nul + 1;
    }
    return out;
  }

  /** String items decoded as UTF-8 (for display and identity); [] when absent. */
  strings(tag: number): string[] {
    return this.stringBytes(tag).map((b) => utf8.decode(b));
  }

  /** The first string item (the C locale for I18NSTRING), or undefined. */
  string(tag: number): string | undefined {
    const first = this.stringBytes(tag)[0];
    return first === undefined ? undefined : utf8.decode(first);
  }

  /** String items as byte-for-character strings (each char code is one byte), for exact parsing. */
  binaryStrings(tag: number): string[] {
    return this.stringBytes(tag).map((b) => latin1.decode(b));
  }

  /** INT32 items (unsigned); [] when absent. */
  uint32s(tag: number): number[] {
    const e = this.expect(tag, [HeaderType.INT32]);
    if (!e) return [];
    const out: number[] = new Array(e.count);
    for (let i = 0; i < e.count; i++) out[i] = u32(this.bytes, this.dataStart + e.offset + 4 * i);
    return out;
  }

  /** The first INT32 item, or undefined. */
  uint32(tag: number): number | undefined {
    const e = this.expect(tag, [HeaderType.INT32]);
    return e ? u32(this.bytes, this.dataStart + e.offset) : undefined;
  }

  /** The bytes of a BIN tag (a view), or undefined. */
  bin(tag: number): Uint8Array | undefined {
    this.expect(tag, [HeaderType.BIN]);
    return this.raw(tag);
  }
}
