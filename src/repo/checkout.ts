// Checking out a commit (or a subpath of it) into a directory: hardlinks from the object store
// where the repo mode allows it, copies otherwise; ostree's overwrite modes (--union,
// --union-add, --union-identical). Never follows a symlink inside the target, so a hostile tree
// cannot write outside it.

import { Repo, type ContentObject } from './repo.ts';
import type { FsHost } from '../host.ts';
import { ObjectType, isLnk, isReg, decodeOstreeMeta, type DirTree } from '../format/objects.ts';
import { WorkPool } from '../util/work-pool.ts';
import { joinPath, pathComponents, dirname } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { resolveRev } from './refs.ts';
import type { DevinoCache, DevinoHeader } from './devino-cache.ts';

/** Prefix of files that stand for overlayfs whiteouts in a commit. */
const PASSTHROUGH_WHITEOUT = '.ostree-wh.';

export type OverwriteMode = 'none' | 'union-files' | 'add-files' | 'union-identical';

export interface CheckoutOptions {
  /** `-U`: ignore ownership and xattrs (what a non-root user can do). */
  userMode?: boolean;
  /** `-H`: fail unless every file can be hardlinked. */
  requireHardlinks?: boolean;
  /** `-C`: never hardlink. */
  forceCopy?: boolean;
  overwrite?: OverwriteMode;
  /** Checkout only this path of the commit (file or directory). */
  subpath?: string;
  /** Skip extended attributes even in non-user mode. */
  noXattrs?: boolean;
  /** `-M`: directories keep only mode bits within 0775 (as a bare-user-only repo stores them). */
  bareuseronlyDirs?: boolean;
  /** Files to leave out, by path relative to the checked-out root ("/a/b"); as ostree 2022.7, folders are never skipped. */
  skip?: ReadonlySet<string>;
  /**
   * `--disable-cache`: user-mode checkouts from an archive repo otherwise keep uncompressed copies
   * in uncompressed-objects-cache/ and hardlink them, as libostree does.
   */
  disableCache?: boolean;
  /** `--process-passthrough-whiteouts`: a file `.ostree-wh.NAME` becomes the overlayfs whiteout NAME. */
  processPassthroughWhiteouts?: boolean;
  /**
   * `--link-checkout-speedup` (libostree's devino_to_csum_cache): every file hardlinked from a
   * bare-user or bare-user-only object store is recorded here (inode → checksum and header), for
   * a later commit of the tree to reuse without hashing.
   */
  devino?: DevinoCache;
}

interface Ctx {
  repo: Repo;
  /** Archive repos in user mode: hardlink from uncompressed-objects-cache/. */
  useCache: boolean;
  opts: CheckoutOptions;
  hardlink: boolean;
  pool: WorkPool;
  /** Directory modes and owners, applied deepest first once every file is in place. */
  finalizers: Array<() => Promise<void>>;
  stats: { files: number; dirs: number; hardlinked: number; copied: number };
}

/**
 * Whether hardlinks from this repo are possible in the given mode (as libostree decides): a bare
 * repo's objects carry the real owners and modes, so only a non-user checkout may link them; a
 * bare-user(-only) repo's objects are owned by the repo owner, so only a user checkout may.
 */
export function canHardlink(repo: Repo, userMode: boolean): boolean {
  if (repo.mode === 'archive') return false;
  if (repo.mode === 'bare') return !userMode;
  return userMode || repo.mode === 'bare-user-only';
}


export interface CheckoutResult {
  files: number;
  dirs: number;
  hardlinked: number;
  copied: number;
}

/** Checks out `rev` into `dest`. */
export async function checkout(repo: Repo, rev: string, dest: string, opts: CheckoutOptions = {}): Promise<CheckoutResult> {
  if (typeof dest !== 'string' || dest === '') throw new XylemError('checkout: a destination is required');
  const csum = (await resolveRev(repo, rev))!;
  const commit = await repo.loadCommit(csum);
  // As libostree: a bare-user-only repo is always checked out in user mode.
  const userMode = (opts.userMode ?? false) || repo.mode === 'bare-user-only';
  if (userMode !== (opts.userMode ?? false)) opts = { ...opts, userMode };
  const hardlink = !opts.forceCopy && canHardlink(repo, userMode);
  if (opts.requireHardlinks && !hardlink)
    throw new XylemError(
      repo.mode === 'archive'
        ? 'Cannot checkout hardlinks from an archive repository'
        : repo.mode === 'bare'
          ? 'Bare repository mode cannot hardlink in user checkout mode'
          : 'User repository mode requires user checkout mode to hardlink',
    );
  const useCache = repo.mode === 'archive' && userMode && !opts.forceCopy && !opts.disableCache;
  const ctx: Ctx = { repo, opts, useCache, hardlink, pool: new WorkPool(32), finalizers: [], stats: { files: 0, dirs: 0, hardlinked: 0, copied: 0 } };

  const fs = repo.fs;
  // Walk down to the subpath.
  let treeCsum = commit.rootTree;
  let metaCsum = commit.rootMeta;
  const comps = opts.subpath ? pathComponents(opts.subpath) : [];
  for (let i = 0; i < comps.length; i++) {
    const name = comps[i]!;
    const dt = await repo.loadDirTree(treeCsum);
    const d = dt.dirs.find((x) => x.name === name);
    if (d) {
      treeCsum = d.treeChecksum;
      metaCsum = d.metaChecksum;
      continue;
    }
    const f = dt.files.find((x) => x.name === name);
    if (f && i === comps.length - 1) {
      // A file: as ostree, DEST is a folder (created if needed) that receives it.
      await fs.mkdir(dest, { mode: 0o700 }).catch((e) => {
        if (errnoCode(e) !== 'EEXIST') throw e;
      });
      await checkoutFile(ctx, f.checksum, joinPath(dest, name), '/' + name, false);
      return ctx.stats;
    }
    throw new XylemError(f ? 'Not a directory' : `No such file or directory: /${comps.slice(0, i + 1).join('/')}`);
  }
  await checkoutDir(ctx, treeCsum, metaCsum, dest, true, '/');
  await ctx.pool.drain();
  for (let i = ctx.finalizers.length - 1; i >= 0; i--) await ctx.finalizers[i]!();
  return ctx.stats;
}

async function checkoutDir(ctx: Ctx, treeCsum: string, metaCsum: string, dest: string, isRoot: boolean, relPath: string): Promise<void> {
  const { repo, opts } = ctx;
  const fs = repo.fs;
  const [dt, meta] = await Promise.all([repo.loadDirTree(treeCsum), repo.loadDirMeta(metaCsum)]);
  checkUniqueNames(dt, treeCsum);
  const overwrite = opts.overwrite ?? 'none';
  let created = false;
  try {
    await fs.mkdir(dest, { mode: 0o700 });
    created = true;
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw e;
    const st = await fs.lstat(dest);
    if (st?.kind !== 'dir') throw new XylemError(`Checking out ${dest}: exists and is not a directory`);
    if (overwrite === 'none' && !isRoot) throw new XylemError(`mkdirat: ${dest}: File exists`);
    if (overwrite === 'none' && isRoot) {
      const entries = await fs.readdir(dest);
      if (entries.length > 0) throw new XylemError(`mkdirat: ${dest}: File exists`);
      created = true;
    }
  }
  ctx.stats.dirs++;
  const rel = (name: string) => (relPath === '/' ? '/' + name : `${relPath}/${name}`);
  const skip = opts.skip;
  // In a directory we just created nothing can be in the way: no lstat per file.
  const fresh = created && overwrite === 'none';
  // Ownership and mode last (deepest first), so that read-only directories can be filled first.
  if (created || overwrite !== 'add-files') {
    ctx.finalizers.push(async () => {
      if (!opts.userMode) {
        await fs.lchown(dest, meta.uid, meta.gid);
        if (!opts.noXattrs && meta.xattrs.length && fs.xattrs) for (const x of meta.xattrs) await fs.xattrs.set(dest, x.name, x.value);
      }
      // bare-user-only silently drops world-writable, setuid/setgid and sticky bits of directories.
      await fs.chmod(dest, meta.mode & (repo.mode === 'bare-user-only' || opts.bareuseronlyDirs ? 0o775 : 0o7777));
      // Checked-out folders carry mtime 0, like the objects hardlinked into them (as libostree).
      await fs.lutimes(dest, 0, 0);
    });
  }
  for (const f of dt.files) {
    if (skip?.has(rel(f.name))) continue;
    if (opts.processPassthroughWhiteouts && f.name.startsWith(PASSTHROUGH_WHITEOUT) && f.name.length > PASSTHROUGH_WHITEOUT.length) {
      const name = f.name.slice(PASSTHROUGH_WHITEOUT.length);
      if (!fs.mkWhiteout) throw new XylemError('This runtime cannot create overlayfs whiteout devices');
      await checkoutWhiteout(ctx, f.checksum, joinPath(dest, name));
      continue;
    }
    await ctx.pool.submit(() => checkoutFile(ctx, f.checksum, joinPath(dest, f.name), rel(f.name), fresh));
  }
  for (const d of dt.dirs) {
    await checkoutDir(ctx, d.treeChecksum, d.metaChecksum, joinPath(dest, d.name), false, rel(d.name));
  }
}

/**
 * An overlayfs whiteout (char device 0:0) for a `.ostree-wh.NAME` file, carrying that file's mode
 * and, outside user mode, its owner and xattrs (as libostree).
 */
async function checkoutWhiteout(ctx: Ctx, csum: string, dest: string): Promise<void> {
  const { repo, opts } = ctx;
  const fs = repo.fs;
  if (!fs.mkWhiteout) throw new XylemError('This runtime cannot create overlayfs whiteout devices');
  const h = (await repo.loadFile(csum)).header;
  await fs.mkWhiteout(dest);
  if (opts.userMode) {
    // mknod(2) applies the umask to the requested mode; 022 is what the tools run with.
    await fs.chmod(dest, h.mode & 0o777 & ~0o022);
    return;
  }
  if (!opts.noXattrs && h.xattrs.length && fs.xattrs) for (const x of h.xattrs) await fs.xattrs.set(dest, x.name, x.value);
  await fs.lchown(dest, h.uid, h.gid);
  await fs.chmod(dest, h.mode & 0o7777);
}

function checkUniqueNames(dt: DirTree, csum: string): void {
  const seen = new Set<string>();
  for (const e of [...dt.files, ...dt.dirs]) {
    if (seen.has(e.name)) throw new XylemError(`Corrupted dirtree ${csum}: duplicate name '${e.name}'`);
    seen.add(e.name);
  }
}

async function checkoutFile(ctx: Ctx, csum: string, dest: string, _relPath: string, fresh: boolean): Promise<void> {
  const { repo, opts } = ctx;
  const fs = repo.fs;
  const overwrite = opts.overwrite ?? 'none';
  ctx.stats.files++;
  const existing = fresh ? null : await fs.lstat(dest);
  if (existing) {
    if (overwrite === 'none') throw new XylemError(`Checking out ${dest}: File exists`);
    if (overwrite === 'add-files') return;
    if (existing.kind === 'dir') throw new XylemError(`Checking out ${dest}: a directory is in the way`);
    if (overwrite === 'union-identical') {
      // Only identical content may be replaced; compare by re-hashing would be costly, compare inode.
      const objPath = repo.objectPath(csum, ObjectType.File);
      const ost = await fs.lstat(objPath);
      if (!(ost && ost.ino === existing.ino && ost.dev === existing.dev)) {
        const obj = await repo.loadFile(csum);
        const cur = existing.kind === 'symlink' ? null : await fs.readFile(dest);
        const same =
          existing.kind === 'symlink'
            ? isLnk(obj.header.mode) && (await fs.readlink(dest)) === obj.header.symlinkTarget
            : !isLnk(obj.header.mode) && cur !== null && equalBytes(cur, await obj.read());
        if (!same) throw new XylemError(`Checking out ${dest}: File exists (and is not identical)`);
        return;
      }
      return;
    }
  }
  const objPath = repo.objectPath(csum, ObjectType.File);
  // Zero-sized files are never hardlinked (they are often lock or stamp files), as libostree.
  // In every bare mode a zero-sized regular object file is exactly a zero-sized regular file
  // (bare-user symlink objects hold their NUL-terminated target).
  let linkFrom: string | null = null;
  let bareUserMeta: DevinoHeader | null = null;
  const ost = ctx.hardlink ? await fs.lstat(objPath) : null;
  // (a missing object may live in a parent repo: the link below fails and falls back to a copy)
  if (ctx.hardlink && !(ost?.kind === 'file' && ost.size === 0)) {
    linkFrom = objPath;
    let mode = ost?.mode ?? 0o644;
    if (repo.mode === 'bare-user' && ost) {
      // One xattr read tells regular files from symlinks (stored as regular files in bare-user).
      const raw = fs.xattrs ? await fs.xattrs.get(objPath, 'user.ostreemeta') : null;
      const meta = raw ? decodeOstreeMeta(raw, `${csum}.file user.ostreemeta`) : null;
      if (!meta || isLnk(meta.mode)) {
        const obj = await repo.loadFile(csum);
        if (isLnk(obj.header.mode)) {
          if (existing) await fs.unlink(dest);
          await fs.symlink(obj.header.symlinkTarget, dest);
          ctx.stats.copied++;
          return;
        }
      }
      if (meta) mode = meta.mode;
      bareUserMeta = meta;
    }
    // In user mode a file its owner cannot read is copied (and made readable), as ostree does.
    if (opts.userMode && ost?.kind === 'file' && (mode & 0o400) === 0) linkFrom = null;
  } else if (ctx.useCache) linkFrom = await uncompressedCacheObject(ctx, csum);
  if (linkFrom !== null) {
    // What the devino cache records of a linked object (its checksum covers exactly this header).
    const record = (): void => {
      if (!opts.devino || !ost || linkFrom !== objPath) return;
      const header: DevinoHeader | null =
        repo.mode === 'bare-user' ? bareUserMeta : repo.mode === 'bare-user-only' ? { uid: 0, gid: 0, mode: ost.mode, xattrs: [] } : null;
      if (header && isReg(header.mode)) opts.devino.add(ost.dev, ost.ino, csum, header, ost.size, ost.mtimeMs);
    };
    if (existing && existing.kind === 'file') {
      // Already this very object (a repeated --union checkout): nothing to do.
      const src = await fs.lstat(linkFrom);
      if (src && src.dev === existing.dev && src.ino === existing.ino) {
        record();
        return;
      }
    }
    try {
      if (existing) await linkReplacing(repo, linkFrom, dest);
      else await fs.link(linkFrom, dest);
      ctx.stats.hardlinked++;
      record();
      return;
    } catch (e) {
      const code = errnoCode(e);
      // A shadow repo (core.parent) reads missing objects from its parent: copy those.
      if (code === 'ENOENT' && !(await repo.parent())) throw new XylemError(`Couldn't find file object '${csum}'`);
      if (code !== 'ENOENT' && (opts.requireHardlinks || (code !== 'EXDEV' && code !== 'EMLINK' && code !== 'EPERM'))) throw e;
      // fall back to a copy
    }
  }
  const obj = await repo.loadFile(csum);
  const h = obj.header;
  if (existing) await fs.unlink(dest);
  if (isLnk(h.mode)) {
    await fs.symlink(h.symlinkTarget, dest);
    if (!opts.userMode) await fs.lchown(dest, h.uid, h.gid);
  } else {
    if (repo.mode !== 'archive' && obj.size > 0) {
      await fs.copyFile(obj.path, dest);
    } else {
      await writeContent(fs, dest, obj);
    }
    if (!opts.userMode) await fs.lchown(dest, h.uid, h.gid);
    // User mode cannot keep setuid/setgid (the owner is not the recorded one); sticky stays, and
    // the owner can always read the copy, as with ostree.
    await fs.chmod(dest, opts.userMode ? (h.mode & 0o1777) | 0o400 : h.mode & 0o7777);
  }
  if (!opts.userMode && !opts.noXattrs && h.xattrs.length && fs.xattrs)
    for (const x of h.xattrs) await fs.xattrs.set(dest, x.name, x.value);
  ctx.stats.copied++;
}

/**
 * The uncompressed copy of an archive repo's regular file in uncompressed-objects-cache/XX/….file
 * (created on first use, without setuid/setgid), for user-mode checkouts to hardlink; null for
 * symlinks, empty files and files their owner cannot read, which are copied.
 */
async function uncompressedCacheObject(ctx: Ctx, csum: string): Promise<string | null> {
  const { repo } = ctx;
  const fs = repo.fs;
  const cachePath = joinPath(repo.path, 'uncompressed-objects-cache', csum.slice(0, 2), `${csum.slice(2)}.file`);
  if (await fs.lstat(cachePath)) return cachePath;
  const obj = await repo.loadFile(csum);
  if (!isReg(obj.header.mode) || obj.size === 0 || (obj.header.mode & 0o400) === 0) return null;
  await fs.mkdir(dirname(cachePath), { recursive: true, mode: 0o755 });
  const tmp = repo.tmpName('uncompressed');
  try {
    await writeContent(fs, tmp, obj);
    await fs.chmod(tmp, obj.header.mode & 0o1777);
    await fs.link(tmp, cachePath).catch((e) => {
      if (errnoCode(e) !== 'EEXIST') throw e;
    });
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
  return cachePath;
}

/** Content above this size is copied chunk by chunk (archive objects are inflated as they are read). */
const STREAM_MIN = 1024 * 1024;

/** Creates `path` (mode 0600, exclusive) holding the object's content, big ones streamed. */
async function writeContent(fs: FsHost, path: string, obj: ContentObject): Promise<void> {
  if (obj.size < STREAM_MIN) return fs.writeFile(path, await obj.read(), { mode: 0o600, exclusive: true });
  const out = await fs.openWrite(path, { mode: 0o600, exclusive: true });
  try {
    for await (const chunk of obj.stream()) await out.write(chunk);
  } finally {
    await out.close();
  }
}

async function linkReplacing(repo: Repo, objPath: string, dest: string): Promise<void> {
  const tmp = `${dest}.xylem-tmp-${Math.random().toString(36).slice(2)}`;
  await repo.fs.link(objPath, tmp);
  await repo.fs.rename(tmp, dest);
  // rename(2) between two links of one inode does nothing: the temporary name would stay.
  await repo.fs.unlink(tmp).catch(() => undefined);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
