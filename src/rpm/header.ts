// The rpm header structure (signature header and main header alike): a 16-byte intro (magic
// 8E AD E8 01, 4 reserved bytes, entry count il, data size dl), il 16-byte index entries
// (tag, type, offset, count) and dl bytes of data. Mirrors the checks rpm's hdrblobRead /
// hdrblobVerifyInfo / hdrblobVerifyRegion make before trusting a header: il/dl capped before any
// allocation, each entry's type known, its data aligned, inside the data area, not overlapping the
// previous entry's and (for strings) NUL-terminated inside it; a region tag's trailer consistent;
// a known tag stored with the wrong type refused. Values are decoded lazily by typed accessors.

import { RpmError, RpmErrorCode } from './errors.ts';
import { TAG_TYPE_NAMES, TagType, type TagTypeCode } from './tags.ts';

export const HEADER_MAGIC = [0x8e, 0xad, 0xe8, 0x01] as const;
/** Size of the header intro (magic, reserved, il, dl). */
export const HEADER_INTRO_SIZE = 16;

/** Caps applied to il and dl before anything is allocated. */
export interface HeaderLimits {
  maxEntries: number;
  maxData: number;
}
/** rpm's caps for a main header (HEADER_TAGS_MAX, HEADER_DATA_MAX). */
export const MAIN_HEADER_LIMITS: HeaderLimits = { maxEntries: 0xffff, maxData: 0x0fffffff };
/** rpm's tighter caps for the signature header. */
export const SIG_HEADER_LIMITS: HeaderLimits = { maxEntries: 32, maxData: 64 * 1024 * 1024 };

/** il and dl of a header intro, and the header's total size (16 + 16·il + dl). */
export interface HeaderIntro {
  il: number;
  dl: number;
  size: number;
}

/** Reads and checks a 16-byte header intro (magic, caps). */
export function readHeaderIntro(intro: Uint8Array, pkg: string, what: string, limits: HeaderLimits): HeaderIntro {
  if (intro.length < HEADER_INTRO_SIZE) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, `${what} is truncated (no room for its intro)`);
  for (let i = 0; i < 4; i++)
    if (intro[i] !== HEADER_MAGIC[i]) throw new RpmError(RpmErrorCode.HEADER, pkg, `${what} has a bad magic number`);
  const dv = new DataView(intro.buffer, intro.byteOffset, HEADER_INTRO_SIZE);
  const il = dv.getUint32(8);
  const dl = dv.getUint32(12);
  if (il < 1 || il > limits.maxEntries) throw new RpmError(RpmErrorCode.CAP, pkg, `${what} declares ${il} index entries (allowed 1..${limits.maxEntries})`);
  if (dl > limits.maxData) throw new RpmError(RpmErrorCode.CAP, pkg, `${what} declares ${dl} data bytes (at most ${limits.maxData} allowed)`);
  return { il, dl, size: HEADER_INTRO_SIZE + 16 * il + dl };
}

/** One index entry as stored. */
export interface HeaderEntry {
  tag: number;
  type: TagTypeCode;
  offset: number;
  count: number;
}

/** Options of parseHeader. */
export interface ParseHeaderOptions {
  /** Errors name the package with this string (file name or NEVRA). */
  pkg: string;
  /** 'signature header' or 'header', for messages. */
  what?: string;
  /** The region tag expected first: 62 for a signature header, 63 for a main header. */
  regionTag: number;
  limits?: HeaderLimits;
  /** Expected types of known tags; a known tag stored with another (non-string-class) type is refused. */
  tagTypes?: ReadonlyMap<number, TagTypeCode>;
  /** The bytes start at the intro's il field (an rpmdb blob) instead of the magic. */
  noMagic?: boolean;
}

const TYPE_SIZE = [0, 1, 1, 2, 4, 8, 0, 1, 0, 0];
const isStringType = (t: number): boolean => t === TagType.STRING || t === TagType.STRING_ARRAY || t === TagType.I18NSTRING;
const latin1 = new TextDecoder('latin1');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Decodes a header string: UTF-8 when valid, else Latin-1 (old packages carry other encodings). */
export function decodeHeaderString(b: Uint8Array): string {
  for (let i = 0; i < b.length; i++) {
    if (b[i]! >= 0x80) {
      try {
        return utf8Strict.decode(b);
      } catch {
        return latin1.decode(b);
      }
    }
  }
  return latin1.decode(b);
}

/** A parsed, verified header. Values are decoded on demand by the typed accessors. */
export class RpmHeader {
  /** The header's bytes, from the magic (or il when the input had none) to the end of the data. */
  readonly bytes: Uint8Array;
  readonly il: number;
  readonly dl: number;
  /** The package name used in errors. */
  readonly pkg: string;
  readonly what: string;
  /** Number of entries covered by the region (il when there is no region tag: a legacy header). */
  readonly regionEntries: number;
  /** Whether the first entry is a region tag. */
  readonly hasRegion: boolean;
  private readonly dataStart: number;
  private readonly dv: DataView;
  private readonly index = new Map<number, HeaderEntry>();

  constructor(bytes: Uint8Array, opts: ParseHeaderOptions) {
    const pkg = opts.pkg;
    const what = opts.what ?? 'header';
    this.pkg = pkg;
    this.what = what;
    const skip = opts.noMagic ? 8 : 0;
    const introBytes = opts.noMagic ? new Uint8Array(16) : bytes.subarray(0, 16);
    if (opts.noMagic) {
      if (bytes.length < 8) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, `${what} is truncated (no room for its intro)`);
      introBytes.set(HEADER_MAGIC, 0);
      introBytes.set(bytes.subarray(0, 8), 8);
    }
    const intro = readHeaderIntro(introBytes, pkg, what, opts.limits ?? MAIN_HEADER_LIMITS);
    const size = intro.size - skip;
    if (bytes.length < size) throw new RpmError(RpmErrorCode.TRUNCATED, pkg, `${what} is truncated: ${bytes.length} of ${size} bytes`);
    this.bytes = bytes.subarray(0, size);
    this.il = intro.il;
    this.dl = intro.dl;
    this.dv = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    const entriesAt = HEADER_INTRO_SIZE - skip;
    this.dataStart = entriesAt + 16 * intro.il;
    const entries: HeaderEntry[] = [];
    for (let i = 0; i < intro.il; i++) {
      const o = entriesAt + 16 * i;
      const type = this.dv.getUint32(o + 4);
      if (type > TagType.I18NSTRING) throw this.err(`entry ${i} (tag ${this.dv.getUint32(o)}) has unknown type ${type}`);
      entries.push({ tag: this.dv.getUint32(o), type: type as TagTypeCode, offset: this.dv.getInt32(o + 8), count: this.dv.getUint32(o + 12) });
    }
    // Region: first entry a region tag, its trailer inside the data naming how many entries it covers.
    const first = entries[0]!;
    let rdl = 0;
    if (first.tag === opts.regionTag || first.tag === 61 || first.tag === 62 || first.tag === 63) {
      if (first.type !== TagType.BIN || first.count !== 16) throw this.err(`region tag ${first.tag} has type ${TAG_TYPE_NAMES[first.type]} count ${first.count} (expected BIN count 16)`);
      if (first.offset < 0 || first.offset + 16 > intro.dl) throw this.err(`region trailer offset ${first.offset} is outside the ${intro.dl}-byte data area`);
      const t = this.dataStart + first.offset;
      const ttag = this.dv.getUint32(t);
      const ttype = this.dv.getUint32(t + 4);
      const toff = this.dv.getInt32(t + 8);
      const tcount = this.dv.getUint32(t + 12);
      if (ttag !== first.tag || ttype !== TagType.BIN || tcount !== 16) throw this.err(`region trailer does not match its tag ${first.tag}`);
      const ril = -toff / 16;
      if (toff >= 0 || toff % 16 !== 0 || ril > intro.il || ril < 1) throw this.err(`region trailer claims an invalid entry count (offset ${toff})`);
      this.regionEntries = ril;
      this.hasRegion = true;
      rdl = first.offset + 16;
    } else {
      this.regionEntries = intro.il;
      this.hasRegion = false;
    }
    // Every other entry: known type, aligned, inside the data, after the previous one, type as declared.
    let end = 0;
    for (let i = this.hasRegion ? 1 : 0; i < entries.length; i++) {
      const e = entries[i]!;
      const want = opts.tagTypes?.get(e.tag);
      if (want !== undefined && want !== e.type && !(isStringType(want) && isStringType(e.type)))
        throw this.err(`tag ${e.tag} is stored as ${TAG_TYPE_NAMES[e.type]}, rpm declares it ${TAG_TYPE_NAMES[want]}`);
      if (e.offset < end) throw this.err(`entry ${i} (tag ${e.tag}) overlaps the data of the entry before it`);
      if (e.offset > intro.dl) throw this.err(`entry ${i} (tag ${e.tag}) has offset ${e.offset} outside the ${intro.dl}-byte data area`);
      if (e.count > intro.dl && e.type !== TagType.NULL) throw this.err(`entry ${i} (tag ${e.tag}) has count ${e.count}, more than the data holds`);
      const align = TYPE_SIZE[e.type]!;
      if (align > 1 && e.offset % align !== 0) throw this.err(`entry ${i} (tag ${e.tag}) of type ${TAG_TYPE_NAMES[e.type]} is misaligned (offset ${e.offset})`);
      if (e.type === TagType.STRING && e.count !== 1) throw this.err(`entry ${i} (tag ${e.tag}) is a STRING with count ${e.count}`);
      if (e.type !== TagType.NULL && e.count === 0) throw this.err(`entry ${i} (tag ${e.tag}) has count 0`);
      const len = this.dataLength(e, intro.dl);
      if (len < 0) throw this.err(`entry ${i} (tag ${e.tag}) data runs past the end of the data area (unterminated or oversized)`);
      end = e.offset + len;
      if (this.hasRegion && e.offset < rdl && end > rdl - 16) throw this.err(`entry ${i} (tag ${e.tag}) overlaps the region trailer`);
      if (this.index.has(e.tag)) throw this.err(`tag ${e.tag} appears twice`);
      this.index.set(e.tag, e);
    }
    if (this.hasRegion) this.index.set(first.tag, first);
  }

  private err(reason: string): RpmError {
    return new RpmError(RpmErrorCode.HEADER, this.pkg, `${this.what}: ${reason}`);
  }

  /** Byte length of an entry's data, or -1 when it does not fit in dl bytes. */
  private dataLength(e: HeaderEntry, dl: number): number {
    const size = TYPE_SIZE[e.type]!;
    if (e.type === TagType.NULL) return 0;
    if (size > 0) {
      const len = size * e.count;
      return e.offset + len <= dl ? len : -1;
    }
    // strings: count NUL-terminated strings inside [offset, dl)
    const start = this.dataStart + e.offset;
    const limit = this.dataStart + dl;
    const b = this.bytes;
    let p = start;
    for (let n = 0; n < e.count; n++) {
      const z = b.indexOf(0, p);
      if (z < 0 || z >= limit) return -1;
      p = z + 1;
    }
    return p - start;
  }

  /** The entry of `tag`, or undefined. */
  entry(tag: number): HeaderEntry | undefined {
    return this.index.get(tag);
  }

  has(tag: number): boolean {
    return this.index.has(tag);
  }

  /** Every tag present, in index order (region tag first). */
  tags(): number[] {
    return [...this.index.keys()];
  }

  private typed(tag: number, types: readonly number[], want: string): HeaderEntry | undefined {
    const e = this.index.get(tag);
    if (e === undefined) return undefined;
    if (!types.includes(e.type)) throw this.err(`tag ${tag} is stored as ${TAG_TYPE_NAMES[e.type]}, expected ${want}`);
    return e;
  }

  private stringsAt(e: HeaderEntry): string[] {
    const out: string[] = [];
    let p = this.dataStart + e.offset;
    for (let n = 0; n < e.count; n++) {
      const z = this.bytes.indexOf(0, p);
      out.push(decodeHeaderString(this.bytes.subarray(p, z)));
      p = z + 1;
    }
    return out;
  }

  /** A STRING (or the C-locale value of an I18NSTRING, or a one-element STRING_ARRAY); undefined if absent. */
  getString(tag: number): string | undefined {
    const e = this.typed(tag, [TagType.STRING, TagType.I18NSTRING, TagType.STRING_ARRAY], 'a string');
    if (e === undefined) return undefined;
    return this.stringsAt({ ...e, count: 1 })[0];
  }

  /** An I18NSTRING's values by locale (the locales of HEADERI18NTABLE, first `C`). */
  getI18nString(tag: number): Map<string, string> | undefined {
    const e = this.typed(tag, [TagType.STRING, TagType.I18NSTRING], 'an I18N string');
    if (e === undefined) return undefined;
    const values = this.stringsAt(e);
    const langs = this.has(100) ? this.getStringArray(100)! : ['C'];
    const m = new Map<string, string>();
    for (let i = 0; i < values.length && i < Math.max(langs.length, 1); i++) m.set(langs[i] ?? 'C', values[i]!);
    return m;
  }

  /** A STRING_ARRAY (a STRING reads as one element); undefined if absent. */
  getStringArray(tag: number): string[] | undefined {
    const e = this.typed(tag, [TagType.STRING_ARRAY, TagType.STRING, TagType.I18NSTRING], 'a string array');
    if (e === undefined) return undefined;
    return this.stringsAt(e);
  }

  /** Raw bytes of a STRING entry without the NUL (for byte-exact non-UTF-8 strings). */
  getStringBytes(tag: number): Uint8Array | undefined {
    const e = this.typed(tag, [TagType.STRING, TagType.I18NSTRING, TagType.STRING_ARRAY], 'a string');
    if (e === undefined) return undefined;
    const p = this.dataStart + e.offset;
    return this.bytes.subarray(p, this.bytes.indexOf(0, p));
  }

  /** CHAR/INT8/INT16/INT32 values as unsigned numbers; undefined if absent. */
  getNumbers(tag: number): number[] | undefined {
    const e = this.typed(tag, [TagType.CHAR, TagType.INT8, TagType.INT16, TagType.INT32], 'an integer');
    if (e === undefined) return undefined;
    const out = new Array<number>(e.count);
    const p = this.dataStart + e.offset;
    const dv = this.dv;
    if (e.type === TagType.INT32) for (let i = 0; i < e.count; i++) out[i] = dv.getUint32(p + 4 * i);
    else if (e.type === TagType.INT16) for (let i = 0; i < e.count; i++) out[i] = dv.getUint16(p + 2 * i);
    else for (let i = 0; i < e.count; i++) out[i] = this.bytes[p + i]!;
    return out;
  }

  /** The first value of an integer tag (INT64 as a number when it is a safe integer). */
  getNumber(tag: number): number | undefined {
    const e = this.index.get(tag);
    if (e === undefined) return undefined;
    if (e.type === TagType.INT64) {
      const v = this.getBigInts(tag)![0]!;
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.err(`tag ${tag} value ${v} is too large`);
      return Number(v);
    }
    return this.getNumbers(tag)![0];
  }

  /** INT64 values (or narrower integers widened); undefined if absent. */
  getBigInts(tag: number): bigint[] | undefined {
    const e = this.typed(tag, [TagType.INT64, TagType.INT32, TagType.INT16, TagType.INT8, TagType.CHAR], 'an integer');
    if (e === undefined) return undefined;
    if (e.type !== TagType.INT64) return this.getNumbers(tag)!.map((n) => BigInt(n));
    const out = new Array<bigint>(e.count);
    const p = this.dataStart + e.offset;
    for (let i = 0; i < e.count; i++) out[i] = this.dv.getBigUint64(p + 8 * i);
    return out;
  }

  /** Integer values as numbers, INT64 included (refused past 2^53). */
  getSafeNumbers(tag: number): number[] | undefined {
    const e = this.index.get(tag);
    if (e === undefined) return undefined;
    if (e.type !== TagType.INT64) return this.getNumbers(tag);
    return this.getBigInts(tag)!.map((v) => {
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.err(`tag ${tag} value ${v} is too large`);
      return Number(v);
    });
  }

  /** BIN data (a view into the header bytes); undefined if absent. */
  getBin(tag: number): Uint8Array | undefined {
    const e = this.typed(tag, [TagType.BIN, TagType.CHAR, TagType.INT8], 'binary data');
    if (e === undefined) return undefined;
    const p = this.dataStart + e.offset;
    return this.bytes.subarray(p, p + e.count);
  }

  /** Any entry decoded by its stored type (for dumps and tests). */
  get(tag: number): string | string[] | number[] | bigint[] | Uint8Array | null | undefined {
    const e = this.index.get(tag);
    if (e === undefined) return undefined;
    switch (e.type) {
      case TagType.NULL:
        return null;
      case TagType.BIN:
        return this.getBin(tag);
      case TagType.INT64:
        return this.getBigInts(tag);
      case TagType.STRING:
        return this.getString(tag);
      case TagType.STRING_ARRAY:
      case TagType.I18NSTRING:
        return this.getStringArray(tag);
      default:
        return this.getNumbers(tag);
    }
  }
}

/** Parses a header (bytes from its magic; extra bytes after it are ignored). */
export function parseHeader(bytes: Uint8Array, opts: ParseHeaderOptions): RpmHeader {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseHeader: expected a Uint8Array');
  return new RpmHeader(bytes, opts);
}
