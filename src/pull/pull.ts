// `ostree pull`: pulling refs or commits of a configured remote (or a file:// URL) into a repo.
// Resolves what to fetch as libostree does — summary.sig/summary (cached under
// tmp/cache/summaries/), the remote's /config mode, refs from the summary or refs/heads/REF,
// REF@COMMIT overrides — then runs the shared traversal (engine.ts) over HTTP or, for file://
// remotes, straight from the local repository. Refs move only after every object is written.

import type { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { KeyFile } from '../format/keyfile.ts';
import { decode, isNormalForm, type GVValue, type GVVariant } from '../format/gvariant.ts';
import { ObjectType, isValidChecksum, objectRelPath, type Commit } from '../format/objects.ts';
import { isValidRefName, resolveRev } from '../repo/refs.ts';
import {
  fileUrlToPath,
  getRemoteInherited,
  remoteBooleanOption,
  remoteListOption,
  remoteNameIsFile,
  remoteOption,
} from '../remote/config.ts';
import type { RemoteUrlConfig } from '../remote/mirrors.ts';
import { armMirrors } from './mirrors.ts';
import { Repo as RepoClass } from '../repo/repo.ts';
import { bytesEqual, fromUtf8Lossy, toHex } from '../util/bytes.ts';
import { joinPath } from '../util/path.ts';
import { NotFoundError, XylemError, errnoCode } from '../util/errors.ts';
import type { TransactionStats } from '../repo/transaction.ts';
import { Fetcher, DEFAULT_USER_AGENT, joinUrl, validateRemoteUrl } from './fetcher.ts';
import { PullEngine, PULL_MAX_METADATA_SIZE, type CommitMetadata, type ObjectSource, type PullTarget } from './engine.ts';
import { HttpObjectSource } from './source-http.ts';
import { LocalRepoSource } from './source-local.ts';
import { PullWriter } from './writer.ts';
import { emptyProgress, formatPullStatus, type PullProgress } from './progress.ts';
import { formatSize } from '../util/format-size.ts';
import { estimatePull, type DryRunEstimate } from './dry-run.ts';
import { deltaIndexRelPath, deltaNameString, superblockKey, type DeltaName } from '../delta/paths.ts';
import {
  applyPulledDelta,
  bestDeltaStart,
  deltaPullSizes,
  fetchPullSuperblock,
  type DeltaFetch,
  type DeltaPullSizes,
} from '../delta/source.ts';
import type { LoadedSuperblock } from '../delta/apply.ts';
import type { Superblock } from '../delta/superblock.ts';
import { commitState } from '../repo/commit-state.ts';
import { formatCTime } from './time.ts';
import { remoteTrustPolicy, type RemoteTrustPolicy, type TrustPolicyOptions } from '../remote/policy.ts';
import { withRepoLock } from '../repo/lock.ts';

const SUMMARY_TYPE = '(a(s(taya{sv}))a{sv})';

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

interface ResolvedRemote {
  name: string | null;
  /** The configured url / contenturl / metalink values (mirrorlist= or metalink= not yet fetched). */
  urls: RemoteUrlConfig;
  /** Preferred base URL for metadata and for content (set by armMirrors). */
  metaUrl: string;
  contentUrl: string;
  /** With a metalink: the summary it verified. */
  metalinkSummary: Uint8Array | null;
  branches: string[] | null;
  /** What commits and summaries from this remote must prove before they are trusted. */
  trust: RemoteTrustPolicy;
}

async function resolveRemote(repo: Repo, nameOrUrl: string, opts: PullOptions): Promise<ResolvedRemote> {
  if (remoteNameIsFile(nameOrUrl)) {
    // A local source verifies only what is asked for, with the keys of the remote its refs are
    // written under (ostree pull-local --remote=R --gpg-verify).
    const keysOf = opts.overrideRemoteName ?? null;
    const local: PullOptions = { ...opts, gpgVerify: !!opts.gpgVerify, gpgVerifySummary: !!opts.gpgVerifySummary, disableSignVerify: true, disableSignVerifySummary: true };
    const urls = { url: nameOrUrl, contentUrl: null, metalink: null };
    return { name: null, urls, metaUrl: '', contentUrl: '', metalinkSummary: null, branches: null, trust: await trustPolicy(repo, keysOf, local) };
  }
  await getRemoteInherited(repo, nameOrUrl);
  const unconfigured = await remoteOption(repo, nameOrUrl, 'unconfigured-state', null);
  if (unconfigured) throw new XylemError(`remote unconfigured-state: ${unconfigured}`);
  const backend = await remoteOption(repo, nameOrUrl, 'custom-backend', null);
  if (backend) throw new XylemError(`Cannot fetch via libostree - remote '${nameOrUrl}' uses custom backend '${backend}'`);
  // As libostree: a metalink wins over url (and over --url), the override stands for contenturl too.
  const metalink = await remoteOption(repo, nameOrUrl, 'metalink', null);
  const url = metalink !== null ? null : (opts.overrideUrl ?? (await remoteOption(repo, nameOrUrl, 'url', null)));
  if (url === null && metalink === null) throw new NotFoundError(`No "url" option in remote "${nameOrUrl}"`);
  const contentUrl = metalink === null && opts.overrideUrl ? opts.overrideUrl : await remoteOption(repo, nameOrUrl, 'contenturl', null);
  return {
    name: nameOrUrl,
    urls: { url, contentUrl, metalink },
    metaUrl: '',
    contentUrl: '',
    metalinkSummary: null,
    branches: await remoteListOption(repo, nameOrUrl, 'branches'),
    trust: await trustPolicy(repo, nameOrUrl, opts),
  };
}

/** The remote's signature policy with the overrides ostree's pull options allow (and nothing else). */
function trustPolicy(repo: Repo, remote: string | null, opts: PullOptions): Promise<RemoteTrustPolicy> {
  const o: TrustPolicyOptions = { ...opts.verification };
  if (opts.gpgVerify !== undefined) o.gpgVerify = opts.gpgVerify;
  if (opts.gpgVerifySummary !== undefined) o.gpgVerifySummary = opts.gpgVerifySummary;
  if (opts.disableSignVerify) o.disableSignVerify = true;
  if (opts.disableSignVerifySummary) o.disableSignVerifySummary = true;
  return remoteTrustPolicy(repo, remote, o);
}

/** One requested ref (or commit, when ref is null) and its pinned commit, if any. */
interface Request {
  ref: string | null;
  pinned: string | null;
}

/** Splits the refs argument: `REF`, `REF@CSUM`, or a bare checksum. Later duplicates win. */
export function parsePullRefs(specs: readonly string[]): { refs: Map<string, string | null>; commits: string[] } {
  const refs = new Map<string, string | null>();
  const commits: string[] = [];
  for (const s of specs) {
    if (typeof s !== 'string') throw new TypeError('refs must be strings');
    const at = s.lastIndexOf('@');
    if (at >= 0) {
      const ref = s.slice(0, at);
      const c = s.slice(at + 1);
      if (!isValidChecksum(c)) throw new XylemError(`Invalid rev ${c.slice(0, 64)}`);
      if (!isValidRefName(ref)) throw new XylemError(`Invalid ref name ${ref}`);
      refs.set(ref, c);
    } else if (isValidChecksum(s)) commits.push(s);
    else {
      if (!isValidRefName(s)) throw new XylemError(`Invalid ref name ${s}`);
      refs.set(s, null);
    }
  }
  return { refs, commits };
}

/** ostree_validate_checksum_string with ostree's message for junk (e.g. an HTML page). */
function validateFetchedRev(text: string, ref: string): string {
  const s = text.replace(/\s+$/, '');
  if (!isValidChecksum(s)) {
    const shown = s.length === 64 ? s : s.slice(0, 64).replace(/\n/g, ' ');
    const msg = s.length !== 64 ? `Invalid rev ${shown}` : `Invalid character in rev '${s}'`;
    throw new XylemError(`Fetching checksum for ref ((empty), ${ref}): ${msg}`);
  }
  return s;
}

interface SummaryInfo {
  bytes: Uint8Array;
  refs: Map<string, { checksum: string; size: number }>;
  mode: string | null;
  collectionId: string | null;
  indexedDeltas: boolean;
  /** Deltas listed in the summary ("FROM-TO" or "TO", hex) → superblock checksum (hex). */
  deltas: Map<string, string>;
}

function parseSummary(bytes: Uint8Array): SummaryInfo {
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
function collectDeltas(entries: Array<[string, GVVariant]>, into: Map<string, string>): void {
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

async function readIfExists(repo: Repo, path: string): Promise<Uint8Array | null> {
  try {
    return await repo.fs.readFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT' || errnoCode(e) === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * Pulls from `remote` (a configured remote name or a file:// URL) into `repo`, holding the repo
 * lock shared throughout (its batches publish objects no ref reaches yet: prune must wait).
 */
export async function pull(repo: Repo, remote: string, opts: PullOptions = {}): Promise<PullResult> {
  return withRepoLock(repo, 'shared', () => pullLocked(repo, remote, opts));
}

async function pullLocked(repo: Repo, remote: string, opts: PullOptions): Promise<PullResult> {
  if (typeof remote !== 'string' || remote === '') throw new XylemError('REMOTE must be specified');
  if (typeof opts !== 'object' || opts === null) throw new TypeError('pull: options must be an object');
  const depth = opts.depth ?? 0;
  if (!Number.isInteger(depth) || depth < -1) throw new XylemError(`Invalid depth ${depth}`);
  if (opts.requireStaticDeltas && opts.disableStaticDeltas)
    throw new XylemError('Cannot use --require-static-deltas and --disable-static-deltas together');
  const now = repo.host.now ?? Date.now;
  const progress = emptyProgress(now());
  const freq = opts.updateFrequencyMs && opts.updateFrequencyMs > 0 ? opts.updateFrequencyMs : 1000;
  let lastEmit = 0;
  const emit = (force = false) => {
    if (!opts.onProgress) return;
    const t = now();
    if (!force && t - lastEmit < freq) return;
    lastEmit = t;
    opts.onProgress({ ...progress });
  };

  const r = await resolveRemote(repo, remote, opts);
  const userAgent = opts.appendUserAgent ? `${DEFAULT_USER_AGENT} ${opts.appendUserAgent}` : DEFAULT_USER_AGENT;
  const fetcher = new Fetcher({
    fetch: opts.fetch ?? repo.host.fetch,
    http: opts.fetch ? undefined : repo.host.http,
    fs: repo.fs,
    maxConcurrent: opts.maxConcurrent,
    retries: opts.networkRetries,
    stallTimeoutMs: opts.stallTimeoutSeconds !== undefined ? opts.stallTimeoutSeconds * 1000 : undefined,
    lowSpeedLimitBytes: opts.lowSpeedLimitBytes,
    headers: opts.httpHeaders,
    userAgent,
    onBytes: (n) => {
      progress.bytesTransferred += n;
      emit();
    },
  });

  Object.assign(r, await armMirrors(fetcher, r.urls));

  // A file:// remote is read as a local repository (unless deltas are required: tested over "HTTP").
  let localSrc: Repo | null = null;
  if (/^file:/i.test(r.metaUrl) && !opts.requireStaticDeltas) localSrc = await RepoClass.open(repo.host, fileUrlToPath(r.metaUrl));
  if (repo.mode === 'archive' && opts.requireStaticDeltas) throw new XylemError("Can't use static deltas in an archive repo");

  const { refs: requested, commits } = parsePullRefs(opts.refs ?? []);
  const mirrorAll = !!opts.mirror && (opts.refs ?? []).length === 0 && !r.branches;
  if (!mirrorAll && (opts.refs ?? []).length === 0) {
    if (!r.branches || r.branches.length === 0) throw new XylemError(`No configured branches for remote ${remote}`);
    for (const b of r.branches) requested.set(b, null);
  }
  let needSummary = mirrorAll || [...requested.values()].some((v) => v === null);

  // The remote's /config, read at most once (mode, indexed-deltas).
  let remoteConfig: KeyFile | null = null;
  const loadRemoteConfig = async (): Promise<KeyFile> => {
    if (remoteConfig) return remoteConfig;
    const cfg = await fetcher.get({ url: joinUrl(r.metaUrl, 'config'), maxBytes: PULL_MAX_METADATA_SIZE });
    try {
      remoteConfig = KeyFile.parse(fromUtf8Lossy(cfg!), 'config');
    } catch (e) {
      throw new XylemError(`Parsing config: ${(e as Error).message}`);
    }
    return remoteConfig;
  };
  // Static deltas: only into non-archive repos, not for commit-only pulls nor local imports.
  const deltasEnabled = !opts.disableStaticDeltas && repo.mode !== 'archive' && !opts.commitMetadataOnly && !localSrc;
  let indexedDeltas = false;
  // As ostree: without a delta index on the remote, the summary is needed to find deltas.
  if (!needSummary && deltasEnabled) {
    indexedDeltas = (await loadRemoteConfig()).getBoolean('core', 'indexed-deltas') ?? false;
    if (!indexedDeltas) needSummary = true;
  }

  // --- summary -------------------------------------------------------------------------------
  let summary: SummaryInfo | null = null;
  let summarySig: Uint8Array | null = null;
  if (needSummary) {
    const get = (name: string) => fetcher.get({ url: joinUrl(r.metaUrl, name), optional: true, maxBytes: PULL_MAX_METADATA_SIZE });
    summarySig = await get('summary.sig');
    let bytes: Uint8Array | null = null;
    let fromCache = false;
    const cacheName = r.name && !localSrc && !repo.host.env?.OSTREE_SKIP_CACHE ? r.name : null;
    if (summarySig && cacheName) {
      const cachedSig = await readIfExists(repo, joinPath(cacheDir(repo, opts.cacheDir), `${cacheName}.sig`));
      if (cachedSig && bytesEqual(cachedSig, summarySig)) {
        bytes = await readIfExists(repo, joinPath(cacheDir(repo, opts.cacheDir), cacheName));
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
      if (opts.verifySummary) await opts.verifySummary(r.trust.remote!, b, summarySig);
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
    if (!bytes && mirrorAll) throw new XylemError('Fetching all refs was requested in mirror mode, but remote repository does not have a summary');
    if (bytes) {
      summary = parseSummary(bytes);
      if (!fromCache && summarySig && cacheName) {
        const dir = cacheDir(repo, opts.cacheDir);
        await repo.fs.mkdir(dir, { recursive: true });
        await writeFileAtomic(repo.fs, joinPath(dir, cacheName), bytes, { fsync: false });
        await writeFileAtomic(repo.fs, joinPath(dir, `${cacheName}.sig`), summarySig, { fsync: false });
      }
    }
  }
  if (mirrorAll && summary) for (const name of summary.refs.keys()) requested.set(name, null);

  // Deltas the remote advertises (name → superblock checksum): the summary's, then the indexes'.
  const advertised = new Map<string, string>(summary?.deltas ?? []);
  const summaryHasDeltas = advertised.size > 0;
  if (summary?.indexedDeltas) indexedDeltas = true;
  if (opts.requireStaticDeltas && !indexedDeltas && !summaryHasDeltas)
    throw new XylemError('Fetch configured to require static deltas, but no summary deltas or delta index found');

  // --- the remote's mode ---------------------------------------------------------------------
  // As ostree 2022.7: the mode comes from the summary, or from /config when a summary lacks it;
  // without a summary nothing more is fetched (a non-archive remote then fails on its objects).
  if (!localSrc && summary) {
    const mode = summary.mode ?? (await loadRemoteConfig()).get('core', 'mode') ?? 'bare';
    if (mode !== 'archive-z2' && mode !== 'archive') throw new XylemError(`Can't pull from archives with mode "${mode}"`);
  }

  // --- resolve refs --------------------------------------------------------------------------
  const targets: PullTarget[] = commits.map((c) => ({ ref: null, checksum: c }));
  const refTargets: Array<{ ref: string; checksum: string; size: number | null }> = [];
  for (const [ref, pinned] of requested) {
    if (pinned) {
      refTargets.push({ ref, checksum: pinned, size: null });
      continue;
    }
    if (summary) {
      const e = summary.refs.get(ref);
      if (!e) throw new XylemError(`No such branch '${ref}' in repository summary`);
      refTargets.push({ ref, checksum: e.checksum, size: e.size });
    } else {
      const text = await fetcher.get({ url: joinUrl(r.metaUrl, `refs/heads/${ref}`), maxBytes: PULL_MAX_METADATA_SIZE });
      refTargets.push({ ref, checksum: validateFetchedRev(fromUtf8Lossy(text!), ref), size: null });
    }
  }
  for (const t of refTargets) targets.push({ ref: t.ref, checksum: t.checksum });
  // Static deltas, chosen per target as ostree does; a target a delta does not bring in is
  // pulled object by object (or fails under --require-static-deltas).
  const deltaFetch: DeltaFetch = (rel, maxBytes) => fetcher.get({ url: joinUrl(r.contentUrl, rel), optional: true, maxBytes });
  const plannedDeltas: Array<{ target: PullTarget; superblock: Superblock }> = [];
  const skipScan = new Set<PullTarget>();
  if (deltasEnabled) {
    const countMetaFetch = async <T>(f: () => Promise<T>): Promise<T> => {
      progress.requested++;
      const out = await f();
      progress.fetched++;
      progress.metadataFetched++;
      return out;
    };
    for (const t of targets) {
      const plan = await planTargetDelta(repo, t, {
        remoteName: r.name,
        indexedDeltas,
        summaryHasDeltas,
        advertised,
        require: !!opts.requireStaticDeltas,
        fetchIndex: (to) =>
          countMetaFetch(() => fetcher.get({ url: joinUrl(r.contentUrl, deltaIndexRelPath(to)), optional: true, maxBytes: PULL_MAX_METADATA_SIZE })),
        fetchSuperblock: (name) => countMetaFetch(() => fetchPullSuperblock(repo, deltaFetch, name, advertised.get(deltaNameString(name)))),
        collectIndex: (bytes) => {
          const md = decode('a{sv}', bytes, { context: 'delta index' }) as Array<[string, GVVariant]>;
          const d = md.find(([k]) => k === 'ostree.static-deltas')?.[1];
          if (d && d.type === 'a{sv}') collectDeltas(d.value as Array<[string, GVVariant]>, advertised);
        },
      });
      if (plan === 'unchanged') skipScan.add(t);
      else if (plan !== 'objects') plannedDeltas.push({ target: t, superblock: plan.superblock });
    }
  }
  const deltaTotals: DeltaPullSizes = { parts: 0, fetchedParts: 0, size: 0, fetchedSize: 0, usize: 0 };
  for (const d of plannedDeltas) {
    const z = await deltaPullSizes(repo, d.superblock);
    deltaTotals.parts += z.parts;
    deltaTotals.fetchedParts += z.fetchedParts;
    deltaTotals.size += z.size;
    deltaTotals.fetchedSize += z.fetchedSize;
    deltaTotals.usize += z.usize;
  }
  progress.totalDeltaParts = deltaTotals.parts;
  progress.fetchedDeltaParts = deltaTotals.fetchedParts;
  progress.totalDeltaPartSize = deltaTotals.size;
  progress.fetchedDeltaPartSize = deltaTotals.fetchedSize;

  // ostree's dry run: what the deltas would transfer, nothing written.
  if (opts.dryRun && opts.requireStaticDeltas) {
    progress.phase = 'done';
    progress.status = `Delta update: ${deltaTotals.fetchedParts}/${deltaTotals.parts} parts, ${formatSize(deltaTotals.fetchedSize)}/${formatSize(deltaTotals.size)}, ${formatSize(deltaTotals.usize)} total uncompressed`;
    return {
      refs: [],
      progress,
      stats: { metadataObjectsTotal: 0, metadataObjectsWritten: 0, contentObjectsTotal: 0, contentObjectsWritten: 0, contentBytesWritten: 0 },
      status: progress.status,
      dryRun: [],
      deltaSizes: deltaTotals,
    };
  }
  const refRemote = opts.mirror ? null : (opts.overrideRemoteName ?? r.name);

  // Timestamp checks compare with the ref's current commit (or --timestamp-check-from-rev).
  const originals = new Map<string, string | null>();
  if (opts.timestampCheck) {
    for (const t of refTargets) {
      let cur = r.name ? await resolveRev(repo, `${r.name}:${t.ref}`, true) : null;
      cur ??= await resolveRev(repo, t.ref, true);
      originals.set(t.ref, cur);
    }
  }
  const fromRev = opts.timestampCheckFromRev ? await resolveRev(repo, opts.timestampCheckFromRev) : null;
  const checkCommit = async (csum: string, commit: Commit, ref: string | null): Promise<void> => {
    const compare = async (cur: string, what: string) => {
      let c: Commit;
      try {
        c = await repo.loadCommit(cur);
      } catch (e) {
        throw new XylemError(`Reading ${what}: ${(e as Error).message}`);
      }
      if (commit.timestamp > c.timestamp || commit.timestamp === c.timestamp || cur === csum) return;
      throw new XylemError(
        `Upgrade target revision '${csum}' with timestamp '${formatCTime(commit.timestamp)}' is chronologically older than current revision '${cur}' with timestamp '${formatCTime(c.timestamp)}'; use --allow-downgrade to permit`,
      );
    };
    if (opts.timestampCheck && ref !== null) {
      const cur = originals.get(ref);
      if (cur) await compare(cur, `${ref} for timestamp-check`);
    }
    if (fromRev) await compare(fromRev, `${fromRev} for timestamp-check-from-rev`);
  };

  if (opts.dryRun) {
    const items: DryRunItem[] = [];
    for (const t of targets) {
      const size = refTargets.find((x) => x.ref === t.ref && x.checksum === t.checksum)?.size ?? null;
      const present = (await repo.hasObject(t.checksum, ObjectType.Commit)) && !(await repo.isCommitPartial(t.checksum));
      items.push({ ref: t.ref, checksum: t.checksum, commitSize: size, present });
    }
    const dryBase = localSrc ? null : r.contentUrl;
    const estimate = await estimatePull(
      repo,
      {
        getMetadata: localSrc
          ? (type, csum, optional) => new LocalRepoSource(localSrc!, { trusted: true, bareuseronlyFiles: false }).getMetadata(type, csum, optional)
          : (type, csum, optional) =>
              fetcher.get({ url: joinUrl(dryBase!, objectRelPath(csum, type, 'archive')), optional, maxBytes: PULL_MAX_METADATA_SIZE }),
        contentSize: localSrc
          ? async (csum) => (await localSrc!.fs.lstat(localSrc!.objectPath(csum, ObjectType.File)))?.size ?? null
          : (csum) => fetcher.size(joinUrl(dryBase!, objectRelPath(csum, ObjectType.File, 'archive'))),
      },
      targets.map((t) => t.checksum),
      { depth, commitOnly: !!opts.commitMetadataOnly },
    );
    progress.phase = 'done';
    const lines = items.map((i) => `${i.ref ?? i.checksum}: ${i.checksum}${i.present ? ' (complete locally)' : ''}`);
    lines.push(
      `Would fetch ${estimate.metadataObjects} metadata objects (${formatSize(estimate.metadataBytes)}) and ${estimate.contentObjects} content objects (${formatSize(estimate.contentBytes)}${estimate.unknownSizes ? `, ${estimate.unknownSizes} of unknown size` : ''})`,
    );
    progress.status = lines.join('\n');
    return {
      refs: [],
      progress,
      stats: { metadataObjectsTotal: 0, metadataObjectsWritten: 0, contentObjectsTotal: 0, contentObjectsWritten: 0, contentBytesWritten: 0 },
      status: progress.status,
      dryRun: items,
      estimate,
    };
  }

  // --- signatures ----------------------------------------------------------------------------
  // The remote's policy (built in resolveRemote from its configuration), then the caller's extra
  // check: every commit is judged before anything of it is written.
  let verifyCommit: ((c: string, b: Uint8Array, m: CommitMetadata | null) => Promise<void>) | undefined;
  if (r.trust.remote !== null && (r.trust.verifiesCommits || opts.verifyCommit)) {
    const name = r.trust.remote;
    const hook = opts.verifyCommit;
    verifyCommit = async (c, b, m) => {
      await r.trust.verifyCommit(c, b, m);
      if (hook) await hook(name, c, b, m);
    };
  }

  // --- fetch objects -------------------------------------------------------------------------
  progress.phase = 'fetching';
  await repo.fs.mkdir(joinPath(repo.path, 'state'), { recursive: true });
  const bareuseronlyFiles = !!opts.bareuseronlyFiles;
  let source: ObjectSource;
  if (localSrc) source = new LocalRepoSource(localSrc, { trusted: !opts.untrusted, bareuseronlyFiles });
  else {
    const trustedDirect = !!opts.httpTrusted && !opts.untrusted && !!opts.mirror && repo.mode === 'archive';
    source = new HttpObjectSource({
      metaUrl: r.metaUrl,
      contentUrl: r.contentUrl,
      fetcher,
      dest: repo,
      ingest: { verify: !trustedDirect, bareuseronlyFiles },
    });
  }
  const caches = (opts.localCacheRepos ?? []).map((c) => new LocalRepoSource(c, { trusted: false, bareuseronlyFiles }));
  const writer = new PullWriter(repo);
  const engine = new PullEngine(repo, writer, source, {
    depth,
    commitOnly: !!opts.commitMetadataOnly,
    subpaths: opts.subpaths,
    bareuseronlyFiles,
    verifyCommit,
    refreshCommitMeta: true, // as ostree: a stored commit's detached metadata is always re-fetched (new signatures)
    verifyBindings: !opts.disableVerifyBindings,
    localCaches: caches,
    checkCommit: opts.timestampCheck || fromRev ? checkCommit : undefined,
    progress,
    onProgress: () => {
      progress.outstandingWrites = writer.outstandingWrites;
      progress.outstandingFetches = Math.max(progress.outstandingFetches, 0);
      emit();
    },
  });
  const pulled: PulledRef[] = [];
  let stats: TransactionStats;
  const deltaStats: TransactionStats[] = [];
  try {
    for (const d of plannedDeltas) {
      // As ostree, the commit a delta carries is verified before anything of it is written.
      const sb = d.superblock;
      if (verifyCommit) {
        const detached = sb.metadata.find(([k]) => k === superblockKey(sb.from, sb.to, 'commitmeta'))?.[1];
        await verifyCommit(sb.to, sb.commitBytes, detached && detached.type === 'a{sv}' ? (detached.value as CommitMetadata) : null);
      }
      deltaStats.push(await applyPulledDelta(repo, deltaFetch, sb));
      progress.fetchedDeltaParts = progress.totalDeltaParts;
      progress.fetchedDeltaPartSize = progress.totalDeltaPartSize;
      emit();
    }
    await Promise.all(targets.filter((t) => !skipScan.has(t)).map((t) => engine.pullTarget(t)));
    for (const t of refTargets) {
      const previous = await readRef(repo, refRemote, t.ref);
      pulled.push({ remote: refRemote, ref: t.ref, checksum: t.checksum, previous });
      if (previous !== t.checksum) writer.setRef(refRemote, t.ref, t.checksum);
    }
    stats = await writer.finish();
    for (const d of deltaStats) {
      stats.metadataObjectsTotal += d.metadataObjectsTotal;
      stats.metadataObjectsWritten += d.metadataObjectsWritten;
      stats.contentObjectsTotal += d.contentObjectsTotal;
      stats.contentObjectsWritten += d.contentObjectsWritten;
      stats.contentBytesWritten += d.contentBytesWritten;
    }
  } catch (e) {
    progress.caughtError = true;
    engine.cancel();
    fetcher.cancel();
    await writer.abort();
    throw e;
  }
  await engine.clearCompletedMarks();
  if (mirrorAll && summary) {
    await writeFileAtomic(repo.fs, joinPath(repo.path, 'summary'), summary.bytes, { fsync: repo.fsyncEnabled });
    if (summarySig) await writeFileAtomic(repo.fs, joinPath(repo.path, 'summary.sig'), summarySig, { fsync: repo.fsyncEnabled });
  }
  progress.phase = 'done';
  progress.outstandingFetches = 0;
  progress.outstandingWrites = 0;
  progress.status = formatPullStatus(progress, {
    local: source.local,
    contentBytesWritten: stats.contentBytesWritten,
    elapsedSeconds: (now() - progress.startTime) / 1000,
  });
  emit(true);
  return { refs: pulled, progress, stats, status: progress.status };
}

async function readRef(repo: Repo, remote: string | null, ref: string): Promise<string | null> {
  const p = remote === null ? joinPath(repo.path, 'refs/heads', ref) : joinPath(repo.path, 'refs/remotes', remote, ref);
  const b = await readIfExists(repo, p);
  if (!b) return null;
  const s = fromUtf8Lossy(b).trim();
  return isValidChecksum(s) ? s : null;
}

interface DeltaPlanContext {
  remoteName: string | null;
  indexedDeltas: boolean;
  summaryHasDeltas: boolean;
  /** Advertised deltas; delta indexes fetched for a target are merged in (as ostree). */
  advertised: Map<string, string>;
  require: boolean;
  fetchIndex(to: string): Promise<Uint8Array | null>;
  collectIndex(bytes: Uint8Array): void;
  fetchSuperblock(name: DeltaName): Promise<LoadedSuperblock | null>;
}

/**
 * How one target is pulled (ostree's initiate_request): 'objects' (an object-by-object scan),
 * 'unchanged' (complete locally and deltas required: nothing to do), or a delta superblock.
 */
async function planTargetDelta(repo: Repo, t: PullTarget, c: DeltaPlanContext): Promise<'objects' | 'unchanged' | { superblock: Superblock }> {
  let localFrom: string | null = null;
  if (t.ref !== null) localFrom = await resolveRev(repo, c.remoteName ? `${c.remoteName}:${t.ref}` : t.ref, true);
  const noneFound = (from: string) => new XylemError(`Static deltas required, but none found for ${from} to ${t.checksum}`);
  const superblock = async (from: string | null): Promise<'objects' | { superblock: Superblock }> => {
    const loaded = await c.fetchSuperblock({ from, to: t.checksum });
    if (loaded) return { superblock: loaded.superblock };
    if (c.require) throw noneFound(from ?? '(null)');
    return 'objects';
  };
  if (c.indexedDeltas || c.summaryHasDeltas) {
    if (c.indexedDeltas) {
      const idx = await c.fetchIndex(t.checksum);
      if (idx) c.collectIndex(idx);
    }
    const best = await bestDeltaStart(repo, c.advertised.keys(), t.checksum);
    switch (best.result) {
      case 'unchanged':
        return c.require ? 'unchanged' : 'objects';
      case 'no-match':
        // (ostree names the ref here, not the source commit)
        if (c.require) throw noneFound(t.ref ?? '');
        return 'objects';
      case 'from':
        return superblock(best.from);
      case 'scratch':
        // A ref already present locally is likely a few commits behind: objects are cheaper.
        return localFrom !== null ? 'objects' : superblock(null);
    }
  }
  if (t.ref !== null) {
    // No summary deltas nor index: try a delta from the ref's current (complete) commit.
    if (localFrom !== null && (await commitState(repo, localFrom)) !== 'complete') localFrom = null;
    if (localFrom === t.checksum) return 'objects';
    return superblock(localFrom);
  }
  return superblock(null);
}
