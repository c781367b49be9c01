// What a pull must check before trusting a commit or a summary, from the remote's configuration:
// gpg-verify (default true) / gpg-verify-summary (default false) with the remote's trusted keys,
// and the signapi options sign-verify / sign-verify-summary (true = any engine with keys, or a
// list of engine names) with verification-<engine>-key / -file. Errors carry libostree's texts.

import type { Repo } from '../repo/repo.ts';
import { remoteGpgVerify, remoteGpgVerifySummary, remoteOption, remoteListOption } from './config.ts';
import { XylemError } from '../util/errors.ts';
import { GPG_SIGS_KEY, getSignatures, parseDetachedMetadata, type DetachedMetadata } from '../crypto/metadata.ts';
import { GpgError, gpgVerify, noGpgSignaturesError, requireValidGpgSignature, type GpgVerifyResult } from '../crypto/gpg.ts';
import { loadVerifierKeyring } from './keyring.ts';
import { getAllSigners, getSigner, type Signer, type SignerEnvironment } from '../crypto/signer.ts';

/** libostree's OSTREE_MAX_METADATA_SIZE. */
export const MAX_SIGNED_METADATA_SIZE = 10 * 1024 * 1024;

export interface VerifyPolicyOptions {
  /** Override the remote's gpg-verify / gpg-verify-summary (pull options do this). */
  gpgVerify?: boolean;
  /** false skips the signapi checks (ostree's disable-sign-verify[-summary]). */
  signVerify?: boolean;
  /** Where the signapi engines read system key dirs and the environment (default: the repo's host). */
  signerEnv?: SignerEnvironment;
  /** Judge keys and signatures at this time (default: now). */
  now?: Date;
  /** Global keyring directory (default: env OSTREE_GPG_HOME or /usr/share/ostree/trusted.gpg.d/). */
  globalKeyringDir?: string;
}

export interface SignatureVerification {
  /** True when at least one kind of verification ran (and passed). */
  verified: boolean;
  /** The GPG result, when GPG verification ran. */
  gpg: GpgVerifyResult | null;
  /** The signapi engine's success message, when signapi verification ran. */
  signapi: string | null;
}

function parseMaybe(meta: Uint8Array | DetachedMetadata | null, what: string): DetachedMetadata | null {
  if (meta === null) return null;
  if (Array.isArray(meta)) return meta;
  if (!(meta instanceof Uint8Array)) throw new TypeError(`${what} must be bytes, parsed a{sv} or null`);
  if (meta.length > MAX_SIGNED_METADATA_SIZE)
    throw new XylemError(`${what} is ${meta.length} bytes, exceeding maximum ${MAX_SIGNED_METADATA_SIZE}`);
  try {
    return parseDetachedMetadata(meta, what);
  } catch {
    // GLib reads malformed serialised data as an empty dictionary: no signatures.
    return [];
  }
}

function signerEnv(repo: Repo, opts: VerifyPolicyOptions): SignerEnvironment {
  return opts.signerEnv ?? { fs: repo.fs, env: repo.host.env ?? {} };
}

async function loadSignapiKeys(repo: Repo, remote: string, signer: Signer, required: boolean): Promise<void> {
  const file = await remoteOption(repo, remote, `verification-${signer.name}-file`, null);
  const key = await remoteOption(repo, remote, `verification-${signer.name}-key`, null);
  if (file === null && key === null) {
    if (required) throw new XylemError(`No keys found for required signapi type ${signer.name}`);
    return;
  }
  if (file !== null) {
    try {
      await signer.loadPublicKeys({ filename: file });
    } catch {
      throw new XylemError(`Failed loading '${signer.name}' keys from '${file}`);
    }
  }
  if (key !== null) {
    try {
      signer.addPublicKey(key);
    } catch {
      throw new XylemError(`Failed loading '${signer.name}' keys from inline \`verification-key\``);
    }
  }
}

/** verifiers_from_config: the engines a remote option asks for, with their keys, or null for none. */
export async function signapiVerifiersForRemote(
  repo: Repo,
  remote: string,
  option: 'sign-verify' | 'sign-verify-summary',
  senv: SignerEnvironment,
): Promise<Signer[] | null> {
  const raw = await remoteOption(repo, remote, option, null);
  if (raw === null || raw === '') return null;
  if (raw === 'true' || raw === '1') {
    const all = await getAllSigners(senv);
    for (const s of all) await loadSignapiKeys(repo, remote, s, false);
    return all;
  }
  if (raw === 'false' || raw === '0') return null;
  const names = (await remoteListOption(repo, remote, option)) ?? [];
  const out: Signer[] = [];
  for (const name of names) {
    const s = await getSigner(name, senv);
    await loadSignapiKeys(repo, remote, s, true);
    out.push(s);
  }
  return out.length ? out : null;
}

/** _sign_verify_for_remote: the first engine with a valid signature wins. */
export async function signapiVerify(verifiers: Signer[], data: Uint8Array, md: DetachedMetadata | null): Promise<string> {
  let firstError: Error | null = null;
  let invalid = 0;
  let found = false;
  for (const s of verifiers) {
    const sigs = getSignatures(md, s.metadataKey);
    if (sigs === null) continue;
    found = true;
    try {
      return await s.verify(data, sigs);
    } catch (e) {
      invalid++;
      firstError ??= e as Error;
    }
  }
  if (!found) throw new XylemError('No signatures found');
  const msg = firstError!.message;
  throw new XylemError(invalid > 1 ? `(${invalid - 1} other invalid signatures): ${msg}` : msg);
}

/**
 * Checks a commit fetched from `remoteName` before it is stored (libostree's
 * _verify_unwritten_commit). `commitmeta` is the `.commitmeta` bytes (or parsed), null when the
 * server has none. Throws with libostree's message, prefixed "Commit CSUM: " for GPG and
 * "Can't verify commit: " for signapi failures.
 */
export async function verifyCommitSignatures(
  repo: Repo,
  remoteName: string,
  checksum: string,
  commitBytes: Uint8Array,
  commitmeta: Uint8Array | DetachedMetadata | null,
  opts: VerifyPolicyOptions = {},
  /** The sign-verify engines, when already set up (remoteTrustPolicy); read from the remote otherwise. */
  signers?: Signer[] | null,
): Promise<SignatureVerification> {
  if (typeof remoteName !== 'string' || remoteName === '') throw new TypeError('verifyCommitSignatures: remoteName is required');
  if (!(commitBytes instanceof Uint8Array)) throw new TypeError('verifyCommitSignatures: commitBytes must be a Uint8Array');
  if (commitBytes.length > MAX_SIGNED_METADATA_SIZE)
    throw new XylemError(`Commit is ${commitBytes.length} bytes, exceeding maximum ${MAX_SIGNED_METADATA_SIZE}`);
  const md = parseMaybe(commitmeta, `${checksum}.commitmeta`);
  const out: SignatureVerification = { verified: false, gpg: null, signapi: null };
  const gpgOn = opts.gpgVerify ?? (await remoteGpgVerify(repo, remoteName));
  if (gpgOn) {
    try {
      const sigs = getSignatures(md, GPG_SIGS_KEY);
      if (sigs === null) throw noGpgSignaturesError();
      const src: { remote: string; globalKeyringDir?: string } = { remote: remoteName };
      if (opts.globalKeyringDir !== undefined) src.globalKeyringDir = opts.globalKeyringDir;
      const keyring = await loadVerifierKeyring(repo, src);
      const result = await gpgVerify(commitBytes, sigs, keyring, opts.now ? { now: opts.now } : {});
      requireValidGpgSignature(result);
      out.gpg = result;
    } catch (e) {
      if (e instanceof GpgError) throw new GpgError(e.gpgCode, `Commit ${checksum}: ${e.message}`);
      if (e instanceof XylemError) throw new XylemError(`Commit ${checksum}: ${e.message}`, e.code);
      throw e;
    }
    out.verified = true;
  }
  if (opts.signVerify !== false) {
    const verifiers = signers !== undefined ? signers : await signapiVerifiersForRemote(repo, remoteName, 'sign-verify', signerEnv(repo, opts));
    if (verifiers) {
      // (ostree's texts, after the commit they concern)
      if (md === null) throw new XylemError(`Commit ${checksum}: Can't verify commit without detached metadata`);
      try {
        out.signapi = await signapiVerify(verifiers, commitBytes, md);
      } catch (e) {
        throw new XylemError(`Commit ${checksum}: Can't verify commit: ${(e as Error).message}`);
      }
      out.verified = true;
    }
  }
  return out;
}

/** A refused summary, naming the summary and its remote before the verifier's report. */
function summaryError(remote: string, e: unknown): unknown {
  const prefix = `Summary of remote "${remote}": `;
  if (e instanceof GpgError) return new GpgError(e.gpgCode, prefix + e.message);
  if (e instanceof XylemError) return new XylemError(prefix + e.message, e.code);
  return e;
}

/**
 * Checks a summary (and its summary.sig, null when the server has none) from `remoteName` as a
 * pull does: gpg-verify-summary makes a valid GPG signature mandatory, sign-verify-summary a valid
 * signapi signature.
 */
export async function verifySummarySignatures(
  repo: Repo,
  remoteName: string,
  summary: Uint8Array | null,
  summarySig: Uint8Array | DetachedMetadata | null,
  opts: VerifyPolicyOptions = {},
  /** The sign-verify-summary engines, when already set up (remoteTrustPolicy). */
  signers?: Signer[] | null,
): Promise<SignatureVerification> {
  if (typeof remoteName !== 'string' || remoteName === '') throw new TypeError('verifySummarySignatures: remoteName is required');
  if (summary !== null && !(summary instanceof Uint8Array)) throw new TypeError('verifySummarySignatures: summary must be bytes or null');
  const out: SignatureVerification = { verified: false, gpg: null, signapi: null };
  const gpgOn = opts.gpgVerify ?? (await remoteGpgVerifySummary(repo, remoteName));
  if (gpgOn) {
    if (summary === null)
      throw new XylemError('GPG verification enabled, but no summary found (check that the configured URL in remote config is correct)');
    if (summarySig === null)
      throw new GpgError(
        'NO_SIGNATURE',
        'GPG verification enabled, but no summary.sig found (use gpg-verify-summary=false in remote config to disable)',
      );
    const md = parseMaybe(summarySig, 'summary.sig');
    const sigs = getSignatures(md, GPG_SIGS_KEY);
    if (sigs === null) throw noGpgSignaturesError();
    const src: { remote: string; globalKeyringDir?: string } = { remote: remoteName };
    if (opts.globalKeyringDir !== undefined) src.globalKeyringDir = opts.globalKeyringDir;
    const keyring = await loadVerifierKeyring(repo, src);
    const result = await gpgVerify(summary, sigs, keyring, opts.now ? { now: opts.now } : {});
    requireValidGpgSignature(result);
    out.gpg = result;
    out.verified = true;
  }
  if (opts.signVerify !== false) {
    const verifiers = signers !== undefined ? signers : await signapiVerifiersForRemote(repo, remoteName, 'sign-verify-summary', signerEnv(repo, opts));
    if (verifiers) {
      if (summary === null)
        throw new XylemError('Signature verification enabled, but no summary found (check that the configured URL in remote config is correct)');
      if (summarySig === null)
        throw new XylemError(
          'Signatures verification enabled, but no summary.sig found (use sign-verify-summary=false in remote config to disable)',
        );
      out.signapi = await signapiVerify(verifiers, summary, parseMaybe(summarySig, 'summary.sig'));
      out.verified = true;
    }
  }
  return out;
}

export interface TrustPolicyOptions extends Omit<VerifyPolicyOptions, 'gpgVerify' | 'signVerify'> {
  /** Override the remote's gpg-verify (ostree's pull option `gpg-verify`). */
  gpgVerify?: boolean;
  /** Override the remote's gpg-verify-summary (ostree's pull option `gpg-verify-summary`). */
  gpgVerifySummary?: boolean;
  /** Skip the remote's sign-verify (ostree's pull option `disable-sign-verify`). */
  disableSignVerify?: boolean;
  /** Skip the remote's sign-verify-summary (ostree's pull option `disable-sign-verify-summary`). */
  disableSignVerifySummary?: boolean;
}

/**
 * What a pull from one remote must check, read once from the remote's configuration (and the
 * explicit overrides ostree's pull options allow). Built by the pull itself, never by its callers,
 * so that every entry point (library, CLI, admin upgrade/switch, the host updater) verifies alike.
 */
export interface RemoteTrustPolicy {
  /** The remote whose keys are used (null: a file:// URL, nothing is verified). */
  readonly remote: string | null;
  readonly gpgVerify: boolean;
  readonly gpgVerifySummary: boolean;
  /** Whether commits need a valid signature of some kind (gpg-verify or sign-verify). */
  readonly verifiesCommits: boolean;
  /** Whether summaries need a valid signature of some kind. */
  readonly verifiesSummaries: boolean;
  /** Checks a commit before anything of it is stored; throws naming the commit and the reason. */
  verifyCommit(checksum: string, commitBytes: Uint8Array, commitmeta: Uint8Array | DetachedMetadata | null): Promise<SignatureVerification>;
  /** Checks a summary and its summary.sig (null when the server has none); throws on refusal. */
  verifySummary(summary: Uint8Array | null, summarySig: Uint8Array | DetachedMetadata | null): Promise<SignatureVerification>;
}

const NO_VERIFICATION: SignatureVerification = Object.freeze({ verified: false, gpg: null, signapi: null }) as SignatureVerification;

/** Builds the trust policy of `remote` (null for a file:// URL source). */
export async function remoteTrustPolicy(repo: Repo, remote: string | null, opts: TrustPolicyOptions = {}): Promise<RemoteTrustPolicy> {
  if (remote !== null && (typeof remote !== 'string' || remote === '')) throw new TypeError('remoteTrustPolicy: remote must be a name or null');
  if (remote === null) {
    if (opts.gpgVerify || opts.gpgVerifySummary) throw new XylemError('Must specify remote name to enable gpg verification');
    return {
      remote: null,
      gpgVerify: false,
      gpgVerifySummary: false,
      verifiesCommits: false,
      verifiesSummaries: false,
      verifyCommit: async () => NO_VERIFICATION,
      verifySummary: async () => NO_VERIFICATION,
    };
  }
  const gpgVerify = opts.gpgVerify ?? (await remoteGpgVerify(repo, remote));
  const gpgVerifySummary = opts.gpgVerifySummary ?? (await remoteGpgVerifySummary(repo, remote));
  const senv = signerEnv(repo, opts);
  // The signapi engines (with their keys) are set up once per pull, not once per commit.
  const commitSigners = opts.disableSignVerify ? null : await signapiVerifiersForRemote(repo, remote, 'sign-verify', senv);
  const summarySigners = opts.disableSignVerifySummary ? null : await signapiVerifiersForRemote(repo, remote, 'sign-verify-summary', senv);
  const base: VerifyPolicyOptions = {};
  if (opts.now !== undefined) base.now = opts.now;
  if (opts.globalKeyringDir !== undefined) base.globalKeyringDir = opts.globalKeyringDir;
  if (opts.signerEnv !== undefined) base.signerEnv = opts.signerEnv;
  return {
    remote,
    gpgVerify,
    gpgVerifySummary,
    verifiesCommits: gpgVerify || commitSigners !== null,
    verifiesSummaries: gpgVerifySummary || summarySigners !== null,
    verifyCommit: (checksum, commitBytes, commitmeta) =>
      verifyCommitSignatures(repo, remote, checksum, commitBytes, commitmeta, { ...base, gpgVerify, signVerify: commitSigners !== null }, commitSigners),
    // (A pull's refusal names the summary; `remote summary` prints the verifier's report as ostree.)
    verifySummary: (summary, summarySig) =>
      verifySummarySignatures(repo, remote, summary, summarySig, { ...base, gpgVerify: gpgVerifySummary, signVerify: summarySigners !== null }, summarySigners).catch(
        (e: unknown) => {
          throw summaryError(remote, e);
        },
      ),
  };
}
