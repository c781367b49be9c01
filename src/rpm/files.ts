// A package's file list from the header's parallel arrays (one slot per file, directories and
// %ghost files included): path = DIRNAMES[DIRINDEXES[i]] + BASENAMES[i] (OLDFILENAMES in ancient
// packages), sizes from LONGFILESIZES when present, modes (INT16, full st_mode), owners by name,
// digests per FILEDIGESTALGO, symlink targets, FILEFLAGS decoded, capabilities, hardlink identity
// (device, inode) and languages — what `rpm -qp --qf '[…]'` and rpm's rpmfiles read. Every array
// must have one slot per file; a package whose arrays disagree is refused.

import { RpmError, RpmErrorCode } from './errors.ts';
import type { RpmHeader } from './header.ts';
import { DigestAlgo, FileFlag, Tag } from './tags.ts';

/** One file of a package, as its header describes it. */
export interface RpmFile {
  /** Position in the header arrays (what a `07070X` cpio entry names). */
  index: number;
  /** Absolute path (`/usr/bin/x`). */
  path: string;
  /** Full st_mode (type bits and permissions). */
  mode: number;
  size: number;
  user: string;
  group: string;
  mtime: number;
  /** Hex digest of a regular file's content per the package's digest algorithm; '' otherwise. */
  digest: string;
  /** Symlink target; '' for other files. */
  linkto: string;
  /** FILEFLAGS bits (see FileFlag). */
  flags: number;
  config: boolean;
  noreplace: boolean;
  missingok: boolean;
  ghost: boolean;
  doc: boolean;
  license: boolean;
  readme: boolean;
  artifact: boolean;
  verifyFlags: number;
  /** Capabilities in text form (`cap_net_raw=ep`), '' when none. */
  caps: string;
  device: number;
  inode: number;
  rdev: number;
  /** Language ('' for all languages). */
  lang: string;
  color: number;
}

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

/** The package's file digest algorithm (FILEDIGESTALGO; MD5 when absent). */
export function fileDigestAlgo(h: RpmHeader): number {
  const a = h.getNumber(Tag.FILEDIGESTALGO) ?? DigestAlgo.MD5;
  return a;
}

/** Number of files the header lists. */
export function fileCount(h: RpmHeader): number {
  if (h.has(Tag.BASENAMES)) return h.entry(Tag.BASENAMES)!.count;
  if (h.has(Tag.OLDFILENAMES)) return h.entry(Tag.OLDFILENAMES)!.count;
  return 0;
}

/** The files' paths, in header order. */
export function readFilePaths(h: RpmHeader): string[] {
  const basenames = h.getStringArray(Tag.BASENAMES);
  if (basenames === undefined) return h.getStringArray(Tag.OLDFILENAMES) ?? [];
  const dirnames = h.getStringArray(Tag.DIRNAMES) ?? [];
  const dirindexes = h.getNumbers(Tag.DIRINDEXES) ?? [];
  if (dirindexes.length !== basenames.length) throw new RpmError(RpmErrorCode.HEADER, h.pkg, `file list: ${basenames.length} basenames but ${dirindexes.length} dirindexes`);
  const out = new Array<string>(basenames.length);
  for (let i = 0; i < basenames.length; i++) {
    const d = dirindexes[i]!;
    if (d >= dirnames.length) throw new RpmError(RpmErrorCode.HEADER, h.pkg, `file list: file ${i} names directory ${d} of ${dirnames.length}`);
    out[i] = dirnames[d]! + basenames[i]!;
  }
  return out;
}

function column<T>(h: RpmHeader, tag: number, n: number, name: string, read: (tag: number) => T[] | undefined, fill: T): T[] {
  const v = read(tag);
  if (v === undefined) return new Array<T>(n).fill(fill);
  if (v.length !== n) throw new RpmError(RpmErrorCode.HEADER, h.pkg, `file list: ${name} has ${v.length} entries for ${n} files`);
  return v;
}

/** The file list in header order. */
export function readFiles(h: RpmHeader): RpmFile[] {
  const paths = readFilePaths(h);
  const n = paths.length;
  const nums = (t: number) => h.getNumbers(t);
  const strs = (t: number) => h.getStringArray(t);
  const sizes = h.has(Tag.LONGFILESIZES)
    ? column(h, Tag.LONGFILESIZES, n, 'LONGFILESIZES', (t) => h.getSafeNumbers(t), 0)
    : column(h, Tag.FILESIZES, n, 'FILESIZES', nums, 0);
  const modes = column(h, Tag.FILEMODES, n, 'FILEMODES', nums, 0);
  const rdevs = column(h, Tag.FILERDEVS, n, 'FILERDEVS', nums, 0);
  const mtimes = column(h, Tag.FILEMTIMES, n, 'FILEMTIMES', nums, 0);
  const digests = column(h, Tag.FILEDIGESTS, n, 'FILEDIGESTS', strs, '');
  const linktos = column(h, Tag.FILELINKTOS, n, 'FILELINKTOS', strs, '');
  const flags = column(h, Tag.FILEFLAGS, n, 'FILEFLAGS', nums, 0);
  const users = column(h, Tag.FILEUSERNAME, n, 'FILEUSERNAME', strs, 'root');
  const groups = column(h, Tag.FILEGROUPNAME, n, 'FILEGROUPNAME', strs, 'root');
  const vflags = column(h, Tag.FILEVERIFYFLAGS, n, 'FILEVERIFYFLAGS', nums, 0xffffffff);
  const devices = column(h, Tag.FILEDEVICES, n, 'FILEDEVICES', nums, 0);
  const inodes = column(h, Tag.FILEINODES, n, 'FILEINODES', nums, 0);
  const langs = column(h, Tag.FILELANGS, n, 'FILELANGS', strs, '');
  const colors = column(h, Tag.FILECOLORS, n, 'FILECOLORS', nums, 0);
  const caps = column(h, Tag.FILECAPS, n, 'FILECAPS', strs, '');
  const out = new Array<RpmFile>(n);
  for (let i = 0; i < n; i++) {
    const f = flags[i]!;
    out[i] = {
      index: i,
      path: paths[i]!,
      mode: modes[i]!,
      size: sizes[i]!,
      user: users[i]!,
      group: groups[i]!,
      mtime: mtimes[i]!,
      digest: digests[i]!,
      linkto: linktos[i]!,
      flags: f,
      config: (f & FileFlag.CONFIG) !== 0,
      noreplace: (f & FileFlag.NOREPLACE) !== 0,
      missingok: (f & FileFlag.MISSINGOK) !== 0,
      ghost: (f & FileFlag.GHOST) !== 0,
      doc: (f & FileFlag.DOC) !== 0,
      license: (f & FileFlag.LICENSE) !== 0,
      readme: (f & FileFlag.README) !== 0,
      artifact: (f & FileFlag.ARTIFACT) !== 0,
      verifyFlags: vflags[i]!,
      caps: caps[i]!,
      device: devices[i]!,
      inode: inodes[i]!,
      rdev: rdevs[i]!,
      lang: langs[i]!,
      color: colors[i]!,
    };
  }
  return out;
}

/** The kind of a file from its mode. */
export function fileKind(mode: number): 'file' | 'dir' | 'symlink' | 'other' {
  const t = mode & S_IFMT;
  return t === S_IFREG ? 'file' : t === S_IFDIR ? 'dir' : t === S_IFLNK ? 'symlink' : 'other';
}

/**
 * Hardlink sets: regular files sharing (device, inode), as index lists in header order. Only sets
 * of two or more files are returned. rpm writes the content once, with the set's last cpio entry.
 */
export function hardlinkSets(files: readonly RpmFile[]): number[][] {
  const byId = new Map<string, number[]>();
  for (const f of files) {
    if (fileKind(f.mode) !== 'file' || f.ghost) continue;
    const k = `${f.device}:${f.inode}`;
    const l = byId.get(k);
    if (l) l.push(f.index);
    else byId.set(k, [f.index]);
  }
  return [...byId.values()].filter((l) => l.length > 1);
}
