// Deleting unreachable objects (`ostree prune`): reachability from refs (or from every commit),
// optionally limited to a depth, by age (--keep-younger-than), per branch (--retain-branch-depth,
// --only-branch), commits only, or a dry run; plus explicit commit deletion with tombstones, and
// static deltas whose target commit is gone (or, --static-deltas-only, those to one commit).
// Counts and sizes are reported as ostree does: loose file/dirtree/dirmeta/commit objects only.
// Every deleter holds the repo lock exclusive (src/repo/lock.ts), reachability included.

import type { Repo } from '../repo/repo.ts';
import { ObjectType, isMetadataType, objectTypeName, isValidChecksum } from '../format/objects.ts';
import { XylemError } from '../util/errors.ts';
import { listAllRefs, listMirrorRefs, resolveRev } from '../repo/refs.ts';
import { traverseCommit, loadCommitIfExists } from '../repo/traverse.ts';
import { ObjectSet } from '../util/object-set.ts';
import { deleteCommitObject } from '../repo/fsck.ts';
import { markCommitPartial } from '../repo/commit-state.ts';
import { pruneSummaryCache } from '../remote/config.ts';
import { listDeltas } from '../delta/manage.ts';
import { deltaRelDir } from '../delta/paths.ts';
import { joinPath } from '../util/path.ts';
import { withRepoLock } from '../repo/lock.ts';


export interface PruneResult {
  /** Objects considered (all loose objects, or only commits with commitOnly). */
  total: number;
  /** Objects deleted (or that would be, with noPrune). */
  pruned: number;
  /** Bytes on disk of those objects. */
  freedBytes: number;
}

export interface PruneOptions {
  /** Only refs are roots (otherwise every commit object is one). */
  refsOnly?: boolean;
  /** Parents to keep per root: -1 (default) = all. */
  depth?: number;
  /** Report, do not delete. */
  noPrune?: boolean;
  /** Only commit objects are traversed, counted and deleted. */
  commitOnly?: boolean;
  /** Seconds since the epoch: history older than this is dropped (ref heads are kept). */
  keepYoungerThan?: bigint;
  /** Per-ref depth overrides (ref name as listed: `ref` or `remote:ref`). */
  retainBranchDepth?: Map<string, number>;
  /** Only these refs are pruned; the others keep their whole history. */
  onlyBranches?: string[];
  /** Log lines for -v (ostree's debug output). */
  debug?: (line: string) => void;
}

/** Objects the prune scan knows about (libostree lists neither commitmeta nor tombstones). */

/** Deletion order of the listed object types: commits, then dirtrees and dirmetas, then content. */
const DELETE_PASSES: ReadonlySet<ObjectType>[] = [
  new Set([ObjectType.Commit]),
  new Set([ObjectType.DirTree, ObjectType.DirMeta]),
  new Set([ObjectType.File, ObjectType.PayloadLink]),
];

async function storageSize(repo: Repo, checksum: string, type: ObjectType): Promise<number> {
  const st = await repo.fs.lstat(repo.objectPath(checksum, type));
  return st ? st.size : 0;
}

/** Deletes every loose object not in `reachable`; the shared tail of both prune paths. */
export async function pruneFromReachable(repo: Repo, reachable: ObjectSet, opts: PruneOptions = {}): Promise<PruneResult> {
  return withRepoLock(repo, 'exclusive', () => pruneFromReachableLocked(repo, reachable, opts));
}

async function pruneFromReachableLocked(repo: Repo, reachable: ObjectSet, opts: PruneOptions): Promise<PruneResult> {
  const result: PruneResult = { total: 0, pruned: 0, freedBytes: 0 };
  // Commits go first, then trees, then content: a prune killed half-way must never leave a commit
  // whose tree is partly deleted (fsck would call the repo corrupt); orphaned trees and files are
  // only garbage that the next prune removes (found by the crash campaign). Each pass is streamed
  // one objects/XX folder at a time; deleting in a folder already listed is safe.
  const passes = opts.commitOnly ? [DELETE_PASSES[0]!] : DELETE_PASSES;
  for (const pass of passes) {
    for await (const o of repo.objects(pass)) {
      result.total++;
      if (reachable.has(o.checksum, o.type)) {
        opts.debug?.(`Keeping needed object ${o.checksum}.${objectTypeName(o.type)}`);
        continue;
      }
      opts.debug?.(`Pruning unneeded object ${o.checksum}.${objectTypeName(o.type)}`);
      result.freedBytes += await storageSize(repo, o.checksum, o.type);
      result.pruned++;
      if (opts.noPrune) continue;
      if (o.type === ObjectType.Commit) {
        await deleteCommitObject(repo, o.checksum);
        await markCommitPartial(repo, o.checksum, false);
      } else {
        await repo.deleteObject(o.checksum, o.type);
      }
    }
  }
  void isMetadataType;
  await pruneStaticDeltas(repo, null); // as libostree, even with noPrune
  await pruneSummaryCache(repo); // as libostree: cached summaries of deleted remotes go too
  return result;
}

/** The ref heads (local, remote and collection refs), as prune sees them. */
async function refHeads(repo: Repo): Promise<Array<{ name: string; checksum: string }>> {
  const refs = await listAllRefs(repo);
  const mirrors = await listMirrorRefs(repo);
  return [...refs.map((r) => ({ name: r.name, checksum: r.checksum })), ...mirrors.map((r) => ({ name: r.name, checksum: r.checksum }))];
}

/** Walks a ref's history while commits are at least `cutoff` seconds old; the head is always kept. */
async function traverseKeepYoungerThan(
  repo: Repo,
  head: string,
  cutoff: bigint,
  reachable: ObjectSet,
  commitOnly: boolean,
): Promise<void> {
  await traverseCommit(repo, head, reachable, { depth: 0, commitOnly });
  let next: string | null = head;
  while (next) {
    const commit = await loadCommitIfExists(repo, next);
    if (!commit || commit.timestamp < cutoff) break;
    await traverseCommit(repo, next, reachable, { depth: 0, commitOnly });
    next = commit.parent;
  }
}

/** `ostree prune` without --delete-commit / --static-deltas-only: computes roots and prunes. */
export async function pruneRepo(repo: Repo, opts: PruneOptions = {}): Promise<PruneResult> {
  return withRepoLock(repo, 'exclusive', () => pruneRepoLocked(repo, opts));
}

async function pruneRepoLocked(repo: Repo, opts: PruneOptions): Promise<PruneResult> {
  const depth = opts.depth ?? -1;
  if (!Number.isInteger(depth) || depth < -1) throw new XylemError(`Invalid depth ${depth}`);
  const commitOnly = opts.commitOnly === true;
  const reachable = new ObjectSet();
  const advanced = opts.keepYoungerThan !== undefined || (opts.retainBranchDepth?.size ?? 0) > 0 || (opts.onlyBranches?.length ?? 0) > 0;

  if (!advanced) {
    if (opts.refsOnly) {
      for (const r of await refHeads(repo)) {
        opts.debug?.(`Finding objects to keep for commit ${r.checksum}`);
        await traverseCommit(repo, r.checksum, reachable, { depth, commitOnly });
      }
    } else {
      const commits: Array<{ checksum: string }> = [];
      for await (const o of repo.objects(new Set([ObjectType.Commit]))) commits.push(o);
      for (const c of commits) {
        opts.debug?.(`Finding objects to keep for commit ${c.checksum}`);
        await traverseCommit(repo, c.checksum, reachable, { depth, commitOnly });
      }
    }
    return pruneFromReachable(repo, reachable, opts);
  }

  const retain = new Map(opts.retainBranchDepth ?? []);
  const refs = (await listAllRefs(repo)).map((r) => ({ name: r.name, checksum: r.checksum }));
  if (opts.onlyBranches && opts.onlyBranches.length > 0) {
    const only = new Set<string>();
    for (const b of opts.onlyBranches) {
      await resolveRev(repo, b); // "Refspec 'X' not found"
      only.add(b);
    }
    for (const r of refs) if (!only.has(r.name) && !retain.has(r.name)) retain.set(r.name, -1);
  }
  for (const r of refs) {
    const d = retain.get(r.name);
    if (d === undefined && opts.keepYoungerThan !== undefined) {
      await traverseKeepYoungerThan(repo, r.checksum, opts.keepYoungerThan, reachable, commitOnly);
      continue;
    }
    opts.debug?.(`Finding objects to keep for commit ${r.checksum}`);
    await traverseCommit(repo, r.checksum, reachable, { depth: d ?? depth, commitOnly });
  }
  return pruneFromReachable(repo, reachable, opts);
}

/**
 * Deletes static deltas: those whose target is `commit` (`prune --static-deltas-only
 * --delete-commit=COMMIT`, the text compared as given), or with null those whose target commit
 * is not in the repo (every prune does this).
 */
export async function pruneStaticDeltas(repo: Repo, commit: string | null): Promise<void> {
  return withRepoLock(repo, 'exclusive', () => pruneStaticDeltasLocked(repo, commit));
}

async function pruneStaticDeltasLocked(repo: Repo, commit: string | null): Promise<void> {
  if (commit !== null && typeof commit !== 'string') throw new TypeError('pruneStaticDeltas: commit must be a string or null');
  for (const name of await listDeltas(repo)) {
    if (commit !== null) {
      if (name.to !== commit) continue;
    } else if (await repo.hasObject(name.to, ObjectType.Commit)) continue;
    await repo.fs.rmrf(joinPath(repo.path, deltaRelDir(name.from, name.to)));
  }
}

/** `prune --delete-commit`: refuses commits that a ref points to; turns on tombstones first. */
export async function deleteCommit(repo: Repo, checksum: string): Promise<void> {
  return withRepoLock(repo, 'exclusive', () => deleteCommitLocked(repo, checksum));
}

async function deleteCommitLocked(repo: Repo, checksum: string): Promise<void> {
  for (const r of await listAllRefs(repo)) {
    if (r.checksum === checksum) throw new XylemError(`Commit '${checksum}' is referenced by '${r.name}'`);
  }
  for (const r of await listMirrorRefs(repo)) {
    if (r.checksum === checksum) throw new XylemError(`Commit '${checksum}' is referenced by (${r.collection}, ${r.ref})`);
  }
  await repo.reloadConfig();
  if (repo.config.getBoolean('core', 'tombstone-commits') !== true) {
    const kf = repo.config;
    kf.set('core', 'tombstone-commits', 'true');
    await repo.writeConfig(kf);
  }
  if (!isValidChecksum(checksum)) {
    // ostree passes the text straight to the object path: objects/XX/REST.commit.
    throw new XylemError(`Deleting object ${checksum}.commit: unlinkat(${checksum.slice(0, 2)}/${checksum.slice(2)}.commit): No such file or directory`);
  }
  await deleteCommitObject(repo, checksum);
}
