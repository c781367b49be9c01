// Fetching a repository's metadata into its cache, as dnf/librepo do, through the transport the
// ostree pulls use (src/pull/fetcher.ts: retries with back-off, resume from partial files, size
// caps, mirror failover, low-speed timeout) and the mirror helpers of src/remote (mirrorlist text,
// metalink with its verified repomd.xml). The flow: a fresh cache (metadata_expire not passed, same
// URLs, files present) answers without any request; otherwise repomd.xml is fetched (and with
// repo_gpgcheck verified against repomd.xml.asc), and only the files whose checksum changed are
// downloaded, each checked against its size and checksum while it streams into a temp file that
// is then renamed into place. Hrefs that would leave the repository are refused.

import type { Host } from '../host.ts';
import { Fetcher, joinUrl, type FetcherOptions } from '../pull/fetcher.ts';
import { fetchMetalinkTarget } from '../remote/metalink.ts';
import { MAX_MIRRORLIST_SIZE, parseMirrorlist } from '../remote/mirrorlist.ts';
import { fileUrlToPath, type RemoteFetcher } from '../remote/config.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { errnoCode, XylemError } from '../util/errors.ts';
import { withLock } from '../util/lock-table.ts';
import { cachePaths, isFresh, localName, pruneRepodata, readStamp, sourceKey, writeStamp, writeStreamAtomic, type CachePaths } from './cache.ts';
import { verifyStream } from './digest.ts';
import { bytesSource, readFileChunks } from './fields.ts';
import { verifyRepomdSignature, MAX_KEY_SIZE, MAX_SIGNATURE_SIZE } from './repomd-gpg.ts';
import { MAX_REPOMD_SIZE, parseRepomd, type Repomd, type RepomdData } from './repomd.ts';
import { validateRepoId, type RepoConfig } from './repo-file.ts';

/** The metadata types loaded by default; all but primary are optional in a repo. */
export const DEFAULT_TYPES: readonly string[] = ['primary', 'filelists', 'other', 'updateinfo'];
/** Largest (compressed) metadata file downloaded when repomd.xml gives no size. */
export const DEFAULT_MAX_FILE_SIZE = 2 * 1024 * 1024 * 1024;
/** Bodies from this size on go to a partial file instead of memory. */
const SPILL_SIZE = 4 * 1024 * 1024;
/** Bodies from this size on are kept in a partial file while downloading (resume after a crash). */
const PARTIAL_SIZE = 1024 * 1024;

export interface LoadRepoOptions {
  /** Cache root; the repo's files live in `<cacheDir>/<repo id>/`. */
  cacheDir: string;
  /** Metadata types wanted (default DEFAULT_TYPES). primary must exist; the others are skipped when the repo lacks them. */
  types?: readonly string[];
  /** Wall clock (ms) for metadata_expire (default host.now() or Date.now()). */
  now?: number;
  /** Re-fetch repomd.xml even when the cache is fresh (`dnf --refresh`). */
  refresh?: boolean;
  /** The fetcher to use (tests count its requests); by default one is made from the host. */
  fetcher?: Fetcher;
  fetcherOptions?: FetcherOptions;
  maxFileSize?: number;
  /** How long to wait for another process holding the repo's cache lock (default 5 minutes). */
  lockTimeoutMs?: number | null;
}

/** A metadata file available locally. */
export interface LocalMetadataFile {
  data: RepomdData;
  /** Local path: the cache copy, or the file itself for file:// repos. */
  path: string;
}

export interface RepoMetadata {
  repo: RepoConfig;
  repomd: Repomd;
  /** The raw repomd.xml (its checksum is rpm-ostree's repodata checksum source). */
  repomdBytes: Uint8Array;
  paths: CachePaths;
  /** By type: the files loaded. */
  files: ReadonlyMap<string, LocalMetadataFile>;
  /** Base URLs of the repo, preferred first. */
  baseUrls: string[];
  /** True when nothing was fetched (a fresh cache). */
  fromCache: boolean;
  /** Types downloaded by this call. */
  downloaded: string[];
  /** When repomd.xml was fetched (ms). */
  fetchedAt: number;
}

/** Throws unless `href` is a relative path that stays inside the repository. */
export function checkRelativeHref(href: string, what: string): void {
  if (typeof href !== 'string' || href === '' || href.length > 4096) throw new XylemError(`${what}: empty or overlong location href`, 'EINVAL');
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(href) || href.startsWith('/') || /[\\\0-\x1f\x7f?#]/.test(href))
    throw new XylemError(`${what}: location href '${href.slice(0, 100)}' is not a relative path inside the repository`, 'EINVAL');
  for (const c of href.split('/')) {
    let d = c;
    try {
      d = decodeURIComponent(c);
    } catch {
      // not percent-encoded
    }
    if (c === '' || c === '.' || d === '.' || d === '..' || d.includes('/') || d.includes('\\'))
      throw new XylemError(`${what}: location href '${href.slice(0, 100)}' escapes the repository`, 'EINVAL');
  }
}

/**
 * The URL of a location: `href` under `xml:base` when given, else under the repo's base URL.
 * xml:base must be http(s), or file: only for a repo that is itself local.
 */
export function resolveHref(baseUrl: string, href: string, xmlBase: string | null, what: string): string {
  checkRelativeHref(href, what);
  let base = baseUrl;
  if (xmlBase !== null) {
    const local = /^file:/i.test(baseUrl);
    if (!/^https?:\/\/[^\s]+$/i.test(xmlBase) && !(local && /^file:\/\/[^\s]*$/i.test(xmlBase)))
      throw new XylemError(`${what}: xml:base '${xmlBase.slice(0, 100)}' is not an http(s) URL`, 'EINVAL');
    base = xmlBase;
  }
  return joinUrl(base, href);
}

function now(host: Host, opts: { now?: number }): number {
  return opts.now ?? host.now?.() ?? Date.now();
}

function makeFetcher(host: Host, opts: LoadRepoOptions): Fetcher {
  return opts.fetcher ?? new Fetcher({ fetch: host.fetch ?? (typeof fetch === 'function' ? fetch : undefined), http: host.http, fs: host.fs, ...opts.fetcherOptions });
}

/** The Fetcher seen as src/remote's RemoteFetcher (for metalinks). */
function remoteFetcher(f: Fetcher): RemoteFetcher {
  return { fetch: (url, o) => f.get({ url, optional: true, maxBytes: o?.maxBytes ?? MAX_REPOMD_SIZE, retries: o?.probe ? 0 : undefined }) };
}

/** Base URLs of `repo` and, for a metalink, the repomd.xml it verified. */
async function resolveBases(repo: RepoConfig, f: Fetcher): Promise<{ bases: string[]; repomd: Uint8Array | null }> {
  if (repo.baseurl.length > 0) return { bases: repo.baseurl.map((u) => u.replace(/\/+$/, '')), repomd: null };
  if (repo.metalink) {
    const got = await fetchMetalinkTarget(remoteFetcher(f), repo.metalink, 'repomd.xml', MAX_REPOMD_SIZE);
    const bases = got.baseUrls.map((u) => u.replace(/\/+$/, '').replace(/\/repodata$/, ''));
    return { bases, repomd: got.bytes };
  }
  if (repo.mirrorlist) {
    const mirrorlist = repo.mirrorlist;
    const body = (await f.get({ url: mirrorlist, maxBytes: MAX_MIRRORLIST_SIZE, what: `repo '${repo.id}': mirrorlist` }))!;
    const text = new TextDecoder().decode(body);
    if (/^\s*(<\?xml[^>]*>\s*)?<metalink[\s>]/.test(text)) {
      // A mirrorlist= URL that serves a metalink (dnf accepts it): read it as one, without fetching it twice.
      const inner = remoteFetcher(f);
      const got = await fetchMetalinkTarget({ fetch: (url, o) => (url === mirrorlist ? Promise.resolve(body) : inner.fetch(url, o)) }, mirrorlist, 'repomd.xml', MAX_REPOMD_SIZE);
      return { bases: got.baseUrls.map((u) => u.replace(/\/+$/, '').replace(/\/repodata$/, '')), repomd: got.bytes };
    }
    const bases = parseMirrorlist(text).map((u) => u.replace(/\/+$/, ''));
    if (bases.length === 0) throw new XylemError(`repo '${repo.id}': no usable mirrors in mirrorlist ${repo.mirrorlist}`, 'ENOENT');
    return { bases, repomd: null };
  }
  throw new XylemError(`Cannot find a valid baseurl for repo: ${repo.id}`, 'EINVAL');
}

/** A file's bytes by URL: file:// streamed straight from disk, http(s) through the fetcher. */
async function openUrl(host: Host, f: Fetcher, url: string, what: string, maxBytes: number, partialPath: string): Promise<{ chunks: AsyncIterable<Uint8Array>; cleanup(): Promise<void> }> {
  if (/^file:/i.test(url)) {
    const path = fileUrlToPath(url);
    const st = await host.fs.stat(path);
    if (!st || st.kind !== 'file') throw new XylemError(`${what}: ${path} does not exist`, 'ENOENT');
    if (st.size > maxBytes) throw new XylemError(`${what}: ${path} is larger than ${maxBytes} bytes`, 'ETOOBIG');
    return { chunks: readFileChunks(host.fs, path), cleanup: async () => undefined };
  }
  // Big bodies go through a partial file (resumable across processes) and are read back from it.
  const body = await f.getSpillable({ url, maxBytes, what, partialPath, partialMinSize: PARTIAL_SIZE, spillMinSize: SPILL_SIZE });
  // Verified or not, the partial file has served its purpose once the body is read.
  const cleanup = () => host.fs.unlink(partialPath).catch(() => undefined);
  if (body === null) {
    await cleanup();
    throw new XylemError(`${what}: ${url} not found`, 'ENOENT');
  }
  if (body instanceof Uint8Array) return { chunks: bytesSource(body), cleanup };
  return { chunks: readFileChunks(host.fs, body.file), cleanup };
}

async function fileMatches(host: Host, path: string, d: RepomdData): Promise<boolean> {
  const st = await host.fs.stat(path);
  return st !== null && st.kind === 'file' && (d.size === null || st.size === d.size);
}

async function readOptional(host: Host, path: string): Promise<Uint8Array | null> {
  try {
    return await host.fs.readFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** The records of the wanted types; primary is mandatory. */
function wanted(repo: RepoConfig, repomd: Repomd, types: readonly string[]): RepomdData[] {
  const out: RepomdData[] = [];
  for (const t of types) {
    const d = repomd.data.find((x) => x.type === t);
    if (d) out.push(d);
    else if (t === 'primary') throw new XylemError(`repo '${repo.id}': repomd.xml has no primary metadata`, 'EINVAL');
  }
  return out;
}

/**
 * Makes `repo`'s metadata available locally under `opts.cacheDir`, fetching only what the cache
 * lacks or what changed, and answers where it is. Honours metadata_expire and repo_gpgcheck.
 */
export async function loadRepoMetadata(host: Host, repo: RepoConfig, opts: LoadRepoOptions): Promise<RepoMetadata> {
  if (typeof host?.fs?.stat !== 'function') throw new TypeError('loadRepoMetadata: a host with fs is required');
  validateRepoId(repo?.id, 'loadRepoMetadata');
  if (typeof opts?.cacheDir !== 'string' || opts.cacheDir === '') throw new TypeError('loadRepoMetadata: opts.cacheDir is required');
  const types = opts.types ?? DEFAULT_TYPES;
  if (!Array.isArray(types) || !types.includes('primary')) throw new TypeError('loadRepoMetadata: types must include primary');
  const paths = cachePaths(opts.cacheDir, repo.id);
  await host.fs.mkdir(paths.repodata, { recursive: true, mode: 0o755 });
  return withLock(host, `${paths.dir}/.lock`, 'exclusive', { timeoutMs: opts.lockTimeoutMs ?? 300_000, what: `repo cache ${paths.dir}` }, () => load(host, repo, opts, types, paths));
}

async function load(host: Host, repo: RepoConfig, opts: LoadRepoOptions, types: readonly string[], paths: CachePaths): Promise<RepoMetadata> {
  const t = now(host, opts);
  const key = sourceKey(repo);
  const stamp = await readStamp(host.fs, paths.stamp);
  const oldBytes = await readOptional(host, paths.repomd);
  let old: Repomd | null = null;
  if (oldBytes) {
    try {
      old = await parseRepomd(oldBytes, paths.repomd);
    } catch {
      old = null; // a damaged cache is fetched again
    }
  }
  const localRepo = stamp?.baseUrls[0] !== undefined && /^file:/i.test(stamp.baseUrls[0]);

  // 1. A fresh cache answers without a request.
  if (!opts.refresh && stamp && old && oldBytes && stamp.sourceKey === key && isFresh(stamp.fetchedAt, t, repo.metadataExpire)) {
    const files = new Map<string, LocalMetadataFile>();
    let complete = true;
    for (const d of wanted(repo, old, types)) {
      const path = localRepo ? fileUrlToPath(resolveHref(stamp.baseUrls[0]!, d.location.href, d.location.base, `repo '${repo.id}'`)) : `${paths.repodata}/${localName(d)}`;
      if (!(await fileMatches(host, path, d))) {
        complete = false;
        break;
      }
      files.set(d.type, { data: d, path });
    }
    if (complete) return { repo, repomd: old, repomdBytes: oldBytes, paths, files, baseUrls: stamp.baseUrls, fromCache: true, downloaded: [], fetchedAt: stamp.fetchedAt };
  }

  // 2. repomd.xml (and its signature) from the repo.
  const f = makeFetcher(host, opts);
  const { bases, repomd: fromMetalink } = await resolveBases(repo, f);
  if (bases.length > 1) f.useMirrors(bases);
  const base = bases[0]!;
  const what = `repo '${repo.id}'`;
  let bytes = fromMetalink;
  if (bytes === null) {
    bytes = await f.get({ url: joinUrl(base, 'repodata/repomd.xml'), maxBytes: MAX_REPOMD_SIZE, what: `${what}: repomd.xml` });
    if (bytes === null) throw new XylemError(`${what}: repomd.xml not found`, 'ENOENT');
  }
  if (repo.repoGpgcheck) {
    const sig = await f.get({ url: joinUrl(base, 'repodata/repomd.xml.asc'), optional: true, maxBytes: MAX_SIGNATURE_SIZE, what: `${what}: repomd.xml.asc` });
    const keys: Uint8Array[] = [];
    for (const k of repo.gpgkey) {
      const kb = await f.get({ url: k, maxBytes: MAX_KEY_SIZE, what: `${what}: gpgkey` });
      if (kb !== null) keys.push(kb);
    }
    await verifyRepomdSignature(repo.id, bytes, sig, keys);
  }
  const repomd = await parseRepomd(bytes, `${base}/repodata/repomd.xml`);
  const local = /^file:/i.test(base);

  // 3. The data files: kept when unchanged, else downloaded and verified.
  const files = new Map<string, LocalMetadataFile>();
  const downloaded: string[] = [];
  const maxFileSize = opts.maxFileSize ?? DEFAULT_MAX_FILE_SIZE;
  for (const d of wanted(repo, repomd, types)) {
    const dwhat = `${what}: ${d.type} metadata`;
    const url = resolveHref(base, d.location.href, d.location.base, dwhat);
    if (local) {
      // A local repo is read in place (dnf does not copy it either); checksums are verified when read.
      const path = fileUrlToPath(url);
      if (!(await fileMatches(host, path, d))) throw new XylemError(`${dwhat}: ${path} is missing or has the wrong size`, 'ENOENT');
      files.set(d.type, { data: d, path });
      continue;
    }
    if (d.checksum === null) throw new XylemError(`${dwhat}: repomd.xml gives no checksum`, 'EINVAL');
    const name = localName(d);
    const path = `${paths.repodata}/${name}`;
    const prev = old?.data.find((x) => x.type === d.type);
    if (prev && prev.checksum?.value === d.checksum.value && prev.checksum.type === d.checksum.type && (await fileMatches(host, path, d))) {
      files.set(d.type, { data: d, path });
      continue;
    }
    const src = await openUrl(host, f, url, dwhat, d.size ?? maxFileSize, `${paths.repodata}/.partial-${name}`);
    try {
      await writeStreamAtomic(host.fs, path, verifyStream(src.chunks, { what: dwhat, checksum: d.checksum, size: d.size, provider: host.hash, maxBytes: maxFileSize }));
    } finally {
      await src.cleanup();
    }
    files.set(d.type, { data: d, path });
    downloaded.push(d.type);
  }

  // 4. repomd.xml and the stamp last: a crash before leaves the old, consistent cache.
  await writeFileAtomic(host.fs, paths.repomd, bytes);
  await writeStamp(host.fs, paths.stamp, { fetchedAt: t, sourceKey: key, baseUrls: bases });
  if (!local) {
    // Keep every file the new repomd.xml names (a later call may want types this one did not).
    const keep = new Set<string>();
    for (const d of repomd.data) {
      try {
        if (d.checksum) keep.add(localName(d));
      } catch {
        // a record this cache never stores
      }
    }
    await pruneRepodata(host.fs, paths.repodata, keep);
  }
  return { repo, repomd, repomdBytes: bytes, paths, files, baseUrls: bases, fromCache: false, downloaded, fetchedAt: t };
}
