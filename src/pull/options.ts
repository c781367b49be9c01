// What a pull is asked to do and what it reports: the options of `pull()` (ostree's pull options)
// and its result, shared by the planning step (plan.ts) and the pull itself (pull.ts).

import type { Repo } from '../repo/repo.ts';
import type { TransactionStats } from '../repo/transaction.ts';
import type { TrustPolicyOptions } from '../remote/policy.ts';
import type { DeltaPullSizes } from '../delta/source.ts';
import type { CommitMetadata } from './engine.ts';
import type { PullProgress } from './progress.ts';
import type { DryRunEstimate } from './dry-run.ts';

/** An extra check of a commit, on top of the remote's signature policy. Throw to refuse. */
export type VerifyCommitHook = (
  remote: string,
  checksum: string,
  commitBytes: Uint8Array,
  commitmeta: CommitMetadata | null,
) => Promise<void>;

/** An extra check of a summary (null: the server has no summary.sig), on top of the policy. Throw to refuse. */
export type VerifySummaryHook = (remote: string, summary: Uint8Array, signatures: Uint8Array | null) => Promise<void>;

export interface PullOptions {
  /** Refs or commit checksums; `REF@CHECKSUM` pins a ref to a commit. Empty: configured branches. */
  refs?: string[];
  /** Parents to follow (0 = none, -1 = all). */
  depth?: number;
  commitMetadataOnly?: boolean;
  /** Only these absolute paths of the tree (the commit stays partial). */
  subpaths?: string[];
  /** Write refs to refs/heads, fetch every ref of the summary when none is named, copy the summary. */
  mirror?: boolean;
  /** Resolve and report what would be fetched, write nothing. */
  dryRun?: boolean;
  /** Use this URL instead of the remote's url (and contenturl). */
  overrideUrl?: string;
  httpHeaders?: Array<[string, string]>;
  appendUserAgent?: string;
  /** Retries per request (default 5). */
  networkRetries?: number;
  /** Requests in flight (default 8). */
  maxConcurrent?: number;
  /**
   * ostree's low-speed-time-seconds: abort a request that receives nothing, or less than
   * lowSpeedLimitBytes per second, for this many seconds (default 30).
   */
  stallTimeoutSeconds?: number;
  /** ostree's low-speed-limit-bytes (default 1000; 0 aborts only on silence). */
  lowSpeedLimitBytes?: number;
  /** Repos searched for content objects before fetching them. */
  localCacheRepos?: Repo[];
  bareuseronlyFiles?: boolean;
  requireStaticDeltas?: boolean;
  disableStaticDeltas?: boolean;
  /** Verify objects of local (file://) sources too. */
  untrusted?: boolean;
  /** Do not verify content checksums when mirroring over HTTP into an archive repo. */
  httpTrusted?: boolean;
  /** Refuse commits older than the ref's current one. */
  timestampCheck?: boolean;
  timestampCheckFromRev?: string;
  disableVerifyBindings?: boolean;
  /**
   * Override the remote's gpg-verify / gpg-verify-summary (ostree's pull options of the same
   * names). Without them the remote's configuration decides, as for every pull: the pull builds
   * its signature policy itself (src/remote/policy.ts), whoever calls it.
   */
  gpgVerify?: boolean;
  gpgVerifySummary?: boolean;
  /** Skip the remote's sign-verify / sign-verify-summary (ostree's disable-sign-verify[-summary]). */
  disableSignVerify?: boolean;
  disableSignVerifySummary?: boolean;
  /** Where keys and signatures are judged (time, global keyring dir): passed to the policy. */
  verification?: Pick<TrustPolicyOptions, 'now' | 'globalKeyringDir' | 'signerEnv'>;
  /** An extra check for every commit from a named remote, after the remote's policy passed. */
  verifyCommit?: VerifyCommitHook;
  /** An extra check for every summary from a named remote, after the remote's policy passed. */
  verifySummary?: VerifySummaryHook;
  /** Cache summaries under DIR/summaries instead of the repo's tmp/cache (ostree --cache-dir). */
  cacheDir?: string;
  /** Write pulled refs under refs/remotes/NAME (pull-local --remote; file:// URLs write refs/heads). */
  overrideRemoteName?: string;
  /** Progress callback, at most every updateFrequencyMs (default 1000) and once at the end. */
  onProgress?: (p: Readonly<PullProgress>) => void;
  updateFrequencyMs?: number;
  /** fetch() to use (default: the repo host's). */
  fetch?: typeof fetch;
}

export interface PulledRef {
  /** Remote name the ref is stored under (null: refs/heads). */
  remote: string | null;
  ref: string;
  checksum: string;
  /** The ref's previous value (null when new). */
  previous: string | null;
}

export interface DryRunItem {
  ref: string | null;
  checksum: string;
  /** Commit object size from the summary, when known. */
  commitSize: number | null;
  /** Whether the commit is already complete locally. */
  present: boolean;
}

export interface PullResult {
  refs: PulledRef[];
  progress: PullProgress;
  stats: TransactionStats;
  /** ostree's final status line. */
  status: string;
  /** With dryRun: what would be fetched. */
  dryRun?: DryRunItem[];
  /** With dryRun: how much would be fetched. */
  estimate?: DryRunEstimate;
  /** With dryRun and requireStaticDeltas: what the deltas would transfer (ostree's dry run). */
  deltaSizes?: DeltaPullSizes;
}
