// The shapes auditCommit answers with and reports progress in.

import type { SignatureVerdict } from './signatures.ts';

export type AuditObjectType = 'commit' | 'dirtree' | 'dirmeta' | 'file';

/** An object whose bytes do not hash to its name. */
export interface ChecksumMismatch {
  type: AuditObjectType;
  /** The name (expected checksum). */
  checksum: string;
  /** What its content hashes to. */
  actual: string;
  /** Where it sits in the tree ('/' for the root; the first path seen for shared objects). */
  path: string;
}

/** An object that could not be fetched or parsed (missing, over a cap, malformed). */
export interface ObjectError {
  type: AuditObjectType;
  checksum: string;
  path: string;
  message: string;
}

export interface AuditCounts {
  commits: number;
  dirtrees: number;
  dirmetas: number;
  files: number;
  /** Unique objects audited (each fetched and hashed once). */
  total: number;
}

export interface AuditReport {
  /** True when every object hashed to its name, nothing was missing, and (keys given) the commit carries a good signature from a trusted key and a published summary.sig is good. */
  ok: boolean;
  url: string;
  ref: string;
  commit: string;
  /** Where the ref was resolved: summary, refs/heads/REF, or the ref was a checksum. */
  resolvedFrom: 'summary' | 'refs' | 'checksum';
  subject: string;
  body: string;
  /** The commit's `version` metadata, null when absent. */
  version: string | null;
  /** Commit time, seconds since the epoch (UTC). */
  timestamp: number;
  parent: string | null;
  rootTree: string;
  rootMeta: string;
  commitSignature: SignatureVerdict;
  /** null when the remote publishes no summary. */
  summarySignature: SignatureVerdict | null;
  objects: AuditCounts;
  /** Bytes received over HTTP (compressed, as stored). */
  bytesFetched: number;
  /** Bytes hashed (metadata plus uncompressed content streams). */
  bytesHashed: number;
  /** Objects hashed through the 4-lane SIMD batch / individually. */
  hashing: { batched: number; streamed: number; batches: number };
  mismatches: ChecksumMismatch[];
  errors: ObjectError[];
  /** Reasons `ok` is false, one line each. */
  problems: string[];
  durationMs: number;
}

export type AuditPhase = 'summary' | 'commit' | 'signatures' | 'tree' | 'done';

export interface AuditProgress {
  phase: AuditPhase;
  /** Objects finished / known so far (the tree grows as dirtrees are read). */
  objectsDone: number;
  objectsKnown: number;
  bytesFetched: number;
  message: string;
}
