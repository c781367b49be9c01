// Layering against the base's rpm-md snapshot (beyond rpm-ostree): a composed base records, in
// `rpmostree.rpmmd-repos`, each repo it was composed from with the time of that repo's metadata
// (repomd's highest <timestamp>). With the snapshot policy on, layering leaves out every package
// of such a repo that cannot have been in it at that time — built (BUILDTIME) or written into
// the repo (the .rpm's mtime, primary's <time file>) after the snapshot — so a host never layers
// a package built for a newer base. Repos the base does not record are used as they are (and
// named). The policy is kept in the origin (`[xylem] rpmmd-snapshot=base`; rpm-ostree and ostree
// ignore groups they do not know), so an upgrade re-layers against the NEW base's snapshot.

import type { KeyFile } from '../format/keyfile.ts';
import type { GVVariant } from '../format/gvariant.ts';
import type { Repo } from '../repo/repo.ts';
import { bswap64 } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';

/** Repo id → the snapshot's metadata time (seconds since the epoch). */
export type RpmmdSnapshot = ReadonlyMap<string, number>;

const GROUP = 'xylem';
const KEY = 'rpmmd-snapshot';

/** Whether the origin asks to resolve against the base's snapshot. */
export function readSnapshotPolicy(origin: KeyFile | null): boolean {
  const v = origin?.get(GROUP, KEY) ?? null;
  return v === 'base';
}

/** Records (or clears) the snapshot policy in the origin. */
export function writeSnapshotPolicy(origin: KeyFile, on: boolean): void {
  if (on) origin.set(GROUP, KEY, 'base');
  else if (origin.hasGroup(GROUP)) {
    origin.remove(GROUP, KEY);
    if (origin.keys(GROUP).length === 0) origin.removeGroup(GROUP);
  }
}

/**
 * The rpm-md snapshot `commit` was composed from: its `rpmostree.rpmmd-repos` (aa{sv} of id and
 * timestamp). rpm-ostree stores the numbers of the metadata it writes big-endian (as our compose
 * does, src/compose/pkgcache.ts canonicalMetadata; `ostree show` byte-swaps them to print), so
 * the timestamp is read as big-endian. Fails, naming the commit, when there is none or it is
 * malformed.
 */
export async function readBaseSnapshot(repo: Repo, commit: string): Promise<RpmmdSnapshot> {
  if (typeof commit !== 'string' || !/^[0-9a-f]{64}$/.test(commit)) throw new TypeError('readBaseSnapshot: a commit checksum is required');
  const c = await repo.loadCommit(commit);
  const md = c.metadata.find(([k]) => k === 'rpmostree.rpmmd-repos')?.[1];
  if (!md)
    throw new XylemError(
      `Commit ${commit}: no rpm-md snapshot recorded (rpmostree.rpmmd-repos): it was not composed with repo-metadata inline; layer without --base-snapshot`,
      'ENOSNAPSHOT',
    );
  const bad = (why: string) => new XylemError(`Commit ${commit}: rpmostree.rpmmd-repos ${why}`, 'ECORRUPT');
  if (md.type !== 'aa{sv}' || !Array.isArray(md.value)) throw bad(`has type ${md.type}, not aa{sv}`);
  const out = new Map<string, number>();
  for (const entry of md.value as Array<Array<[string, GVVariant]>>) {
    const id = entry.find(([k]) => k === 'id')?.[1];
    const ts = entry.find(([k]) => k === 'timestamp')?.[1];
    if (!id || id.type !== 's' || typeof id.value !== 'string' || id.value === '') throw bad('has an entry without a string id');
    if (!ts || ts.type !== 't' || typeof ts.value !== 'bigint') throw bad(`entry '${id.value}' has no uint64 timestamp`);
    const at = bswap64(ts.value);
    if (at > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`entry '${id.value}' has an impossible timestamp ${at}`);
    out.set(id.value, Number(at));
  }
  return out;
}

/** Whether a package (primary's times) can have been in a repo whose snapshot time is `at`. */
export function inSnapshot(time: { file: number; build: number }, at: number): boolean {
  return time.file <= at && time.build <= at;
}
