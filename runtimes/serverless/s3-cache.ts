// A DeltaCache in an S3-compatible bucket (AWS S3, R2, MinIO, …) over plain fetch with SigV4
// signing: GET answers the bytes or null on 404, PUT stores an object (S3 PUTs are atomic: a
// reader sees the old object or the new one). Path-style URLs: <endpoint>/<bucket>/<prefix><key>.

import type { DeltaCache } from '../../src/delta/on-demand-cache.ts';
import { checkCacheKey } from '../../src/delta/on-demand-cache.ts';
import { readCapped } from '../../src/delta/on-demand-origin.ts';
import { amzDate, sha256Hex, signV4, type SigV4Credentials } from './sigv4.ts';

export interface S3CacheOptions extends SigV4Credentials {
  /** e.g. https://s3.eu-west-1.amazonaws.com or http://127.0.0.1:9000 */
  endpoint: string;
  bucket: string;
  region?: string;
  /** Key prefix inside the bucket (e.g. "xylem/"). */
  prefix?: string;
  fetch?: typeof fetch;
  /** Largest object read back (default 1 GiB). */
  maxBytes?: number;
  /** Clock, for tests (default: now). */
  now?: () => Date;
}

export class S3DeltaCache implements DeltaCache {
  readonly name = 's3';
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: S3CacheOptions) {
    if (!/^https?:\/\/[^/]+/.test(opts.endpoint ?? '')) throw new Error(`S3DeltaCache: invalid endpoint '${String(opts.endpoint)}'`);
    if (!/^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$/.test(opts.bucket ?? '')) throw new Error(`S3DeltaCache: invalid bucket name '${String(opts.bucket)}'`);
    if (opts.prefix !== undefined && !/^[A-Za-z0-9._\-/]*$/.test(opts.prefix)) throw new Error(`S3DeltaCache: invalid prefix '${opts.prefix}'`);
    this.base = `${opts.endpoint.replace(/\/+$/, '')}/${opts.bucket}/`;
    this.fetchFn = opts.fetch ?? ((i, init) => globalThis.fetch(i, init));
  }

  private async send(method: 'GET' | 'PUT', key: string, body?: Uint8Array): Promise<Response> {
    checkCacheKey(key);
    const url = new URL(this.base + (this.opts.prefix ?? '') + key);
    const payloadHash = sha256Hex(body ?? new Uint8Array(0));
    const extra: Record<string, string> = {};
    if (body) {
      extra['content-type'] = 'application/octet-stream';
      extra['content-length'] = String(body.length);
    }
    const headers = signV4(
      { method, url, headers: extra, payloadHash, region: this.opts.region ?? 'us-east-1', amzDate: amzDate(this.opts.now?.() ?? new Date()) },
      this.opts,
    );
    delete headers.host; // fetch sets it (same value)
    return this.fetchFn(url.toString(), { method, headers, body: body as BodyInit | undefined });
  }

  async get(key: string): Promise<Uint8Array | null> {
    const res = await this.send('GET', key);
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    if (res.status !== 200) {
      const text = await res.text().catch(() => '');
      throw new Error(`S3 GET ${key}: HTTP ${res.status} ${text.slice(0, 200)}`);
    }
    return readCapped(res, this.opts.maxBytes ?? 1024 * 1024 * 1024, `S3 GET ${key}`);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const res = await this.send('PUT', key, data);
    const text = await res.text().catch(() => '');
    if (res.status !== 200) throw new Error(`S3 PUT ${key}: HTTP ${res.status} ${text.slice(0, 200)}`);
  }

  /**
   * Start-up check: writes a small probe object (deltas/xylem-cache-check, replaced at each start)
   * and reads it back, so wrong credentials, bucket or permissions show at start, not at the first
   * generation.
   */
  async check(): Promise<void> {
    const key = 'deltas/xylem-cache-check';
    const data = new TextEncoder().encode(`xylem delta cache write check ${Date.now()}\n`);
    const where = `bucket ${this.opts.bucket} at ${this.opts.endpoint}`;
    try {
      await this.put(key, data);
      const back = await this.get(key);
      if (!back || back.length !== data.length || back.some((b, i) => b !== data[i])) throw new Error(`${key} read back differs from what was written`);
    } catch (e) {
      throw new Error(`${where}: ${e instanceof Error ? e.message : String(e)} (check the access key, its permissions on the bucket, and the endpoint/region)`);
    }
  }
}
