// Reachability walks (libostree's ostree_repo_traverse_commit): from a commit, every commit,
// dirtree, dirmeta and file object it references, optionally following parents to a depth.
// Like libostree it stops quietly at a missing parent commit, tolerates missing dirtrees of
// partial commits. Dirtrees are loaded many at a time; the reachable set is a compact ObjectSet
// (32 raw checksum bytes + type per slot, no JS object per object), and which commits reach an
// object (fsck's "In commits …") is worked out by commitsReaching() only when one is reported.

import type { Repo } from './repo.ts';
import { ObjectType, isValidChecksum, decodeCommit, objectTypeName, type Commit } from '../format/objects.ts';
import { decode, type GVValue } from '../format/gvariant.ts';
import { toHex } from '../util/bytes.ts';
import { ObjectSet } from '../util/object-set.ts';
import { CorruptionError, NotFoundError, XylemError } from '../util/errors.ts';
import { commitState } from './commit-state.ts';

export { ObjectSet };

export interface TraverseOptions {
  /** Parents to follow: -1 = the whole history, 0 = only this commit (default), N = N parents. */
  depth?: number;
  /** Only record commit objects (prune --commit-only). */
  commitOnly?: boolean;
  /** Dirtrees loaded at once (default 32). */
  concurrency?: number;
}

/** A dirtree's entries as raw tuples; names are not validated here (fsck does that). */
interface RawDirTree {
  files: Array<[string, Uint8Array]>;
  dirs: Array<[string, Uint8Array, Uint8Array]>;
}

function parseDirTreeLenient(repo: Repo, checksum: string, data: Uint8Array): RawDirTree {
  let dt: RawDirTree;
  try {
    const [files, dirs] = decode('(a(say)a(sayay))', data) as [GVValue[], GVValue[]];
    dt = { files: files as RawDirTree['files'], dirs: dirs as RawDirTree['dirs'] };
  } catch (e) {
    throw unreadable(repo, ObjectType.DirTree, checksum, data, e);
  }
  const bad = (name: string, c: unknown) =>
    new CorruptionError(
      `${checksum}.dirtree: Corrupted dirtree object: entry ${JSON.stringify(name)}: Invalid checksum of length ${c instanceof Uint8Array ? c.length : 0} expected 32`,
    );
  for (const [name, c] of dt.files) if (!(c instanceof Uint8Array) || c.length !== 32) throw bad(name, c);
  for (const [name, t, m] of dt.dirs) {
    if (!(t instanceof Uint8Array) || t.length !== 32) throw bad(name, t);
    if (!(m instanceof Uint8Array) || m.length !== 32) throw bad(name, m);
  }
  return dt;
}

/**
 * The error for a metadata object that cannot be read: its type and checksum, and what is wrong
 * (the checksum when the bytes do not match it, else the decoder's complaint with the message
 * libostree gives for such an object).
 */
function unreadable(repo: Repo, type: ObjectType, checksum: string, data: Uint8Array, e: unknown): CorruptionError {
  const t = objectTypeName(type);
  const actual = toHex(repo.sha256(data));
  // Worded as libostree's fsck words a mismatch, after the object's name.
  if (actual !== checksum)
    return new CorruptionError(`${checksum}.${t}: Corrupted ${t} object; checksum expected='${checksum}' actual='${actual}' (${data.length} bytes)`);
  const why = e instanceof Error ? e.message.replace(`${checksum}.${t}: `, '') : String(e);
  return new CorruptionError(`${checksum}.${t}: Corrupted ${t} object: ${why} (${GLIB_EMPTY_CHECKSUM})`);
}

/**
 * What libostree reports when a commit or dirtree is not in normal form: GLib then reads the
 * checksum fields as empty byte arrays, and the walk fails on the first one. Xylem says it too,
 * after naming the object and what is wrong with it.
 */
export const GLIB_EMPTY_CHECKSUM = 'Invalid checksum of length 0 expected 32';

/** Loads a commit if present; null when the object does not exist. */
export async function loadCommitIfExists(repo: Repo, checksum: string): Promise<Commit | null> {
  let data: Uint8Array;
  try {
    data = await repo.loadMetadataBytes(ObjectType.Commit, checksum);
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
  try {
    return decodeCommit(data, `${checksum}.commit`);
  } catch (e) {
    throw unreadable(repo, ObjectType.Commit, checksum, data, e);
  }
}

/**
 * Adds everything reachable from `checksum` to `reachable`. Walks parents up to opts.depth,
 * stopping at a commit already in the set or missing from the repo.
 */
export async function traverseCommit(
  repo: Repo,
  checksum: string,
  reachable: ObjectSet,
  opts: TraverseOptions = {},
): Promise<void> {
  if (!isValidChecksum(checksum)) throw new XylemError(`Invalid checksum ${checksum}`);
  let depth = opts.depth ?? 0;
  if (!Number.isInteger(depth) || depth < -1) throw new XylemError(`Invalid depth ${depth}`);
  let current: string | null = checksum;
  while (current) {
    if (reachable.has(current, ObjectType.Commit)) break;
    const commit = await loadCommitIfExists(repo, current);
    if (!commit) break;
    const partial = (await commitState(repo, current)) !== 'complete';
    reachable.add(current, ObjectType.Commit);
    if (!opts.commitOnly) await traverseTree(repo, commit, partial, reachable, opts);
    if (depth === 0 || !commit.parent) break;
    if (depth > 0) depth--;
    current = commit.parent;
  }
}

async function traverseTree(repo: Repo, commit: Commit, partial: boolean, reachable: ObjectSet, opts: TraverseOptions): Promise<void> {
  reachable.add(commit.rootMeta, ObjectType.DirMeta);
  // Shared subtrees are walked once: a dirtree already in the set has been (or is being) walked.
  if (!reachable.add(commit.rootTree, ObjectType.DirTree)) return;

  const queue: string[] = [commit.rootTree];
  const limit = Math.max(1, opts.concurrency ?? 32);
  let active = 0;
  let failure: unknown = null;

  await new Promise<void>((resolve) => {
    const visit = (tree: string): void => {
      active++;
      repo
        .loadMetadataBytes(ObjectType.DirTree, tree)
        .then((data) => {
          const dt = parseDirTreeLenient(repo, tree, data);
          for (const [, c] of dt.files) reachable.add(c, ObjectType.File);
          for (const [, t, m] of dt.dirs) {
            reachable.add(m, ObjectType.DirMeta);
            if (reachable.add(t, ObjectType.DirTree)) queue.push(toHex(t));
          }
        })
        .catch((e: unknown) => {
          if (e instanceof NotFoundError && partial) return;
          if (failure === null) failure = e;
        })
        .finally(() => {
          active--;
          pump();
        });
    };
    const pump = (): void => {
      while (failure === null && active < limit && queue.length > 0) visit(queue.pop()!);
      if (active === 0 && (queue.length === 0 || failure !== null)) resolve();
    };
    pump();
  });
  if (failure !== null) throw failure;
}

/** Everything reachable from several commits, each to the same depth. */
export async function traverseCommits(repo: Repo, checksums: Iterable<string>, opts: TraverseOptions = {}): Promise<ObjectSet> {
  const reachable = new ObjectSet();
  for (const c of checksums) await traverseCommit(repo, c, reachable, opts);
  return reachable;
}

/**
 * The commits among `commits` whose tree reaches the object (libostree's parents table, which
 * fsck prints for a bad object), in the order given. Walks each commit again, so callers use it
 * only to report an error; the walks are cached in `cache` for the next report.
 */
export async function commitsReaching(
  repo: Repo,
  commits: readonly string[],
  checksum: string,
  type: ObjectType,
  cache: Map<string, ObjectSet>,
): Promise<string[]> {
  if (type === ObjectType.Commit) return [checksum];
  const out: string[] = [];
  for (const c of commits) {
    let set = cache.get(c);
    if (!set) {
      set = new ObjectSet();
      try {
        await traverseCommit(repo, c, set, { depth: 0 });
      } catch {
        // a commit whose walk fails still lists what it reached before the failure
      }
      cache.set(c, set);
    }
    if (set.has(checksum, type)) out.push(c);
  }
  return out;
}
