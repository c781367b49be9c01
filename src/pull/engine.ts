// The traversal every pull shares (HTTP, file:// remotes, pull-local): starting from commits, it
// fetches what the destination lacks — commitmeta, commit, parents down to a depth, dirtrees,
// dirmetas and content objects (optionally only under some subpaths) — verifies each object and
// writes it through a PullWriter. A commit is marked state/CSUM.commitpartial before its object
// is written and the mark is removed only once its whole tree is in, so an interrupted pull is
// resumed by scanning again. Objects of the destination's core.parent repos count as present.
// Where the objects come from is an ObjectSource.

import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import {
  ObjectType,
  decodeCommit,
  decodeDirTree,
  decodeDirMeta,
  objectTypeName,
  metadataLookup,
  type Commit,
} from '../format/objects.ts';
import { isNormalForm, type GVVariant } from '../format/gvariant.ts';
import { joinPath } from '../util/path.ts';
import { toHex } from '../util/bytes.ts';
import { CorruptionError, XylemError, errnoCode } from '../util/errors.ts';
import { commitState } from '../repo/commit-state.ts';
import { readDetachedMetadataLenient } from '../crypto/metadata.ts';
import type { PullWriter } from './writer.ts';
import type { PullProgress } from './progress.ts';
import { ObjectSet } from '../util/object-set.ts';
import { TaskGroup, TaskPool } from '../util/task-pool.ts';
import { Semaphore } from '../util/fd-pool.ts';

/** Content objects imported at once (each holds at most a couple of descriptors and one object). */
const CONTENT_TASKS = 32;
/** Dirtrees loaded and expanded at once. */
const TREE_TASKS = 8;

/** Largest metadata object a pull accepts (OSTREE_MAX_METADATA_SIZE). */
export const PULL_MAX_METADATA_SIZE = 10 * 1024 * 1024;

/** Where objects come from. */
export interface ObjectSource {
  /** True for a local repository (counted as "imported", not "fetched"). */
  readonly local: boolean;
  /** A trusted local repository: its metadata is copied without re-checksumming (ostree). */
  readonly trusted?: boolean;
  /** A metadata object's bytes; null when the source does not have it and `optional`. */
  getMetadata(type: ObjectType, csum: string, optional: boolean): Promise<Uint8Array | null>;
  /** Detached metadata of a commit, null when there is none. */
  getCommitMeta(csum: string): Promise<Uint8Array | null>;
  /** Brings a content object into the writer's repo; returns its uncompressed size. */
  importContent(csum: string, writer: PullWriter): Promise<number>;
  /** Whether this source answers for a content object without a network fetch (local caches). */
  hasContent?(csum: string): Promise<boolean>;
  /** Trusted local sources: hardlinks a metadata object into the writer's repo; false when it cannot. */
  linkMetadata?(type: ObjectType, csum: string, writer: PullWriter): Promise<boolean>;
}

/** Detached metadata as decoded a{sv} entries. */
export type CommitMetadata = Array<[string, GVVariant]>;

/** Checks a commit's signatures; throws to refuse it. */
export type CommitVerifier = (checksum: string, commitBytes: Uint8Array, commitmeta: CommitMetadata | null) => Promise<void>;

export interface EngineOptions {
  /** Parents to follow: 0 = the commit only, -1 = all. */
  depth: number;
  commitOnly: boolean;
  /** Absolute paths inside the tree to restrict the pull to. */
  subpaths?: string[];
  bareuseronlyFiles: boolean;
  /** Called for every commit pulled (fetched or already present, as ostree re-verifies). */
  verifyCommit?: CommitVerifier;
  /** Re-fetch the detached metadata of commits already present (ostree does when verifying). */
  refreshCommitMeta?: boolean;
  /** Refuse commits whose ref binding does not name the ref they were requested through. */
  verifyBindings: boolean;
  /** Local repos consulted for content objects before the source (--localcache-repo). */
  localCaches?: ObjectSource[];
  /** Commit-time checks (timestamp-check …) run before the tree is fetched. */
  checkCommit?: (checksum: string, commit: Commit, ref: string | null) => Promise<void>;
  progress?: PullProgress;
  onProgress?: () => void;
}

/** What a target to pull is: a commit, reached through a ref or directly. */
export interface PullTarget {
  ref: string | null;
  checksum: string;
}

export class PullEngine {
  private readonly dest: Repo;
  private readonly writer: PullWriter;
  private readonly source: ObjectSource;
  private readonly opts: EngineOptions;
  private readonly scannedCommits = new Map<string, Promise<void>>();
  /** Dirtree / dirmeta scans in progress (finished ones are in doneTrees / doneMetas). */
  private readonly scannedTrees = new Map<string, Promise<void>>();
  private readonly doneTrees = new ObjectSet();
  private readonly doneMetas = new ObjectSet();
  /** Scans in progress and the scans each of them is waiting for (cycle detection). */
  private readonly waitsFor = new Map<string, Set<string>>();
  private readonly metaRequests = new Map<string, Promise<Uint8Array>>();
  /** Content objects already requested by this pull (compact: one slot per object, no promise). */
  private readonly contentRequested = new ObjectSet();
  private readonly contentPool = new TaskPool(CONTENT_TASKS);
  private readonly treeSlots = new Semaphore(TREE_TASKS);
  /** Commits whose whole tree is now present: their marks go once the writer has finished. */
  readonly completedCommits = new Set<string>();
  private readonly markedCommits = new Set<string>();
  private readonly subpaths: string[] | null;
  private cancelled: Error | null = null;
  private parents: Promise<Repo[]> | undefined;

  constructor(dest: Repo, writer: PullWriter, source: ObjectSource, opts: EngineOptions) {
    if (!Number.isInteger(opts.depth) || opts.depth < -1) throw new XylemError(`Invalid depth ${opts.depth}`);
    this.dest = dest;
    this.writer = writer;
    this.source = source;
    this.opts = opts;
    const sp = opts.subpaths?.filter((s) => s !== '');
    if (sp) for (const s of sp) if (!s.startsWith('/')) throw new XylemError(`Invalid subpath ${s}: must be absolute`);
    // "/" means the whole tree.
    this.subpaths = sp && sp.length > 0 && !sp.includes('/') ? sp.map((s) => s.replace(/\/+$/, '')) : null;
  }

  /**
   * Whether the destination has an object: written by this pull, in the repo, or (as
   * ostree_repo_has_object) in its core.parent chain, which is then not copied again.
   */
  private async has(csum: string, type: ObjectType): Promise<boolean> {
    if (await this.writer.has(csum, type)) return true;
    this.parents ??= (async () => {
      const out: Repo[] = [];
      const seen = new Set<string>([this.dest.path]);
      for (let p = await this.dest.parent(); p && !seen.has(p.path); p = await p.parent()) {
        seen.add(p.path);
        out.push(p);
      }
      return out;
    })();
    for (const p of await this.parents) if (await p.hasObject(csum, type)) return true;
    return false;
  }

  private tick(f: (p: PullProgress) => void): void {
    if (this.opts.progress) {
      f(this.opts.progress);
      this.opts.onProgress?.();
    }
  }

  /** Stops starting new work (after a failure elsewhere). */
  cancel(reason = 'Operation was cancelled'): void {
    this.cancelled ??= new XylemError(reason);
  }

  private checkCancelled(): void {
    if (this.cancelled) throw this.cancelled;
  }

  /** Pulls one target commit (and parents down to the depth). */
  pullTarget(t: PullTarget): Promise<void> {
    return this.scanCommit(t.checksum, this.opts.depth, t.ref, false);
  }

  private scanCommit(csum: string, depth: number, ref: string | null, isParent: boolean, child?: string): Promise<void> {
    let p = this.scannedCommits.get(csum);
    if (p) return this.waitFor(child, `commit:${csum}`, p, () => `Corrupted commit object ${csum}.commit: it is its own ancestor (a cycle of parents)`);
    p = this.tracked(`commit:${csum}`, this.doScanCommit(csum, depth, ref, isParent));
    this.scannedCommits.set(csum, p);
    if (child !== undefined) this.waitsFor.get(child)?.add(`commit:${csum}`);
    return p;
  }

  /** Registers a scan as in progress until it settles. */
  private tracked(key: string, p: Promise<void>): Promise<void> {
    this.waitsFor.set(key, new Set());
    const done = () => void this.waitsFor.delete(key);
    p.then(done, done);
    return p;
  }

  /**
   * `from` (a scan in progress, or undefined for a top-level caller) is about to wait for the scan
   * `to`. In content-addressed data an object can never reach itself; a repository that does
   * (a dirtree listing itself as a subdirectory, two trees listing each other, a commit among its
   * own parents) would make the scans wait for each other forever, so it is refused instead.
   */
  private waitFor(from: string | undefined, to: string, p: Promise<void>, describe: () => string): Promise<void> {
    if (from === undefined || !this.waitsFor.has(to)) return p;
    // Does `to` (transitively) wait for `from`? Then waiting would close a cycle.
    const seen = new Set<string>();
    const stack = [to];
    while (stack.length) {
      const k = stack.pop()!;
      if (k === from) return Promise.reject(new CorruptionError(describe()));
      if (seen.has(k)) continue;
      seen.add(k);
      for (const n of this.waitsFor.get(k) ?? []) stack.push(n);
    }
    this.waitsFor.get(from)?.add(to);
    return p;
  }

  private async markPartial(csum: string): Promise<void> {
    if (this.markedCommits.has(csum)) return;
    this.markedCommits.add(csum);
    await this.dest.fs.mkdir(joinPath(this.dest.path, 'state'), { recursive: true });
    await writeFileAtomic(this.dest.fs, joinPath(this.dest.path, 'state', `${csum}.commitpartial`), new Uint8Array(0), {
      fsync: this.dest.fsyncEnabled,
    });
  }

  private async doScanCommit(csum: string, depth: number, ref: string | null, isParent: boolean): Promise<void> {
    const have = await this.has(csum, ObjectType.Commit);
    const partial = have ? (await commitState(this.dest, csum)) !== 'complete' : true;
    let commitBytes: Uint8Array;
    let commitmeta: Uint8Array | null = null;
    if (!have) {
      commitmeta = await this.fetchCommitMeta(csum);
      const bytes = await this.fetchMetadataBytes(ObjectType.Commit, csum, isParent);
      if (bytes === null) return; // a parent the source no longer has (pruned history)
      commitBytes = bytes;
      // Mark before writing: a commit object without its tree must never look complete.
      await this.markPartial(csum);
      // Malformed detached metadata is read as empty (as GLib does) and not stored.
      if (commitmeta && readDetachedMetadataLenient(commitmeta).wellFormed) await this.writer.writeCommitMeta(csum, commitmeta);
    } else {
      commitBytes = await this.dest.loadMetadataBytes(ObjectType.Commit, csum);
      if (this.opts.refreshCommitMeta) {
        commitmeta = await this.fetchCommitMeta(csum);
        if (commitmeta && readDetachedMetadataLenient(commitmeta).wellFormed) await this.writer.writeCommitMeta(csum, commitmeta);
      }
      if (!commitmeta) {
        const p = this.dest.objectPath(csum, ObjectType.CommitMeta);
        try {
          commitmeta = await this.dest.fs.readFile(p);
        } catch (e) {
          if (errnoCode(e) !== 'ENOENT') throw e;
        }
      }
    }
    const commit = decodeCommit(commitBytes, `${csum}.commit`);
    if (this.opts.verifyCommit) {
      let md: CommitMetadata | null = null;
      if (commitmeta) md = readDetachedMetadataLenient(commitmeta, `${csum}.commitmeta`).md as CommitMetadata;
      await this.opts.verifyCommit(csum, commitBytes, md);
    }
    if (this.opts.verifyBindings && ref !== null && !isParent) verifyRefBinding(csum, commit, ref);
    if (this.opts.checkCommit && !isParent) await this.opts.checkCommit(csum, commit, ref);
    if (!have) {
      await this.writeMeta(ObjectType.Commit, commitBytes, csum);
      this.tick((p) => p.scannedMetadata++);
    }
    const work: Promise<void>[] = [];
    if (commit.parent && depth !== 0) work.push(this.scanCommit(commit.parent, depth > 0 ? depth - 1 : -1, null, true, `commit:${csum}`));
    if (partial && !this.opts.commitOnly) {
      work.push(
        (async () => {
          await Promise.all([this.scanDirMeta(commit.rootMeta), this.scanDirTree(commit.rootTree, '/', [])]);
          if (this.subpaths === null) this.completedCommits.add(csum);
          else await this.markPartial(csum);
        })(),
      );
    }
    await Promise.all(work);
  }

  /** Detached metadata; ostree counts the attempt as a metadata fetch even when there is none. */
  private async fetchCommitMeta(csum: string): Promise<Uint8Array | null> {
    this.checkCancelled();
    this.tick((pr) => {
      pr.requested++;
      pr.outstandingFetches++;
    });
    let bytes: Uint8Array | null;
    try {
      bytes = await this.source.getCommitMeta(csum);
    } finally {
      this.tick((pr) => pr.outstandingFetches--);
    }
    this.tick((pr) => {
      pr.fetched++;
      if (this.source.local) {
        if (bytes) pr.importedMetadata++;
      } else pr.metadataFetched++;
    });
    return bytes;
  }

  /** Fetches a metadata object (deduplicated), verifies checksum and form; does not write it. */
  private fetchMetadataBytes(type: ObjectType, csum: string, optional: boolean): Promise<Uint8Array | null> {
    const key = `${csum}.${type}`;
    let p = this.metaRequests.get(key);
    if (!p) {
      this.tick((pr) => {
        pr.requested++;
        pr.outstandingFetches++;
      });
      const q = (async () => {
        this.checkCancelled();
        let bytes: Uint8Array | null = null;
        let fromCache = false;
        try {
          for (const cache of this.opts.localCaches ?? []) {
            bytes = await cache.getMetadata(type, csum, true);
            if (bytes) {
              fromCache = true;
              break;
            }
          }
          bytes ??= await this.source.getMetadata(type, csum, optional);
        } finally {
          this.tick((pr) => pr.outstandingFetches--);
        }
        if (bytes === null) return null as unknown as Uint8Array;
        const name = `${csum}.${objectTypeName(type)}`;
        if (bytes.length > PULL_MAX_METADATA_SIZE)
          throw new CorruptionError(`Metadata object ${name} exceeded maximum size of ${PULL_MAX_METADATA_SIZE} bytes`);
        const actual = this.source.trusted ? csum : toHex(this.dest.sha256(bytes));
        if (actual !== csum)
          throw new CorruptionError(`Corrupted ${objectTypeName(type)} object; checksum expected='${csum}' actual='${actual}'`);
        const gvType = type === ObjectType.Commit ? '(a{sv}aya(say)sstayay)' : type === ObjectType.DirTree ? '(a(say)a(sayay))' : '(uuua(ayay))';
        if (!isNormalForm(gvType, bytes)) throw new CorruptionError(`${name}: Not normal form`);
        this.tick((pr) => {
          pr.fetched++;
          if (this.source.local || fromCache) pr.importedMetadata++;
          else pr.metadataFetched++;
        });
        return bytes;
      })();
      p = q;
      this.metaRequests.set(key, p);
      // Only requests in flight are shared: a settled one's bytes must not stay alive.
      const forget = () => void this.metaRequests.delete(key);
      q.then(forget, forget);
    }
    return p.then((b) => b ?? null);
  }

  private writeMeta(type: ObjectType, bytes: Uint8Array, csum: string): Promise<void> {
    if (this.source.trusted) return this.writeTrustedMeta(type, bytes, csum);
    return this.writer.writeMetadata(type, bytes, csum);
  }

  /** As libostree, a trusted local source's metadata is hardlinked where possible, else copied. */
  private async writeTrustedMeta(type: ObjectType, bytes: Uint8Array, csum: string): Promise<void> {
    if (this.source.linkMetadata && !(await this.writer.has(csum, type)) && (await this.source.linkMetadata(type, csum, this.writer))) return;
    return this.writer.storeRawMetadata(type, bytes, csum);
  }

  private async scanDirMeta(csum: string): Promise<void> {
    if (this.doneMetas.has(csum, ObjectType.DirMeta)) return;
    const key = `${csum}.meta`;
    let p = this.scannedTrees.get(key);
    if (!p) {
      p = (async () => {
        if (await this.has(csum, ObjectType.DirMeta)) return;
        const bytes = (await this.fetchMetadataBytes(ObjectType.DirMeta, csum, false))!;
        decodeDirMeta(bytes, `${csum}.dirmeta`);
        await this.writeMeta(ObjectType.DirMeta, bytes, csum);
        this.tick((pr) => pr.scannedMetadata++);
      })();
      this.scannedTrees.set(key, p);
      p.then(
        () => {
          this.doneMetas.add(csum, ObjectType.DirMeta);
          this.scannedTrees.delete(key);
        },
        () => undefined,
      );
    }
    return p;
  }

  private matches(path: string, name: string, isDir: boolean): boolean {
    if (this.subpaths === null) return true;
    const file = path + name;
    for (const want of this.subpaths) {
      if (want === file) return true;
      if (want.startsWith(file) && want[file.length] === '/') return isDir;
      if (file.startsWith(want) && file[want.length] === '/') return true;
    }
    return false;
  }

  /**
   * Scans a dirtree (once per checksum, or per checksum and path with subpaths). `ancestors` are
   * the dirtrees above it on this path: a tree among its own ancestors is a cycle, refused.
   */
  private scanDirTree(csum: string, path: string, ancestors: readonly string[]): Promise<void> {
    const parent = ancestors.length ? ancestors[ancestors.length - 1] : undefined;
    const cycle = () => `Corrupted dirtree object ${csum}.dirtree: listed as a subdirectory of itself (a cycle, at ${path.replace(/\/$/, '') || '/'})`;
    // With subpaths the scans are per path, so a cycle would grow the path forever: check the chain.
    if (ancestors.includes(csum)) return Promise.reject(new CorruptionError(cycle()));
    const key = this.subpaths === null ? csum : `${csum}:${path}`;
    // A finished whole-tree scan is only a bit in a compact set (no string, no promise kept).
    if (this.subpaths === null && this.doneTrees.has(csum, ObjectType.DirTree)) return Promise.resolve();
    const from = parent === undefined ? undefined : `tree:${this.subpaths === null ? parent : `${parent}:${parentPath(path)}`}`;
    let p = this.scannedTrees.get(key);
    if (p) return this.waitFor(from, `tree:${key}`, p, cycle);
    p = this.tracked(`tree:${key}`, this.doScanDirTree(csum, path, ancestors));
    this.scannedTrees.set(key, p);
    if (this.subpaths === null)
      p.then(
        () => {
          this.doneTrees.add(csum, ObjectType.DirTree);
          this.scannedTrees.delete(key);
        },
        () => undefined,
      );
    if (from !== undefined) this.waitsFor.get(from)?.add(`tree:${key}`);
    return p;
  }

  /**
   * Loads a dirtree and hands its files to the content pool while holding one of TREE_TASKS slots
   * (so only a few decoded trees are alive at once, and the walk waits for the pool), then scans
   * the subdirectories and waits for its files.
   */
  private async doScanDirTree(csum: string, path: string, ancestors: readonly string[]): Promise<void> {
    const group = new TaskGroup();
    const subdirs: Array<[string, string, string]> = [];
    const w = this.treeSlots.acquire();
    if (w) await w;
    try {
      let bytes: Uint8Array;
      const have = await this.has(csum, ObjectType.DirTree);
      if (have) bytes = await this.dest.loadMetadataBytes(ObjectType.DirTree, csum);
      else bytes = (await this.fetchMetadataBytes(ObjectType.DirTree, csum, false))!;
      let tree;
      try {
        tree = decodeDirTree(bytes, `${csum}.dirtree`);
      } catch (e) {
        throw new CorruptionError(`${csum}.dirtree: ${(e as Error).message}`);
      }
      if (!have) {
        await this.writeMeta(ObjectType.DirTree, bytes, csum);
        this.tick((pr) => pr.scannedMetadata++);
      }
      for (const f of tree.files) {
        if (group.hasFailed) break;
        if (!this.matches(path, f.name, false)) continue;
        // Each content object is requested once per pull; a scan that meets it again does not
        // wait for it (every request is awaited by the scan that made it, and the pull awaits all).
        if (!this.contentRequested.add(f.checksum, ObjectType.File)) continue;
        const c = f.checksum;
        await this.contentPool.submit(group, () => this.fetchContent(c));
      }
      for (const d of tree.dirs) if (this.matches(path, d.name, true)) subdirs.push([d.name, d.treeChecksum, d.metaChecksum]);
    } catch (e) {
      await group.wait().catch(() => undefined);
      throw e;
    } finally {
      this.treeSlots.release();
    }
    const work: Promise<void>[] = [group.wait()];
    const chain = [...ancestors, csum];
    for (const [name, tree, meta] of subdirs) {
      work.push(this.scanDirMeta(meta));
      work.push(this.scanDirTree(tree, `${path}${name}/`, chain));
    }
    await Promise.all(work);
  }

  /** Brings one content object in (the pool runs this; requests are deduplicated by the caller). */
  private async fetchContent(csum: string): Promise<void> {
    if (await this.has(csum, ObjectType.File)) return;
    for (const cache of this.opts.localCaches ?? []) {
      if (cache.hasContent && (await cache.hasContent(csum))) {
        await cache.importContent(csum, this.writer);
        this.tick((pr) => pr.importedContent++);
        return;
      }
    }
    this.checkCancelled();
    this.tick((pr) => {
      pr.requested++;
      pr.outstandingFetches++;
    });
    try {
      await this.source.importContent(csum, this.writer);
    } finally {
      this.tick((pr) => pr.outstandingFetches--);
    }
    this.tick((pr) => {
      pr.fetched++;
      if (this.source.local) pr.importedContent++;
      else pr.contentFetched++;
    });
  }

  /** Removes the partial marks of commits completed by this pull (after the writer finished). */
  async clearCompletedMarks(): Promise<void> {
    for (const c of this.completedCommits) {
      try {
        await this.dest.fs.unlink(joinPath(this.dest.path, 'state', `${c}.commitpartial`));
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
    }
  }
}

/** "/a/b/" → "/a/" (the path of the dirtree holding a subdirectory's entry). */
function parentPath(path: string): string {
  const i = path.lastIndexOf('/', path.length - 2);
  return i < 0 ? '/' : path.slice(0, i + 1);
}

/** ostree's ref-binding check: a bound commit must list the ref it was pulled through. */
export function verifyRefBinding(csum: string, commit: Commit, ref: string): void {
  const v = metadataLookup(commit.metadata, 'ostree.ref-binding');
  if (!v || v.type !== 'as') return;
  const refs = v.value as string[];
  if (refs.includes(ref)) return;
  const list = refs.length ? refs.map((r) => `‘${r}’`).join(', ') : 'no refs';
  throw new XylemError(`Commit ${csum}: Commit has no requested ref ‘${ref}’ in ref binding metadata (${list})`);
}
