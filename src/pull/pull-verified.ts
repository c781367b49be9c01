// The library's pull: `pull()` with the remote's signature policy always applied, as
// ostree_repo_pull_with_options verifies whoever calls it. Unless the caller passes its own
// hooks, commits are checked as the remote's gpg-verify / sign-verify say and summaries as its
// gpg-verify-summary says (the same checks `xylem pull` makes). file:// remotes given by path
// carry no configuration and are pulled as they are.

import type { Repo } from '../repo/repo.ts';
import { remoteGpgVerify, remoteGpgVerifySummary, remoteNameIsFile } from '../remote/config.ts';
import { pullSignatureHooks } from '../remote/policy.ts';
import { pull, type PullOptions, type PullResult } from './pull.ts';

/** Pulls `opts.refs` (default: the remote's configured branches) from `remote` into `repo`, verifying signatures by the remote's policy. */
export async function pullVerified(repo: Repo, remote: string, opts: PullOptions = {}): Promise<PullResult> {
  if (typeof repo !== 'object' || repo === null || typeof repo.path !== 'string') throw new TypeError('pull: a Repo is required');
  if (typeof remote !== 'string' || remote === '') throw new TypeError('pull: a remote name (or file:// URL) is required');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('pull: options must be an object');
  if (remoteNameIsFile(remote) || (opts.verifyCommit && opts.verifySummary)) return pull(repo, remote, opts);
  const commitHooks = pullSignatureHooks(repo, { gpgVerify: opts.gpgVerify ?? (await remoteGpgVerify(repo, remote)) });
  const summaryHooks = pullSignatureHooks(repo, { gpgVerify: opts.gpgVerifySummary ?? (await remoteGpgVerifySummary(repo, remote)) });
  return pull(repo, remote, {
    ...opts,
    verifyCommit: opts.verifyCommit ?? ((r, c, b, m) => commitHooks.verifyCommit(r, c, b, m)),
    verifySummary: opts.verifySummary ?? ((r, s, sig) => summaryHooks.verifySummary(r, s, sig)),
  });
}
