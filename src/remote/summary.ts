// A remote's summary fetched and checked as ostree_repo_remote_fetch_summary does for
// `ostree remote summary` / `remote refs`: gpg-verify-summary requires a summary, a summary.sig
// and a valid GPG signature from the remote's keys; sign-verify-summary the same with the signapi
// engines. The GPG result is returned so the caller can print it.

import type { Repo } from '../repo/repo.ts';
import { fetchRemoteSummary, remoteGpgVerifySummary, remoteNameIsFile, type RemoteFetcher, type RemoteSummary } from './config.ts';
import { NotFoundError } from '../util/errors.ts';
import { GpgError } from '../crypto/gpg.ts';
import { signapiVerifiersForRemote, verifySummarySignatures, type SignatureVerification, type VerifyPolicyOptions } from './policy.ts';

export interface VerifiedRemoteSummary extends RemoteSummary {
  /** What was verified (null: the remote asks for no summary verification). */
  verification: SignatureVerification | null;
}

/** _ostree_repo_verify_summary: throws with libostree's texts when the policy is not met. */
export async function checkRemoteSummary(
  repo: Repo,
  remote: string,
  summary: Uint8Array | null,
  signatures: Uint8Array | null,
  opts: Omit<VerifyPolicyOptions, 'gpgVerify'> = {},
): Promise<SignatureVerification | null> {
  if (typeof remote !== 'string' || remote === '') throw new TypeError('checkRemoteSummary: remote is required');
  if (remoteNameIsFile(remote)) return null;
  const gpgOn = await remoteGpgVerifySummary(repo, remote);
  const senv = opts.signerEnv ?? { fs: repo.fs, env: repo.host.env ?? {} };
  const signOn = opts.signVerify !== false && (await signapiVerifiersForRemote(repo, remote, 'sign-verify-summary', senv)) !== null;
  if (!gpgOn && !signOn) return null;
  const kind = gpgOn ? 'GPG' : 'Signature';
  if (summary === null)
    throw new NotFoundError(`${kind} verification enabled, but no summary found (check that the configured URL in remote config is correct)`);
  if (signatures === null) {
    const text = gpgOn
      ? 'GPG verification enabled, but no summary signatures found (use gpg-verify-summary=false in remote config to disable)'
      : 'Signature verification enabled, but no summary signatures found (use sign-verify-summary=false in remote config to disable)';
    throw gpgOn ? new GpgError('NO_SIGNATURE', text) : new NotFoundError(text);
  }
  return verifySummarySignatures(repo, remote, summary, signatures, { ...opts, gpgVerify: gpgOn });
}

/** Fetches a remote's summary and summary.sig and enforces its summary signature policy. */
export async function fetchVerifiedRemoteSummary(
  repo: Repo,
  remote: string,
  fetcher?: RemoteFetcher,
  opts: Omit<VerifyPolicyOptions, 'gpgVerify'> = {},
): Promise<VerifiedRemoteSummary> {
  let verification: SignatureVerification | null = null;
  const fetched = await fetchRemoteSummary(repo, remote, fetcher, async (name, summary, sigs) => {
    verification = await checkRemoteSummary(repo, name, summary, sigs, opts);
  });
  return { ...fetched, verification };
}

/** ostree_print_gpg_verify_result: the block `remote summary` prints under the summary. */
export function formatGpgVerifyReport(v: SignatureVerification): string {
  const r = v.gpg;
  if (!r) return '';
  const n = r.countAll();
  let out = `GPG: Verification enabled, found ${n} signature${n === 1 ? '' : 's'}:\n`;
  for (let i = 0; i < n; i++) out += '\n' + r.describe(i, '  ');
  return out;
}
