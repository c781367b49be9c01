// Writing commits: importing a directory (or an existing tree) into a MutableTree with a commit
// modifier applied, writing its objects through a Transaction, and creating the commit object.

import type { Stat } from '../host.ts';
import { Repo, readXattrs } from './repo.ts';
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
} from '../format/objects.ts';
import { glibDictOrder } from '../format/glib-hash-order.ts';
import type { GVVariant } from '../format/gvariant.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { resolveRev } from './refs.ts';

/** How file metadata is rewritten while committing (ostree's OstreeRepoCommitModifier). */
export interface CommitModifier {
  ownerUid?: number;
  ownerGid?: number;
  /** uid/gid 0 and modes masked with 0755 (`--canonical-permissions`). */
  canonicalPermissions?: boolean;
  /** Do not read or store extended attributes. */
  skipXattrs?: boolean;
  /** Optional filter: return false to skip a path (relative, starting with '/'). */
  filter?: (path: string, stat: Stat) => boolean;
}

/** Caps how many files are read and hashed at once (bounds memory). */
class Limiter {
  private active = 0;
  private queue: Array<() => void> = [];
  constructor(private readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

const SMALL_FILE = 1 << 20;

export interface ImportContext {
  txn: Transaction;
  modifier: CommitModifier;
  limiter: Limiter;
  storeXattrs: boolean;
}

export function makeImportContext(txn: Transaction, modifier: CommitModifier = {}): ImportContext {
  const repo = txn.repo;
  const storeXattrs =
    !modifier.skipXattrs &&
    repo.mode !== 'bare-user-only' &&
    !(repo.config.getBoolean('core', 'disable-xattrs') ?? false) &&
    !!repo.fs.xattrs &&
    !(repo.host.env?.OSTREE_NO_XATTRS);
  return { txn, modifier, limiter: new Limiter(Math.max(8, (repo.host.concurrency ?? 2) * 8)), storeXattrs };
}

function applyModifier(ctx: ImportContext, st: { uid: number; gid: number; mode: number }): { uid: number; gid: number; mode: number } {
  let { uid, gid, mode } = st;
  const m = ctx.modifier;
  if (m.ownerUid !== undefined) uid = m.ownerUid;
  if (m.ownerGid !== undefined) gid = m.ownerGid;
  // As libostree: canonical permissions win over --owner-uid/gid, and a bare-user-only repo
  // always canonicalizes (it cannot store owners, setuid/setgid/sticky or group/other write).
  if (m.canonicalPermissions || ctx.txn.repo.mode === 'bare-user-only') {
    uid = 0;
    gid = 0;
    if ((mode & S_IFMT) !== S_IFLNK) mode = mode & (S_IFMT | 0o755);
  }
  return { uid, gid, mode };
}

async function xattrsFor(ctx: ImportContext, path: string): Promise<Xattr[]> {
  if (!ctx.storeXattrs) return [];
  const all = await readXattrs(ctx.txn.repo.fs, path);
  // user.ostreemeta is bare-user storage metadata, never content.
  return all.filter((x) => x.name !== 'user.ostreemeta');
}

/** Writes the dirmeta for a directory on disk; returns its checksum. */
async function writeDirMetaFor(ctx: ImportContext, path: string, st: Stat): Promise<string> {
  const { uid, gid, mode } = applyModifier(ctx, st);
  const xattrs = await xattrsFor(ctx, path);
  return ctx.txn.writeMetadata(ObjectType.DirMeta, encodeDirMeta({ uid, gid, mode, xattrs }));
}

/** Writes a content object for a file or symlink on disk; returns its checksum. */
async function importFile(ctx: ImportContext, path: string, st: Stat): Promise<string> {
  const fs = ctx.txn.repo.fs;
  const { uid, gid, mode } = applyModifier(ctx, st);
  const xattrs = await xattrsFor(ctx, path);
  if (st.kind === 'symlink') {
    const target = await fs.readlink(path);
    return ctx.txn.writeContent({ uid, gid, mode, rdev: 0, symlinkTarget: target, xattrs }, new Uint8Array(0));
  }
  const header: FileHeader = { uid, gid, mode, rdev: 0, symlinkTarget: '', xattrs };
  if (st.size <= SMALL_FILE) {
    const data = await fs.readFile(path);
    return ctx.txn.writeContent(header, data);
  }
  return ctx.txn.writeContentFromFile(header, path, st.size);
}

/**
 * Imports a directory from the filesystem into `tree` (merging over what is there, as ostree's
 * repeated --tree= options do). `relPath` is the path inside the commit, for the filter.
 */
export async function importDirectory(ctx: ImportContext, dirPath: string, tree: MutableTree, relPath = '/'): Promise<void> {
  const fs = ctx.txn.repo.fs;
  const st = await fs.lstat(dirPath);
  if (!st) throw new XylemError(`Opening directory ${dirPath}: No such file or directory`);
  if (st.kind !== 'dir') throw new XylemError(`${dirPath} is not a directory`);
  await tree.touch();
  tree.metaChecksum = await writeDirMetaFor(ctx, dirPath, st);
  const entries = await fs.readdir(dirPath);
  await Promise.all(
    entries.map(async (e) => {
      const p = joinPath(dirPath, e.name);
      const childRel = relPath === '/' ? '/' + e.name : relPath + '/' + e.name;
      const cst = await ctx.limiter.run(() => fs.lstat(p));
      if (!cst) return;
      if (ctx.modifier.filter && !ctx.modifier.filter(childRel, cst)) return;
      if (cst.kind === 'dir') {
        const sub = await tree.ensureDir(e.name);
        await importDirectory(ctx, p, sub, childRel);
      } else if (cst.kind === 'file' || cst.kind === 'symlink') {
        const csum = await ctx.limiter.run(() => importFile(ctx, p, cst));
        await tree.setFile(e.name, csum);
      } else {
        throw new XylemError(`Unsupported file type for ${p}: device, socket or FIFO`);
      }
    }),
  );
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
  /** Metadata entries in insertion order (GLib dict order is applied). */
  metadata?: Array<[string, GVVariant]>;
  /** Add ostree.ref-binding for the branch (default true when a branch is given). */
  bindRef?: boolean;
  collectionId?: string | null;
}

/** Builds the commit's metadata as `ostree commit` does (GVariantDict order). */
export function buildCommitMetadata(opts: CommitOptions): Metadata {
  const entries: Array<[string, GVVariant]> = [...(opts.metadata ?? [])];
  const bind = opts.bindRef ?? !!opts.branch;
  if (bind && opts.branch) entries.push(['ostree.ref-binding', { type: 'as', value: [opts.branch] }]);
  if (opts.collectionId && bind) entries.push(['ostree.collection-binding', { type: 's', value: opts.collectionId }]);
  return glibDictOrder(entries);
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
