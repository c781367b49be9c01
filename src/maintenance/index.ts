// Repository maintenance that spans the object store, static deltas and remotes: pruning
// unreachable objects (and deltas, and the summaries cached for deleted remotes) and writing the
// summary file with its delta index — the maintenance package's public surface.

export { pruneRepo, deleteCommit } from './prune.ts';
export type { PruneOptions, PruneResult } from './prune.ts';
export { regenerateSummary, readSummary, summaryRefs } from './summary.ts';
export type { SummaryOptions } from './summary.ts';
