// The "tricky tree": a directory exercising every corner of what OSTree stores (empty and 0700
// dirs, dangling/absolute/relative symlinks, hardlinks, setuid/setgid/sticky bits, foreign
// owners, unicode and 255-byte names, empty and >64 MiB files, user.* xattrs on files and dirs),
// and a manifest of a directory (type, mode, owner, size, sha256, link target, xattrs, hardlink
// groups) to compare a checkout with its source or with the other tool's checkout.
// Building it needs root (chown) and a filesystem with user xattrs; xattrs are set and read with
// setfattr/getfattr so that the oracle does not depend on xylem's own xattr code.

import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
  writeSync,
  ftruncateSync,
  createReadStream,
} from 'node:fs';
import { join } from 'node:path';

export interface TrickyTreeOptions {
  /** Add a file of BIG_FILE_SIZE bytes (slow to commit; default false). */
  bigFile?: boolean;
  /** Set user.* xattrs (default true). */
  xattrs?: boolean;
  /** chown entries to foreign uids/gids (default true; needs root). */
  owners?: boolean;
  /** Use setuid/setgid/sticky bits (default true). */
  specialBits?: boolean;
}

/** Size of the big file: over 64 MiB, not a multiple of any block size. */
export const BIG_FILE_SIZE = 64 * 1024 * 1024 + 12_345;

/** A 255-byte ASCII name (NAME_MAX) and a 255-byte multi-byte UTF-8 name. */
export const LONG_ASCII_NAME = 'L'.repeat(251) + '.txt';
export const LONG_UTF8_NAME = 'é'.repeat(127) + 'x';

function setXattr(path: string, name: string, hexValue: string): void {
  const r = spawnSync('setfattr', ['-h', '-n', name, '-v', `0x${hexValue}`, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`setfattr ${name} on ${path}: ${r.stderr || r.error?.message}`);
}

function setXattrEmpty(path: string, name: string): void {
  const r = spawnSync('setfattr', ['-h', '-n', name, path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`setfattr ${name} on ${path}: ${r.stderr || r.error?.message}`);
}

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

/** Writes a big file: a repeating pseudo-random pattern with a hole of zeros in the middle. */
export function writeBigFile(path: string, size = BIG_FILE_SIZE): void {
  // A 8191-byte xorshift pattern: real, non-zero content that DEFLATE still compresses quickly.
  const period = 8191;
  const pattern = Buffer.alloc(period);
  let x = 0x9e3779b9;
  for (let i = 0; i < period; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pattern[i] = x & 0xff;
  }
  const chunk = Buffer.alloc(period * 128);
  for (let i = 0; i < 128; i++) pattern.copy(chunk, i * period);
  const fd = openSync(path, 'w', 0o644);
  try {
    ftruncateSync(fd, size);
    const holeStart = 24 * 1024 * 1024;
    const holeEnd = 32 * 1024 * 1024;
    let pos = 0;
    let n = 0;
    while (pos < size) {
      if (pos >= holeStart && pos < holeEnd) {
        pos = holeEnd;
        continue;
      }
      const len = Math.min(chunk.length, size - pos, pos < holeStart ? holeStart - pos : Infinity);
      // Stamp the chunk number so chunks differ from each other.
      chunk.writeUInt32LE(n++, 0);
      writeSync(fd, chunk, 0, len, pos);
      pos += len;
    }
  } finally {
    closeSync(fd);
  }
}

/** Builds the tricky tree at `root` (which must not exist). Returns `root`. */
export function buildTrickyTree(root: string, opts: TrickyTreeOptions = {}): string {
  const xattrs = opts.xattrs ?? true;
  const owners = opts.owners ?? true;
  const special = opts.specialBits ?? true;
  const p = (...parts: string[]): string => join(root, ...parts);
  const file = (rel: string, content: string | Buffer, mode = 0o644): void => {
    writeFileSync(p(rel), content);
    chmodSync(p(rel), mode);
  };
  const dir = (rel: string, mode = 0o755): void => {
    mkdirSync(p(rel), { recursive: true });
    chmodSync(p(rel), mode);
  };

  dir('');
  dir('empty');
  dir('private', 0o700);
  file('private/secret', 'top secret\n', 0o600);
  dir('dirs/nested/deep');
  file('dirs/nested/deep/leaf.txt', 'leaf\n');
  dir('links');
  symlinkSync('does-not-exist', p('links/dangling'));
  symlinkSync('/etc/hostname', p('links/absolute'));
  symlinkSync('/nonexistent/absolute/dangling', p('links/absolute-dangling'));
  symlinkSync('../files/plain.txt', p('links/relative'));
  symlinkSync('../dirs', p('links/to-dir'));
  symlinkSync('ünï-target', p('links/unicode-target'));
  dir('files');
  file('files/plain.txt', 'plain text\n');
  file('files/exec.sh', '#!/bin/sh\necho hi\n', 0o755);
  file('files/readonly', 'read only\n', 0o444);
  file('files/zero', '');
  file('files/hardlink-a', 'shared by hardlinks\n');
  linkSync(p('files/hardlink-a'), p('files/hardlink-b'));
  linkSync(p('files/hardlink-a'), p('dirs/nested/hardlink-c'));
  file('files/identical-1', 'same content, separate inodes\n');
  file('files/identical-2', 'same content, separate inodes\n');
  file('files/binary', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff)));
  file('files/name with spaces', 'spaces\n');
  file('files/-leading-dash', 'dash\n');
  file('files/*?[glob]', 'glob\n');
  dir('unicode/目录');
  file('unicode/ünïcödé-ファイル-😀.txt', 'unicode\n');
  file('unicode/目录/файл', 'cyrillic\n');
  file('unicode/e\u0301-decomposed', 'nfd\n');
  file('unicode/\u00e9-composed', 'nfc\n');
  dir('long');
  file(`long/${LONG_ASCII_NAME}`, 'long ascii name\n');
  file(`long/${LONG_UTF8_NAME}`, 'long utf-8 name\n');
  if (special) {
    dir('modes');
    file('modes/setuid', 'suid\n', 0o4755);
    file('modes/setgid', 'sgid\n', 0o2755);
    file('modes/setuid-setgid', 'both\n', 0o6750);
    file('modes/sticky-file', 'sticky\n', 0o1644);
    dir('modes/setgid-dir', 0o2775);
    dir('modes/sticky-dir', 0o1777);
    file('modes/sticky-dir/inside', 'in sticky\n');
  }
  if (owners) {
    dir('owned', 0o750);
    file('owned/file', 'owned by someone else\n', 0o640);
    file('owned/group-only', 'group\n', 0o664);
    symlinkSync('file', p('owned/link'));
    lchownSync(p('owned/file'), 1234, 5678);
    lchownSync(p('owned/group-only'), 0, 4242);
    lchownSync(p('owned/link'), 1111, 2222);
    lchownSync(p('owned'), 4321, 8765);
    if (special) {
      // chown clears setuid/setgid: set the bits afterwards.
      writeFileSync(p('owned/setuid-foreign'), 'suid foreign\n');
      lchownSync(p('owned/setuid-foreign'), 1234, 5678);
      chmodSync(p('owned/setuid-foreign'), 0o4750);
    }
  }
  if (xattrs) {
    setXattr(p('files/plain.txt'), 'user.test', hex('hello'));
    setXattr(p('files/plain.txt'), 'user.binary', '00ff0a2f');
    setXattrEmpty(p('files/exec.sh'), 'user.empty');
    setXattr(p('files/hardlink-a'), 'user.shared', hex('on all links'));
    setXattr(p('dirs'), 'user.dirattr', hex('directory attr'));
    setXattr(p('empty'), 'user.in-empty', hex('x'));
    setXattr(p('unicode/ünïcödé-ファイル-😀.txt'), 'user.ünï', hex('ünï value'));
    setXattr(p(''), 'user.root', hex('root dir'));
    // Two files differing only in xattrs must be distinct objects.
    file('files/xattr-twin-1', 'twin\n');
    file('files/xattr-twin-2', 'twin\n');
    setXattr(p('files/xattr-twin-1'), 'user.twin', hex('1'));
  }
  if (opts.bigFile) {
    dir('big');
    writeBigFile(p('big/huge.bin'));
  }
  // Last, so that building the tree did not need to write into it.
  chmodSync(p(''), 0o755);
  return root;
}

/** One entry of a manifest. */
export interface ManifestEntry {
  path: string;
  type: 'dir' | 'file' | 'symlink' | 'other';
  /** Permission bits including setuid/setgid/sticky. */
  mode: string;
  uid: number;
  gid: number;
  /** Files: byte size; others 0. */
  size: number;
  sha256?: string;
  target?: string;
  /** user.* xattrs, sorted, as name=hex. */
  xattrs?: string[];
  /** Files: index of the hardlink group (paths sharing an inode), when asked for. */
  linkGroup?: number;
}

export interface ManifestOptions {
  /** Record user.* xattrs (default true). */
  xattrs?: boolean;
  /** Record owners (default true). */
  owners?: boolean;
  /** Record hardlink groups (default false). */
  hardlinks?: boolean;
  /** Drop these xattr names (e.g. user.ostreemeta). */
  ignoreXattrs?: string[];
  /** Paths (relative, '' = root) to leave out. */
  skip?: (rel: string) => boolean;
}

function sha256File(path: string, size: number): Promise<string> | string {
  if (size <= 8 * 1024 * 1024) return createHash('sha256').update(readFileSync(path)).digest('hex');
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** Decodes getfattr's \ooo escapes in a path into a UTF-8 string. */
function unescapeGetfattr(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Reads every user.* xattr under `root` (not following symlinks): absolute path → sorted list. */
export function readUserXattrs(root: string): Map<string, string[]> {
  const r = spawnSync('getfattr', ['-R', '-h', '-d', '-m', '^user\\.', '-e', 'hex', '--absolute-names', root], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0 && r.status !== 1) throw new Error(`getfattr failed: ${r.stderr}`);
  const out = new Map<string, string[]>();
  let current: string | null = null;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = unescapeGetfattr(line.slice(8));
      out.set(current, []);
    } else if (line && current !== null) {
      const eq = line.indexOf('=');
      const name = unescapeGetfattr(eq < 0 ? line : line.slice(0, eq));
      const value = eq < 0 ? '' : line.slice(eq + 1).replace(/^0x/, '');
      out.get(current)!.push(`${name}=${value}`);
    }
  }
  for (const v of out.values()) v.sort();
  return out;
}

/** Builds the manifest of the tree at `root` (root itself is path ''). Sorted by path. */
export async function manifest(root: string, opts: ManifestOptions = {}): Promise<ManifestEntry[]> {
  const wantXattrs = opts.xattrs ?? true;
  const owners = opts.owners ?? true;
  const ignore = new Set(opts.ignoreXattrs ?? []);
  const xattrs = wantXattrs ? readUserXattrs(root) : new Map<string, string[]>();
  const entries: ManifestEntry[] = [];
  const inodes = new Map<string, number>();
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? root : join(root, rel);
    if (opts.skip?.(rel)) return;
    const st = lstatSync(abs);
    const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
    const e: ManifestEntry = {
      path: rel,
      type,
      mode: (st.mode & 0o7777).toString(8).padStart(4, '0'),
      uid: owners ? st.uid : 0,
      gid: owners ? st.gid : 0,
      size: type === 'file' ? st.size : 0,
    };
    if (type === 'file') {
      e.sha256 = await sha256File(abs, st.size);
      if (opts.hardlinks) {
        const key = `${st.dev}:${st.ino}`;
        if (!inodes.has(key)) inodes.set(key, inodes.size);
        e.linkGroup = inodes.get(key)!;
      }
    }
    if (type === 'symlink') e.target = readlinkSync(abs);
    if (wantXattrs) e.xattrs = (xattrs.get(abs) ?? []).filter((x) => !ignore.has(x.slice(0, x.indexOf('='))));
    entries.push(e);
    if (type === 'dir') {
      const names = readdirSync(abs).sort();
      for (const n of names) await walk(rel === '' ? n : `${rel}/${n}`);
    }
  };
  await walk('');
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (opts.hardlinks) {
    // Renumber groups in path order so two manifests compare equal when their structure is.
    const renum = new Map<number, number>();
    for (const e of entries) if (e.linkGroup !== undefined) {
      if (!renum.has(e.linkGroup)) renum.set(e.linkGroup, renum.size);
      e.linkGroup = renum.get(e.linkGroup)!;
    }
  }
  return entries;
}

/** Renders a manifest as lines (nicer diffs in assertion failures). */
export function manifestLines(m: ManifestEntry[]): string[] {
  return m.map((e) => {
    let s = `${e.type} ${e.mode} ${e.uid}:${e.gid} ${e.size}`;
    if (e.sha256) s += ` ${e.sha256.slice(0, 16)}`;
    if (e.target !== undefined) s += ` -> ${e.target}`;
    if (e.xattrs?.length) s += ` {${e.xattrs.join(',')}}`;
    if (e.linkGroup !== undefined) s += ` #${e.linkGroup}`;
    return `${e.path || '.'}: ${s}`;
  });
}
