// Repositories: opening and creating them, committing, checking out, refs, diffs, fsck — the repo
// package's public surface (prune and the summary file: src/maintenance/).

export { Repo, REPO_MODES, parseRepoMode } from './repo.ts';
export type { RepoInitOptions, ContentObject } from './repo.ts';
export type { RepoMode } from '../format/objects.ts';
export { Transaction } from './transaction.ts';
export type { TransactionStats } from './transaction.ts';
export { MutableTree } from './mutable-tree.ts';
export { commitDirectory } from './commit-directory.ts';
export type { CommitDirectoryOptions, CommitDirectoryResult } from './commit-directory.ts';
export { importDirectory, importCommitTree, makeImportContext, writeCommit, buildCommitMetadata } from './commit.ts';
export type { CommitModifier, CommitOptions, ImportContext } from './commit.ts';
export { importTarball } from './tar-import.ts';
export { checkout } from './checkout.ts';
export type { CheckoutOptions, CheckoutResult, OverwriteMode } from './checkout.ts';
export { resolveRev, setRef, listLocalRefs, listRemoteRefs, listAllRefs, parseRefspec, isValidRefName, hasCommit } from './refs.ts';
export type { RefEntry } from './refs.ts';
export { diffTrees, formatDiff } from './diff.ts';
export type { DiffSide, DiffItem, DiffResult, DiffOptions } from './diff.ts';
export { fsckRepo } from './fsck.ts';
export type { FsckOptions, FsckOutput, FsckResult } from './fsck.ts';
export { commitState } from './commit-state.ts';
export type { CommitState } from './commit-state.ts';
export { checksumPath } from './checksum-file.ts';
export { parseTimestamp } from './timestamp.ts';
