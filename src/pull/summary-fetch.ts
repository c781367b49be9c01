// A remote's summary as a pull reads it (ostree's pull: summary.sig first, the cached summary
// under tmp/cache/summaries/ when its signature is unchanged, else the summary itself or the one a
// metalink verified), checked by the remote's trust policy before anything in it is used, and
// cached again. Also the parsing of the summary's refs, mode and advertised deltas.

import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { decode, isNormalForm, type GVValue, type GVVariant } from '../format/gvariant.ts';
import { SUMMARY_TYPE } from '../format/objects.ts';
import { isValidRefName } from '../repo/refs.ts';
import type { RemoteTrustPolicy } from '../remote/policy.ts';
import { bytesEqual, toHex } from '../util/bytes.ts';
import { joinPath } from '../util/path.ts';
import { XylemError } from '../util/errors.ts';
import { joinUrl, type Fetcher } from './fetcher.ts';
import { PULL_MAX_METADATA_SIZE } from './engine.ts';
import type { VerifySummaryHook } from './options.ts';
import { readFileOptional } from '../util/read-optional.ts';

/** What a pull reads from a remote summary. */
export interface SummaryInfo {
  bytes: Uint8Array;
  refs: Map<string, { checksum: string; size: number }>;
  mode: string | null;
  collectionId: string | null;
  indexedDeltas: boolean;
  /** Deltas listed in the summary ("FROM-TO" or "TO", hex) → superblock checksum (hex). */
  deltas: Map<string, string>;
}

export function parseSummary(bytes: Uint8Array): SummaryInfo {
  if (!isNormalForm(SUMMARY_TYPE, bytes)) throw new XylemError('Not normal form');
  const [refs, meta] = decode(SUMMARY_TYPE, bytes, { context: 'summary' }) as [GVValue[], Array<[string, { type: string; value: GVValue }]>];
  const out = new Map<string, { checksum: string; size: number }>();
  for (const r of refs) {
    const [name, [size, csum]] = r as [string, [bigint, Uint8Array]];
    if (!isValidRefName(name)) throw new XylemError(`Invalid ref name ${name}`);
    if (csum.length !== 32) throw new XylemError(`Invalid checksum of length ${csum.length} expected 32`);
    out.set(name, { checksum: toHex(csum), size: Number(size) });
  }
  let mode: string | null = null;
  let collectionId: string | null = null;
  let indexedDeltas = false;
  const deltas = new Map<string, string>();
  for (const [k, v] of meta) {
    if (k === 'ostree.summary.mode' && v.type === 's') mode = v.value as string;
    if (k === 'ostree.summary.collection-id' && v.type === 's') collectionId = v.value as string;
    if (k === 'ostree.summary.indexed-deltas' && v.type === 'b') indexedDeltas = v.value as boolean;
    if (k === 'ostree.static-deltas' && v.type === 'a{sv}') collectDeltas(v.value as Array<[string, GVVariant]>, deltas);
  }
  return { bytes, refs: out, mode, collectionId, indexedDeltas, deltas };
}

/** Adds the entries of an ostree.static-deltas dictionary (summary or delta index) to `into`. */
export function collectDeltas(entries: Array<[string, GVVariant]>, into: Map<string, string>): void {
  for (const [name, v] of entries) {
    if (v.type !== 'ay') throw new XylemError(`Invalid checksum variant of type '${v.type}', expected 'ay'`);
    const b = v.value as Uint8Array;
    if (b.length !== 32) throw new XylemError(`Invalid checksum of length ${b.length} expected 32`);
    into.set(name, toHex(b));
  }
}

/** Where summaries are cached: DIR/summaries for --cache-dir=DIR, else the repo's tmp/cache/summaries. */
function cacheDir(repo: Repo, dir: string | undefined): string {
  return dir !== undefined ? joinPath(dir, 'summaries') : joinPath(repo.path, 'tmp', 'cache', 'summaries');
}

/** The remote as far as its summary is concerned. */
export interface SummarySource {
  /** The configured remote's name (null: a URL, never cached). */
  name: string | null;
  metaUrl: string;
  /** With a metalink: the summary it verified. */
  metalinkSummary: Uint8Array | null;
  trust: RemoteTrustPolicy;
}

export interface PullSummaryOptions {
  /** ostree --cache-dir. */
  cacheDir?: string | undefined;
  /** The source is a local repository (its summary is not cached). */
  local: boolean;
  /** Mirroring every ref: a summary is required. */
  mirrorAll: boolean;
  /** The caller's extra summary check, after the remote's policy passed. */
  verifySummary?: VerifySummaryHook | undefined;
}

/** Fetches (or reads from the cache), verifies, parses and caches the summary of `r`. */
export async function fetchPullSummary(
  repo: Repo,
  r: SummarySource,
  fetcher: Fetcher,
  o: PullSummaryOptions,
): Promise<{ summary: SummaryInfo | null; summarySig: Uint8Array | null }> {
  let summary: SummaryInfo | null = null;
  const get = (name: string) => fetcher.get({ url: joinUrl(r.metaUrl, name), optional: true, maxBytes: PULL_MAX_METADATA_SIZE });
  const summarySig = await get('summary.sig');
  let bytes: Uint8Array | null = null;
  let fromCache = false;
  const cacheName = r.name && !o.local && !repo.host.env?.OSTREE_SKIP_CACHE ? r.name : null;
  if (summarySig && cacheName) {
    const cachedSig = await readFileOptional(repo.fs, joinPath(cacheDir(repo, o.cacheDir), `${cacheName}.sig`));
    if (cachedSig && bytesEqual(cachedSig, summarySig)) {
      bytes = await readFileOptional(repo.fs, joinPath(cacheDir(repo, o.cacheDir), cacheName));
      fromCache = bytes !== null;
    }
  }
  if (!bytes) bytes = r.metalinkSummary ?? (await get('summary'));
  if (r.trust.gpgVerifySummary) {
    if (!bytes) throw new XylemError('GPG verification enabled, but no summary found (use gpg-verify-summary=false in remote config to disable)');
    if (!summarySig) throw new XylemError('GPG verification enabled, but no summary.sig found (use gpg-verify-summary=false in remote config to disable)');
  }
  const checkSummary = async (b: Uint8Array): Promise<void> => {
    await r.trust.verifySummary(b, summarySig);
    if (o.verifySummary) await o.verifySummary(r.trust.remote!, b, summarySig);
  };
  if (bytes && r.trust.remote !== null) {
    try {
      await checkSummary(bytes);
    } catch (e) {
      if (!fromCache) throw e;
      if ((repo.host.env?.OSTREE_REPO_TEST_ERROR ?? '').split(',').includes('invalid-cache'))
        throw new XylemError(`Remote ${r.name} cached summary invalid and OSTREE_REPO_TEST_ERROR_INVALID_CACHE specified`);
      // The cached summary does not match the new signature: fetch it again.
      bytes = await get('summary');
      fromCache = false;
      if (bytes) await checkSummary(bytes);
    }
  }
  if (!bytes && o.mirrorAll) throw new XylemError('Fetching all refs was requested in mirror mode, but remote repository does not have a summary');
  if (bytes) {
    summary = parseSummary(bytes);
    if (!fromCache && summarySig && cacheName) {
      const dir = cacheDir(repo, o.cacheDir);
      await repo.fs.mkdir(dir, { recursive: true });
      await writeFileAtomic(repo.fs, joinPath(dir, cacheName), bytes, { fsync: false });
      await writeFileAtomic(repo.fs, joinPath(dir, `${cacheName}.sig`), summarySig, { fsync: false });
    }
  }
  return { summary, summarySig };
}
