// Copying commits and everything they reference from one local repo into another (`pull-local`),
// converting between storage modes and verifying every checksum on the way in. The traversal,
// partial-commit marks (state/CSUM.commitpartial) and batched writes are the pull engine's
// (src/pull/engine.ts), shared with HTTP pulls; this module only picks the commits and refs.

import { Repo } from '../repo/repo.ts';
import { listLocalRefs, listRemoteRefs, resolveRev } from '../repo/refs.ts';
import { XylemError } from '../util/errors.ts';
import { PullEngine, type CommitVerifier } from './engine.ts';
import { PullWriter } from './writer.ts';
import { LocalRepoSource } from './source-local.ts';
import { emptyProgress } from './progress.ts';
import { withRepoLock } from '../repo/lock.ts';

export interface PullLocalOptions {
  /** Parents to follow: 0 = just the commit, -1 = whole history. */
  depth?: number;
  commitMetadataOnly?: boolean;
  /** Write refs under refs/remotes/REMOTE instead of refs/heads. */
  remote?: string | null;
  /** Refuse regular files with modes outside 0775 (world-writable, setuid …). */
  bareuseronlyFiles?: boolean;
  /** Re-verify everything and never hardlink (ostree: --untrusted). */
  untrusted?: boolean;
  /** Signature check for each commit (wired by the CLI for --gpg-verify). */
  verifyCommit?: CommitVerifier;
}

export interface PullStats {
  metadataImported: number;
  contentImported: number;
  contentBytesWritten: number;
}

/** Copies `refs` (all local refs of `src` when empty) and their objects from `src` into `dest` (holding dest's repo lock shared). */
export async function pullLocal(dest: Repo, src: Repo, refs: string[], opts: PullLocalOptions = {}): Promise<PullStats> {
  return withRepoLock(dest, 'shared', () => pullLocalLocked(dest, src, refs, opts));
}

async function pullLocalLocked(dest: Repo, src: Repo, refs: string[], opts: PullLocalOptions): Promise<PullStats> {
  const depth = opts.depth ?? 0;
  if (!Number.isInteger(depth) || depth < -1) throw new XylemError(`Invalid depth ${depth}`);
  const targets: Array<{ ref: string | null; csum: string }> = [];
  if (refs.length === 0) {
    // As ostree: all refs of the source, and a remote ref among them is not a valid ref to copy.
    const remoteRef = (await listRemoteRefs(src))[0];
    if (remoteRef) throw new XylemError(`Invalid ref name ${remoteRef.name}`);
    for (const e of await listLocalRefs(src)) targets.push({ ref: e.ref, csum: e.checksum });
  }
  for (const r of refs) {
    const csum = (await resolveRev(src, r))!;
    targets.push({ ref: r === csum ? null : r, csum });
  }
  const progress = emptyProgress(Date.now());
  const writer = new PullWriter(dest);
  const source = new LocalRepoSource(src, { trusted: !opts.untrusted, bareuseronlyFiles: !!opts.bareuseronlyFiles });
  const engine = new PullEngine(dest, writer, source, {
    depth,
    commitOnly: !!opts.commitMetadataOnly,
    bareuseronlyFiles: !!opts.bareuseronlyFiles,
    verifyCommit: opts.verifyCommit,
    verifyBindings: false,
    progress,
  });
  let contentBytesWritten: number;
  try {
    await Promise.all(targets.map((t) => engine.pullTarget({ ref: t.ref, checksum: t.csum })));
    for (const t of targets) {
      if (!t.ref) continue;
      const ref = t.ref.includes(':') ? t.ref.slice(t.ref.indexOf(':') + 1) : t.ref;
      writer.setRef(opts.remote ?? null, ref, t.csum);
    }
    contentBytesWritten = (await writer.finish()).contentBytesWritten;
  } catch (e) {
    await writer.abort();
    throw e;
  }
  await engine.clearCompletedMarks();
  return { metadataImported: progress.importedMetadata, contentImported: progress.importedContent, contentBytesWritten };
}
