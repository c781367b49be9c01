// Writing commits: importing a directory (or an existing tree) into a MutableTree with a commit
// modifier applied, writing its objects through a Transaction, and creating the commit object.

import type { Stat } from '../host.ts';
import { Repo } from './repo.ts';
import { Transaction } from './transaction.ts';
import { MutableTree } from './mutable-tree.ts';
import {
  ObjectType,
  encodeCommit,
  encodeDirMeta,
  type Commit,
  type FileHeader,
  type Metadata,
  type Xattr,
  S_IFMT,
  S_IFLNK,
  isLnk,
} from '../format/objects.ts';
import { compareBytes, utf8 } from '../util/bytes.ts';
import type { GVVariant } from '../format/gvariant.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { WorkPool } from '../util/work-pool.ts';
import { borrowChunk, returnChunk, CHUNK_SIZE } from '../util/chunk-pool.ts';
import { resolveRev } from './refs.ts';
import type { SePolicy } from '../selinux/policy.ts';
import { labelXattrs, type LabelOptions } from '../selinux/label.ts';
import type { DevinoCache, DevinoEntry } from './devino-cache.ts';

/** How file metadata is rewritten while committing (ostree's OstreeRepoCommitModifier). */
export interface CommitModifier {
  ownerUid?: number;
  ownerGid?: number;
  /** uid/gid 0 and modes masked with 0755 (`--canonical-permissions`). */
  canonicalPermissions?: boolean;
  /** Do not read or store extended attributes. */
  skipXattrs?: boolean;
  /**
   * ostree's commit filter: runs after --owner-uid/gid and before canonical permissions, may
   * change `info` in place, returns false to skip the path (relative to the tree, starting with '/').
   */
  filter?: (path: string, info: FileInfo) => boolean;
  /** `--consume`: remove each imported directory tree once committed; adopt unchanged files (bare modes). */
  consume?: boolean;
  /** `--link-checkout-speedup`: "dev:ino" of this repo's content objects → checksum (see scanDevinoCache). */
  devino?: Map<string, string>;
  /**
   * A devino cache filled by checkouts (checkout's `devino` option): a regular file whose inode
   * is in it, unchanged since, keeps the recorded checksum when the header it would be committed
   * with is the one that checksum covers (no read, no hash); objects missing from this repo (the
   * checkouts came from another one) are imported as usual.
   */
  devinoCache?: DevinoCache;
  /** `-I`: a devino hit is reused even when the modifier would change its metadata. */
  devinoCanonical?: boolean;
  /**
   * `--selinux-policy`: label every path (security.selinux) from this policy, as libostree's
   * ostree_repo_commit_modifier_set_sepolicy; labels replace any on disk, paths the policy does
   * not label keep theirs. Applied even with skipXattrs (only the disk's xattrs are skipped then).
   */
  sepolicy?: SePolicy;
  /** How `sepolicy` labels: label version 1 (/usr/etc as /etc), failing on unlabelled paths. */
  selinuxLabel?: LabelOptions;
  /**
   * Rewrites a path's xattrs (sorted by name in, sorted by name out) before the SELinux label is
   * applied: compose sets the file capabilities RPM headers give (rpm-ostree's rpmfi overrides).
   */
  xattrHook?: (relPath: string, mode: number, xattrs: Xattr[]) => Xattr[];
}

/** The file metadata a commit modifier rewrites. */
export interface FileInfo {
  uid: number;
  gid: number;
  mode: number;
}

const SMALL_FILE = CHUNK_SIZE;

export interface ImportContext {
  txn: Transaction;
  modifier: CommitModifier;
  pool: WorkPool;
  storeXattrs: boolean;
  /** Files whose checksum came from the devino cache (ostree's "Content Cache Hits"). */
  devinoHits: number;
}

export function makeImportContext(txn: Transaction, modifier: CommitModifier = {}): ImportContext {
  const repo = txn.repo;
  // As libostree, --canonical-permissions also drops xattrs.
  const storeXattrs =
    !modifier.skipXattrs &&
    !modifier.canonicalPermissions &&
    repo.mode !== 'bare-user-only' &&
    !(repo.config.getBoolean('core', 'disable-xattrs') ?? false) &&
    !!repo.fs.xattrs &&
    !(repo.host.env?.OSTREE_NO_XATTRS);
  const pool = new WorkPool(Math.max(8, (repo.host.concurrency ?? 2) * 8), IMPORT_BUDGET);
  return { txn, modifier, pool, storeXattrs, devinoHits: 0 };
}

/**
 * Bytes the files being imported at once may hold (read, compressed, framed): the pool's task
 * count alone let 16 files of up to 1 MiB each be in flight, three copies each in archive mode
 * (medium bench tree: 170 MiB peak; the budget keeps both cores busy all the same).
 */
const IMPORT_BUDGET = 8 << 20;

/** What importing a file of `size` bytes holds in memory at most (see importFile / the transaction). */
function importWeight(repo: Repo, kind: Stat['kind'], size: number): number {
  if (kind !== 'file') return 4096;
  const held = Math.min(size, SMALL_FILE) + 4096;
  // archive: the data and its deflated copy; bare: the data
  return repo.mode === 'archive' ? 2 * held : held;
}

/** The metadata to commit for `relPath`, or null when the filter skips it. */
export function applyModifier(ctx: ImportContext, relPath: string, st: FileInfo): FileInfo | null {
  const m = ctx.modifier;
  const info: FileInfo = { uid: m.ownerUid ?? st.uid, gid: m.ownerGid ?? st.gid, mode: st.mode };
  if (m.filter && !m.filter(relPath, info)) return null;
  let { uid, gid, mode } = info;
  // As libostree: canonical permissions win over --owner-uid/gid, and a bare-user-only repo
  // always canonicalizes (it cannot store owners, setuid/setgid/sticky or group/other write).
  if (m.canonicalPermissions || ctx.txn.repo.mode === 'bare-user-only') {
    uid = 0;
    gid = 0;
    if ((mode & S_IFMT) !== S_IFLNK) mode = mode & (S_IFMT | 0o755);
  }
  return { uid, gid, mode };
}

/** The xattrs on disk to commit, in libostree's canonical (sorted by name) order. */
async function diskXattrs(ctx: ImportContext, path: string): Promise<Xattr[]> {
  const fs = ctx.txn.repo.fs;
  if (!ctx.storeXattrs || !fs.xattrs) return [];
  // user.ostreemeta is bare-user storage metadata, never content (not even read).
  const names = (await fs.xattrs.list(path)).filter((n) => n !== 'user.ostreemeta');
  const all: Xattr[] = [];
  for (const name of names) {
    const value = await fs.xattrs.get(path, name);
    if (value && value.length > 0) all.push({ name, value });
  }
  return all.sort((a, b) => compareBytes(utf8(a.name), utf8(b.name)));
}

/**
 * The xattrs to commit for `relPath` (inside the commit) of type `mode`: `xattrs` with the
 * modifier's SELinux label applied, if it has a policy (libostree's get_final_xattrs).
 */
export function finalXattrs(ctx: ImportContext, relPath: string, mode: number, xattrs: Xattr[]): Xattr[] {
  const policy = ctx.modifier.sepolicy;
  const hooked = ctx.modifier.xattrHook ? ctx.modifier.xattrHook(relPath, mode, xattrs) : xattrs;
  return policy ? labelXattrs(policy, relPath, mode, hooked, ctx.modifier.selinuxLabel) : hooked;
}

/** Whether two xattr lists are equal, order included (g_variant_equal). */
export function sameXattrs(a: readonly Xattr[], b: readonly Xattr[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || compareBytes(x.value, y.value) !== 0) return false;
  }
  return true;
}

/** Writes the dirmeta for a directory on disk; returns its checksum. */
async function writeDirMetaFor(ctx: ImportContext, path: string, info: FileInfo, relPath: string): Promise<string> {
  const { uid, gid, mode } = info;
  const xattrs = finalXattrs(ctx, relPath, mode, await diskXattrs(ctx, path));
  return ctx.txn.writeMetadata(ObjectType.DirMeta, encodeDirMeta({ uid, gid, mode, xattrs }));
}

/** Writes a content object for a file or symlink on disk; returns its checksum. */
async function importFile(ctx: ImportContext, path: string, st: Stat, info: FileInfo, relPath: string, source?: Xattr[]): Promise<string> {
  const fs = ctx.txn.repo.fs;
  const { uid, gid, mode } = info;
  // A bare-user object hardlinked here carries its xattrs in user.ostreemeta: those are the
  // file's (libostree's source_xattrs), in their stored order.
  const onDisk = source !== undefined ? (ctx.storeXattrs ? source : []) : await diskXattrs(ctx, path);
  const xattrs = finalXattrs(ctx, relPath, st.mode, onDisk);
  if (st.kind === 'symlink') {
    const target = await fs.readlink(path);
    return ctx.txn.writeContent({ uid, gid, mode, rdev: 0, symlinkTarget: target, xattrs }, new Uint8Array(0));
  }
  const header: FileHeader = { uid, gid, mode, rdev: 0, symlinkTarget: '', xattrs };
  if (ctx.modifier.consume && canAdopt(ctx, st, info, xattrs, sameXattrs(xattrs, onDisk))) return ctx.txn.adoptFile(header, path, st.size);
  if (st.size <= SMALL_FILE) {
    // read into a pooled buffer (writeContent is done with it when it resolves)
    const buf = borrowChunk();
    try {
      const fh = await fs.openRead(path);
      let n = 0;
      try {
        while (n < st.size) {
          const r = await fh.read(buf, n, st.size - n, n);
          if (r === 0) break;
          n += r;
        }
        // one byte more means the file grew since lstat: committed as read, as readFile did
        if (n === st.size && n < buf.length && (await fh.read(buf, n, 1, n)) > 0) n = -1;
      } finally {
        await fh.close();
      }
      if (n < 0) return ctx.txn.writeContent(header, await fs.readFile(path));
      return await ctx.txn.writeContent(header, buf.subarray(0, n));
    } finally {
      returnChunk(buf);
    }
  }
  return ctx.txn.writeContentFromFile(header, path, st.size);
}

/**
 * Imports a directory from the filesystem into `tree` (merging over what is there, as ostree's
 * repeated --tree= options do). `relPath` is the path inside the commit, for the filter.
 */
export async function importDirectory(ctx: ImportContext, dirPath: string, tree: MutableTree, relPath = '/'): Promise<void> {
  const st = await ctx.txn.repo.fs.lstat(dirPath);
  if (!st) throw new XylemError(`opendir(${dirPath}): No such file or directory`);
  if (st.kind !== 'dir') throw new XylemError(`${dirPath} is not a directory`);
  const info = applyModifier(ctx, relPath, st);
  if (info) await walkDirectory(ctx, dirPath, tree, relPath, info);
  await ctx.pool.drain();
  // --consume: everything under the tree is committed now (adopted files live on as objects).
  if (ctx.modifier.consume) await ctx.txn.repo.fs.rmrf(dirPath);
}

async function walkDirectory(ctx: ImportContext, dirPath: string, tree: MutableTree, relPath: string, info: FileInfo): Promise<void> {
  const fs = ctx.txn.repo.fs;
  await tree.touch();
  tree.metaChecksum = await writeDirMetaFor(ctx, dirPath, info, relPath);
  const entries = await fs.readdir(dirPath);
  const stats = await Promise.all(entries.map((e) => fs.lstat(joinPath(dirPath, e.name))));
  const subdirs: Array<[string, string, FileInfo]> = [];
  for (let i = 0; i < entries.length; i++) {
    const name = entries[i]!.name;
    // The host decodes names as UTF-8, replacing invalid bytes with U+FFFD (so lstat misses them).
    if (name.includes('\uFFFD')) throw new XylemError(`Invalid UTF-8 in filename ${name}`);
    const cst = stats[i];
    if (!cst) continue;
    const p = joinPath(dirPath, name);
    const childRel = relPath === '/' ? '/' + name : relPath + '/' + name;
    if (cst.kind !== 'dir' && cst.kind !== 'file' && cst.kind !== 'symlink')
      throw new XylemError(`Unsupported file type for ${p}: device, socket or FIFO`);
    const hit = cst.kind !== 'dir' ? ctx.modifier.devino?.get(`${cst.dev}:${cst.ino}`) : undefined;
    let cinfo: FileInfo | null;
    let source: Xattr[] | undefined;
    if (hit !== undefined) {
      // A hardlink to one of our objects (--link-checkout-speedup): reuse its checksum unless the
      // modifier changes its metadata (-I: reuse regardless). bare-user objects keep their
      // metadata in user.ostreemeta, so that is what the modifier sees there.
      const obj = ctx.txn.repo.mode === 'bare-user' ? (await ctx.txn.repo.loadFile(hit)).header : null;
      const base: FileInfo = obj ?? cst;
      if (obj) source = obj.xattrs.filter((x) => x.name !== 'user.ostreemeta');
      cinfo = applyModifier(ctx, childRel, base);
      if (cinfo && (ctx.modifier.devinoCanonical || (cinfo.uid === base.uid && cinfo.gid === base.gid && cinfo.mode === base.mode && (await labelKeeps(ctx, hit, childRel, source))))) {
        ctx.devinoHits++;
        await tree.setFile(name, hit);
        continue;
      }
    } else cinfo = applyModifier(ctx, childRel, cst);
    if (!cinfo) continue;
    if (cst.kind === 'dir') subdirs.push([name, childRel, cinfo]);
    else {
      const known = cst.kind === 'file' && source === undefined ? ctx.modifier.devinoCache?.lookup(cst.dev, cst.ino) : undefined;
      await ctx.pool.submit(async () => {
        const reused = known ? await devinoReuse(ctx, p, cst, cinfo, childRel, known) : null;
        const csum = reused ?? (await importFile(ctx, p, cst, cinfo, childRel, source));
        await tree.setFile(name, csum);
      }, importWeight(ctx.txn.repo, cst.kind, cst.size));
    }
  }
  for (const [name, childRel, cinfo] of subdirs) {
    const sub = await tree.ensureDir(name);
    await walkDirectory(ctx, joinPath(dirPath, name), sub, childRel, cinfo);
  }
}

/**
 * The recorded checksum of a checked-out file (devinoCache), when the inode is as recorded and
 * the header this commit gives it is the one the checksum covers, and the object is in this
 * repo; null otherwise (the file is then imported and hashed as any other).
 */
async function devinoReuse(ctx: ImportContext, path: string, st: Stat, info: FileInfo, relPath: string, e: DevinoEntry): Promise<string | null> {
  if (st.size !== e.size || st.mtimeMs !== e.mtimeMs) return null;
  const h = e.header;
  if (info.uid !== h.uid || info.gid !== h.gid || info.mode !== h.mode) return null;
  if (!sameXattrs(finalXattrs(ctx, relPath, st.mode, await diskXattrs(ctx, path)), h.xattrs)) return null;
  if (!(await ctx.txn.hasObject(e.checksum, ObjectType.File))) return null;
  ctx.devinoHits++;
  return e.checksum;
}

/**
 * With a policy, whether a devino hit's object already carries what labelling would give it
 * (libostree reuses a hit only when the xattrs are unmodified).
 */
async function labelKeeps(ctx: ImportContext, hit: string, relPath: string, source: Xattr[] | undefined): Promise<boolean> {
  if (!ctx.modifier.sepolicy && !ctx.modifier.xattrHook) return true;
  const h = (await ctx.txn.repo.loadFile(hit)).header;
  // What libostree compares with: a bare-user object's stored xattrs, else those read from the
  // hardlink on disk (sorted by name).
  const original = !ctx.storeXattrs ? [] : (source ?? h.xattrs.filter((x) => x.name !== 'user.ostreemeta').sort((a, b) => compareBytes(utf8(a.name), utf8(b.name))));
  return sameXattrs(finalXattrs(ctx, relPath, h.mode, original), original);
}

/**
 * Whether --consume may adopt a regular file (hardlink it into the store instead of copying):
 * only in bare and bare-user-only repos, whose objects are plain files, and only when what is
 * committed is exactly what is on disk.
 */
function canAdopt(ctx: ImportContext, st: Stat, info: FileInfo, xattrs: Xattr[], xattrsUnchanged: boolean): boolean {
  const mode = ctx.txn.repo.mode;
  if (st.kind !== 'file' || (mode !== 'bare' && mode !== 'bare-user-only')) return false;
  if (info.uid !== st.uid || info.gid !== st.gid || info.mode !== st.mode) return false;
  return xattrs.length === 0 || (mode === 'bare' && xattrsUnchanged);
}

/**
 * The devino cache of ostree's --link-checkout-speedup: "dev:ino" of every loose content object
 * of a bare-family repo → its checksum. Empty for archive repos (their objects are compressed).
 */
export async function scanDevinoCache(repo: Repo): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (repo.mode === 'archive') return out;
  const files = (await repo.listObjects()).filter((o) => o.type === ObjectType.File);
  const stats = await Promise.all(files.map((o) => repo.fs.lstat(repo.objectPath(o.checksum, ObjectType.File))));
  for (let i = 0; i < files.length; i++) {
    const st = stats[i];
    if (st) out.set(`${st.dev}:${st.ino}`, files[i]!.checksum);
  }
  return out;
}

/**
 * Merges an existing commit's tree into `tree` with the commit modifier applied to every entry
 * (`--tree=ref=` when options such as --owner-uid or --statoverride are given, as libostree then
 * walks the tree): files whose metadata changes are rewritten as new objects.
 */
export async function importCommitTreeModified(ctx: ImportContext, rev: string, tree: MutableTree): Promise<void> {
  const repo = ctx.txn.repo;
  const c = await repo.loadCommit((await resolveRev(repo, rev))!);
  const meta = await repo.loadDirMeta(c.rootMeta);
  const info = applyModifier(ctx, '/', meta);
  if (info) await walkExistingTree(ctx, c.rootTree, meta.xattrs, info, tree, '/');
  await ctx.pool.drain();
}

async function walkExistingTree(
  ctx: ImportContext,
  treeCsum: string,
  dirXattrs: Xattr[],
  info: FileInfo,
  tree: MutableTree,
  relPath: string,
): Promise<void> {
  const repo = ctx.txn.repo;
  const keepXattrs = !ctx.modifier.skipXattrs;
  await tree.touch();
  const dirmeta = { uid: info.uid, gid: info.gid, mode: info.mode, xattrs: finalXattrs(ctx, relPath, info.mode, keepXattrs ? dirXattrs : []) };
  tree.metaChecksum = await ctx.txn.writeMetadata(ObjectType.DirMeta, encodeDirMeta(dirmeta));
  const dt = await repo.loadDirTree(treeCsum);
  const rel = (name: string) => (relPath === '/' ? '/' + name : `${relPath}/${name}`);
  for (const f of dt.files) {
    await ctx.pool.submit(async () => {
      const obj = await repo.loadFile(f.checksum);
      const h = obj.header;
      const m = applyModifier(ctx, rel(f.name), h);
      if (!m) return;
      const xattrs = finalXattrs(ctx, rel(f.name), h.mode, keepXattrs ? h.xattrs : []);
      if (m.uid === h.uid && m.gid === h.gid && m.mode === h.mode && sameXattrs(xattrs, h.xattrs)) {
        await tree.setFile(f.name, f.checksum);
        return;
      }
      const header: FileHeader = { ...h, uid: m.uid, gid: m.gid, mode: m.mode, xattrs };
      const csum = await ctx.txn.writeContent(header, isLnk(h.mode) ? new Uint8Array(0) : await obj.read());
      await tree.setFile(f.name, csum);
    });
  }
  for (const d of dt.dirs) {
    const dm = await repo.loadDirMeta(d.metaChecksum);
    const dinfo = applyModifier(ctx, rel(d.name), dm);
    if (!dinfo) continue;
    const sub = await tree.ensureDir(d.name);
    await walkExistingTree(ctx, d.treeChecksum, dm.xattrs, dinfo, sub, rel(d.name));
  }
}

/** Merges an existing commit's root tree into `tree` (for --tree=ref=). */
export async function importCommitTree(repo: Repo, rev: string, tree: MutableTree): Promise<void> {
  const csum = (await resolveRev(repo, rev))!;
  const c = await repo.loadCommit(csum);
  await mergeExisting(repo, tree, c.rootTree, c.rootMeta);
}

async function mergeExisting(repo: Repo, tree: MutableTree, treeCsum: string, metaCsum: string): Promise<void> {
  const empty = tree.files.size === 0 && tree.dirs.size === 0 && tree.metaChecksum === null;
  if (empty) {
    // Adopt the whole tree lazily.
    const adopted = MutableTree.fromExisting(repo, treeCsum, metaCsum);
    Object.assign(tree, adopted);
    return;
  }
  await tree.touch();
  tree.metaChecksum = metaCsum;
  const dt = await repo.loadDirTree(treeCsum);
  for (const f of dt.files) await tree.setFile(f.name, f.checksum);
  for (const d of dt.dirs) {
    const sub = await tree.ensureDir(d.name);
    await mergeExisting(repo, sub, d.treeChecksum, d.metaChecksum);
  }
}

export interface CommitOptions {
  subject?: string;
  body?: string;
  /** Parent commit; undefined = the branch's current head, null = no parent. */
  parent?: string | null;
  branch?: string | null;
  /** Seconds since the epoch. */
  timestamp: bigint;
  /** Metadata entries, kept in this order (duplicates included), as `ostree commit` builds them. */
  metadata?: Array<[string, GVVariant]>;
  /**
   * Append ostree.ref-binding (the branch and `bindRefs`, sorted; empty for an orphan) and, with
   * a collection id, ostree.collection-binding. Default: true when a branch is given.
   */
  bindRef?: boolean;
  /** Extra refs for ostree.ref-binding (`--bind-ref`). */
  bindRefs?: string[];
  collectionId?: string | null;
}

/**
 * Builds the commit's metadata as `ostree commit` (2022.7) does: a GVariantBuilder, so the given
 * entries keep their order and duplicates, then the bindings are appended.
 */
export function buildCommitMetadata(opts: CommitOptions): Metadata {
  const entries: Array<[string, GVVariant]> = [...(opts.metadata ?? [])];
  const bind = opts.bindRef ?? !!opts.branch;
  if (bind) {
    const refs = [...(opts.branch ? [opts.branch] : []), ...(opts.bindRefs ?? [])];
    // strcmp order (byte order of UTF-8), not localeCompare.
    refs.sort((a, b) => compareBytes(utf8(a), utf8(b)));
    entries.push(['ostree.ref-binding', { type: 'as', value: refs }]);
    if (opts.collectionId && !entries.some(([k]) => k === 'ostree.collection-binding'))
      entries.push(['ostree.collection-binding', { type: 's', value: opts.collectionId }]);
  }
  return entries;
}

/** Writes the commit object for a finished tree; returns its checksum. */
export async function writeCommit(
  txn: Transaction,
  tree: MutableTree,
  opts: CommitOptions,
): Promise<{ checksum: string; commit: Commit }> {
  const defaultMeta = await txn.writeMetadata(ObjectType.DirMeta, encodeDirMeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] }));
  const [rootTree, rootMeta] = await tree.write(txn, defaultMeta);
  let parent: string | null = null;
  if (opts.parent === undefined) {
    if (opts.branch) parent = await resolveRev(txn.repo, opts.branch, true);
  } else parent = opts.parent;
  const commit: Commit = {
    metadata: buildCommitMetadata(opts),
    parent,
    related: [],
    subject: opts.subject ?? '',
    body: opts.body ?? '',
    timestamp: opts.timestamp,
    rootTree,
    rootMeta,
  };
  const checksum = await txn.writeMetadata(ObjectType.Commit, encodeCommit(commit));
  return { checksum, commit };
}

/**
 * The metadata `commit --bootable` adds (ostree.linux: the kernel version, then ostree.bootable),
 * found as libostree does under /usr/lib/modules/VERSION/vmlinuz; errors as ostree's.
 */
export async function bootableMetadata(tree: MutableTree): Promise<Array<[string, GVVariant]>> {
  let t = tree;
  let path = '';
  for (const c of ['usr', 'lib', 'modules']) {
    await t.expand();
    path += '/' + c;
    const sub = t.dirs.get(c);
    if (!sub) throw new XylemError(`No such file or directory: ${path}`);
    t = sub;
  }
  await t.expand();
  const versions = [...t.dirs.keys()].sort((a, b) => compareBytes(utf8(a), utf8(b)));
  for (const v of versions) {
    const d = t.dirs.get(v)!;
    await d.expand();
    if (d.files.has('vmlinuz'))
      return [
        ['ostree.linux', { type: 's', value: v }],
        ['ostree.bootable', { type: 'b', value: true }],
      ];
  }
  throw new XylemError(`No kernel found in ${path}`);
}
