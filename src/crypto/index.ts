// Signature primitives with no knowledge of repositories or remotes: OpenPGP (GPG) signing and
// verification with ostree's reports, the signapi engines (ed25519, dummy), ed25519 key generation,
// and the detached-metadata dictionary that carries signatures. src/sign/ (signing what a repo
// holds) and src/remote/ (what a remote's keys must prove) build on them.

export { GpgError, gpgVerify, gpgSignDetached, readGpgKeyring, readGpgSecretKeys, requireValidGpgSignature } from './gpg.ts';
export type { GpgKeyring, GpgVerifyResult } from './gpg.ts';
export { getSigner, getAllSigners } from './signer.ts';
export type { Signer, SignKey, SignerEnvironment } from './signer.ts';
export { parseDetachedMetadata, getSignatures, GPG_SIGS_KEY, ED25519_SIGS_KEY, DUMMY_SIGS_KEY } from './metadata.ts';
export type { DetachedMetadata } from './metadata.ts';
