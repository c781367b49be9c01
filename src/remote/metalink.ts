// Metalink remotes (`metalink=URL`, as Fedora's MirrorManager serves them), after libostree's
// ostree-metalink.c: the metalink (version 3 XML) names a file (`summary`) with its size, its
// sha256/sha512 and the http(s) URLs it can be fetched from. Each URL is tried in document order;
// the first body whose size and checksum match is the summary, and the folders of the URLs are the
// remote's base URLs (the one that worked first). Error texts are libostree's.

import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { toHex } from '../util/bytes.ts';
import { NotFoundError, XylemError } from '../util/errors.ts';
import { parseXml, type XmlHandler } from './metalink-xml.ts';
import type { RemoteFetcher } from './config.ts';

/** Largest metalink file read (libostree: OSTREE_MAX_METADATA_SIZE, 10 MiB). */
export const MAX_METALINK_SIZE = 10 * 1024 * 1024;
/** At most this many <url> elements are kept. */
const MAX_METALINK_URLS = 1000;

export interface MetalinkUrl {
  url: string;
  /** The preference attribute (null when absent or not a number); informative only, as in libostree. */
  preference: number | null;
}

/** What a metalink says about one file. */
export interface MetalinkFile {
  size: number;
  sha256: string | null;
  sha512: string | null;
  /** The http(s) URLs of the file, in document order. */
  urls: MetalinkUrl[];
}

type State = 'initial' | 'metalink' | 'files' | 'file' | 'size' | 'verification' | 'hash' | 'resources' | 'url' | 'passthrough';

/** Attributes an element may have (GMarkup's g_markup_collect_attributes is as strict). */
function collect(element: string, attrs: ReadonlyMap<string, string>, required: string[], optional: string[] = []): void {
  for (const k of attrs.keys())
    if (!required.includes(k) && !optional.includes(k)) throw new XylemError(`attribute '${k}' invalid for element '${element}'`, 'EINVAL');
  for (const k of required) if (!attrs.has(k)) throw new XylemError(`element '${element}' requires attribute '${k}'`, 'EINVAL');
}

/** The metalink state machine of ostree-metalink.c, as XML events. */
class MetalinkReader implements XmlHandler {
  state: State = 'initial';
  private previous: State = 'initial';
  private depth = 0;
  foundAFile = false;
  foundOurFile = false;
  private hashKnown = false;
  private hashType: 'sha256' | 'sha512' | null = null;
  size = 0;
  sha256: string | null = null;
  sha512: string | null = null;
  readonly urls: MetalinkUrl[] = [];
  private urlPreference: number | null = null;

  constructor(private readonly requested: string) {}

  private go(next: State): void {
    if (next === 'passthrough') {
      this.previous = this.state;
      this.depth = 0;
    }
    this.state = next;
  }

  start(name: string, attrs: ReadonlyMap<string, string>): void {
    switch (this.state) {
      case 'initial':
        return this.go(name === 'metalink' ? 'metalink' : 'passthrough');
      case 'metalink':
        return this.go(name === 'files' ? 'files' : 'passthrough');
      case 'files':
        // A <file> we accepted already has its URLs: ignore the others.
        if (this.urls.length > 0 || name !== 'file') return this.go('passthrough');
        collect(name, attrs, ['name']);
        this.foundAFile = true;
        if (attrs.get('name') !== this.requested) return this.go('passthrough');
        this.foundOurFile = true;
        return this.go('file');
      case 'file':
        if (name === 'size') return this.go('size');
        if (name === 'verification') return this.go('verification');
        if (name === 'resources') return this.go('resources');
        return this.go('passthrough');
      case 'verification':
        if (name !== 'hash') return this.go('passthrough');
        this.go('hash');
        collect(name, attrs, ['type']);
        this.hashType = attrs.get('type') === 'sha256' ? 'sha256' : attrs.get('type') === 'sha512' ? 'sha512' : null;
        this.hashKnown = this.hashType !== null;
        return;
      case 'resources': {
        if (this.size === 0) throw new XylemError('No <size> element found or it is zero', 'EINVAL');
        if (!this.hashKnown) throw new XylemError('No <verification> element with known <hash type=> found', 'EINVAL');
        if (name !== 'url') return this.go('passthrough');
        collect(name, attrs, ['protocol'], ['type', 'location', 'preference']);
        const protocol = attrs.get('protocol');
        if (protocol !== 'http' && protocol !== 'https') return this.go('passthrough');
        const pref = attrs.get('preference');
        this.urlPreference = pref !== undefined && /^\d{1,9}$/.test(pref) ? Number(pref) : null;
        return this.go('url');
      }
      case 'size':
      case 'hash':
      case 'url':
        return this.go('passthrough');
      case 'passthrough':
        this.depth++;
        return;
    }
  }

  end(): void {
    switch (this.state) {
      case 'initial':
        return;
      case 'metalink':
        return this.go('initial');
      case 'files':
        return this.go('metalink');
      case 'file':
        return this.go('files');
      case 'size':
      case 'verification':
      case 'resources':
        return this.go('file');
      case 'hash':
        return this.go('verification');
      case 'url':
        return this.go('resources');
      case 'passthrough':
        if (this.depth > 0) this.depth--;
        else this.go(this.previous);
        return;
    }
  }

  text(text: string): void {
    if (this.state === 'size') {
      // g_ascii_strtoull: leading digits after optional space; anything else is 0.
      const m = /^\s*\+?(\d+)/.exec(text);
      const n = m ? Number(m[1]) : 0;
      this.size = Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
    } else if (this.state === 'hash' && this.hashKnown) {
      if (this.hashType === 'sha256') this.sha256 = text.trim();
      else this.sha512 = text.trim();
    } else if (this.state === 'url') {
      const url = text.trim();
      if (this.urls.length < MAX_METALINK_URLS && isHttpUrl(url)) this.urls.push({ url, preference: this.urlPreference });
    }
  }
}

function isHttpUrl(s: string): boolean {
  if (!/^https?:\/\//i.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a metalink document for `requestedFile`. Throws libostree's errors: a NotFoundError when
 * the metalink lists other files but not this one, a XylemError for anything else wrong.
 */
export function parseMetalink(bytes: Uint8Array, requestedFile: string): MetalinkFile {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('parseMetalink: bytes must be a Uint8Array');
  if (typeof requestedFile !== 'string' || requestedFile === '') throw new TypeError('parseMetalink: requestedFile is required');
  const r = new MetalinkReader(requestedFile);
  parseXml(bytes, r, { maxBytes: MAX_METALINK_SIZE });
  if (!r.foundAFile) throw new XylemError('No <file> element found', 'EINVAL');
  if (!r.foundOurFile) throw new NotFoundError(`No <file name='${requestedFile}'> found`);
  if (r.sha256 === null && r.sha512 === null) throw new XylemError('No <verification> hash for sha256 or sha512 found', 'EINVAL');
  if (r.sha256 !== null && !/^[0-9a-f]{64}$/.test(r.sha256)) throw new XylemError('Invalid hash digest for sha256', 'EINVAL');
  if (r.sha512 !== null && !/^[0-9a-f]{128}$/.test(r.sha512)) throw new XylemError('Invalid hash digest for sha512', 'EINVAL');
  if (r.urls.length === 0) throw new XylemError("No <url method='http'> elements found", 'EINVAL');
  return { size: r.size, sha256: r.sha256, sha512: r.sha512, urls: r.urls };
}

/** Checks a fetched body against the metalink's size and checksum (sha512 when given, else sha256). */
export function checkMetalinkBody(file: MetalinkFile, body: Uint8Array): void {
  if (body.length !== file.size)
    throw new XylemError(`Expected size is ${file.size} bytes but content is ${body.length} bytes`, 'ECORRUPT');
  const [want, actual] = file.sha512 !== null ? [file.sha512, toHex(sha512(body))] : [file.sha256!, toHex(sha256(body))];
  if (want !== actual) throw new XylemError(`Expected checksum is ${want} but actual is ${actual}`, 'ECORRUPT');
}

/** The folder of a URL (its path's dirname), as the base URL of the repository it is in. */
export function urlDirname(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  const path = u.pathname.replace(/\/+$/, '');
  const slash = path.lastIndexOf('/');
  u.pathname = slash > 0 ? path.slice(0, slash) : '/';
  return u.toString();
}

export interface MetalinkResult {
  /** The verified file. */
  bytes: Uint8Array;
  /** The URL it came from. */
  url: string;
  /** Base URLs: the folder of `url` first, then those of the other targets (deduplicated). */
  baseUrls: string[];
  file: MetalinkFile;
}

/**
 * _ostree_metalink_request_sync: fetches the metalink at `metalinkUrl`, then `requestedFile` from
 * its URLs in turn until one body matches the size and checksum.
 */
export async function fetchMetalinkTarget(
  fetcher: RemoteFetcher,
  metalinkUrl: string,
  requestedFile: string,
  maxBytes: number,
): Promise<MetalinkResult> {
  if (typeof fetcher?.fetch !== 'function') throw new TypeError('fetchMetalinkTarget: a fetcher is required');
  if (typeof metalinkUrl !== 'string' || !/^(https?|file):/i.test(metalinkUrl)) throw new XylemError(`Invalid metalink URL ${String(metalinkUrl)}`);
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new TypeError('fetchMetalinkTarget: maxBytes must be a positive integer');
  const doc = await fetcher.fetch(metalinkUrl, { maxBytes: Math.min(maxBytes, MAX_METALINK_SIZE) });
  if (doc === null) throw new NotFoundError(`While fetching metalink ${metalinkUrl}: Server returned HTTP 404`);
  const file = parseMetalink(doc, requestedFile);
  let lastError = '';
  for (const target of file.urls) {
    try {
      if (file.size > maxBytes) throw new XylemError(`URI ${target.url} exceeded maximum size of ${maxBytes} bytes`);
      const body = await fetcher.fetch(target.url, { maxBytes });
      if (body === null) throw new NotFoundError(`While fetching ${target.url}: Server returned HTTP 404`);
      checkMetalinkBody(file, body);
      const bases = [urlDirname(target.url)];
      for (const other of file.urls) {
        const b = urlDirname(other.url);
        if (!bases.includes(b)) bases.push(b);
      }
      return { bytes: body, url: target.url, baseUrls: bases, file };
    } catch (e) {
      lastError = (e as Error).message;
    }
  }
  throw new XylemError(`Exhausted ${file.urls.length} metalink targets, last error: ${lastError}`, 'EFETCH');
}
