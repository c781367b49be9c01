// A remote's base URLs, as libostree's compute_effective_mirrorlist and the metalink branch of
// ostree_repo_pull_with_options work them out: `metalink=` gives the metadata mirrors (and the
// verified summary), `url=mirrorlist=` / `contenturl=mirrorlist=` the mirrors of a list, a plain
// URL itself; contenturl defaults to the metadata mirrors. Also fetching one file from a list of
// mirrors in turn (for `remote summary` / `remote refs`).

import { XylemError } from '../util/errors.ts';
import type { RemoteFetcher } from './config.ts';
import { fetchMetalinkTarget } from './metalink.ts';
import { isMirrorlistUrl, resolveMirrorlist } from './mirrorlist.ts';

/** The configured URLs of a remote (values as in the config file). */
export interface RemoteUrlConfig {
  /** url= (a base URL or mirrorlist=URL); null when the remote has a metalink instead. */
  url: string | null;
  /** contenturl= (a base URL or mirrorlist=URL), or null. */
  contentUrl: string | null;
  /** metalink= URL, or null. */
  metalink: string | null;
}

export interface RemoteBases {
  /** Base URLs for metadata (config, summary, refs, commits), preferred first. */
  meta: string[];
  /** Base URLs for content objects and deltas, preferred first. */
  content: string[];
  /** With a metalink: the summary, already checked against its size and checksum. */
  summary: Uint8Array | null;
}

/** Largest summary fetched through a metalink (libostree: OSTREE_MAX_METADATA_SIZE). */
const METALINK_SUMMARY_MAX = 10 * 1024 * 1024;

/** One url/contenturl value as its list of base URLs. */
export async function resolveUrlValue(fetcher: RemoteFetcher, value: string): Promise<string[]> {
  if (typeof value !== 'string' || value === '') throw new TypeError('resolveUrlValue: value must be a non-empty string');
  return isMirrorlistUrl(value) ? resolveMirrorlist(fetcher, value) : [value];
}

/** Works out a remote's metadata and content base URLs (fetching its mirrorlists or metalink). */
export async function resolveRemoteBases(fetcher: RemoteFetcher, cfg: RemoteUrlConfig): Promise<RemoteBases> {
  if (typeof fetcher?.fetch !== 'function') throw new TypeError('resolveRemoteBases: a fetcher is required');
  if (typeof cfg !== 'object' || cfg === null) throw new TypeError('resolveRemoteBases: cfg must be an object');
  let meta: string[];
  let summary: Uint8Array | null = null;
  if (cfg.metalink !== null) {
    const got = await fetchMetalinkTarget(fetcher, cfg.metalink, 'summary', METALINK_SUMMARY_MAX);
    meta = got.baseUrls;
    summary = got.bytes;
  } else {
    if (cfg.url === null) throw new XylemError('No "url" option in remote', 'ENOENT');
    meta = await resolveUrlValue(fetcher, cfg.url);
  }
  const content = cfg.contentUrl === null ? meta : await resolveUrlValue(fetcher, cfg.contentUrl);
  return { meta, content, summary };
}

/**
 * Fetches `rel` under each base in turn until one serves it. When none does: null if one of them
 * said it does not exist, else the last mirror's error.
 */
export async function fetchFromMirrors(
  fetcher: RemoteFetcher,
  bases: readonly string[],
  rel: string,
  opts?: { maxBytes?: number },
): Promise<Uint8Array | null> {
  if (!Array.isArray(bases) || bases.length === 0) throw new TypeError('fetchFromMirrors: bases must be a non-empty array');
  if (typeof rel !== 'string' || rel === '' || rel.startsWith('/')) throw new TypeError('fetchFromMirrors: rel must be a relative path');
  let last: unknown = null;
  let notFound = false;
  for (const base of bases) {
    try {
      const body = await fetcher.fetch(base.endsWith('/') ? base + rel : `${base}/${rel}`, opts);
      if (body !== null) return body;
      notFound = true;
    } catch (e) {
      last = e;
    }
  }
  if (notFound || last === null) return null;
  throw last;
}
