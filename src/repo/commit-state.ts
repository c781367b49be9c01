// Commit completeness markers: state/CSUM.commitpartial, written by pulls that fetched only the
// commit (empty file) and by fsck when it found a commit's objects missing or corrupt (file
// holding "f"). Traversals tolerate missing objects of partial commits, as libostree does.

import type { Repo } from './repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { isValidChecksum } from '../format/objects.ts';
import { joinPath } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';

/** 'complete', 'partial' (marker present) or 'fsck-partial' (marker written by fsck). */
export type CommitState = 'complete' | 'partial' | 'fsck-partial';

function markerPath(repo: Repo, checksum: string): string {
  if (!isValidChecksum(checksum)) throw new XylemError(`Invalid checksum ${checksum}`);
  return joinPath(repo.path, 'state', `${checksum}.commitpartial`);
}

export async function commitState(repo: Repo, checksum: string): Promise<CommitState> {
  const p = markerPath(repo, checksum);
  let data: Uint8Array;
  try {
    data = await repo.fs.readFile(p);
  } catch (e) {
    const c = errnoCode(e);
    if (c === 'ENOENT' || c === 'ENOTDIR') return 'complete';
    throw e;
  }
  return data.length > 0 && data[0] === 0x66 /* 'f' */ ? 'fsck-partial' : 'partial';
}

/** Marks a commit partial (fsck=true writes the "f" reason) or clears the mark. */
export async function markCommitPartial(repo: Repo, checksum: string, partial: boolean, fsck = false): Promise<void> {
  const p = markerPath(repo, checksum);
  if (!partial) {
    try {
      await repo.fs.unlink(p);
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') throw e;
    }
    return;
  }
  await repo.fs.mkdir(joinPath(repo.path, 'state'), { recursive: true });
  await writeFileAtomic(repo.fs, p, fsck ? new Uint8Array([0x66]) : new Uint8Array(0), { fsync: repo.fsyncEnabled });
}
