// Remotes: their configuration in the repo config, trusted GPG keys, the verification policy a
// pull applies, and verified summaries — the remote package's public surface.

export { addRemote, deleteRemote, listRemotes, getRemote, getRemoteUrl, remoteOption, isValidRemoteName } from './config.ts';
export type { Remote, RemoteOptions, RemoteOptionValue, AddRemoteOptions } from './config.ts';
export { importRemoteGpgKeys, listRemoteGpgKeys } from './gpg-keyring.ts';
export type { GpgKeyInfo, GpgSubkeyInfo, GpgUidInfo, ListGpgKeysOptions } from './gpg-keyring.ts';
export { verifyCommitSignatures, verifySummarySignatures, remoteTrustPolicy } from './policy.ts';
export type { VerifyPolicyOptions, SignatureVerification, RemoteTrustPolicy, TrustPolicyOptions } from './policy.ts';
export { fetchVerifiedRemoteSummary } from './summary.ts';
export type { VerifiedRemoteSummary } from './summary.ts';
