// The /etc three-way merge of a new deployment: what the administrator changed in the merge
// deployment (its usr/etc defaults vs its etc) is replayed onto a copy of the new usr/etc —
// removed entries are deleted, added and modified ones are copied over (the local version wins,
// contents are never merged). Also `config-diff`, which reports that same difference.
// Unlike libostree, nothing is written through a symlink of the new tree: an entry whose parent
// in the new /etc is a symlink (absolute or relative, wherever it points) or not a directory is
// left alone and reported, so a new commit can never redirect the administrator's files (or a
// deletion) outside the new deployment's /etc.

import type { FsHost, Stat } from '../host.ts';
import { joinPath, dirname, pathComponents } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { bytesEqual } from '../util/bytes.ts';
import { copyEntry, type CopyOptions } from './fsutil.ts';

export interface EtcDiff {
  /** Paths relative to etc/, in walk order (names sorted). */
  modified: string[];
  removed: string[];
  added: string[];
}

/** Files compared by content larger than this are read in full anyway, but capped for safety. */
const MAX_COMPARE = 256 * 1024 * 1024;

async function sameContent(fs: FsHost, a: string, b: string, sa: Stat, sb: Stat): Promise<boolean> {
  if (sa.size !== sb.size) return false;
  if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
  if (sa.size > MAX_COMPARE) throw new XylemError(`${a}: too large to compare`);
  return bytesEqual(await fs.readFile(a), await fs.readFile(b));
}

/** Whether two entries of the same kind differ (libostree compares the file checksums, xattrs ignored). */
async function entryDiffers(fs: FsHost, a: string, b: string, sa: Stat, sb: Stat): Promise<boolean> {
  if ((sa.mode & 0o7777) !== (sb.mode & 0o7777) || sa.uid !== sb.uid || sa.gid !== sb.gid) return true;
  if (sa.kind === 'symlink') return (await fs.readlink(a)) !== (await fs.readlink(b));
  if (sa.kind === 'file') return !(await sameContent(fs, a, b, sa, sb));
  return false;
}

/**
 * Differences from `orig` (the defaults) to `mod` (the live /etc): like ostree_diff_dirs with
 * IGNORE_XATTRS. A directory only in `mod` is one "added" entry; a directory only in `orig` one
 * "removed" entry; directories in both are walked.
 */
export async function diffDirs(fs: FsHost, orig: string, mod: string): Promise<EtcDiff> {
  const out: EtcDiff = { modified: [], removed: [], added: [] };
  await walk(fs, orig, mod, '', out);
  return out;
}

async function walk(fs: FsHost, orig: string, mod: string, rel: string, out: EtcDiff): Promise<void> {
  const a = joinPath(orig, rel);
  const b = joinPath(mod, rel);
  const namesA = (await fs.readdir(a)).map((e) => e.name).sort();
  const namesB = new Set((await fs.readdir(b)).map((e) => e.name));
  for (const name of namesA) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const sa = (await fs.lstat(joinPath(orig, r)))!;
    if (sa.kind === 'other') continue; // fifos, sockets, devices are not configuration
    const sb = namesB.has(name) ? await fs.lstat(joinPath(mod, r)) : null;
    if (sb?.kind === 'other') continue;
    if (!sb) {
      out.removed.push(r);
      continue;
    }
    if (sa.kind !== sb.kind) {
      out.modified.push(r);
      continue;
    }
    if (sa.kind === 'dir') {
      if (await entryDiffers(fs, joinPath(orig, r), joinPath(mod, r), sa, sb)) out.modified.push(r);
      await walk(fs, orig, mod, r, out);
    } else if (await entryDiffers(fs, joinPath(orig, r), joinPath(mod, r), sa, sb)) {
      out.modified.push(r);
    }
  }
  const setA = new Set(namesA);
  for (const name of [...namesB].sort()) {
    if (setA.has(name)) continue;
    if ((await fs.lstat(joinPath(mod, rel === '' ? name : `${rel}/${name}`)))?.kind === 'other') continue;
    out.added.push(rel === '' ? name : `${rel}/${name}`);
  }
}

/** Makes the parent folders of `rel` inside `root` exist (copying modes from `like` when it has them). */
async function ensureParents(fs: FsHost, root: string, rel: string, like: string): Promise<void> {
  const parent = dirname(rel);
  if (parent === '.' || parent === '/') return;
  if (await fs.lstat(joinPath(root, parent))) return;
  await ensureParents(fs, root, parent, like);
  const st = await fs.lstat(joinPath(like, parent));
  await fs.mkdir(joinPath(root, parent), { mode: st ? st.mode & 0o7777 : 0o755 });
  if (st) {
    await fs.chmod(joinPath(root, parent), st.mode & 0o7777);
    await fs.lchown(joinPath(root, parent), st.uid, st.gid).catch(() => undefined);
  }
}

/** Copies the admin's version of `rel` from `modEtc` into `newEtc` (libostree's copy_modified_config_file). */
async function copyModified(fs: FsHost, modEtc: string, newEtc: string, rel: string, opts: CopyOptions): Promise<void> {
  const src = joinPath(modEtc, rel);
  const dest = joinPath(newEtc, rel);
  const ss = await fs.lstat(src);
  if (!ss) return;
  const ds = await fs.lstat(dest);
  if (ds) {
    if (ds.kind === 'dir') {
      if (ss.kind !== 'dir') throw new XylemError(`Modified config file newly defaults to directory '${rel}', cannot merge`);
      return; // the parent's recursive copy already brought it
    }
    await fs.unlink(dest);
  }
  await ensureParents(fs, newEtc, rel, modEtc);
  if (ss.kind !== 'dir' && ss.kind !== 'file' && ss.kind !== 'symlink')
    throw new XylemError(`Unsupported non-regular/non-symlink file in /etc '${rel}'`);
  await copyEntry(fs, src, dest, opts);
}

/** A local change that was not carried over, and why. */
export interface EtcMergeSkip {
  /** Path relative to etc/. */
  path: string;
  reason: string;
}

/**
 * Why `rel` cannot be changed inside `newEtc` without leaving it, or null when it can: every
 * parent component that exists must be a real directory (never a symlink); missing ones are
 * created as directories. The last component itself may be anything (a symlink is replaced or
 * removed, never followed).
 */
async function unsafeParent(fs: FsHost, newEtc: string, rel: string): Promise<string | null> {
  const parts = pathComponents(rel);
  if (parts.length === 0 || parts.includes('..')) return `invalid path '${rel}'`;
  for (let i = 0; i < parts.length - 1; i++) {
    const prefix = parts.slice(0, i + 1).join('/');
    const st = await fs.lstat(joinPath(newEtc, prefix));
    if (!st) return null;
    if (st.kind === 'symlink') return `its parent /etc/${prefix} is a symlink in the new deployment (-> ${await fs.readlink(joinPath(newEtc, prefix))})`;
    if (st.kind !== 'dir') return `its parent /etc/${prefix} is not a directory in the new deployment`;
  }
  return null;
}

/**
 * Replays `diff` (computed on the merge deployment) onto `newEtc`: removed paths are deleted,
 * modified and added ones are copied from `modEtc`. Returns the changes left out because a
 * parent in the new tree is a symlink or not a directory (see the file header).
 */
export async function applyEtcDiff(fs: FsHost, diff: EtcDiff, modEtc: string, newEtc: string, opts: CopyOptions = {}): Promise<EtcMergeSkip[]> {
  const skipped: EtcMergeSkip[] = [];
  const guard = async (rel: string): Promise<boolean> => {
    const reason = await unsafeParent(fs, newEtc, rel);
    if (reason !== null) skipped.push({ path: rel, reason });
    return reason === null;
  };
  for (const rel of diff.removed) if (await guard(rel)) await fs.rmrf(joinPath(newEtc, rel));
  for (const rel of diff.modified) if (await guard(rel)) await copyModified(fs, modEtc, newEtc, rel, opts);
  for (const rel of diff.added) if (await guard(rel)) await copyModified(fs, modEtc, newEtc, rel, opts);
  return skipped;
}
