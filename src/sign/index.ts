// Signatures: ed25519 (and the test-only dummy engine) through libostree's signapi, and GPG —
// signing and verifying commits and summaries — the sign package's public surface.

export { getSigner, getAllSigners, SIGNER_NAMES } from '../crypto/signer.ts';
export type { Signer, SignerName, SignerEnvironment, SignKey, LoadKeysOptions } from '../crypto/signer.ts';
export { Ed25519Signer } from '../crypto/ed25519.ts';
export { generateEd25519KeyPair } from '../crypto/keygen.ts';
export type { Ed25519KeyPair } from '../crypto/keygen.ts';
export { signCommit, verifyCommit, signSummary, gpgSignCommit, gpgSignSummary, verifyCommitGpg, GpgError } from './repo-sign.ts';
export type { GpgSignCommitOptions, VerifyCommitGpgOptions } from './repo-sign.ts';
export { GpgVerifyResult, readGpgKeyring, readGpgSecretKeys } from '../crypto/gpg.ts';
export type { GpgSignatureInfo } from '../crypto/gpg.ts';
