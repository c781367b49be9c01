// Copying commits and everything they reference from one local repo into another (`pull-local`),
// converting between storage modes and verifying every checksum on the way in. Interrupted
// copies are resumable: a commit is marked state/CSUM.commitpartial until its tree is complete.

import { Repo, writeFileAtomic } from './repo.ts';
import { Transaction } from './transaction.ts';
import { ObjectType, decodeCommit, decodeDirTree, isReg } from '../format/objects.ts';
import { listLocalRefs, resolveRev } from './refs.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';

export interface PullLocalOptions {
  /** Parents to follow: 0 = just the commit, -1 = whole history. */
  depth?: number;
  commitMetadataOnly?: boolean;
  /** Write refs under refs/remotes/REMOTE instead of refs/heads. */
  remote?: string | null;
  /** Refuse regular files with modes outside 0775 (world-writable, setuid …). */
  bareuseronlyFiles?: boolean;
}

export interface PullStats {
  metadataImported: number;
  contentImported: number;
  contentBytesWritten: number;
}

function partialPath(repo: Repo, csum: string): string {
  return joinPath(repo.path, 'state', `${csum}.commitpartial`);
}

/** Copies `refs` (all local refs of `src` when empty) and their objects from `src` into `dest`. */
export async function pullLocal(dest: Repo, src: Repo, refs: string[], opts: PullLocalOptions = {}): Promise<PullStats> {
  const depth = opts.depth ?? 0;
  if (!Number.isInteger(depth) || depth < -1) throw new XylemError(`Invalid depth ${depth}`);
  const targets: Array<{ ref: string | null; csum: string }> = [];
  if (refs.length === 0) for (const e of await listLocalRefs(src)) targets.push({ ref: e.ref, csum: e.checksum });
  for (const r of refs) {
    const csum = (await resolveRev(src, r))!;
    targets.push({ ref: r === csum ? null : r, csum });
  }
  const txn = new Transaction(dest);
  const stats: PullStats = { metadataImported: 0, contentImported: 0, contentBytesWritten: 0 };
  const seenTrees = new Set<string>();
  const copyMeta = async (type: ObjectType, csum: string): Promise<Uint8Array> => {
    const bytes = await src.loadMetadataBytes(type, csum);
    if (!(await txn.hasObject(csum, type))) {
      await txn.writeMetadata(type, bytes, csum);
      stats.metadataImported++;
    }
    return bytes;
  };
  const copyContent = async (csum: string): Promise<void> => {
    if (await txn.hasObject(csum, ObjectType.File)) return;
    const obj = await src.loadFile(csum);
    if (opts.bareuseronlyFiles && isReg(obj.header.mode) && (obj.header.mode & ~(0o100775 | 0o170000)) !== 0)
      throw new XylemError(`Content object ${csum}: invalid mode 0${(obj.header.mode & 0o7777).toString(8)} with bits 0${(obj.header.mode & 0o7002).toString(8)}`);
    const data = await obj.read();
    await txn.writeContent(obj.header, data, csum);
    stats.contentImported++;
    stats.contentBytesWritten += data.length;
  };
  const walkTree = async (tree: string, meta: string): Promise<void> => {
    if (seenTrees.has(tree + meta)) return;
    seenTrees.add(tree + meta);
    await copyMeta(ObjectType.DirMeta, meta);
    const dt = decodeDirTree(await copyMeta(ObjectType.DirTree, tree), `${tree}.dirtree`);
    const pending: Promise<void>[] = [];
    for (const f of dt.files) pending.push(copyContent(f.checksum));
    await Promise.all(pending);
    for (const d of dt.dirs) await walkTree(d.treeChecksum, d.metaChecksum);
  };
  const markers: string[] = [];
  try {
    for (const t of targets) {
      let csum: string | null = t.csum;
      let remaining = depth;
      while (csum) {
        const complete = (await dest.hasObject(csum, ObjectType.Commit)) && !(await dest.isCommitPartial(csum));
        const commitBytes = await src.loadMetadataBytes(ObjectType.Commit, csum);
        const commit = decodeCommit(commitBytes, `${csum}.commit`);
        if (!complete) {
          const partial = partialPath(dest, csum);
          await writeFileAtomic(dest.fs, partial, new Uint8Array(0), { fsync: false });
          markers.push(csum);
          const cm = joinPath(src.path, `objects/${csum.slice(0, 2)}/${csum.slice(2)}.commitmeta`);
          if (await src.fs.lstat(cm)) await txn.writeCommitMeta(csum, await src.fs.readFile(cm));
          if (!(await txn.hasObject(csum, ObjectType.Commit))) {
            await txn.writeMetadata(ObjectType.Commit, commitBytes, csum);
            stats.metadataImported++;
          }
          if (!opts.commitMetadataOnly) await walkTree(commit.rootTree, commit.rootMeta);
        }
        if (remaining === 0 || !commit.parent) break;
        if (remaining > 0) remaining--;
        if (!(await src.hasObject(commit.parent, ObjectType.Commit))) break;
        csum = commit.parent;
      }
      if (t.ref) {
        const ref = t.ref.includes(':') ? t.ref.slice(t.ref.indexOf(':') + 1) : t.ref;
        txn.setRef(opts.remote ?? null, ref, t.csum);
      }
    }
    await txn.commit();
  } catch (e) {
    await txn.abort().catch(() => undefined);
    throw e;
  }
  if (!opts.commitMetadataOnly) for (const m of markers) await dest.fs.unlink(partialPath(dest, m)).catch(() => undefined);
  return stats;
}
