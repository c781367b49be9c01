// The signature lines of `ostree admin status`: without --verify, each deployment whose origin
// remote has gpg-verify=true gets one "    GPG: …" block per signature on its commit (keys of the
// remote named like the OS, as libostree looks them up; a missing remote or commit prints
// nothing); with --verify, the commit must carry a valid signature for its origin remote (GPG
// and/or signapi, as ostree_repo_signature_verify_commit_data) and the report is printed.

import type { Repo } from '../repo/repo.ts';
import { parseRefspec } from '../repo/refs.ts';
import { remoteGpgVerify } from '../remote/config.ts';
import { NotFoundError, XylemError } from '../util/errors.ts';
import { gpgVerifyWithMetadata, loadCommitBytes, readCommitDetachedMetadata, verifyCommitGpg } from './repo-sign.ts';
import { requireValidGpgSignature } from '../crypto/gpg.ts';
import { signapiVerifiersForRemote, signapiVerify } from '../remote/policy.ts';

/** What the status needs to know of a deployment. */
export interface DeploymentSignatureSubject {
  osname: string;
  csum: string;
  /** The origin file's origin/refspec; undefined when the deployment has no origin file. */
  refspec: string | null | undefined;
}

function originRemote(refspec: string | null | undefined): string | null {
  if (!refspec) return null;
  try {
    return parseRefspec(refspec).remote;
  } catch {
    return null;
  }
}

/**
 * The "    GPG: " lines `admin status` prints for a deployment (empty when its origin remote does
 * not verify GPG signatures, when the commit has no signatures, or when no remote is named like
 * the OS). Other failures (an unreadable signature, say) throw, as ostree's status fails then.
 */
export async function statusGpgLines(repo: Repo, d: DeploymentSignatureSubject): Promise<string> {
  if (!d || typeof d.osname !== 'string' || typeof d.csum !== 'string') throw new TypeError('statusGpgLines: a deployment is required');
  const remote = originRemote(d.refspec);
  if (remote === null) return '';
  let verify = false;
  try {
    verify = await remoteGpgVerify(repo, remote);
  } catch {
    verify = false;
  }
  if (!verify) return '';
  let result;
  try {
    // libostree passes the OS name as the remote whose keys are used.
    result = await verifyCommitGpg(repo, d.csum, { remote: d.osname });
  } catch (e) {
    if (e instanceof NotFoundError) return '';
    throw e;
  }
  let out = '';
  for (let i = 0; i < result.countAll(); i++) out += result.describe(i, '    GPG: ');
  return out;
}

/**
 * `admin status --verify`: the verification report for a deployment's commit against its origin
 * remote, or a clear error (no origin, no remote, no valid signature).
 */
export async function statusVerifyText(repo: Repo, d: DeploymentSignatureSubject): Promise<string> {
  if (!d || typeof d.csum !== 'string') throw new TypeError('statusVerifyText: a deployment is required');
  let commit: Uint8Array;
  try {
    commit = await loadCommitBytes(repo, d.csum);
  } catch {
    throw new XylemError('Cannot verify, failed to load commit');
  }
  if (d.refspec === undefined) throw new XylemError('Cannot verify deployment with no origin');
  if (d.refspec === null) throw new XylemError('No origin/refspec, cannot verify');
  const remote = parseRefspec(d.refspec).remote;
  if (remote === null) throw new XylemError('Cannot verify deployment without remote');
  const md = await readCommitDetachedMetadata(repo, d.csum);
  if (md === null) throw new XylemError("Can't verify commit without detached metadata");
  const gpgOn = await remoteGpgVerify(repo, remote);
  const verifiers = await signapiVerifiersForRemote(repo, remote, 'sign-verify', { fs: repo.fs, env: repo.host.env ?? {} });
  if (!gpgOn && !verifiers)
    throw new XylemError(`Cannot verify commit for remote ${remote}; GPG verification disabled, and no signapi verifiers configured`);
  let text = '';
  if (gpgOn) {
    const result = await gpgVerifyWithMetadata(repo, commit, md, { remote });
    requireValidGpgSignature(result);
    for (let i = 0; i < result.countAll(); i++) text += result.describe(i, 'GPG: ');
  }
  if (verifiers) {
    let msg: string;
    try {
      msg = await signapiVerify(verifiers, commit, md);
    } catch (e) {
      throw new XylemError(`Can't verify commit: ${(e as Error).message}`);
    }
    text += (gpgOn ? '\n' : '') + msg;
  }
  return text;
}
