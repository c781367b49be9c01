// Reachability walks (libostree's ostree_repo_traverse_commit): from a commit, every commit,
// dirtree, dirmeta and file object it references, optionally following parents to a depth.
// Like libostree it stops quietly at a missing parent commit, tolerates missing dirtrees of
// partial commits, and records which commits reach each object (for fsck's "In commits …").
// Dirtrees are loaded many at a time; only the set of object keys is kept in memory.

import type { Repo } from './repo.ts';
import { ObjectType, isValidChecksum, decodeCommit, objectTypeName, type Commit } from '../format/objects.ts';
import { decode, type GVValue } from '../format/gvariant.ts';
import { toHex } from '../util/bytes.ts';
import { CorruptionError, NotFoundError, XylemError } from '../util/errors.ts';
import { commitState } from './commit-state.ts';

/** Compact set key of an object: 64 hex digits followed by the ObjectType number. */
export type ObjectKey = string;

export function objectKey(checksum: string, type: ObjectType): ObjectKey {
  return checksum + String(type);
}

export function parseObjectKey(key: ObjectKey): { checksum: string; type: ObjectType } {
  return { checksum: key.slice(0, 64), type: Number(key.slice(64)) as ObjectType };
}

export interface TraverseOptions {
  /** Parents to follow: -1 = the whole history, 0 = only this commit (default), N = N parents. */
  depth?: number;
  /** Only record commit objects (prune --commit-only). */
  commitOnly?: boolean;
  /** When given, filled with object key → commits whose walk reached it (libostree's parents table). */
  parents?: Map<ObjectKey, string[]>;
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

function addParent(parents: Map<ObjectKey, string[]> | undefined, key: ObjectKey, commit: string): void {
  if (!parents) return;
  const l = parents.get(key);
  if (!l) parents.set(key, [commit]);
  else if (!l.includes(commit)) l.push(commit);
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
  reachable: Set<ObjectKey>,
  opts: TraverseOptions = {},
): Promise<void> {
  if (!isValidChecksum(checksum)) throw new XylemError(`Invalid checksum ${checksum}`);
  let depth = opts.depth ?? 0;
  if (!Number.isInteger(depth) || depth < -1) throw new XylemError(`Invalid depth ${depth}`);
  let current: string | null = checksum;
  while (current) {
    const key = objectKey(current, ObjectType.Commit);
    if (reachable.has(key)) break;
    const commit = await loadCommitIfExists(repo, current);
    if (!commit) break;
    const partial = (await commitState(repo, current)) !== 'complete';
    reachable.add(key);
    if (!opts.commitOnly) await traverseTree(repo, current, commit, partial, reachable, opts);
    if (depth === 0 || !commit.parent) break;
    if (depth > 0) depth--;
    current = commit.parent;
  }
}

async function traverseTree(
  repo: Repo,
  commitCsum: string,
  commit: Commit,
  partial: boolean,
  reachable: Set<ObjectKey>,
  opts: TraverseOptions,
): Promise<void> {
  const parents = opts.parents;
  const metaKey = objectKey(commit.rootMeta, ObjectType.DirMeta);
  addParent(parents, metaKey, commitCsum);
  reachable.add(metaKey);
  const rootKey = objectKey(commit.rootTree, ObjectType.DirTree);
  addParent(parents, rootKey, commitCsum);
  // With a parents table every commit's tree is walked in full (as libostree does), so that each
  // object lists all the commits that reach it; otherwise shared subtrees are walked once.
  const seen = parents ? new Set<string>() : reachable;
  if (seen.has(rootKey)) return;
  seen.add(rootKey);
  reachable.add(rootKey);

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
          for (const [, c] of dt.files) {
            const k = objectKey(toHex(c), ObjectType.File);
            addParent(parents, k, commitCsum);
            reachable.add(k);
          }
          for (const [, t, m] of dt.dirs) {
            const mk = objectKey(toHex(m), ObjectType.DirMeta);
            addParent(parents, mk, commitCsum);
            reachable.add(mk);
            const tcs = toHex(t);
            const tk = objectKey(tcs, ObjectType.DirTree);
            addParent(parents, tk, commitCsum);
            if (!seen.has(tk)) {
              seen.add(tk);
              reachable.add(tk);
              queue.push(tcs);
            }
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
export async function traverseCommits(repo: Repo, checksums: Iterable<string>, opts: TraverseOptions = {}): Promise<Set<ObjectKey>> {
  const reachable = new Set<ObjectKey>();
  for (const c of checksums) await traverseCommit(repo, c, reachable, opts);
  return reachable;
}

/** Commits (in order) in the parent chain of the given objects' parent table entry. */
export function parentCommitsOf(parents: Map<ObjectKey, string[]>, key: ObjectKey): string[] {
  const { type, checksum } = parseObjectKey(key);
  if (type === ObjectType.Commit) return [checksum];
  return parents.get(key) ?? [];
}
