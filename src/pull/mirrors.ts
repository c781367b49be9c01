// The pull's side of mirrors: fetches a remote's mirrorlists or metalink with the pull's own
// fetcher (src/remote/mirrors.ts works out the base URLs, as libostree's
// compute_effective_mirrorlist), then arms the fetcher to fail over between those mirrors.

import type { RemoteFetcher } from '../remote/config.ts';
import { resolveRemoteBases, type RemoteUrlConfig } from '../remote/mirrors.ts';
import { PULL_MAX_METADATA_SIZE } from './engine.ts';
import { validateRemoteUrl, type Fetcher } from './fetcher.ts';

export interface ArmedMirrors {
  /** Preferred base URL for metadata (config, summary, refs, commits). */
  metaUrl: string;
  /** Preferred base URL for content objects and deltas. */
  contentUrl: string;
  /** With a metalink: the summary it verified (size and checksum). */
  metalinkSummary: Uint8Array | null;
}

/** Resolves `urls` through `fetcher` and lets it fail over between the mirrors found. */
export async function armMirrors(fetcher: Fetcher, urls: RemoteUrlConfig): Promise<ArmedMirrors> {
  if (typeof fetcher?.useMirrors !== 'function') throw new TypeError('armMirrors: a Fetcher is required');
  const plain: RemoteFetcher = {
    fetch: (url, o) => fetcher.get({ url, optional: true, maxBytes: o?.maxBytes ?? PULL_MAX_METADATA_SIZE, retries: o?.probe ? 0 : undefined }),
  };
  const bases = await resolveRemoteBases(plain, urls);
  for (const list of [bases.meta, bases.content]) {
    for (const b of list) validateRemoteUrl(b);
    fetcher.useMirrors(list);
  }
  return { metaUrl: bases.meta[0]!, contentUrl: bases.content[0]!, metalinkSummary: bases.summary };
}
