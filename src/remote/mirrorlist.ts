// `url=mirrorlist=URL` / `contenturl=mirrorlist=URL` remotes, after libostree's fetch_mirrorlist
// (ostree-repo-pull.c): the mirrorlist is a text file of base URLs, one per line; empty lines and
// `#` comments are skipped, as are lines that are not http(s) URLs. Mirrors are probed in order
// until one serves `config`, which becomes the first; the ones after it are kept unprobed.

import { XylemError } from '../util/errors.ts';
import type { RemoteFetcher } from './config.ts';

/** Largest mirrorlist read (libostree: OSTREE_MAX_METADATA_SIZE, 10 MiB). */
export const MAX_MIRRORLIST_SIZE = 10 * 1024 * 1024;
/** At most this many mirrors are kept from one list. */
export const MAX_MIRRORS = 1000;

const PREFIX = 'mirrorlist=';

/** Whether a url/contenturl value names a mirrorlist. */
export function isMirrorlistUrl(url: string): boolean {
  return typeof url === 'string' && url.startsWith(PREFIX);
}

/** The http(s) base URLs of a mirrorlist's text, in order (at most MAX_MIRRORS). */
export function parseMirrorlist(text: string): string[] {
  if (typeof text !== 'string') throw new TypeError('parseMirrorlist: text must be a string');
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[ \t\r]+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    if (!/^https?:\/\/[^\s]+$/i.test(line)) continue;
    try {
      new URL(line);
    } catch {
      continue;
    }
    out.push(line);
    if (out.length >= MAX_MIRRORS) break;
  }
  return out;
}

/**
 * Fetches the mirrorlist named by `value` (`mirrorlist=URL`) and answers its mirrors, the first
 * one checked to serve `config`. Throws when the list cannot be fetched or no mirror works.
 */
export async function resolveMirrorlist(fetcher: RemoteFetcher, value: string): Promise<string[]> {
  if (typeof fetcher?.fetch !== 'function') throw new TypeError('resolveMirrorlist: a fetcher is required');
  if (!isMirrorlistUrl(value)) throw new TypeError(`resolveMirrorlist: not a mirrorlist= URL: ${String(value)}`);
  const url = value.slice(PREFIX.length);
  if (!/^(https?|file):\/\//i.test(url)) throw new XylemError(`Invalid mirrorlist URL '${url}'`, 'EINVAL');
  let body: Uint8Array | null;
  try {
    body = await fetcher.fetch(url, { maxBytes: MAX_MIRRORLIST_SIZE });
    if (body === null) throw new XylemError('Server returned HTTP 404', 'ENOENT');
  } catch (e) {
    throw new XylemError(`While fetching mirrorlist '${url}': ${(e as Error).message}`, (e as XylemError).code ?? 'EFETCH');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new XylemError(`While fetching mirrorlist '${url}': not valid UTF-8`, 'EINVAL');
  }
  const mirrors = parseMirrorlist(text);
  const out: string[] = [];
  for (const m of mirrors) {
    if (out.length === 0) {
      // Probe until one works, so requests do not walk through dead mirrors every time.
      const config = await fetcher.fetch(`${m.replace(/\/+$/, '')}/config`, { maxBytes: MAX_MIRRORLIST_SIZE, probe: true }).catch(() => null);
      if (config === null) continue;
    }
    out.push(m);
  }
  if (out.length === 0) throw new XylemError(`No valid mirrors were found in mirrorlist '${url}'`, 'ENOENT');
  return out;
}
