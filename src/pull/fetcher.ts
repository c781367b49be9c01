// Fetching remote files for pulls: Host.fetch for http(s) (and the fs host for file:// URLs) with a
// concurrency limit, retries with exponential back-off on network errors and 5xx/408/429 answers
// (never on 404), ostree's low-speed timeout (curl's LOW_SPEED_LIMIT/TIME: a request receiving
// less than N bytes/s for T seconds, or nothing at all for T seconds, is aborted), a byte cap on
// every body (known up front, or from the body's own first bytes), and resuming interrupted downloads with `Range: bytes=N-` — in memory within one call, or across
// processes through a partial file kept under the repo's tmp/.
// Mirrors (useMirrors): a request under a mirrored base URL fails over to the next mirror.

import type { FsHost, HttpClient, HttpExchange, HttpResponse } from '../host.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { concatBytes } from '../util/bytes.ts';
import { fileUrlToPath } from '../remote/config.ts';

/** ostree's user agent (a libostree version string keeps servers' logs comparable). */
export const DEFAULT_USER_AGENT = 'libostree/2022.7';

export interface FetcherOptions {
  /** Web fetch (Host.fetch); for http(s) URLs when there is no `http`. */
  fetch?: typeof fetch;
  /** The host's lean HTTP client (Host.http); preferred over `fetch`. */
  http?: HttpClient;
  /** Filesystem for file:// URLs and partial-download files. */
  fs?: FsHost;
  /** Requests in flight at once (ostree: max-outstanding-fetcher-requests, default 8). */
  maxConcurrent?: number;
  /** Extra attempts after a retryable failure (ostree: n-network-retries, default 5). */
  retries?: number;
  /**
   * Abort a request that receives no bytes for this long, or less than lowSpeedLimitBytes per
   * second over this long (ostree's low-speed-time-seconds; default 30 s).
   */
  stallTimeoutMs?: number;
  /** ostree's low-speed-limit-bytes (curl's LOW_SPEED_LIMIT; default 1000 bytes/s, 0: silence only). */
  lowSpeedLimitBytes?: number;
  /** First back-off delay; doubles each retry (default 250 ms, capped at 8 s). */
  backoffMs?: number;
  /** Extra request headers (`--http-header K=V`). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Full User-Agent (default DEFAULT_USER_AGENT, plus `--append-user-agent`). */
  userAgent?: string;
  /** Called with every chunk's size (bytes transferred, for progress). */
  onBytes?: (n: number) => void;
  /** Called when a retry is scheduled (for debug output). */
  onRetry?: (url: string, attempt: number, error: Error) => void;
  /** Timer (tests); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface FetchRequest {
  url: string;
  /** A 404 answers null instead of throwing. */
  optional?: boolean;
  /** Refuse bodies larger than this (metadata: 10 MiB as ostree). */
  maxBytes?: number;
  /**
   * A cap found in the body's first bytes (a `.filez` declares its size in its header): called
   * with the first bytes received until it answers a number, the cap from then on (with maxBytes,
   * the smaller counts); `{ need: n }` asks to be called again once n bytes are in. May throw to
   * refuse the body.
   */
  capFromHead?: (head: Uint8Array) => number | { need: number };
  /** What the body is, for errors (e.g. "file object CSUM"). */
  what?: string;
  /**
   * Keep received bytes in this file while downloading, and resume from it (Range) when it
   * exists already — survives a killed process. The caller removes it once it is verified.
   */
  partialPath?: string;
  /** Use the partial file only for bodies at least this big (default 0: always). */
  partialMinSize?: number;
  /** False when the caller knows no partial file exists yet (saves a failed open). */
  partialMayExist?: boolean;
  /**
   * Bodies declaring at least this many bytes are kept only in `partialPath`, never in memory
   * (getSpillable answers where they are). A broken-off spilled body is fetched again whole.
   */
  spillMinSize?: number;
  /** Overrides FetcherOptions.retries for this request (0: a quick probe). */
  retries?: number;
}

/** A body left in its partial file (see FetchRequest.spillMinSize). */
export interface SpilledBody {
  file: string;
  size: number;
}

/** Bodies with a declared length up to this size are received straight into one buffer. */
const MAX_PREALLOCATE = 64 * 1024 * 1024;

/** A request being received, watched for stalls and low speed. */
interface LiveRequest {
  /** When it last received something (ms). */
  last: number;
  /** Start of the current speed window (ms) and the bytes received since. */
  windowStart: number;
  windowBytes: number;
  /** Why the watchdog aborted it (null while it has not). */
  stalled: 'silent' | 'slow' | null;
  abort(): void;
}

/** fetch() dressed as an HttpExchange. */
function fetchExchange(fetchFn: typeof fetch, url: string, method: 'GET' | 'HEAD', headers: Record<string, string>): HttpExchange {
  const ctrl = new AbortController();
  const response = fetchFn(url, { method, headers, signal: ctrl.signal, redirect: 'follow' }).then((res): HttpResponse => {
    const reader = res.body?.getReader() ?? null;
    return {
      status: res.status,
      header: (name) => res.headers.get(name),
      read: async () => {
        if (!reader) return null;
        const r = await reader.read();
        return r.done ? null : r.value;
      },
      cancel: () => {
        reader?.cancel().catch(() => undefined);
      },
    };
  });
  response.catch(() => undefined);
  return { response, abort: () => ctrl.abort() };
}

/**
 * A failed request. `status` is the HTTP status (0 for network-level errors); `code` is ENOENT
 * (404), ETOOBIG (a body over its cap), ETIMEDOUT (stalled or too slow) or EFETCH.
 */
export class FetchError extends XylemError {
  readonly status: number;
  readonly retryable: boolean;
  constructor(message: string, status: number, retryable: boolean, code?: string) {
    super(message, code ?? (status === 404 ? 'ENOENT' : 'EFETCH'));
    this.name = 'FetchError';
    this.status = status;
    this.retryable = retryable;
  }
}

/** A simple counting semaphore (FIFO; a pull may queue tens of thousands of waiters). */
class Limiter {
  private active = 0;
  private waiting: Array<(() => void) | undefined> = [];
  private head = 0;
  constructor(private readonly max: number) {}
  acquire(): Promise<void> | void {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    if (this.head < this.waiting.length) {
      const next = this.waiting[this.head]!;
      this.waiting[this.head++] = undefined;
      if (this.head > 1024 && this.head * 2 > this.waiting.length) {
        this.waiting = this.waiting.slice(this.head);
        this.head = 0;
      }
      next();
    } else this.active--;
  }
  get inFlight(): number {
    return this.active;
  }
}

const SCHEMES = new Set(['http', 'https', 'file']);

/** Checks a remote URL's scheme the way ostree reports it. */
export function validateRemoteUrl(url: string): void {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url);
  if (!m || !SCHEMES.has(m[1]!.toLowerCase())) throw new XylemError(`Invalid URI scheme in ${url}`);
}

/** base + '/' + rel, without doubling the slash. */
export function joinUrl(base: string, rel: string): string {
  return base.endsWith('/') ? base + rel : `${base}/${rel}`;
}

export class Fetcher {
  private readonly opts: Required<Pick<FetcherOptions, 'retries' | 'stallTimeoutMs' | 'lowSpeedLimitBytes' | 'backoffMs' | 'userAgent'>> & FetcherOptions;
  private readonly limiter: Limiter;
  /** Bytes received so far (all requests). */
  bytesTransferred = 0;
  /** Requests started (including retries). */
  requestsStarted = 0;
  private cancelled: Error | null = null;
  private readonly live = new Set<LiveRequest>();
  /** Mirror lists by their first base URL (useMirrors). */
  private readonly mirrors = new Map<string, string[]>();
  private watchdog: ReturnType<typeof setInterval> | undefined;

  constructor(opts: FetcherOptions = {}) {
    if (typeof opts !== 'object' || opts === null) throw new TypeError('Fetcher: options must be an object');
    const max = opts.maxConcurrent ?? 8;
    if (!Number.isInteger(max) || max < 1) throw new TypeError(`Fetcher: maxConcurrent must be a positive integer, got ${max}`);
    const retries = opts.retries ?? 5;
    if (!Number.isInteger(retries) || retries < 0) throw new TypeError(`Fetcher: retries must be a non-negative integer, got ${retries}`);
    const stallTimeoutMs = opts.stallTimeoutMs ?? 30_000;
    if (!(stallTimeoutMs > 0) || !Number.isFinite(stallTimeoutMs)) throw new TypeError(`Fetcher: stallTimeoutMs must be a positive number, got ${stallTimeoutMs}`);
    const lowSpeedLimitBytes = opts.lowSpeedLimitBytes ?? 1000;
    if (!Number.isInteger(lowSpeedLimitBytes) || lowSpeedLimitBytes < 0)
      throw new TypeError(`Fetcher: lowSpeedLimitBytes must be a non-negative integer, got ${lowSpeedLimitBytes}`);
    this.opts = {
      ...opts,
      retries,
      stallTimeoutMs,
      lowSpeedLimitBytes,
      backoffMs: opts.backoffMs ?? 250,
      userAgent: opts.userAgent ?? DEFAULT_USER_AGENT,
    };
    this.limiter = new Limiter(max);
  }

  /** Aborts every request in flight and refuses new ones (after a pull failed). */
  cancel(reason = 'Operation was cancelled'): void {
    this.cancelled ??= new XylemError(reason);
    for (const l of this.live) l.abort();
  }

  /** Requests currently holding a connection slot. */
  get outstanding(): number {
    return this.limiter.inFlight;
  }

  /** The body at `req.url`, or null for a 404 when `req.optional`. */
  async get(req: FetchRequest): Promise<Uint8Array | null> {
    if (typeof req?.url !== 'string') throw new TypeError('Fetcher.get: url must be a string');
    return (await this.getSpillable({ ...req, spillMinSize: undefined })) as Uint8Array | null;
  }

  /**
   * Declares mirrors: a request for a URL under `bases[0]` is tried under each base in turn (a
   * failing mirror is skipped for the next, as libostree's fetcher walks its mirror list). Lists
   * sharing a first base are merged.
   */
  useMirrors(bases: readonly string[]): void {
    if (!Array.isArray(bases) || bases.length === 0 || bases.some((b) => typeof b !== 'string')) throw new TypeError('Fetcher.useMirrors: bases must be a non-empty string array');
    for (const b of bases) validateRemoteUrl(b);
    if (bases.length < 2) return;
    const key = stripSlash(bases[0]!);
    const group = this.mirrors.get(key) ?? [];
    for (const b of bases.map(stripSlash)) if (!group.includes(b)) group.push(b);
    this.mirrors.set(key, group);
  }

  /** The URLs to try for `url` (its mirrors' equivalents, itself first), or null when it has none. */
  private mirrorUrls(url: string): string[] | null {
    let best: string | null = null;
    for (const key of this.mirrors.keys())
      if (url.startsWith(key + '/') && (best === null || key.length > best.length)) best = key;
    if (best === null) return null;
    const rest = url.slice(best.length);
    return this.mirrors.get(best)!.map((b) => b + rest);
  }

  /** As get(), but a big body may be answered as the file holding it (FetchRequest.spillMinSize). */
  async getSpillable(req: FetchRequest): Promise<Uint8Array | SpilledBody | null> {
    if (typeof req?.url !== 'string') throw new TypeError('Fetcher.get: url must be a string');
    validateRemoteUrl(req.url);
    const urls = this.mirrorUrls(req.url);
    return urls ? this.getMirrored(req, urls) : this.getOne(req, req.retries ?? this.opts.retries);
  }

  /**
   * Tries each mirror once per round until one answers. When none does: a 404 from any of them
   * answers null for an optional file; otherwise a round where some mirror failed in a retryable
   * way is repeated (with back-off) up to `retries` times, then the last mirror's error is thrown.
   */
  private async getMirrored(req: FetchRequest, urls: string[]): Promise<Uint8Array | SpilledBody | null> {
    const retries = req.retries ?? this.opts.retries;
    for (let round = 0; ; round++) {
      let last: Error | null = null;
      let notFound = false;
      let retryable = false;
      for (const url of urls) {
        try {
          return await this.getOne({ ...req, url, optional: false }, 0);
        } catch (e) {
          if (this.cancelled) throw e;
          last = e as Error;
          const status = e instanceof FetchError ? e.status : 0;
          if (status === 404 || status === 410) notFound = true;
          else if (!(e instanceof FetchError) || e.retryable) retryable = true;
        }
      }
      if (notFound && req.optional) return null;
      if (!retryable || round >= retries) throw last!;
      this.opts.onRetry?.(req.url, round + 1, last!);
      await (this.opts.sleep ?? defaultSleep)(Math.min(this.opts.backoffMs * 2 ** round, 8000));
    }
  }

  /** One URL, retried up to `retries` times on retryable failures. */
  private async getOne(req: FetchRequest, retries: number): Promise<Uint8Array | SpilledBody | null> {
    if (/^file:/i.test(req.url)) return this.getFile(req);
    if (!this.opts.http && !this.opts.fetch) throw new XylemError(`Fetching ${req.url}: this runtime has no fetch()`);
    let partial = req.partialPath && req.partialMayExist !== false ? await this.loadPartial(req.partialPath) : new Uint8Array(0);
    let attempt = 0;
    for (;;) {
      await this.limiter.acquire();
      if (this.cancelled) {
        this.limiter.release();
        throw this.cancelled;
      }
      let result: Uint8Array | SpilledBody | null;
      try {
        result = await this.attempt(req, partial);
      } catch (e) {
        if (e instanceof PartialBody) {
          partial = e.received;
          e.cause = undefined;
        }
        const err = e instanceof PartialBody ? e.error : (e as Error);
        const retryable = this.cancelled ? false : err instanceof FetchError ? err.retryable : true;
        this.limiter.release();
        // A body over its cap or with a corrupt head is no start for a later resume.
        if (err instanceof FetchError && (err.code === 'ETOOBIG' || err.code === 'ECORRUPT')) {
          await this.savePartial(req, new Uint8Array(0));
          partial = new Uint8Array(0);
        }
        // A refused range (a partial file left complete by a killed pull, or the file changed on
        // the server): attempt() dropped the partial file; the retry must not ask for it again.
        if (err instanceof FetchError && err.status === 416) partial = new Uint8Array(0);
        if (!retryable || attempt >= retries) throw wrap(req.url, err);
        attempt++;
        this.opts.onRetry?.(req.url, attempt, err);
        await (this.opts.sleep ?? defaultSleep)(Math.min(this.opts.backoffMs * 2 ** (attempt - 1), 8000));
        continue;
      }
      this.limiter.release();
      return result;
    }
  }

  /** Size of the body at `url` from a HEAD request (file:// by stat); null when unknown or 404. */
  async size(url: string): Promise<number | null> {
    validateRemoteUrl(url);
    const urls = this.mirrorUrls(url);
    if (!urls) return this.sizeOne(url);
    let last: unknown = null;
    let answered = false;
    for (const u of urls) {
      try {
        const n = await this.sizeOne(u);
        if (n !== null) return n;
        answered = true;
      } catch (e) {
        last = e;
      }
    }
    if (answered || last === null) return null;
    throw last;
  }

  /** size() of one URL (no mirrors). */
  private async sizeOne(url: string): Promise<number | null> {
    if (/^file:/i.test(url)) {
      const st = this.opts.fs ? await this.opts.fs.stat(fileUrlToPath(url)) : null;
      return st && st.kind === 'file' ? st.size : null;
    }
    if (!this.opts.http && !this.opts.fetch) throw new XylemError(`Fetching ${url}: this runtime has no fetch()`);
    await this.limiter.acquire();
    try {
      const r = this.requestHeaders(url);
      const res = await this.exchange(r.url, 'HEAD', r.headers).response;
      res.cancel();
      const len = res.header('content-length');
      const ok = res.status >= 200 && res.status < 300;
      return ok && len !== null && /^\d+$/.test(len) ? Number(len) : null;
    } catch (e) {
      throw wrap(url, new FetchError(networkMessage(e), 0, true));
    } finally {
      this.limiter.release();
    }
  }

  private async loadPartial(path: string): Promise<Uint8Array> {
    const fs = this.opts.fs;
    if (!fs) return new Uint8Array(0);
    try {
      return await fs.readFile(path);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return new Uint8Array(0);
      throw e;
    }
  }

  /** Starts one request through the host's HttpClient, or fetch() wrapped to look like one. */
  private exchange(url: string, method: 'GET' | 'HEAD', headers: Record<string, string>): HttpExchange {
    if (this.opts.http) return this.opts.http.request(url, { method, headers });
    return fetchExchange(this.opts.fetch!, url, method, headers);
  }

  /** Request headers: user agent, extra headers, and basic auth from credentials in the URL. */
  private requestHeaders(reqUrl: string): { url: string; headers: Record<string, string> } {
    const headers: Record<string, string> = { 'User-Agent': this.opts.userAgent };
    for (const [k, v] of this.opts.headers ?? []) headers[k] = v;
    // fetch() refuses URLs with credentials: send them as HTTP basic auth instead.
    let url = reqUrl;
    const cred = /^(https?:\/\/)([^/@]*)@/i.exec(url);
    if (cred) {
      url = cred[1] + url.slice(cred[0].length);
      const [user, pass = ''] = cred[2]!.split(':').map((x) => decodeURIComponent(x));
      headers['Authorization'] = `Basic ${btoa(`${user}:${pass}`)}`;
    }
    return { url, headers };
  }

  /**
   * Watches `live` requests: one that received nothing for stallTimeoutMs, or whose average
   * speed over a window of stallTimeoutMs stayed below lowSpeedLimitBytes per second (a server
   * trickling a byte now and then), is aborted.
   */
  private watch(l: LiveRequest): void {
    this.live.add(l);
    if (this.watchdog !== undefined) return;
    const time = this.opts.stallTimeoutMs;
    const every = Math.max(10, Math.min(1000, Math.floor(time / 4)));
    this.watchdog = setInterval(() => {
      const now = Date.now();
      for (const r of this.live) {
        if (r.stalled) continue;
        if (now - r.last >= time) r.stalled = 'silent';
        else if (now - r.windowStart >= time) {
          if (r.windowBytes < (this.opts.lowSpeedLimitBytes * (now - r.windowStart)) / 1000) r.stalled = 'slow';
          else {
            r.windowStart = now;
            r.windowBytes = 0;
          }
        }
        if (r.stalled) r.abort();
      }
      if (this.live.size === 0) {
        clearInterval(this.watchdog);
        this.watchdog = undefined;
      }
    }, every);
    (this.watchdog as { unref?: () => void }).unref?.();
  }

  /** One HTTP request; throws PartialBody when the body broke off after some bytes. */
  private async attempt(req: FetchRequest, partial: Uint8Array): Promise<Uint8Array | SpilledBody | null> {
    this.requestsStarted++;
    const { url, headers } = this.requestHeaders(req.url);
    if (partial.length > 0) headers['Range'] = `bytes=${partial.length}-`;
    const ex = this.exchange(url, 'GET', headers);
    const started = Date.now();
    const live: LiveRequest = { last: started, windowStart: started, windowBytes: 0, stalled: null, abort: () => ex.abort() };
    this.watch(live);
    const secs = this.opts.stallTimeoutMs / 1000;
    const stallError = () =>
      live.stalled === 'slow'
        ? new FetchError(`Timeout was reached (operation too slow: less than ${this.opts.lowSpeedLimitBytes} bytes/sec transferred the last ${secs} seconds)`, 0, true, 'ETIMEDOUT')
        : new FetchError(`Timeout was reached (no data for ${secs} seconds)`, 0, true, 'ETIMEDOUT');
    let res: HttpResponse;
    try {
      res = await ex.response;
    } catch (e) {
      this.live.delete(live);
      if (live.stalled) throw stallError();
      throw new FetchError(networkMessage(e), 0, true);
    }
    try {
      if (res.status === 404 || res.status === 410) {
        res.cancel();
        if (req.optional) return null;
        throw new FetchError(`Server returned HTTP ${res.status}`, res.status, false);
      }
      let base = partial;
      if (partial.length > 0 && res.status === 416) {
        res.cancel();
        // Our partial file is useless (changed on the server?): start over.
        await this.savePartial(req, new Uint8Array(0));
        throw new FetchError('Server refused the resumed range (HTTP 416)', 416, true);
      }
      if (res.status === 200) base = new Uint8Array(0);
      else if (res.status === 206) {
        const cr = res.header('content-range');
        const m = cr ? /^bytes (\d+)-/.exec(cr) : null;
        if (!m || Number(m[1]) !== partial.length) {
          res.cancel();
          throw new FetchError(`Server answered a range request with a wrong range (${cr ?? 'none'})`, 206, false);
        }
      } else {
        res.cancel();
        const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
        throw new FetchError(`Server returned HTTP ${res.status}`, res.status, retryable);
      }
      const lenHeader = res.header('content-length');
      const declared = lenHeader !== null && /^\d+$/.test(lenHeader) ? Number(lenHeader) : null;
      let cap = req.maxBytes;
      const tooBig = () => capExceeded(req, cap!, res.status);
      if (cap !== undefined && declared !== null && base.length + declared > cap) {
        res.cancel();
        throw tooBig();
      }
      // The body's own cap (capFromHead), once its first bytes are in.
      const head = req.capFromHead ? new HeadCap(req.capFromHead) : null;
      const headCap = (bytes: Uint8Array): void => {
        const c = head?.add(bytes);
        if (c === undefined) return;
        cap = cap === undefined ? c : Math.min(cap, c);
        if (declared !== null && base.length + declared > cap) throw tooBig();
      };
      try {
        if (base.length) headCap(base);
      } catch (e) {
        res.cancel();
        throw e;
      }
      const usePartial =
        req.partialPath !== undefined && this.opts.fs !== undefined && (declared === null || base.length + declared >= (req.partialMinSize ?? 0));
      // Big bodies stay in the partial file only; without a declared length, from spillMinSize on.
      let spill = usePartial && req.spillMinSize !== undefined && declared !== null && base.length + declared >= req.spillMinSize;
      // With a declared length the body goes straight into one buffer of that size.
      const into = !spill && declared !== null && declared <= MAX_PREALLOCATE ? new Uint8Array(base.length + declared) : null;
      if (into && base.length) into.set(base, 0);
      const chunks: Uint8Array[] = !into && !spill && base.length ? [base] : [];
      let got = base.length;
      let received = 0;
      const body = () => (spill ? new Uint8Array(0) : into ? into.subarray(0, got) : concatBytes(chunks));
      const writer = usePartial ? await this.openPartial(req.partialPath!, base) : null;
      try {
        for (;;) {
          let chunk: Uint8Array | null;
          try {
            chunk = await res.read();
          } catch (e) {
            const err = live.stalled ? stallError() : new FetchError(`Transferred a partial file (${networkMessage(e)})`, 0, true);
            throw new PartialBody(body().slice(), err);
          }
          if (chunk === null) break;
          live.last = Date.now();
          live.windowBytes += chunk.length;
          got += chunk.length;
          received += chunk.length;
          this.bytesTransferred += chunk.length;
          this.opts.onBytes?.(chunk.length);
          try {
            if (head?.pending) headCap(chunk);
          } catch (e) {
            res.cancel();
            throw e;
          }
          if ((cap !== undefined && got > cap) || (into && got > into.length)) {
            res.cancel();
            if (into && got > into.length && !(cap !== undefined && got > cap))
              throw new FetchError(`Server sent more than its Content-Length ${declared}`, res.status, false);
            throw tooBig();
          }
          if (into) into.set(chunk, got - chunk.length);
          else if (!spill) chunks.push(chunk);
          if (writer) await writer.write(chunk);
          if (!spill && !into && writer && req.spillMinSize !== undefined && got >= req.spillMinSize) {
            // No declared length and already big: from now on only in the partial file.
            spill = true;
            chunks.length = 0;
          }
        }
      } finally {
        if (writer) await writer.close().catch(() => undefined);
      }
      if (declared !== null && received < declared) throw new PartialBody(body().slice(), new FetchError('Transferred a partial file', 0, true));
      if (declared !== null && received > declared)
        throw new FetchError(`Server sent ${received} bytes, more than its Content-Length ${declared}`, res.status, false);
      if (spill) return { file: req.partialPath!, size: got };
      return body();
    } finally {
      this.live.delete(live);
    }
  }

  private async openPartial(path: string, base: Uint8Array) {
    const fs = this.opts.fs!;
    const w = await fs.openWrite(path, { mode: 0o644 });
    if (base.length) await w.write(base);
    return w;
  }

  private async savePartial(req: FetchRequest, data: Uint8Array): Promise<void> {
    if (!req.partialPath || !this.opts.fs) return;
    if (data.length === 0) await this.opts.fs.unlink(req.partialPath).catch(() => undefined);
    else await this.opts.fs.writeFile(req.partialPath, data, { mode: 0o644 });
  }

  private async getFile(req: FetchRequest): Promise<Uint8Array | null> {
    const fs = this.opts.fs;
    if (!fs) throw new XylemError(`Fetching ${req.url}: no filesystem for file:// URLs`);
    const path = fileUrlToPath(req.url);
    await this.limiter.acquire();
    try {
      const st = await fs.stat(path);
      if (!st || st.kind === 'dir') {
        if (req.optional && !st) return null;
        throw new FetchError(st ? `${path}: Is a directory` : `Couldn't open file ${path}: No such file or directory (404)`, 404, false);
      }
      if (req.maxBytes !== undefined && st.size > req.maxBytes)
        throw capExceeded(req, req.maxBytes, 0);
      try {
        return await fs.readFile(path);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT' && req.optional) return null;
        throw e;
      }
    } finally {
      this.limiter.release();
    }
  }
}

/** Internal: a body that broke off; carries what arrived so the retry can resume. */
class PartialBody extends Error {
  constructor(
    readonly received: Uint8Array,
    readonly error: Error,
  ) {
    super(error.message);
  }
}

/** Collects a body's first bytes for FetchRequest.capFromHead until it answers a cap. */
class HeadCap {
  private chunks: Uint8Array[] = [];
  private len = 0;
  private need = 1;
  pending = true;
  constructor(private readonly fn: (head: Uint8Array) => number | { need: number }) {}
  /** Adds bytes; answers the cap once known (once only). */
  add(bytes: Uint8Array): number | undefined {
    if (!this.pending) return undefined;
    this.chunks.push(bytes);
    this.len += bytes.length;
    while (this.len >= this.need) {
      const head = concatBytes(this.chunks);
      this.chunks = [head];
      let r: number | { need: number };
      try {
        r = this.fn(head);
      } catch (e) {
        // A head that cannot be right (a corrupt header): no retry will help.
        throw new FetchError((e as Error).message, 0, false, errnoCode(e));
      }
      if (typeof r === 'number') {
        this.pending = false;
        this.chunks = [];
        return r;
      }
      if (!(r.need > this.need)) throw new TypeError(`capFromHead asked for ${r.need} bytes after ${this.need}`);
      this.need = r.need;
    }
    return undefined;
  }
}

/** The error for a body over its cap, naming what it is when the request says. */
function capExceeded(req: FetchRequest, cap: number, status: number): FetchError {
  const what = req.what ? `${req.what}: ` : '';
  return new FetchError(`${what}URI ${req.url} exceeded maximum size of ${cap} bytes`, status, false, 'ETOOBIG');
}

function networkMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  const c = cause instanceof Error ? `: ${cause.message}` : '';
  return `${e.message}${c}`;
}

function wrap(url: string, e: Error): Error {
  if (e instanceof FetchError) {
    if (e.code === 'ETOOBIG') return e;
    const out = new FetchError(`While fetching ${url}: ${e.message}`, e.status, e.retryable, e.code);
    return out;
  }
  return new XylemError(`While fetching ${url}: ${e.message}`);
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
