// Importing a tarball into a MutableTree (`commit --tree=tar=FILE`): ustar/GNU/pax headers,
// long names, symlinks, hardlinks; hostile paths ('..', absolute escapes) refused.

import { applyModifier, finalXattrs, type ImportContext } from './commit.ts';
import type { MutableTree } from './mutable-tree.ts';
import { ObjectType, encodeDirMeta, S_IFDIR, S_IFREG, S_IFLNK, type Xattr } from '../format/objects.ts';
import { XylemError } from '../util/errors.ts';
import { compareBytes, fromUtf8Lossy, utf8 } from '../util/bytes.ts';

function field(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return fromUtf8Lossy(b.subarray(off, end));
}

function octal(b: Uint8Array, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = field(b, off, len).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/**
 * pax extended header records "LEN KEY=VALUE\n". LEN counts bytes, and values may be binary
 * (SCHILY.xattr.*), so this works on bytes, not on a decoded string.
 */
function parsePax(data: Uint8Array, tarPath: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let i = 0;
  while (i < data.length) {
    let sp = i;
    while (sp < data.length && data[sp] !== 0x20) sp++;
    const len = parseInt(fromUtf8Lossy(data.subarray(i, sp)), 10);
    if (!(len > 0) || i + len > data.length || data[i + len - 1] !== 0x0a) {
      if (data.subarray(i).every((b) => b === 0)) break;
      throw new XylemError(`${tarPath}: malformed pax extended header`);
    }
    const rec = data.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(fromUtf8Lossy(rec.subarray(0, eq)), rec.subarray(eq + 1));
    i += len;
  }
  return out;
}

const PAX_XATTR = 'SCHILY.xattr.';

function paxString(pax: Map<string, Uint8Array> | null, key: string): string | undefined {
  const v = pax?.get(key);
  return v === undefined ? undefined : fromUtf8Lossy(v);
}

function paxNumber(pax: Map<string, Uint8Array> | null, key: string): number | undefined {
  const v = paxString(pax, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** Extended attributes carried by pax records (GNU tar --xattrs, libarchive). */
function paxXattrs(pax: Map<string, Uint8Array> | null): Xattr[] {
  const out: Xattr[] = [];
  if (pax) for (const [k, v] of pax) if (k.startsWith(PAX_XATTR)) out.push({ name: k.slice(PAX_XATTR.length), value: v });
  return out;
}

function safeComponents(path: string, tarPath: string): string[] {
  const comps = path.split('/').filter((c) => c !== '' && c !== '.');
  for (const c of comps) if (c === '..') throw new XylemError(`${tarPath}: refusing path with '..': ${path}`);
  return comps;
}

/** Imports every entry of the tar file at `tarPath` into `tree`. */
export async function importTarball(ctx: ImportContext, tarPath: string, tree: MutableTree): Promise<void> {
  const data = await ctx.txn.repo.fs.readFile(tarPath);
  let off = 0;
  let longName: string | null = null;
  let longLink: string | null = null;
  let pax: Map<string, Uint8Array> | null = null;
  const dirMetaFor = async (rel: string, mode: number, uid: number, gid: number, xattrs: Xattr[] = []) => {
    const m = applyModifier(ctx, rel, { uid, gid, mode: S_IFDIR | (mode & 0o7777) }) ?? { uid, gid, mode: S_IFDIR | (mode & 0o7777) };
    return ctx.txn.writeMetadata(ObjectType.DirMeta, encodeDirMeta({ ...m, xattrs: xattrsOf(rel, m.mode, xattrs) }));
  };
  // What is committed: the entry's xattrs (in name order) with the modifier's SELinux label.
  const xattrsOf = (rel: string, mode: number, xattrs: Xattr[]): Xattr[] =>
    finalXattrs(ctx, rel, mode, ctx.storeXattrs ? [...xattrs].sort((a, b) => compareBytes(utf8(a.name), utf8(b.name))) : []);
  const walk = async (comps: string[]): Promise<MutableTree> => {
    let t = tree;
    for (let k = 0; k < comps.length; k++) {
      const c = comps[k]!;
      const exists = t.dirs.has(c);
      t = await t.ensureDir(c);
      if (!exists && t.metaChecksum === null) t.metaChecksum = await dirMetaFor('/' + comps.slice(0, k + 1).join('/'), 0o755, 0, 0);
    }
    return t;
  };
  const hardlinks = new Map<string, string>();
  while (off + 512 <= data.length) {
    const h = data.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = paxNumber(pax, 'size') ?? octal(h, 124, 12);
    if (off + 512 + size > data.length) throw new XylemError(`${tarPath}: truncated tar entry at offset ${off}`);
    const body = data.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    const type = String.fromCharCode(h[156]!) || '0';
    if (type === 'L') {
      longName = field(body, 0, body.length);
      continue;
    }
    if (type === 'K') {
      longLink = field(body, 0, body.length);
      continue;
    }
    if (type === 'x') {
      pax = parsePax(body, tarPath);
      continue;
    }
    if (type === 'g') continue;
    const prefix = field(h, 345, 155);
    // libarchive (which ostree uses) converts pax UTF-8 names to NFC; so do we, for equal trees.
    let name = paxString(pax, 'path')?.normalize('NFC') ?? longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    const link = paxString(pax, 'linkpath')?.normalize('NFC') ?? longLink ?? field(h, 157, 100);
    const xattrs = paxXattrs(pax);
    const rawUid = paxNumber(pax, 'uid') ?? octal(h, 108, 8);
    const rawGid = paxNumber(pax, 'gid') ?? octal(h, 116, 8);
    longName = longLink = null;
    pax = null;
    const mode = octal(h, 100, 8) & 0o7777;
    const comps = safeComponents(name, tarPath);
    if (comps.length === 0) {
      if (type === '5') tree.metaChecksum = await dirMetaFor('/', mode, rawUid, rawGid, xattrs);
      continue;
    }
    name = comps.join('/');
    const parent = await walk(comps.slice(0, -1));
    const leaf = comps[comps.length - 1]!;
    if (type === '5') {
      const d = await parent.ensureDir(leaf);
      d.metaChecksum = await dirMetaFor('/' + name, mode, rawUid, rawGid, xattrs);
    } else if (type === '0' || type === '\0' || type === '7') {
      const m = applyModifier(ctx, '/' + name, { uid: rawUid, gid: rawGid, mode: S_IFREG | mode });
      if (!m) continue;
      const csum = await ctx.txn.writeContent({ ...m, rdev: 0, symlinkTarget: '', xattrs: xattrsOf('/' + name, S_IFREG | mode, xattrs) }, body);
      hardlinks.set(name, csum);
      await parent.setFile(leaf, csum);
    } else if (type === '2') {
      const m = applyModifier(ctx, '/' + name, { uid: rawUid, gid: rawGid, mode: S_IFLNK | 0o777 });
      if (!m) continue;
      const csum = await ctx.txn.writeContent({ ...m, rdev: 0, symlinkTarget: link, xattrs: xattrsOf('/' + name, S_IFLNK | 0o777, xattrs) }, new Uint8Array(0));
      await parent.setFile(leaf, csum);
    } else if (type === '1') {
      const target = safeComponents(link, tarPath).join('/');
      const csum = hardlinks.get(target);
      if (!csum) throw new XylemError(`${tarPath}: hardlink ${name} to unknown entry ${link}`);
      await parent.setFile(leaf, csum);
    } else {
      throw new XylemError(`${tarPath}: unsupported tar entry type '${type}' for ${name}`);
    }
  }
}
