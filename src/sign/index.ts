// Signatures: ed25519 (and the test-only dummy engine) through libostree's signapi, and GPG —
// signing and verifying commits and summaries — the sign package's public surface.

export { getSigner, getAllSigners, SIGNER_NAMES } from './signer.ts';
export type { Signer, SignerName, SignerEnvironment, SignKey, LoadKeysOptions } from './signer.ts';
export { Ed25519Signer } from './ed25519.ts';
export { generateEd25519KeyPair } from './keygen.ts';
export type { Ed25519KeyPair } from './keygen.ts';
export { signCommit, verifyCommit, signSummary, gpgSignCommit, gpgSignSummary, verifyCommitGpg, GpgError } from './repo-sign.ts';
export type { GpgSignCommitOptions, VerifyCommitGpgOptions } from './repo-sign.ts';
export { GpgVerifyResult, readGpgKeyring, readGpgSecretKeys } from './gpg.ts';
export type { GpgSignatureInfo } from './gpg.ts';
