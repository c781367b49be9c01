// Where rpm-ostree keeps the rpmdb in a composed tree (rust/src/composepost.rs): the database in
// `usr/share/rpm/rpmdb.sqlite`, the compatibility symlinks `var/lib/rpm → ../../usr/share/rpm` and
// `usr/lib/sysimage/rpm → ../../share/rpm` (whatever was at those paths is removed first), and the
// macro file `usr/lib/rpm/macros.d/macros.rpm-ostree` (`%_dbpath /usr/share/rpm`) so the client's
// rpm finds it. rpm's lock and Berkeley DB leftovers are removed. Every directory on the way must
// be a real directory inside the root: a symlink there (a hostile tree) is refused.

import type { FsHost, Host } from '../host.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { XylemError } from '../util/errors.ts';
import type { InstallOptions } from './installed-header.ts';
import { installedHeader } from './installed-header.ts';
import { readRpmHeadersFromBytes } from './rpm-file.ts';
import type { RpmdbWriteOptions } from './rpmdb.ts';
import { buildRpmdbImage, writeRpmdbImage } from './rpmdb.ts';

export const RPMOSTREE_RPMDB_DIR = 'usr/share/rpm';
export const RPMDB_FILE = 'rpmdb.sqlite';
export const RPMOSTREE_MACRO_FILE = 'usr/lib/rpm/macros.d/macros.rpm-ostree';
/** [link path, target] relative to the root. */
export const RPMDB_LINKS: readonly (readonly [string, string])[] = [
  ['var/lib/rpm', '../../usr/share/rpm'],
  ['usr/lib/sysimage/rpm', '../../share/rpm'],
];
const LEFTOVERS = ['.rpm.lock', '.dbenv.lock'];

/** Makes `root/rel` a directory (0755 when created), refusing symlinks and non-directories on the way. */
async function ensureRealDir(fs: FsHost, root: string, rel: string): Promise<string> {
  let path = root;
  for (const part of rel.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new TypeError(`bad path component in ${rel}`);
    path = `${path}/${part}`;
    const st = await fs.lstat(path);
    if (!st) await fs.mkdir(path, { mode: 0o755 });
    else if (st.kind !== 'dir') throw new XylemError(`${path}: expected a directory, found a ${st.kind}; refusing to write the rpmdb through it`, 'EUNSAFEPATH');
  }
  return path;
}

function parentOf(rel: string): string {
  return rel.slice(0, rel.lastIndexOf('/'));
}

/** What to put in the tree: installed header blobs, or a ready database image. */
export type RpmdbSource = { blobs: Iterable<Uint8Array> } | { image: Uint8Array };

/**
 * Writes the rpmdb of a composed tree at `root` the way rpm-ostree lays it out. Returns the path of
 * the database file.
 */
export async function writeTreeRpmdb(host: Host, root: string, source: RpmdbSource, opts: RpmdbWriteOptions = {}): Promise<string> {
  if (typeof root !== 'string' || root === '') throw new TypeError('writeTreeRpmdb: a root directory is required');
  if (typeof source !== 'object' || source === null) throw new TypeError('writeTreeRpmdb: a source (blobs or image) is required');
  const fs = host.fs;
  const rootStat = await fs.stat(root);
  if (!rootStat || rootStat.kind !== 'dir') throw new XylemError(`${root}: not a directory`, 'ENOTDIR');
  const base = root.endsWith('/') && root !== '/' ? root.slice(0, -1) : root === '/' ? '' : root;
  const image = 'image' in source ? source.image : await buildRpmdbImage(host, source.blobs, opts);
  if (!(image instanceof Uint8Array)) throw new TypeError('writeTreeRpmdb: image must be a Uint8Array');
  const dbDir = await ensureRealDir(fs, base, RPMOSTREE_RPMDB_DIR);
  for (const entry of await fs.readdir(dbDir)) {
    if (LEFTOVERS.includes(entry.name) || entry.name.startsWith('__db.')) await fs.rmrf(`${dbDir}/${entry.name}`);
  }
  const dbFile = `${dbDir}/${RPMDB_FILE}`;
  await writeRpmdbImage(host, dbFile, image);
  for (const [link, target] of RPMDB_LINKS) {
    const dir = await ensureRealDir(fs, base, parentOf(link));
    const path = `${dir}/${link.slice(link.lastIndexOf('/') + 1)}`;
    await fs.rmrf(path);
    await fs.symlink(target, path);
  }
  const macroDir = await ensureRealDir(fs, base, parentOf(RPMOSTREE_MACRO_FILE));
  await writeFileAtomic(fs, `${macroDir}/macros.rpm-ostree`, new TextEncoder().encode(`%_dbpath /${RPMOSTREE_RPMDB_DIR}\n`), { mode: 0o644 });
  return dbFile;
}

/** Options of writeTreeRpmdbFromPackages: the transaction's times and color, and the db's options. */
export interface TreeRpmdbOptions extends RpmdbWriteOptions, Partial<Omit<InstallOptions, 'fileStates'>> {
  /** FILESTATES of package `i` (default: every file NORMAL). */
  fileStates?: (index: number) => Uint8Array | undefined;
}

/**
 * What compose calls after assembling a tree: records `packages` — each the bytes of a package
 * file from its lead through at least the main header (rpm-ostree's `rpmostree.metadata`), in
 * transaction order — as one transaction at `opts.installTime` (default now), laid out as
 * writeTreeRpmdb does. Returns the path of the database file.
 */
export async function writeTreeRpmdbFromPackages(host: Host, root: string, packages: readonly Uint8Array[], opts: TreeRpmdbOptions = {}): Promise<string> {
  if (!Array.isArray(packages)) throw new TypeError('writeTreeRpmdbFromPackages: an array of package bytes is required');
  const installTime = opts.installTime ?? Math.floor((host.now?.() ?? Date.now()) / 1000);
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < packages.length; i++) {
    const pkg = await readRpmHeadersFromBytes(packages[i]!, `package #${i + 1}`);
    const states = opts.fileStates?.(i);
    blobs.push(installedHeader(pkg, { installTime, tid: opts.tid ?? installTime, ...(opts.installColor !== undefined ? { installColor: opts.installColor } : {}), ...(states ? { fileStates: states } : {}) }));
  }
  return writeTreeRpmdb(host, root, { blobs }, opts);
}
