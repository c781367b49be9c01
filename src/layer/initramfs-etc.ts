// The /etc overlay initrd of `initramfs-etc --track` (rpm-ostree's rust/src/initramfs.rs,
// generate_initramfs_overlay): the tracked files of the running system's /etc — every leading
// directory, and a tracked directory with everything under it — archived as a newc cpio
// (names `etc/…`, sorted, as `cpio --create --format newc --reproducible` writes them: inodes
// renumbered from 1, device numbers zero, each entry's own mode, owner and mtime) and gzip'd (-1).
// The kernel unpacks it over dracut's initramfs, so /etc/crypttab & co. reach the early boot.
// Hostile input: paths must be canonical and under /etc; only regular files, symlinks (archived
// as links, never followed) and directories; a symlink on the way to a tracked path is refused,
// so nothing outside /etc can be pulled in; counts and sizes are capped before reading.

import { gzipSync } from 'fflate';
import type { FsHost, Stat } from '../host.ts';
import { concatBytes } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { normalizeEtcPath } from './initramfs-origin.ts';

/** Entries one overlay may hold. */
export const MAX_ETC_ENTRIES = 10_000;
/** Total bytes of file contents one overlay may hold. */
export const MAX_ETC_BYTES = 64 * 1024 * 1024;

const enc = new TextEncoder();
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

export interface EtcEntry {
  /** Path relative to /etc (`crypttab`, `dracut.conf.d/x.conf`). */
  rel: string;
  stat: Stat;
}

function typeBits(st: Stat): number {
  return st.kind === 'dir' ? S_IFDIR : st.kind === 'symlink' ? S_IFLNK : S_IFREG;
}

/**
 * Every path the overlay holds for `tracked` (absolute /etc paths) under `etcDir`: the leading
 * directories, the tracked paths, and whatever lies under tracked directories; sorted by name.
 */
export async function gatherEtcEntries(fs: FsHost, etcDir: string, tracked: readonly string[]): Promise<EtcEntry[]> {
  if (!Array.isArray(tracked)) throw new TypeError('gatherEtcEntries: tracked must be an array of /etc paths');
  const seen = new Map<string, Stat>();
  const add = (rel: string, st: Stat) => {
    if (seen.has(rel)) return;
    if (seen.size >= MAX_ETC_ENTRIES) throw new XylemError(`initramfs-etc: more than ${MAX_ETC_ENTRIES} files to include`, 'E2BIG');
    seen.set(rel, st);
  };
  const recurse = async (rel: string): Promise<void> => {
    const st = await fs.lstat(joinPath(etcDir, rel));
    if (!st) throw new XylemError(`initramfs-etc: Adding /etc/${rel}: No such file or directory`, 'ENOENT');
    if (st.kind !== 'file' && st.kind !== 'symlink' && st.kind !== 'dir') throw new XylemError(`initramfs-etc: Adding /etc/${rel}: Invalid non-regfile/symlink/directory`, 'EINVAL');
    add(rel, st);
    if (st.kind === 'dir') for (const e of await fs.readdir(joinPath(etcDir, rel))) await recurse(`${rel}/${e.name}`);
  };
  for (const t of tracked) {
    const norm = normalizeEtcPath(t);
    if (norm !== t) throw new XylemError(`initramfs-etc: invalid path ${t}: must be canonical`, 'EINVAL');
    const parts = norm.split('/').slice(2);
    // The leading directories (the kernel creates none), each a real directory, not a link.
    for (let i = 1; i < parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const st = await fs.lstat(joinPath(etcDir, rel));
      if (!st) throw new XylemError(`initramfs-etc: Adding ${norm}: /etc/${rel}: No such file or directory`, 'ENOENT');
      if (st.kind === 'symlink') throw new XylemError(`initramfs-etc: Adding ${norm}: /etc/${rel} is a symbolic link; track the path it points to`, 'ELOOP');
      if (st.kind !== 'dir') throw new XylemError(`initramfs-etc: Adding ${norm}: /etc/${rel}: Not a directory`, 'ENOTDIR');
      add(rel, st);
    }
    await recurse(parts.join('/'));
  }
  return [...seen.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([rel, stat]) => ({ rel, stat }));
}

function header(name: string, ino: number, mode: number, uid: number, gid: number, nlink: number, mtime: number, size: number): Uint8Array {
  const hex = (n: number) => (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
  const nameBytes = enc.encode(`${name}\0`);
  const fields = [ino, mode, uid, gid, nlink, mtime, size, 0, 0, 0, 0, nameBytes.length, 0];
  const head = enc.encode(`070701${fields.map(hex).join('')}`);
  const used = head.length + nameBytes.length;
  return concatBytes([head, nameBytes, new Uint8Array((4 - (used % 4)) % 4)]);
}

const pad4 = (n: number) => new Uint8Array((4 - (n % 4)) % 4);

/** The uncompressed newc archive of `entries` (read from `etcDir`). */
export async function etcCpio(fs: FsHost, etcDir: string, entries: readonly EtcEntry[]): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  let ino = 1;
  for (const { rel, stat } of entries) {
    const mode = typeBits(stat) | (stat.mode & 0o7777);
    const mtime = Math.max(0, Math.floor(stat.mtimeMs / 1000));
    let data: Uint8Array = new Uint8Array(0);
    if (stat.kind === 'file') {
      total += stat.size;
      if (total > MAX_ETC_BYTES) throw new XylemError(`initramfs-etc: the tracked files hold more than ${MAX_ETC_BYTES} bytes`, 'E2BIG');
      data = await fs.readFile(joinPath(etcDir, rel));
      if (data.length !== stat.size) throw new XylemError(`initramfs-etc: /etc/${rel} changed while it was read`, 'EAGAIN');
    } else if (stat.kind === 'symlink') data = enc.encode(await fs.readlink(joinPath(etcDir, rel)));
    const nlink = stat.kind === 'dir' ? 2 : 1;
    parts.push(header(`etc/${rel}`, ino++, mode, stat.uid, stat.gid, nlink, mtime, data.length), data, pad4(data.length));
  }
  parts.push(header('TRAILER!!!', 0, 0, 0, 0, 1, 0, 0));
  return concatBytes(parts);
}

/** The overlay initrd bytes for `tracked` (gzip -1 of the newc archive, gzip mtime 0). */
export async function buildEtcOverlay(fs: FsHost, etcDir: string, tracked: readonly string[]): Promise<Uint8Array> {
  const st = await fs.lstat(etcDir);
  if (!st || st.kind !== 'dir') throw new XylemError(`initramfs-etc: ${etcDir}: not a directory`, 'ENOTDIR');
  const entries = await gatherEtcEntries(fs, etcDir, tracked);
  return gzipSync(await etcCpio(fs, etcDir, entries), { level: 1, mtime: 0 });
}
