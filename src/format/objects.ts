// OSTree object model: object types and file names, and the GVariant encodings of commit, dirtree,
// dirmeta, file headers (bare stream and archive .filez), xattrs — with libostree's checksum rules.
// Fields that libostree stores big-endian inside little-endian GVariants are byte-swapped here.

import { decode, encode, type GVValue, type GVVariant } from './gvariant.ts';
import { bswap32, bswap64, compareBytes, fromHex, fromUtf8, toHex, utf8 } from '../util/bytes.ts';
import { CorruptionError, XylemError } from '../util/errors.ts';

export enum ObjectType {
  File = 1,
  DirTree = 2,
  DirMeta = 3,
  Commit = 4,
  TombstoneCommit = 5,
  CommitMeta = 6,
  PayloadLink = 7,
}

export type RepoMode = 'bare' | 'bare-user' | 'bare-user-only' | 'archive';

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export const isReg = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
export const isDir = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isLnk = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;

/** Largest metadata object a repo accepts (OSTREE_MAX_METADATA_SIZE). */
export const MAX_METADATA_SIZE = 128 * 1024 * 1024;
/** Largest metadata object fetched over the network (10 MiB, as libostree's pull). */
export const MAX_METADATA_WARN_SIZE = 10 * 1024 * 1024;

const TYPE_EXT: Record<number, string> = {
  [ObjectType.File]: 'file',
  [ObjectType.DirTree]: 'dirtree',
  [ObjectType.DirMeta]: 'dirmeta',
  [ObjectType.Commit]: 'commit',
  [ObjectType.TombstoneCommit]: 'tombstone-commit',
  [ObjectType.CommitMeta]: 'commitmeta',
  [ObjectType.PayloadLink]: 'payload-link',
};

export function objectTypeName(t: ObjectType): string {
  const n = TYPE_EXT[t];
  if (!n) throw new XylemError(`Invalid object type ${t}`);
  return n;
}

export function objectTypeFromName(name: string): ObjectType {
  for (const [k, v] of Object.entries(TYPE_EXT)) if (v === name) return Number(k) as ObjectType;
  throw new XylemError(`Invalid object type '${name}'`);
}

export function isMetadataType(t: ObjectType): boolean {
  return t >= ObjectType.DirTree && t <= ObjectType.CommitMeta;
}

/** File extension of a loose object in a repo of the given mode. */
export function objectExtension(t: ObjectType, mode: RepoMode): string {
  if (t === ObjectType.File && mode === 'archive') return 'filez';
  return objectTypeName(t);
}

/** objects/XX/REST.EXT relative to the repo root. */
export function objectRelPath(checksum: string, t: ObjectType, mode: RepoMode): string {
  return `objects/${checksum.slice(0, 2)}/${checksum.slice(2)}.${objectExtension(t, mode)}`;
}

const CHECKSUM_RE = /^[0-9a-f]{64}$/;

export function isValidChecksum(s: string): boolean {
  return CHECKSUM_RE.test(s);
}

export function validateChecksum(s: string): string {
  if (!CHECKSUM_RE.test(s)) throw new XylemError(`Invalid rev ${s}`);
  return s;
}

/** Validates a dirtree entry name as libostree does: non-empty, valid UTF-8, no '/', not '.' or '..'. */
export function validateFilename(name: string): void {
  if (name.length === 0) throw new CorruptionError('Invalid empty filename');
  if (name === '.' || name === '..') throw new CorruptionError(`Invalid special element '${name}' in filename`);
  if (name.includes('/')) throw new CorruptionError(`Invalid / in filename ${name}`);
  if (name.includes('\0')) throw new CorruptionError(`Invalid NUL in filename`);
}

export function csumBytes(hex: string): Uint8Array {
  return fromHex(validateChecksum(hex));
}

function csumFromBytes(b: unknown, what: string, ctx: string): string {
  if (!(b instanceof Uint8Array) || b.length !== 32)
    throw new CorruptionError(`${ctx}: Invalid checksum of length ${b instanceof Uint8Array ? b.length : '?'} for ${what}`);
  return toHex(b);
}

// ---------------------------------------------------------------------------------------------
// xattrs a(ayay)

/** An extended attribute; names are plain strings here, encoded with a trailing NUL. */
export interface Xattr {
  name: string;
  value: Uint8Array;
}

/** Lists whose order is meaningful and kept when encoded (see keepXattrOrder). */
const orderedXattrLists = new WeakSet<readonly Xattr[]>();

/**
 * Marks `xattrs` as already in the order to encode: libostree sorts the xattrs it reads from disk
 * but keeps the order of a stored object's list and appends an SELinux label after the others,
 * so lists decoded from objects and labelled lists must not be re-sorted. Returns `xattrs`.
 */
export function keepXattrOrder<T extends readonly Xattr[]>(xattrs: T): T {
  orderedXattrLists.add(xattrs);
  return xattrs;
}

export function xattrsToGV(xattrs: readonly Xattr[]): GVValue[] {
  const items = xattrs.map((x) => ({ n: utf8(x.name + '\0'), v: x.value }));
  if (!orderedXattrLists.has(xattrs)) items.sort((a, b) => compareBytes(a.n, b.n));
  return items.map((x) => [x.n, x.v]);
}

function xattrsFromGV(v: GVValue, ctx: string): Xattr[] {
  const arr = v as GVValue[];
  return keepXattrOrder(arr.map((e) => {
    const [n, val] = e as [Uint8Array, Uint8Array];
    let name = n;
    if (name.length > 0 && name[name.length - 1] === 0) name = name.subarray(0, name.length - 1);
    let s: string;
    try {
      s = fromUtf8(name);
    } catch {
      throw new CorruptionError(`${ctx}: invalid xattr name`);
    }
    return { name: s, value: val };
  }));
}

// ---------------------------------------------------------------------------------------------
// dirmeta (uuua(ayay))

export interface DirMeta {
  uid: number;
  gid: number;
  mode: number;
  xattrs: Xattr[];
}

export function encodeDirMeta(m: DirMeta): Uint8Array {
  return encode('(uuua(ayay))', [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode), xattrsToGV(m.xattrs)]);
}

export function decodeDirMeta(data: Uint8Array, ctx = 'dirmeta'): DirMeta {
  const [uid, gid, mode, xa] = decode('(uuua(ayay))', data, { context: ctx }) as [number, number, number, GVValue];
  const m = { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), xattrs: xattrsFromGV(xa, ctx) };
  if (!isDir(m.mode)) throw new CorruptionError(`${ctx}: Invalid directory metadata mode 0${m.mode.toString(8)}`);
  return m;
}

// ---------------------------------------------------------------------------------------------
// dirtree (a(say)a(sayay))

export interface DirTreeFile {
  name: string;
  checksum: string;
}
export interface DirTreeDir {
  name: string;
  treeChecksum: string;
  metaChecksum: string;
}
export interface DirTree {
  files: DirTreeFile[];
  dirs: DirTreeDir[];
}

function byNameBytes<T extends { name: string }>(a: T, b: T): number {
  // strcmp order on UTF-8 bytes; JS string comparison (UTF-16) differs for astral chars, so compare bytes.
  return a.name === b.name ? 0 : compareBytes(utf8(a.name), utf8(b.name));
}

export function sortDirTree(t: DirTree): DirTree {
  return { files: [...t.files].sort(byNameBytes), dirs: [...t.dirs].sort(byNameBytes) };
}

/** Encodes a dirtree; entries must already be sorted by name bytes (use sortDirTree). */
export function encodeDirTree(t: DirTree): Uint8Array {
  return encode('(a(say)a(sayay))', [
    t.files.map((f) => [f.name, fromHex(f.checksum)]),
    t.dirs.map((d) => [d.name, fromHex(d.treeChecksum), fromHex(d.metaChecksum)]),
  ]);
}

/** Decodes a dirtree, validating names and checksums (hostile input). */
export function decodeDirTree(data: Uint8Array, ctx = 'dirtree'): DirTree {
  const [files, dirs] = decode('(a(say)a(sayay))', data, { context: ctx }) as [GVValue[], GVValue[]];
  const out: DirTree = { files: [], dirs: [] };
  for (const f of files) {
    const [name, c] = f as [string, Uint8Array];
    validateFilename(name);
    out.files.push({ name, checksum: csumFromBytes(c, name, ctx) });
  }
  for (const d of dirs) {
    const [name, t, m] = d as [string, Uint8Array, Uint8Array];
    validateFilename(name);
    out.dirs.push({ name, treeChecksum: csumFromBytes(t, name, ctx), metaChecksum: csumFromBytes(m, name, ctx) });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// commit (a{sv}aya(say)sstayay)

export type Metadata = Array<[string, GVVariant]>;

export interface Commit {
  metadata: Metadata;
  parent: string | null;
  related: Array<[string, string]>;
  subject: string;
  body: string;
  /** Seconds since the epoch, UTC. */
  timestamp: bigint;
  rootTree: string;
  rootMeta: string;
}

export const COMMIT_TYPE = '(a{sv}aya(say)sstayay)';
/** The summary file: refs (name, (commit size, checksum, metadata)) and the repo's metadata. */
export const SUMMARY_TYPE = '(a(s(taya{sv}))a{sv})';

export function encodeCommit(c: Commit): Uint8Array {
  return encode(COMMIT_TYPE, [
    c.metadata as GVValue[],
    c.parent ? fromHex(c.parent) : new Uint8Array(0),
    c.related.map(([n, cs]) => [n, fromHex(cs)]),
    c.subject,
    c.body,
    bswap64(c.timestamp),
    fromHex(c.rootTree),
    fromHex(c.rootMeta),
  ]);
}

export function decodeCommit(data: Uint8Array, ctx = 'commit'): Commit {
  const v = decode(COMMIT_TYPE, data, { context: ctx }) as GVValue[];
  const parentBytes = v[1] as Uint8Array;
  if (parentBytes.length !== 0 && parentBytes.length !== 32)
    throw new CorruptionError(`${ctx}: Invalid parent checksum length ${parentBytes.length}`);
  return {
    metadata: v[0] as Metadata,
    parent: parentBytes.length ? toHex(parentBytes) : null,
    related: (v[2] as GVValue[]).map((e) => {
      const [n, c] = e as [string, Uint8Array];
      return [n, csumFromBytes(c, n, ctx)] as [string, string];
    }),
    subject: v[3] as string,
    body: v[4] as string,
    timestamp: bswap64(v[5] as bigint),
    rootTree: csumFromBytes(v[6], 'root tree', ctx),
    rootMeta: csumFromBytes(v[7], 'root meta', ctx),
  };
}

export function metadataLookup(md: Metadata, key: string): GVVariant | undefined {
  for (const [k, v] of md) if (k === key) return v;
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// content objects: the file header and the canonical object stream

export interface FileHeader {
  uid: number;
  gid: number;
  /** Full st_mode with S_IFREG or S_IFLNK. */
  mode: number;
  rdev: number;
  symlinkTarget: string;
  xattrs: Xattr[];
}

const FILE_HEADER_TYPE = '(uuuusa(ayay))';
const ARCHIVE_HEADER_TYPE = '(tuuuusa(ayay))';

function headerFields(h: FileHeader): GVValue[] {
  return [bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), bswap32(h.rdev), h.symlinkTarget, xattrsToGV(h.xattrs)];
}

function headerFromFields(f: GVValue[], ctx: string): FileHeader {
  const h: FileHeader = {
    uid: bswap32(f[0] as number),
    gid: bswap32(f[1] as number),
    mode: bswap32(f[2] as number),
    rdev: bswap32(f[3] as number),
    symlinkTarget: f[4] as string,
    xattrs: xattrsFromGV(f[5] as GVValue, ctx),
  };
  if (!isReg(h.mode) && !isLnk(h.mode))
    throw new CorruptionError(`${ctx}: Corrupted file object; invalid mode 0${h.mode.toString(8)}`);
  if (isLnk(h.mode) && h.symlinkTarget.length === 0) throw new CorruptionError(`${ctx}: Invalid empty symlink target`);
  return h;
}

/** GVariant bytes of the (uuuusa(ayay)) file header. */
export function encodeFileHeader(h: FileHeader): Uint8Array {
  return encode(FILE_HEADER_TYPE, headerFields(h));
}

function framed(variant: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + variant.length);
  new DataView(out.buffer).setUint32(0, variant.length, false);
  out.set(variant, 8);
  return out;
}

/** The prefix of the canonical object stream: BE u32 length, 4 zero bytes, the header variant. */
export function fileStreamHeader(h: FileHeader): Uint8Array {
  return framed(encodeFileHeader(h));
}

/** The header of an archive-mode `.filez` object: like the stream header, with the uncompressed size first. */
export function archiveHeader(h: FileHeader, size: number): Uint8Array {
  return framed(encode(ARCHIVE_HEADER_TYPE, [bswap64(BigInt(size)), ...headerFields(h)]));
}

function readFramedLength(data: Uint8Array, ctx: string): number {
  if (data.length < 8) throw new CorruptionError(`${ctx}: File header too short (${data.length} bytes)`);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const len = dv.getUint32(0, false);
  if (dv.getUint32(4, false) !== 0) throw new CorruptionError(`${ctx}: Corrupted file object; invalid header padding`);
  if (len > 10 * 1024 * 1024 || 8 + len > data.length)
    throw new CorruptionError(`${ctx}: Corrupted file object; header length ${len} exceeds object size ${data.length}`);
  return len;
}

/** Parses the canonical stream header; returns the header and the offset where content starts. */
export function parseFileStreamHeader(data: Uint8Array, ctx = 'file'): { header: FileHeader; offset: number } {
  const len = readFramedLength(data, ctx);
  const f = decode(FILE_HEADER_TYPE, data.subarray(8, 8 + len), { context: ctx }) as GVValue[];
  return { header: headerFromFields(f, ctx), offset: 8 + len };
}

/** Parses a `.filez` header; returns the header, the uncompressed size and where the deflate stream starts. */
export function parseArchiveHeader(data: Uint8Array, ctx = 'filez'): { header: FileHeader; size: number; offset: number } {
  const len = readFramedLength(data, ctx);
  const f = decode(ARCHIVE_HEADER_TYPE, data.subarray(8, 8 + len), { context: ctx }) as GVValue[];
  const size = bswap64(f[0] as bigint);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptionError(`${ctx}: Invalid file size ${size}`);
  return { header: headerFromFields(f.slice(1), ctx), size: Number(size), offset: 8 + len };
}

/** The bare-user `user.ostreemeta` xattr value: (uuua(ayay)) with uid, gid, mode BE and the xattrs. */
export function encodeOstreeMeta(h: { uid: number; gid: number; mode: number; xattrs: Xattr[] }): Uint8Array {
  return encode('(uuua(ayay))', [bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), xattrsToGV(h.xattrs)]);
}

export function decodeOstreeMeta(data: Uint8Array, ctx = 'user.ostreemeta'): { uid: number; gid: number; mode: number; xattrs: Xattr[] } {
  const [uid, gid, mode, xa] = decode('(uuua(ayay))', data, { context: ctx }) as [number, number, number, GVValue];
  return { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), xattrs: xattrsFromGV(xa, ctx) };
}

/** sha256(root dirtree csum ‖ root dirmeta csum): what `ostree show` prints as ContentChecksum. */
export function contentChecksumInput(c: Commit): Uint8Array {
  const b = new Uint8Array(64);
  b.set(fromHex(c.rootTree), 0);
  b.set(fromHex(c.rootMeta), 32);
  return b;
}
