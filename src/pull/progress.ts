// Pull progress: the counters libostree keeps in its OstreeAsyncProgress (same meanings, camelCase
// names; `ostreeCounterNames` maps them back), and the texts ostree's console renderer and final
// status print ("Receiving objects: 45% (2345/5120) 3.1 MB/s 15.2 MB", "N metadata, M content
// objects fetched; X KiB transferred in S seconds; Y MB content written").

import { formatSize } from '../util/format-size.ts';


/** A snapshot of a pull's counters. */
export interface PullProgress {
  /** 'resolving' (summary, refs), 'fetching' (objects), 'done'. */
  phase: 'resolving' | 'fetching' | 'done';
  outstandingFetches: number;
  outstandingWrites: number;
  /** Objects fetched (metadata + content). */
  fetched: number;
  /** Objects requested so far. */
  requested: number;
  metadataFetched: number;
  contentFetched: number;
  /** Metadata objects scanned (fetched or found locally). */
  scannedMetadata: number;
  /** Objects imported from a local repo (file:// remote, pull-local, --localcache-repo). */
  importedMetadata: number;
  importedContent: number;
  bytesTransferred: number;
  /** Wall clock at start, milliseconds since the epoch (ostree: start-time, µs monotonic). */
  startTime: number;
  fetchedDeltaParts: number;
  totalDeltaParts: number;
  fetchedDeltaPartSize: number;
  totalDeltaPartSize: number;
  /** Status text (the final summary line once done). */
  status: string;
  caughtError: boolean;
}

/** ostree's counter name for each field. */
export const ostreeCounterNames: Record<Exclude<keyof PullProgress, 'phase'>, string> = {
  outstandingFetches: 'outstanding-fetches',
  outstandingWrites: 'outstanding-writes',
  fetched: 'fetched',
  requested: 'requested',
  metadataFetched: 'metadata-fetched',
  contentFetched: 'content-fetched',
  scannedMetadata: 'scanned-metadata',
  importedMetadata: 'imported-metadata',
  importedContent: 'imported-content',
  bytesTransferred: 'bytes-transferred',
  startTime: 'start-time',
  fetchedDeltaParts: 'fetched-delta-parts',
  totalDeltaParts: 'total-delta-parts',
  fetchedDeltaPartSize: 'fetched-delta-part-size',
  totalDeltaPartSize: 'total-delta-part-size',
  status: 'status',
  caughtError: 'caught-error',
};

export function emptyProgress(startTime: number): PullProgress {
  return {
    phase: 'resolving',
    outstandingFetches: 0,
    outstandingWrites: 0,
    fetched: 0,
    requested: 0,
    metadataFetched: 0,
    contentFetched: 0,
    scannedMetadata: 0,
    importedMetadata: 0,
    importedContent: 0,
    bytesTransferred: 0,
    startTime,
    fetchedDeltaParts: 0,
    totalDeltaParts: 0,
    fetchedDeltaPartSize: 0,
    totalDeltaPartSize: 0,
    status: '',
    caughtError: false,
  };
}

/** Facts the final status line needs besides the counters. */
export interface PullSummaryFacts {
  /** The source was a local repo (file:// or pull-local): "imported" instead of "fetched". */
  local: boolean;
  contentBytesWritten: number;
  elapsedSeconds: number;
}

/** ostree's final status line. */
export function formatPullStatus(p: PullProgress, f: PullSummaryFacts): string {
  let s: string;
  if (f.local) s = `${p.importedMetadata} metadata, ${p.importedContent} content objects imported`;
  else if (p.fetchedDeltaParts > 0) s = `${p.fetchedDeltaParts} delta parts, ${p.metadataFetched + p.contentFetched} loose fetched`;
  else s = `${p.metadataFetched} metadata, ${p.contentFetched} content objects fetched`;
  if (!f.local && (p.importedMetadata || p.importedContent)) s += ` (${p.importedMetadata} meta, ${p.importedContent} content local)`;
  if (p.bytesTransferred > 0) {
    const kib = p.bytesTransferred >= 1024;
    s += `; ${kib ? Math.floor(p.bytesTransferred / 1024) : p.bytesTransferred} ${kib ? 'KiB' : 'B'} transferred in ${Math.floor(f.elapsedSeconds)} seconds`;
  }
  s += `; ${formatSize(f.contentBytesWritten)} content written`;
  return s;
}

/**
 * The one-line TTY progress text, as ostree_repo_pull_default_console_progress_changed picks it.
 * A count is never shown above its total, nor a percentage above 100: the pull's own counters
 * keep fetched <= requested (test/pull/progress-counts.test.ts), and a total below its count in
 * a snapshot from elsewhere (counters added up by a caller, a hand-made PullProgress) is shown
 * as the count, never as "12/10".
 */
export function formatPullProgressLine(p: PullProgress, nowMs: number): string {
  const elapsed = Math.max((nowMs - p.startTime) / 1000, 0.001);
  const rate = p.bytesTransferred / elapsed;
  if (p.status && p.phase === 'done') return p.status;
  if (p.totalDeltaParts > 0) {
    const parts = Math.max(p.totalDeltaParts, p.fetchedDeltaParts);
    const size = Math.max(p.totalDeltaPartSize, p.fetchedDeltaPartSize);
    return `Receiving delta parts: ${p.fetchedDeltaParts}/${parts} ${formatSize(p.fetchedDeltaPartSize)}/${formatSize(size)} ${formatSize(Math.round(rate))}/s`;
  }
  if (p.outstandingFetches > 0 || p.requested > p.fetched) {
    if (p.contentFetched === 0 && p.requested <= p.metadataFetched + p.outstandingFetches && p.phase !== 'fetching')
      return `Receiving metadata objects: ${p.metadataFetched}/(estimating) ${formatSize(Math.round(rate))}/s ${formatSize(p.bytesTransferred)}`;
    const total = Math.max(p.requested, p.fetched);
    const pct = total > 0 ? Math.floor((p.fetched * 100) / total) : 0;
    return `Receiving objects: ${pct}% (${p.fetched}/${total}) ${formatSize(Math.round(rate))}/s ${formatSize(p.bytesTransferred)}`;
  }
  if (p.outstandingWrites > 0) return `Writing objects: ${p.outstandingWrites}`;
  return `Scanning metadata: ${p.scannedMetadata}`;
}
