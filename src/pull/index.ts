// Pulling: HTTP(S) and file:// remotes (pull.ts), local repos (pull-local uses the same engine),
// the fetcher, progress counters and texts.

export { pull } from './pull.ts';
export { parsePullRefs, planPull } from './plan.ts';
export type { PullPlan, ResolvedRemote, RefTarget } from './plan.ts';
export { estimatePull } from './dry-run.ts';
export type { DryRunEstimate, DryRunSource } from './dry-run.ts';
export type { PullOptions, PullResult, PulledRef, DryRunItem, VerifyCommitHook, VerifySummaryHook } from './options.ts';
export { Fetcher, FetchError, DEFAULT_USER_AGENT, joinUrl, validateRemoteUrl } from './fetcher.ts';
export type { FetcherOptions, FetchRequest } from './fetcher.ts';
export { PullEngine, PULL_MAX_METADATA_SIZE, verifyRefBinding } from './engine.ts';
export type { ObjectSource, EngineOptions, PullTarget, CommitVerifier, CommitMetadata } from './engine.ts';
export { PullWriter } from './writer.ts';
export { HttpObjectSource } from './source-http.ts';
export { LocalRepoSource } from './source-local.ts';
export { emptyProgress, formatPullStatus, formatPullProgressLine, ostreeCounterNames } from './progress.ts';
export type { PullProgress, PullSummaryFacts } from './progress.ts';
