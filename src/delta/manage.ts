// Static deltas stored in a repository: listing them, their superblock checksums (what the
// summary and the delta indexes publish), deleting one, and the delta indexes
// (delta-indexes/XX/REST.index = a{sv} {ostree.static-deltas: a{sv} name → <ay sha256(superblock)>}).

import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { encode, type GVValue, type GVVariant } from '../format/gvariant.ts';
import { glibDictOrder } from '../format/glib-hash-order.ts';
import { fromModifiedBase64, toHex } from '../util/bytes.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { joinPath } from '../util/path.ts';
import { deltaIndexRelPath, deltaNameFromDirs, deltaNameString, deltaRelDir, deltaRelPath, parseDeltaName, type DeltaName } from './paths.ts';
import { withRepoLock } from '../repo/lock.ts';

async function readdirNames(repo: Repo, path: string): Promise<Array<{ name: string; kind: string }>> {
  try {
    return await repo.fs.readdir(path);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') return [];
    throw e;
  }
}

/** Every delta in deltas/ that has a superblock, sorted by name ("FROM-TO" or "TO", hex). */
export async function listDeltas(repo: Repo): Promise<DeltaName[]> {
  const base = joinPath(repo.path, 'deltas');
  const out: DeltaName[] = [];
  for (const p of await readdirNames(repo, base)) {
    if (p.kind !== 'dir' || p.name.length !== 2) continue;
    for (const e of await readdirNames(repo, joinPath(base, p.name))) {
      if (e.kind !== 'dir') continue;
      const name = deltaNameFromDirs(p.name, e.name);
      if (!name) continue;
      if (!(await repo.fs.lstat(joinPath(base, p.name, e.name, 'superblock')))) continue;
      out.push(name);
    }
  }
  return out.sort((a, b) => (deltaNameString(a) < deltaNameString(b) ? -1 : 1));
}

/** SHA-256 (hex) of a delta's superblock file, as published in summaries and delta indexes. */
export async function deltaSuperblockChecksum(repo: Repo, name: DeltaName): Promise<string> {
  const p = joinPath(repo.path, deltaRelPath(name.from, name.to, 'superblock'));
  let data: Uint8Array;
  try {
    data = await repo.fs.readFile(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new XylemError(`Can't find delta ${deltaNameString(name)}`);
    throw e;
  }
  return toHex(repo.sha256(data));
}

/** Removes a delta's folder; "Can't find delta …" when it does not exist. */
export async function deleteDelta(repo: Repo, name: DeltaName): Promise<void> {
  return withRepoLock(repo, 'exclusive', () => deleteDeltaLocked(repo, name));
}

async function deleteDeltaLocked(repo: Repo, name: DeltaName): Promise<void> {
  const dir = joinPath(repo.path, deltaRelDir(name.from, name.to));
  if (!(await repo.fs.lstat(dir))) throw new XylemError(`Can't find delta ${deltaNameString(name)}`);
  await repo.fs.rmrf(dir);
}

/** The bytes of a delta index for the given (name, superblock sha256) entries. */
export function encodeDeltaIndex(entries: ReadonlyArray<readonly [string, string]>): Uint8Array {
  const dict: Array<[string, GVVariant]> = [...entries]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([n, c]) => [n, { type: 'ay', value: hexBytes(c) }]);
  return encode('a{sv}', [['ostree.static-deltas', { type: 'a{sv}', value: glibDictOrder(dict) as GVValue[] }]]);
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Targets that have a delta index file, sorted. */
export async function listDeltaIndexes(repo: Repo): Promise<string[]> {
  const base = joinPath(repo.path, 'delta-indexes');
  const out: string[] = [];
  for (const p of await readdirNames(repo, base)) {
    if (p.kind !== 'dir' || p.name.length !== 2) continue;
    for (const e of await readdirNames(repo, joinPath(base, p.name))) {
      if (e.kind !== 'file' || !e.name.endsWith('.index')) continue;
      const b64 = p.name + e.name.slice(0, -'.index'.length);
      if (!/^[A-Za-z0-9+_]{43}$/.test(b64)) continue;
      const b = fromModifiedBase64(b64);
      if (b.length === 32) out.push(toHex(b));
    }
  }
  return out.sort();
}

/**
 * Rewrites delta-indexes/ from the deltas present (only the index of `onlyTo` when given),
 * removes indexes of targets without deltas, and sets core.indexed-deltas=true, as
 * ostree_repo_static_delta_reindex does.
 */
export async function reindexDeltas(repo: Repo, onlyTo?: string): Promise<void> {
  const byTarget = new Map<string, Array<[string, string]>>();
  for (const d of await listDeltas(repo)) {
    if (onlyTo !== undefined && d.to !== onlyTo) continue;
    const l = byTarget.get(d.to) ?? [];
    l.push([deltaNameString(d), await deltaSuperblockChecksum(repo, d)]);
    byTarget.set(d.to, l);
  }
  for (const old of await listDeltaIndexes(repo)) {
    if (onlyTo !== undefined && old !== onlyTo) continue;
    if (!byTarget.has(old)) await repo.fs.unlink(joinPath(repo.path, deltaIndexRelPath(old))).catch(() => undefined);
  }
  for (const [to, entries] of byTarget) {
    const rel = deltaIndexRelPath(to);
    const p = joinPath(repo.path, rel);
    await repo.fs.mkdir(p.slice(0, p.lastIndexOf('/')), { recursive: true, mode: 0o755 });
    await writeFileAtomic(repo.fs, p, encodeDeltaIndex(entries), { fsync: repo.fsyncEnabled });
  }
  if (repo.config.get('core', 'indexed-deltas') !== 'true') {
    const kf = repo.config;
    kf.set('core', 'indexed-deltas', 'true');
    await repo.writeConfig(kf);
  }
}

export { parseDeltaName };
