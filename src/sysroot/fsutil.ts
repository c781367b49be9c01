// Filesystem steps the sysroot code repeats: atomic writes and symlink swaps (temp + fsync +
// rename), recursive copies that keep modes/owners/xattrs (for /etc), and small readers.

import type { FsHost } from '../host.ts';
import { randomSuffix, writeFileAtomic } from '../util/atomic-write.ts';
import { dirname, joinPath, pathComponents } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { fromUtf8, utf8 } from '../util/bytes.ts';

export { writeFileAtomic };

/** Small text files (origin, os-release, boot entries) larger than this are refused. */
export const MAX_SMALL_FILE = 1 << 20;

/** Reads a small text file; null when it does not exist. */
export async function readSmallText(fs: FsHost, path: string): Promise<string | null> {
  const st = await fs.lstat(path);
  if (!st) return null;
  if (st.kind !== 'file') throw new XylemError(`${path}: not a regular file`);
  if (st.size > MAX_SMALL_FILE) throw new XylemError(`${path}: too large (${st.size} bytes)`);
  const data = await fs.readFile(path);
  if (data.length > MAX_SMALL_FILE) throw new XylemError(`${path}: too large (${data.length} bytes)`);
  try {
    return fromUtf8(data);
  } catch {
    throw new XylemError(`${path}: not valid UTF-8`);
  }
}

export async function writeTextAtomic(fs: FsHost, path: string, text: string, mode = 0o644, fsync = true): Promise<void> {
  await writeFileAtomic(fs, path, utf8(text), { mode, fsync });
}

/** Points `path` at `target` atomically (a temp symlink renamed over it); fsyncs the directory. */
export async function symlinkAtomic(fs: FsHost, target: string, path: string, fsync = true): Promise<void> {
  const dir = dirname(path);
  const tmp = joinPath(dir, `.tmp-link-${randomSuffix()}`);
  await fs.symlink(target, tmp);
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
  if (fsync) await fs.fsyncDir(dir);
}

/** readlink, or null when the path is missing or not a symlink. */
export async function readlinkOrNull(fs: FsHost, path: string): Promise<string | null> {
  const st = await fs.lstat(path);
  if (!st || st.kind !== 'symlink') return null;
  return fs.readlink(path);
}

/** Symlinks followed while resolving one path before giving up (the kernel's limit). */
const MAX_SYMLINKS = 40;

/**
 * Resolves `rel` inside the directory `root` the way openat2(RESOLVE_IN_ROOT) does: symlinks
 * are followed, but an absolute target starts again at `root` and '..' never climbs above it,
 * so the result is always `root` or below it. Returns null when a component is missing (or a
 * non-directory has to be walked through); the last component may be any kind of entry.
 */
export async function resolveInRoot(fs: FsHost, root: string, rel: string): Promise<string | null> {
  let pending = pathComponents(rel);
  const cur: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      cur.pop();
      continue;
    }
    const p = joinPath(root, ...cur, c);
    const st = await fs.lstat(p);
    if (!st) return null;
    if (st.kind === 'symlink') {
      if (++links > MAX_SYMLINKS) throw new XylemError(`${joinPath(root, rel)}: Too many levels of symbolic links`);
      const target = await fs.readlink(p);
      if (target.startsWith('/')) cur.length = 0;
      pending = [...pathComponents(target), ...pending];
      continue;
    }
    if (pending.length > 0 && st.kind !== 'dir') return null;
    cur.push(c);
  }
  return cur.length === 0 ? root : joinPath(root, ...cur);
}

/** mkdir that tolerates an existing directory. */
export async function ensureDir(fs: FsHost, path: string, mode = 0o755): Promise<void> {
  try {
    await fs.mkdir(path, { mode });
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw e;
    const st = await fs.stat(path);
    if (st?.kind !== 'dir') throw new XylemError(`${path}: exists and is not a directory`);
  }
}

async function copyXattrs(fs: FsHost, from: string, to: string): Promise<void> {
  if (!fs.xattrs) return;
  let names: string[];
  try {
    names = await fs.xattrs.list(from);
  } catch {
    return;
  }
  for (const n of names) {
    const v = await fs.xattrs.get(from, n);
    if (v) await fs.xattrs.set(to, n, v).catch(() => undefined);
  }
}

export interface CopyOptions {
  /** Copy extended attributes (default true). */
  xattrs?: boolean;
  /** Change owners to the source's (default true; needs root). */
  owners?: boolean;
}

/**
 * Copies one entry (file, symlink or directory tree) from `from` to `to` (which must not
 * exist), keeping modes, owners and xattrs. Other file types are refused.
 */
export async function copyEntry(fs: FsHost, from: string, to: string, opts: CopyOptions = {}): Promise<void> {
  const st = await fs.lstat(from);
  if (!st) throw new XylemError(`${from}: No such file or directory`);
  const owners = opts.owners !== false;
  const xattrs = opts.xattrs !== false;
  if (st.kind === 'dir') {
    await fs.mkdir(to, { mode: 0o700 });
    for (const e of await fs.readdir(from)) await copyEntry(fs, joinPath(from, e.name), joinPath(to, e.name), opts);
    if (owners) await fs.lchown(to, st.uid, st.gid);
    await fs.chmod(to, st.mode & 0o7777);
    if (xattrs) await copyXattrs(fs, from, to);
  } else if (st.kind === 'symlink') {
    await fs.symlink(await fs.readlink(from), to);
    if (owners) await fs.lchown(to, st.uid, st.gid);
    if (xattrs) await copyXattrs(fs, from, to);
  } else if (st.kind === 'file') {
    await fs.copyFile(from, to);
    if (owners) await fs.lchown(to, st.uid, st.gid);
    await fs.chmod(to, st.mode & 0o7777);
    if (xattrs) await copyXattrs(fs, from, to);
  } else {
    throw new XylemError(`Unsupported non-regular/non-symlink file '${from}'`);
  }
}

/** Copies a file to `to` through a temp name in the same directory (never a partial file). */
/** Durability comes from the syncFilesystem/fsyncDir the caller does before publishing. */
export async function copyFileAtomic(fs: FsHost, from: string, to: string, mode: number): Promise<void> {
  const tmp = joinPath(dirname(to), `.tmp-${randomSuffix()}`);
  try {
    await fs.copyFile(from, tmp);
    await fs.chmod(tmp, mode);
    await fs.rename(tmp, to);
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Hardlinks `from` to `to` when both are on one filesystem, else copies it (atomically). */
export async function linkOrCopy(fs: FsHost, from: string, to: string, mode: number): Promise<void> {
  try {
    await fs.link(from, to);
    return;
  } catch (e) {
    const c = errnoCode(e);
    if (c !== 'EXDEV' && c !== 'EPERM' && c !== 'EMLINK') throw e;
  }
  await copyFileAtomic(fs, from, to, mode);
}

/** Makes every earlier write under `path` durable (syncfs when the host has it). */
export async function syncFilesystem(fs: FsHost, path: string): Promise<void> {
  if (fs.syncfs) await fs.syncfs(path);
}
