// auditCommit: an independent, read-only audit of one commit on a remote archive repository over
// plain HTTP, in any runtime with fetch and WebAssembly (browsers included): resolve the ref
// (signed summary or refs/heads), fetch the commit and its detached metadata, judge its
// signatures against the caller's keys, walk the whole tree re-hashing every object in the WASM
// core, and report what was found.

import { loadCore, type Core } from '../../core-wasm/index.ts';
import { decode, type GVValue } from '../format/gvariant.ts';
import { SUMMARY_TYPE, decodeCommit, metadataLookup, type Commit } from '../format/objects.ts';
import { toHex, fromUtf8 } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { RemoteReader } from './http.ts';
import { AuditHasher } from './hasher.ts';
import { parseTrustedKeys, verifyDetached, noKeys, type SignatureVerdict } from './signatures.ts';
import { TreeWalker, objectPath, type WalkLimits } from './walk.ts';
import type { AuditPhase, AuditProgress, AuditReport } from './report.ts';

export interface AuditOptions {
  /** Base URL of the remote archive repository (http or https). */
  url: string;
  /** A ref name (looked up in the summary, then refs/heads/) or a 64-hex commit checksum. */
  ref: string;
  /** Trusted keys: armored OpenPGP public keys and/or base64 ed25519 public keys (text or list). Empty: signatures are not checked. */
  keys: string | readonly string[];
  /** Progress events (throttled to one per 100 ms, plus one per phase). */
  onProgress?: (p: AuditProgress) => void;
  /** fetch to use (default: globalThis.fetch). */
  fetch?: typeof fetch;
  /** Requests in flight at once (default 8, at most 64). */
  concurrency?: number;
  /** A loaded WASM core (default: loads the embedded one). */
  core?: Core;
  /** Caps (defaults: metadata 10 MiB, summary 64 MiB, .filez 1 GiB, file 4 GiB, 2 000 000 objects, depth 256). */
  limits?: Partial<WalkLimits & { maxSummaryBytes: number }>;
}

const DEFAULT_LIMITS: WalkLimits & { maxSummaryBytes: number } = {
  maxMetadataBytes: 10 * 1024 * 1024,
  maxSummaryBytes: 64 * 1024 * 1024,
  maxObjectBytes: 1024 * 1024 * 1024,
  maxFileSize: 4 * 1024 * 1024 * 1024,
  maxObjects: 2_000_000,
  maxDepth: 256,
};
const REF_COMPONENT = /^[\w\d][-._\w\d]*$/;
const CHECKSUM = /^[0-9a-f]{64}$/;

function validateOptions(o: AuditOptions): void {
  if (typeof o !== 'object' || o === null) throw new TypeError('auditCommit: options must be an object');
  if (typeof o.url !== 'string') throw new TypeError('auditCommit: url must be a string');
  let u: URL;
  try {
    u = new URL(o.url);
  } catch {
    throw new TypeError(`auditCommit: invalid URL ${o.url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TypeError(`auditCommit: only http and https URLs are supported, got ${u.protocol}`);
  if (typeof o.ref !== 'string' || o.ref === '') throw new TypeError('auditCommit: ref must be a non-empty string');
  if (!CHECKSUM.test(o.ref) && !o.ref.split('/').every((c) => REF_COMPONENT.test(c))) throw new TypeError(`auditCommit: invalid ref ${o.ref}`);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new TypeError('auditCommit: onProgress must be a function');
  if (o.fetch !== undefined && typeof o.fetch !== 'function') throw new TypeError('auditCommit: fetch must be a function');
  const c = o.concurrency;
  if (c !== undefined && (!Number.isInteger(c) || c < 1 || c > 64)) throw new TypeError('auditCommit: concurrency must be an integer from 1 to 64');
  for (const [k, v] of Object.entries(o.limits ?? {}))
    if (!(k in DEFAULT_LIMITS) || !Number.isSafeInteger(v) || (v as number) < 1) throw new TypeError(`auditCommit: invalid limit ${k}`);
}

/** The summary's refs: name → commit checksum (strict decode). */
function summaryRefMap(data: Uint8Array): Map<string, string> {
  const [refs] = decode(SUMMARY_TYPE, data, { context: 'summary' }) as [GVValue[], GVValue];
  const map = new Map<string, string>();
  for (const r of refs) {
    const [name, [, csum]] = r as [string, [bigint, Uint8Array]];
    if (csum.length !== 32) throw new XylemError(`summary: invalid checksum length ${csum.length} for ref ${name}`);
    map.set(name, toHex(csum));
  }
  return map;
}

/** Audits one commit of a remote archive repository; rejects only when the commit cannot be audited at all. */
export async function auditCommit(opts: AuditOptions): Promise<AuditReport> {
  validateOptions(opts);
  const started = Date.now();
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const fetchFn = opts.fetch ?? globalThis.fetch?.bind(globalThis);
  if (!fetchFn) throw new XylemError('auditCommit: this runtime has no fetch()');
  const keys = await parseTrustedKeys(opts.keys);
  const core = opts.core ?? (await loadCore());
  const reader = new RemoteReader(opts.url, { fetch: fetchFn, maxConcurrent: opts.concurrency ?? 8 });
  const hasher = new AuditHasher(core);
  let walker: TreeWalker | null = null;
  let phase: AuditPhase = 'summary';
  let lastEmit = 0;
  const emit = (force: boolean, message = ''): void => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastEmit < 100) return;
    lastEmit = now;
    opts.onProgress({
      phase,
      objectsDone: (walker?.counts.total ?? 0),
      objectsKnown: walker?.known ?? 0,
      bytesFetched: reader.bytes,
      message,
    });
  };
  const enter = (p: AuditPhase, message: string): void => {
    phase = p;
    emit(true, message);
  };
  const problems: string[] = [];

  // 1. Summary (optional) and its signature; resolve the ref.
  enter('summary', `Fetching ${reader.url('summary')}`);
  const summary = await reader.get('summary', limits.maxSummaryBytes, true);
  let summarySignature: SignatureVerdict | null = null;
  let commitId: string | null = null;
  let resolvedFrom: AuditReport['resolvedFrom'] = 'checksum';
  if (summary) {
    const sig = await reader.get('summary.sig', limits.maxMetadataBytes, true);
    summarySignature = await verifyDetached(summary, sig, keys, 'summary');
    if (summarySignature.status === 'invalid') problems.push(summarySignature.message);
    const refs = summaryRefMap(summary);
    if (!CHECKSUM.test(opts.ref) && refs.has(opts.ref)) {
      commitId = refs.get(opts.ref)!;
      resolvedFrom = 'summary';
    }
  }
  if (CHECKSUM.test(opts.ref)) commitId = opts.ref;
  if (commitId === null) {
    const body = await reader.get(`refs/heads/${opts.ref}`, 1024, true);
    if (body === null) throw new XylemError(`No such branch '${opts.ref}' in ${opts.url} (not in the summary, no refs/heads/${opts.ref})`);
    const text = fromUtf8(body).trim();
    if (!CHECKSUM.test(text)) throw new XylemError(`refs/heads/${opts.ref}: not a checksum`);
    commitId = text;
    resolvedFrom = 'refs';
  }

  // 2. The commit, its hash and its signatures.
  enter('commit', `Fetching commit ${commitId}`);
  const commitBytes = (await reader.get(objectPath(commitId, 'commit'), limits.maxMetadataBytes))!;
  const commitmeta = await reader.get(objectPath(commitId, 'commitmeta'), limits.maxMetadataBytes, true);
  const commitActual = toHex(core.sha256(commitBytes));
  const commit: Commit = decodeCommit(commitBytes, `${commitId}.commit`);
  enter('signatures', 'Verifying signatures');
  const commitSignature = await verifyDetached(commitBytes, commitmeta, keys, 'commit');
  if (!noKeys(keys) && commitSignature.status !== 'valid') problems.push(commitSignature.message);

  // 3. The tree.
  walker = new TreeWalker(reader, hasher, limits, () => emit(false));
  walker.counts.commits = 1;
  walker.counts.total = 1;
  walker.bytesHashed = commitBytes.length;
  const mismatches = walker.mismatches;
  if (commitActual !== commitId) {
    mismatches.push({ type: 'commit', checksum: commitId, actual: `${commitActual} (tree not audited)`, path: '' });
  } else {
    enter('tree', 'Walking the tree');
    await walker.walk(commit.rootTree, commit.rootMeta);
  }
  if (mismatches.length > 0) problems.push(`${mismatches.length} object(s) do not match their checksum`);
  if (walker.errors.length > 0) problems.push(`${walker.errors.length} object(s) could not be audited`);
  if (walker.dropped > 0) problems.push(`${walker.dropped} further problem(s) not listed`);

  const version = metadataLookup(commit.metadata, 'version');
  const report: AuditReport = {
    ok: problems.length === 0,
    url: opts.url,
    ref: opts.ref,
    commit: commitId,
    resolvedFrom,
    subject: commit.subject,
    body: commit.body,
    version: version && version.type === 's' ? (version.value as string) : null,
    timestamp: Number(commit.timestamp),
    parent: commit.parent,
    rootTree: commit.rootTree,
    rootMeta: commit.rootMeta,
    commitSignature,
    summarySignature,
    objects: { ...walker.counts },
    bytesFetched: reader.bytes,
    bytesHashed: walker.bytesHashed,
    hashing: { batched: hasher.batched, streamed: hasher.streamed + 1, batches: hasher.batches },
    mismatches,
    errors: walker.errors,
    problems,
    durationMs: Date.now() - started,
  };
  enter('done', report.ok ? 'Audit passed' : 'Audit FAILED');
  return report;
}
