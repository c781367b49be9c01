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
import { compareBytes, utf8 } from '../util/bytes.ts';
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

/**
 * Runs file imports with at most `max` in flight. submit() waits only for a free slot, so the
 * directory walk is held back (bounded memory) while the pool keeps every core busy.
 */
class WorkPool {
  private active = 0;
  private waiters: Array<() => void> = [];
  private idle: Array<() => void> = [];
  private error: unknown = null;
  constructor(private readonly max: number) {}
  async submit(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.max) await new Promise<void>((r) => this.waiters.push(r));
    if (this.error) throw this.error;
    this.active++;
    task()
      .catch((e: unknown) => {
        this.error ??= e;
      })
      .finally(() => {
        this.active--;
        this.waiters.shift()?.();
        if (this.active === 0) for (const r of this.idle.splice(0)) r();
      });
  }
  async drain(): Promise<void> {
    while (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
    if (this.error) throw this.error;
  }
}

const SMALL_FILE = 1 << 20;

export interface ImportContext {
  txn: Transaction;
  modifier: CommitModifier;
  pool: WorkPool;
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
  return { txn, modifier, pool: new WorkPool(Math.max(8, (repo.host.concurrency ?? 2) * 8)), storeXattrs };
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
  await walkDirectory(ctx, dirPath, tree, relPath);
  await ctx.pool.drain();
}

async function walkDirectory(ctx: ImportContext, dirPath: string, tree: MutableTree, relPath: string): Promise<void> {
  const fs = ctx.txn.repo.fs;
  const st = await fs.lstat(dirPath);
  if (!st) throw new XylemError(`Opening directory ${dirPath}: No such file or directory`);
  if (st.kind !== 'dir') throw new XylemError(`${dirPath} is not a directory`);
  await tree.touch();
  tree.metaChecksum = await writeDirMetaFor(ctx, dirPath, st);
  const entries = await fs.readdir(dirPath);
  const stats = await Promise.all(entries.map((e) => fs.lstat(joinPath(dirPath, e.name))));
  const subdirs: Array<[string, string]> = [];
  for (let i = 0; i < entries.length; i++) {
    const name = entries[i]!.name;
    const cst = stats[i];
    if (!cst) continue;
    const p = joinPath(dirPath, name);
    const childRel = relPath === '/' ? '/' + name : relPath + '/' + name;
    if (ctx.modifier.filter && !ctx.modifier.filter(childRel, cst)) continue;
    if (cst.kind === 'dir') subdirs.push([name, childRel]);
    else if (cst.kind === 'file' || cst.kind === 'symlink') {
      await ctx.pool.submit(async () => {
        const csum = await importFile(ctx, p, cst);
        await tree.setFile(name, csum);
      });
    } else throw new XylemError(`Unsupported file type for ${p}: device, socket or FIFO`);
  }
  for (const [name, childRel] of subdirs) {
    const sub = await tree.ensureDir(name);
    await walkDirectory(ctx, joinPath(dirPath, name), sub, childRel);
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
