// Plain GETs against a remote archive repository for the audit: no custom headers (so a
// cross-origin static host needs only `Access-Control-Allow-Origin`, no preflight), a bounded
// number of requests in flight, and a byte cap checked against Content-Length before anything is
// allocated and again while the body streams in. A request the browser blocks (CORS) is reported
// with what to fix (cors.ts).

import { XylemError } from '../util/errors.ts';
import { readBodyCapped } from '../util/read-body.ts';
import { blockedFetchMessage, currentPageOrigin } from './cors.ts';

export interface RemoteReaderOptions {
  fetch: typeof fetch;
  /** Requests in flight at once. */
  maxConcurrent: number;
  /** Called with the size of every body received. */
  onBytes?: (n: number) => void;
  /** The origin of the page running the audit (default: `location.origin` in a browser), for CORS advice. */
  pageOrigin?: string;
}

/** A failed request; `status` is the HTTP status (0: network error). */
export class AuditFetchError extends XylemError {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message, status === 404 ? 'ENOENT' : 'EFETCH');
    this.name = 'AuditFetchError';
    this.status = status;
  }
}

/** Reads files below one base URL. */
export class RemoteReader {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Body bytes received so far. */
  bytes = 0;
  /** Requests completed (any status). */
  requests = 0;

  constructor(
    readonly baseUrl: string,
    private readonly opts: RemoteReaderOptions,
  ) {}

  /** The absolute URL of `rel` (a repo-relative path such as `objects/ab/cd….dirtree`). */
  url(rel: string): string {
    return this.baseUrl.endsWith('/') ? this.baseUrl + rel : `${this.baseUrl}/${rel}`;
  }

  /** The body of `rel`; null for a 404 when `optional`. Refuses bodies larger than `maxBytes`. */
  async get(rel: string, maxBytes: number, optional = false): Promise<Uint8Array | null> {
    await this.acquire();
    try {
      return await this.fetchOnce(this.url(rel), maxBytes, optional);
    } finally {
      this.requests++;
      this.release();
    }
  }

  private async fetchOnce(url: string, maxBytes: number, optional: boolean): Promise<Uint8Array | null> {
    let res: Response;
    try {
      res = await this.opts.fetch(url, { method: 'GET', redirect: 'follow', cache: 'no-store' });
    } catch (e) {
      throw new AuditFetchError(`Fetching ${url}: ${blockedFetchMessage(url, e, this.opts.pageOrigin ?? currentPageOrigin())}`, 0);
    }
    if (res.status === 404 && optional) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new AuditFetchError(`Fetching ${url}: HTTP ${res.status}`, res.status);
    }
    const buf = await readBodyCapped(res, maxBytes, (over) =>
      over.kind === 'declared'
        ? new AuditFetchError(`Fetching ${url}: ${over.declared} bytes exceeds the limit of ${maxBytes}`, res.status)
        : new AuditFetchError(`Fetching ${url}: body exceeds the limit of ${maxBytes}`, res.status),
    );
    this.count(buf.length);
    return buf;
  }

  private count(n: number): void {
    this.bytes += n;
    this.opts.onBytes?.(n);
  }

  private async acquire(): Promise<void> {
    if (this.active < this.opts.maxConcurrent) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
