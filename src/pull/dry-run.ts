// `pull --dry-run`: what a pull would fetch and how many bytes, without writing anything. Walks
// the commits (and parents down to the depth) and the trees the destination lacks, reading the
// metadata it needs into memory, and sizes the missing content objects with HEAD requests (or
// stat for file:// remotes). Subpaths are not applied: the estimate covers whole trees.

import type { Repo } from '../repo/repo.ts';
import { ObjectType, decodeCommit, decodeDirTree } from '../format/objects.ts';
import { commitState } from '../repo/commit-state.ts';

export interface DryRunEstimate {
  /** Metadata objects missing locally (commits, dirtrees, dirmetas) and their total size. */
  metadataObjects: number;
  metadataBytes: number;
  /** Content objects missing locally and the sum of their sizes as the server reports them. */
  contentObjects: number;
  contentBytes: number;
  /** Content objects whose size the server did not tell. */
  unknownSizes: number;
}

export interface DryRunSource {
  /** Metadata bytes; null when absent (tolerated for parents only). */
  getMetadata(type: ObjectType, csum: string, optional: boolean): Promise<Uint8Array | null>;
  /** Size of a content object as stored on the source, null when unknown. */
  contentSize(csum: string): Promise<number | null>;
}

export async function estimatePull(
  dest: Repo,
  source: DryRunSource,
  commits: string[],
  opts: { depth: number; commitOnly: boolean },
): Promise<DryRunEstimate> {
  const est: DryRunEstimate = { metadataObjects: 0, metadataBytes: 0, contentObjects: 0, contentBytes: 0, unknownSizes: 0 };
  const seenMeta = new Set<string>();
  const seenContent = new Set<string>();
  const contentWork: Promise<void>[] = [];

  const meta = async (type: ObjectType, csum: string, optional: boolean): Promise<Uint8Array | null> => {
    if (await dest.hasObject(csum, type)) return dest.loadMetadataBytes(type, csum);
    const bytes = await source.getMetadata(type, csum, optional);
    const key = `${csum}.${type}`;
    if (bytes && !seenMeta.has(key)) {
      seenMeta.add(key);
      est.metadataObjects++;
      est.metadataBytes += bytes.length;
    }
    return bytes;
  };
  const tree = async (treeCsum: string, metaCsum: string): Promise<void> => {
    if (seenMeta.has(`${treeCsum}:walked`)) return;
    seenMeta.add(`${treeCsum}:walked`);
    await meta(ObjectType.DirMeta, metaCsum, false);
    const t = decodeDirTree((await meta(ObjectType.DirTree, treeCsum, false))!, `${treeCsum}.dirtree`);
    for (const f of t.files) {
      if (seenContent.has(f.checksum)) continue;
      seenContent.add(f.checksum);
      contentWork.push(
        (async () => {
          if (await dest.hasObject(f.checksum, ObjectType.File)) return;
          est.contentObjects++;
          const n = await source.contentSize(f.checksum);
          if (n === null) est.unknownSizes++;
          else est.contentBytes += n;
        })(),
      );
    }
    await Promise.all(t.dirs.map((d) => tree(d.treeChecksum, d.metaChecksum)));
  };
  const commit = async (csum: string, depth: number, isParent: boolean): Promise<void> => {
    const have = await dest.hasObject(csum, ObjectType.Commit);
    const complete = have && (await commitState(dest, csum)) === 'complete';
    const bytes = await meta(ObjectType.Commit, csum, isParent);
    if (!bytes) return;
    const c = decodeCommit(bytes, `${csum}.commit`);
    const work: Promise<void>[] = [];
    if (!complete && !opts.commitOnly) work.push(tree(c.rootTree, c.rootMeta));
    if (c.parent && depth !== 0) work.push(commit(c.parent, depth > 0 ? depth - 1 : -1, true));
    await Promise.all(work);
  };
  await Promise.all(commits.map((c) => commit(c, opts.depth, false)));
  await Promise.all(contentWork);
  return est;
}
