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
import { remoteTrustPolicy } from '../remote/policy.ts';
import { joinPath } from '../util/path.ts';
import { withRepoLock } from '../repo/lock.ts';
import { readFileOptional } from '../util/read-optional.ts';

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
  /**
   * Verify each commit's GPG signatures with the keys of `remote` (ostree pull-local --gpg-verify;
   * off by default for a local copy, as ostree). Needs `remote`.
   */
  gpgVerify?: boolean;
  /** Verify the source's summary and summary.sig with the keys of `remote` (--gpg-verify-summary). */
  gpgVerifySummary?: boolean;
  /** An extra check of each commit, after the signature policy passed. */
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
  // The signature policy is the library's: what was asked for, with the named remote's keys.
  const trust = await remoteTrustPolicy(dest, opts.remote ?? null, {
    gpgVerify: !!opts.gpgVerify,
    gpgVerifySummary: !!opts.gpgVerifySummary,
    disableSignVerify: true,
    disableSignVerifySummary: true,
  });
  if (trust.verifiesSummaries) {
    const summary = await readFileOptional(src.fs, joinPath(src.path, 'summary'));
    if (!summary) throw new XylemError('GPG verification enabled, but no summary found (check that the configured URL in remote config is correct)');
    await trust.verifySummary(summary, await readFileOptional(src.fs, joinPath(src.path, 'summary.sig')));
  }
  const extra = opts.verifyCommit;
  const verifyCommit: CommitVerifier | undefined =
    trust.verifiesCommits || extra
      ? async (csum, bytes, md) => {
          await trust.verifyCommit(csum, bytes, md);
          if (extra) await extra(csum, bytes, md);
        }
      : undefined;
  const progress = emptyProgress(Date.now());
  const writer = new PullWriter(dest);
  const source = new LocalRepoSource(src, { trusted: !opts.untrusted, bareuseronlyFiles: !!opts.bareuseronlyFiles });
  const engine = new PullEngine(dest, writer, source, {
    depth,
    commitOnly: !!opts.commitMetadataOnly,
    bareuseronlyFiles: !!opts.bareuseronlyFiles,
    verifyCommit,
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
