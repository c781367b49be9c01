// The host updater (rpm-ostree's verbs without a daemon): transactions over the sysroot library,
// the status model and its renderings, cancellation tokens and the shared transaction record.

export { CancelToken, CancelledError, isCancellation } from './cancel.ts';
export { transactionFetch } from './fetch.ts';
export type { TransactionFetchOptions } from './fetch.ts';
export { applyBooted, resolveBootedSpec } from './booted.ts';
export type { BootedOptions } from './booted.ts';
export {
  statePaths,
  parseTransactionState,
  readTransactionState,
  createTransactionState,
  updateTransactionState,
  removeTransactionState,
  requestCancel,
  cancelRequested,
  writeTransactionResult,
  readTransactionResult,
  STATE_DIR,
} from './transaction-state.ts';
export type { TransactionState, TransactionResult, TransactionOutcome } from './transaction-state.ts';
export { statusModel, deploymentStatus, renderStatusText, renderStatusJson, gvariantToJson, gpgLines, kv, KEY_WIDTH } from './status.ts';
export type { StatusModel, DeploymentStatus, RenderOptions, SignatureStatus } from './status.ts';
export { checkForUpdate, diffCommits, localMetadata, remoteMetadata } from './preview.ts';
export type { UpdateCheck, TreeDiff, MetadataReader } from './preview.ts';
export {
  upgradeTxn,
  deployTxn,
  rebaseTxn,
  rollbackTxn,
  cleanupTxn,
  kargsTxn,
  resetTxn,
  deployNew,
  parseRevision,
  rebaseRefspec,
  resolveOsname,
  userKargs,
  kargsTarget,
  commitVersion,
} from './operations.ts';
export type { TxnContext, TxnResult, UpgradeOptions, CleanupOptions, KargsOptions, ParsedRevision, DeployNewOptions } from './operations.ts';
export { rollback } from './rollback.ts';
export type { RollbackOptions, RollbackResult } from './rollback.ts';
