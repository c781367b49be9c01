// The planning step of a pull (ostree's pull up to its first object request): the remote
// resolved (URLs, mirrors, branches, trust policy), its summary fetched and verified, the
// remote's mode checked, refs resolved to commits, and per target the static delta to apply or
// the object scan to run. Nothing is written to the repo; pull.ts carries the plan out.

import type { Repo } from '../repo/repo.ts';
import { Repo as RepoClass } from '../repo/repo.ts';
import { KeyFile } from '../format/keyfile.ts';
import { decode, type GVVariant } from '../format/gvariant.ts';
import { isValidChecksum } from '../format/objects.ts';
import { isValidRefName, resolveRev } from '../repo/refs.ts';
import { fileUrlToPath, getRemoteInherited, remoteListOption, remoteNameIsFile, remoteOption } from '../remote/config.ts';
import type { RemoteUrlConfig } from '../remote/mirrors.ts';
import { remoteTrustPolicy, type RemoteTrustPolicy, type TrustPolicyOptions } from '../remote/policy.ts';
import { fromUtf8Lossy } from '../util/bytes.ts';
import { NotFoundError, XylemError } from '../util/errors.ts';
import { deltaIndexRelPath, deltaNameString, type DeltaName } from '../delta/paths.ts';
import { bestDeltaStart, deltaPullSizes, fetchPullSuperblock, type DeltaFetch, type DeltaPullSizes } from '../delta/source.ts';
import type { LoadedSuperblock } from '../delta/apply.ts';
import type { Superblock } from '../delta/superblock.ts';
import { commitState } from '../repo/commit-state.ts';
import { Fetcher, DEFAULT_USER_AGENT, joinUrl } from './fetcher.ts';
import { PULL_MAX_METADATA_SIZE, type PullTarget } from './engine.ts';
import { armMirrors } from './mirrors.ts';
import type { PullProgress } from './progress.ts';
import { collectDeltas, fetchPullSummary, type SummaryInfo } from './summary-fetch.ts';
import type { PullOptions } from './options.ts';

/** A remote resolved for one pull: where it is, its branches and what it must prove. */
export interface ResolvedRemote {
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

export async function resolveRemote(repo: Repo, nameOrUrl: string, opts: PullOptions): Promise<ResolvedRemote> {
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

/** A ref to pull and the commit it resolved to (size: the commit's, from the summary). */
export interface RefTarget {
  ref: string;
  checksum: string;
  size: number | null;
}

/** What a pull will do: a value a test can inspect before anything is fetched or written. */
export interface PullPlan {
  remote: ResolvedRemote;
  /** The fetcher (armed with the remote's mirrors) the objects come through. */
  fetcher: Fetcher;
  /** A file:// source read as a local repository, else null. */
  localSrc: Repo | null;
  summary: SummaryInfo | null;
  summarySig: Uint8Array | null;
  /** --mirror without refs: every ref of the summary. */
  mirrorAll: boolean;
  /** Commits to bring in: the refs' and the bare checksums asked for. */
  targets: PullTarget[];
  refTargets: RefTarget[];
  /** Targets a static delta brings in, with its superblock. */
  deltas: Array<{ target: PullTarget; superblock: Superblock }>;
  /** Targets complete locally under --require-static-deltas: no scan. */
  skipScan: Set<PullTarget>;
  deltaTotals: DeltaPullSizes;
  /** Fetches a delta file relative to the content URL. */
  deltaFetch: DeltaFetch;
}

/** Plans a pull of `remote` into `repo` (progress counts the metadata fetched on the way). */
export async function planPull(
  repo: Repo,
  remote: string,
  opts: PullOptions,
  progress: PullProgress,
  emit: () => void,
): Promise<PullPlan> {
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
  const { summary, summarySig } = needSummary
    ? await fetchPullSummary(repo, r, fetcher, { cacheDir: opts.cacheDir, local: localSrc !== null, mirrorAll, verifySummary: opts.verifySummary })
    : { summary: null, summarySig: null };
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
  const refTargets: RefTarget[] = [];
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

  return {
    remote: r,
    fetcher,
    localSrc,
    summary,
    summarySig,
    mirrorAll,
    targets,
    refTargets,
    deltas: plannedDeltas,
    skipScan,
    deltaTotals,
    deltaFetch,
  };
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
