// Signing and verifying a repository's commits and summary, as libostree's ostree_repo_sign_commit,
// ostree_repo_verify_commit_ext / _for_remote, `ostree gpg-sign --delete`, ostree_sign_commit /
// ostree_sign_commit_verify, ostree_repo_add_gpg_signature_summary and ostree_sign_summary.

import type { PrivateKey } from 'openpgp';
import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { ObjectType } from '../format/objects.ts';
import { joinPath } from '../util/path.ts';
import { XylemError, NotFoundError, errnoCode } from '../util/errors.ts';
import {
  GPG_SIGS_KEY,
  appendSignature,
  encodeDetachedMetadata,
  getSignatures,
  parseDetachedMetadata,
  replaceSignatures,
  type DetachedMetadata,
} from '../crypto/metadata.ts';
import { GpgError, gpgSignDetached, gpgVerify, noGpgSignaturesError, readGpgSecretKeys, type GpgVerifyResult } from '../crypto/gpg.ts';
import { loadVerifierKeyring, type KeyringSources } from '../remote/keyring.ts';
import type { Signer, SignKey } from '../crypto/signer.ts';

function checkRepo(repo: Repo, fn: string): void {
  if (!repo || typeof repo !== 'object' || typeof repo.path !== 'string') throw new TypeError(`${fn}: repo must be a Repo`);
}

/** The exact bytes of a commit object ("Failed to read commit: …" like libostree). */
export async function loadCommitBytes(repo: Repo, checksum: string): Promise<Uint8Array> {
  try {
    return await repo.loadMetadataBytes(ObjectType.Commit, checksum);
  } catch (e) {
    throw new XylemError(`Failed to read commit: ${(e as Error).message}`);
  }
}

/** A commit's detached metadata, or null when it has none. */
export async function readCommitDetachedMetadata(repo: Repo, checksum: string): Promise<DetachedMetadata | null> {
  const p = repo.objectPath(checksum, ObjectType.CommitMeta);
  let data: Uint8Array;
  try {
    data = await repo.fs.readFile(p);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
  return parseDetachedMetadata(data, `${checksum}.commitmeta`);
}

/** ostree_repo_write_commit_detached_metadata outside a transaction (null removes it). */
export async function writeCommitDetachedMetadata(repo: Repo, checksum: string, md: DetachedMetadata | null): Promise<void> {
  checkRepo(repo, 'writeCommitDetachedMetadata');
  const p = repo.objectPath(checksum, ObjectType.CommitMeta);
  if (md === null) {
    await repo.deleteObject(checksum, ObjectType.CommitMeta);
    return;
  }
  await repo.ensureObjectDir(checksum);
  await writeFileAtomic(repo.fs, p, encodeDetachedMetadata(md), { mode: 0o644, fsync: repo.fsyncEnabled });
}

export interface GpgVerifyWithMetadataOptions extends KeyringSources {
  now?: Date;
}

/**
 * _ostree_repo_gpg_verify_with_metadata: verifies the `ostree.gpgsigs` of `md` over `data` with the
 * keyring these sources give. Throws GpgError NO_SIGNATURE when there are no signatures; invalid
 * signatures are reported in the result.
 */
export async function gpgVerifyWithMetadata(
  repo: Repo,
  data: Uint8Array,
  md: DetachedMetadata | null,
  opts: GpgVerifyWithMetadataOptions,
): Promise<GpgVerifyResult> {
  const sigs = getSignatures(md, GPG_SIGS_KEY);
  if (sigs === null) throw noGpgSignaturesError();
  const keyring = await loadVerifierKeyring(repo, opts);
  return gpgVerify(data, sigs, keyring, opts.now ? { now: opts.now } : {});
}

export interface VerifyCommitGpgOptions {
  /** Use this remote's keys (ostree_repo_verify_commit_for_remote); default: every remote's. */
  remote?: string;
  /** Extra keyring directory (--gpg-homedir). */
  keyringDir?: string;
  extraKeyring?: string;
  globalKeyringDir?: string;
  now?: Date;
}

/** ostree_repo_verify_commit_ext / ostree_repo_verify_commit_for_remote. */
export async function verifyCommitGpg(repo: Repo, checksum: string, opts: VerifyCommitGpgOptions = {}): Promise<GpgVerifyResult> {
  checkRepo(repo, 'verifyCommitGpg');
  const data = await loadCommitBytes(repo, checksum);
  const md = await readCommitDetachedMetadata(repo, checksum);
  const src: GpgVerifyWithMetadataOptions = { ...opts };
  if (opts.remote === undefined) src.allRemotes = true;
  return gpgVerifyWithMetadata(repo, data, md, src);
}

export interface GpgSignCommitOptions {
  /** GnuPG home the key came from: its *.gpg keyrings help recognise existing signatures. */
  keyringDir?: string;
  /** How the error names the key's home when the key is missing. */
  homedirLabel?: string;
  date?: Date;
}

/**
 * ostree_repo_sign_commit: appends a GPG signature made with `keyId` (found in `secretKeys`) to the
 * commit's detached metadata; refuses when that key already signed it.
 */
export async function gpgSignCommit(
  repo: Repo,
  checksum: string,
  secretKeys: Uint8Array | PrivateKey[],
  keyId: string,
  opts: GpgSignCommitOptions = {},
): Promise<void> {
  checkRepo(repo, 'gpgSignCommit');
  const data = await loadCommitBytes(repo, checksum);
  let md: DetachedMetadata | null;
  try {
    md = await readCommitDetachedMetadata(repo, checksum);
  } catch (e) {
    throw new XylemError(`Failed to read detached metadata: ${(e as Error).message}`);
  }
  const sig = await gpgSignData(repo, data, md, secretKeys, keyId, opts);
  await writeCommitDetachedMetadata(repo, checksum, appendSignature(md, GPG_SIGS_KEY, sig));
}

/** The duplicate check and signature of ostree_repo_sign_commit, for data not yet in the repo. */
export async function gpgSignData(
  repo: Repo,
  data: Uint8Array,
  md: DetachedMetadata | null,
  secretKeys: Uint8Array | PrivateKey[],
  keyId: string,
  opts: GpgSignCommitOptions = {},
): Promise<Uint8Array> {
  const keys = secretKeys instanceof Uint8Array ? await readGpgSecretKeys(secretKeys) : secretKeys;
  if (getSignatures(md, GPG_SIGS_KEY) !== null) {
    const src: GpgVerifyWithMetadataOptions = {};
    if (opts.keyringDir !== undefined) src.keyringDir = opts.keyringDir;
    const result = await gpgVerifyWithMetadata(repo, data, md, src);
    if (result.lookup(keyId) >= 0) throw new XylemError(`Commit is already signed with GPG key ${keyId}`, 'EEXIST');
  }
  const signOpts: { homedirLabel?: string; date?: Date } = {};
  if (opts.homedirLabel !== undefined) signOpts.homedirLabel = opts.homedirLabel;
  if (opts.date !== undefined) signOpts.date = opts.date;
  return gpgSignDetached(data, keys, keyId, signOpts);
}

/**
 * `ostree gpg-sign --delete`: removes the signatures made by any of `keyIds` (keys known to the
 * verification keyrings); returns how many were removed.
 */
export async function deleteCommitGpgSignatures(
  repo: Repo,
  checksum: string,
  keyIds: string[],
  opts: { globalKeyringDir?: string } = {},
): Promise<number> {
  checkRepo(repo, 'deleteCommitGpgSignatures');
  if (!Array.isArray(keyIds) || !keyIds.every((k) => typeof k === 'string')) throw new TypeError('deleteCommitGpgSignatures: keyIds must be strings');
  const md = await readCommitDetachedMetadata(repo, checksum);
  const sigs = getSignatures(md, GPG_SIGS_KEY);
  if (sigs === null) return 0;
  const data = await loadCommitBytes(repo, checksum);
  const src: GpgVerifyWithMetadataOptions = { allRemotes: true };
  if (opts.globalKeyringDir !== undefined) src.globalKeyringDir = opts.globalKeyringDir;
  const result = await gpgVerifyWithMetadata(repo, data, md, src);
  if (result.countAll() !== sigs.length)
    throw new XylemError(`Commit ${checksum}: signature blobs and signatures disagree (${sigs.length} vs ${result.countAll()})`);
  const trash = new Set<number>();
  for (const id of keyIds) {
    const i = result.lookup(id);
    if (i >= 0) trash.add(i);
  }
  const kept = sigs.filter((_, i) => !trash.has(i));
  await writeCommitDetachedMetadata(repo, checksum, replaceSignatures(md, GPG_SIGS_KEY, kept));
  return trash.size;
}

// ---- signapi (ed25519, dummy) ----------------------------------------------------------------

/** ostree_sign_commit: signs the commit with the signer's secret key and appends the signature. */
export async function signCommit(signer: Signer, repo: Repo, checksum: string): Promise<void> {
  checkRepo(repo, 'signCommit');
  const data = await loadCommitBytes(repo, checksum);
  let md: DetachedMetadata | null;
  try {
    md = await readCommitDetachedMetadata(repo, checksum);
  } catch (e) {
    throw new XylemError(`Failed to read detached metadata: ${(e as Error).message}`);
  }
  let sig: Uint8Array;
  try {
    sig = await signer.sign(data);
  } catch (e) {
    throw new XylemError(`Not able to sign the cobject: ${(e as Error).message}`);
  }
  await writeCommitDetachedMetadata(repo, checksum, appendSignature(md, signer.metadataKey, sig));
}

/** ostree_sign_commit_verify: returns the engine's success message or throws. */
export async function verifyCommit(signer: Signer, repo: Repo, checksum: string): Promise<string> {
  checkRepo(repo, 'verifyCommit');
  const data = await loadCommitBytes(repo, checksum);
  let md: DetachedMetadata | null;
  try {
    md = await readCommitDetachedMetadata(repo, checksum);
  } catch (e) {
    throw new XylemError(`Failed to read detached metadata: ${(e as Error).message}`);
  }
  return signer.verify(data, getSignatures(md, signer.metadataKey));
}

// ---- summary.sig -----------------------------------------------------------------------------

async function readSummaryAndSig(repo: Repo): Promise<{ summary: Uint8Array; sig: DetachedMetadata | null }> {
  let summary: Uint8Array;
  try {
    summary = await repo.fs.readFile(joinPath(repo.path, 'summary'));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new NotFoundError('openat(summary): No such file or directory');
    throw e;
  }
  let sig: DetachedMetadata | null = null;
  try {
    sig = parseDetachedMetadata(await repo.fs.readFile(joinPath(repo.path, 'summary.sig')), 'summary.sig');
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  return { summary, sig };
}

async function writeSummarySig(repo: Repo, md: DetachedMetadata): Promise<void> {
  await writeFileAtomic(repo.fs, joinPath(repo.path, 'summary.sig'), encodeDetachedMetadata(md), { mode: 0o644, fsync: repo.fsyncEnabled });
}

/** ostree_repo_add_gpg_signature_summary: appends one signature per key to summary.sig. */
export async function gpgSignSummary(
  repo: Repo,
  secretKeys: Uint8Array | PrivateKey[],
  keyIds: string[],
  opts: { homedirLabel?: string; date?: Date } = {},
): Promise<void> {
  checkRepo(repo, 'gpgSignSummary');
  if (!Array.isArray(keyIds) || keyIds.length === 0) throw new TypeError('gpgSignSummary: at least one key ID is required');
  const keys = secretKeys instanceof Uint8Array ? await readGpgSecretKeys(secretKeys) : secretKeys;
  const { summary, sig } = await readSummaryAndSig(repo);
  let md = sig;
  for (const id of keyIds) md = appendSignature(md, GPG_SIGS_KEY, await gpgSignDetached(summary, keys, id, opts));
  await writeSummarySig(repo, md!);
}

/** ostree_sign_summary: signs the summary with each secret key and appends to summary.sig. */
export async function signSummary(signer: Signer, repo: Repo, secretKeys: SignKey[]): Promise<void> {
  checkRepo(repo, 'signSummary');
  const { summary, sig } = await readSummaryAndSig(repo);
  if (secretKeys.length === 0) throw new XylemError('No keys passed for signing summary');
  let md = sig;
  for (const k of secretKeys) {
    signer.setSecretKey(k);
    md = appendSignature(md, signer.metadataKey, await signer.sign(summary));
  }
  await writeSummarySig(repo, md!);
}

export { GpgError };
