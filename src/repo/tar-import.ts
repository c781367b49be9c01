// Importing a tarball into a MutableTree (`commit --tree=tar=FILE`): ustar/GNU/pax headers,
// long names, symlinks, hardlinks; hostile paths ('..', absolute escapes) refused.

import type { ImportContext } from './commit.ts';
import type { MutableTree } from './mutable-tree.ts';
import { ObjectType, encodeDirMeta, S_IFDIR, S_IFREG, S_IFLNK } from '../format/objects.ts';
import { XylemError } from '../util/errors.ts';
import { fromUtf8Lossy } from '../util/bytes.ts';

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

function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const s = fromUtf8Lossy(data);
  let i = 0;
  while (i < s.length) {
    const sp = s.indexOf(' ', i);
    if (sp < 0) break;
    const len = parseInt(s.slice(i, sp), 10);
    if (!(len > 0)) break;
    const rec = s.slice(sp + 1, i + len - 1);
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
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
  let pax: Map<string, string> | null = null;
  const dirMetaFor = async (mode: number, uid: number, gid: number) =>
    ctx.txn.writeMetadata(ObjectType.DirMeta, encodeDirMeta({ uid, gid, mode: S_IFDIR | (mode & 0o7777), xattrs: [] }));
  const walk = async (comps: string[]): Promise<MutableTree> => {
    let t = tree;
    for (const c of comps) {
      const exists = t.dirs.has(c);
      t = await t.ensureDir(c);
      if (!exists && t.metaChecksum === null) t.metaChecksum = await dirMetaFor(0o755, 0, 0);
    }
    return t;
  };
  const hardlinks = new Map<string, string>();
  while (off + 512 <= data.length) {
    const h = data.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = octal(h, 124, 12);
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
      pax = parsePax(body);
      continue;
    }
    if (type === 'g') continue;
    const prefix = field(h, 345, 155);
    let name = longName ?? pax?.get('path') ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    const link = longLink ?? pax?.get('linkpath') ?? field(h, 157, 100);
    longName = longLink = null;
    pax = null;
    const mode = octal(h, 100, 8) & 0o7777;
    const uid = ctx.modifier.ownerUid ?? octal(h, 108, 8);
    const gid = ctx.modifier.ownerGid ?? octal(h, 116, 8);
    const comps = safeComponents(name, tarPath);
    if (comps.length === 0) {
      if (type === '5') tree.metaChecksum = await dirMetaFor(mode, uid, gid);
      continue;
    }
    name = comps.join('/');
    const parent = await walk(comps.slice(0, -1));
    const leaf = comps[comps.length - 1]!;
    if (type === '5') {
      const d = await parent.ensureDir(leaf);
      d.metaChecksum = await dirMetaFor(mode, uid, gid);
    } else if (type === '0' || type === '\0' || type === '7') {
      const csum = await ctx.txn.writeContent({ uid, gid, mode: S_IFREG | mode, rdev: 0, symlinkTarget: '', xattrs: [] }, body);
      hardlinks.set(name, csum);
      await parent.setFile(leaf, csum);
    } else if (type === '2') {
      const csum = await ctx.txn.writeContent({ uid, gid, mode: S_IFLNK | 0o777, rdev: 0, symlinkTarget: link, xattrs: [] }, new Uint8Array(0));
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
