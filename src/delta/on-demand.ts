// The on-demand static-delta service, runtime-neutral: a Web-standard handler
// `(Request) => Promise<Response>` in front of an origin archive repository (any HTTP server).
// Plain repository files (objects, refs, summary, …) are proxied. Deltas the origin lacks are
// generated from the origin's objects with generateDelta (reproducible byte for byte), stored in a
// pluggable DeltaCache and served; concurrent requests for one delta share one generation.
// ostree clients discover deltas through the repo config's core.indexed-deltas and
// delta-indexes/<to>.index: the service answers `config` with indexed-deltas=true and builds each
// index on demand from the deltas of the target's last `depth` ancestors, so summary and
// summary.sig pass through untouched. Optionally (rewriteSummary) the summary's
// ostree.static-deltas is rewritten too, for clients that only read the summary.
// See runtimes/serverless/README.md for the design and the trust model.

import type { DeflateProvider, HashProvider, Host } from '../host.ts';
import { Repo } from '../repo/repo.ts';
import { SUMMARY_TYPE } from '../format/objects.ts';
import { KeyFile, KeyFileError } from '../format/keyfile.ts';
import { ObjectType } from '../format/objects.ts';
import { decode, encode, type GVValue, type GVVariant } from '../format/gvariant.ts';
import { glibDictOrder } from '../format/glib-hash-order.ts';
import { fromUtf8, toHex, utf8, fromHex } from '../util/bytes.ts';
import { NotFoundError, XylemError } from '../util/errors.ts';
import { oneShot, selectHashProvider } from '../util/sha256.ts';
import { generateDelta, type DeltaKernels, type DeltaSigner } from './generate.ts';
import { encodeDeltaIndex } from './manage.ts';
import { deltaIndexRelPath, deltaNameFromDirs, deltaNameString, deltaRelDir, type DeltaName } from './paths.ts';
import { advertisedDeltas, parseDeltaIndex } from './source.ts';
import { MAX_SUPERBLOCK_SIZE } from './superblock.ts';
import { MemoryDeltaCache, type DeltaCache } from './on-demand-cache.ts';
import { OriginFs, OriginObjectCache, fetchWithinOrigin, httpOriginGet, isSafeRepoPath, type OriginGet } from './on-demand-origin.ts';

export interface DeltaServiceOptions {
  /** Base URL of the origin archive repository (http or https). */
  origin: string;
  /** The fetch used to reach the origin (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Extra headers sent to the origin (e.g. authorization). */
  originHeaders?: Record<string, string>;
  /** Where generated deltas are kept (default: an in-memory cache of 256 MiB). */
  cache?: DeltaCache;
  /** Deltas advertised for a commit: from each of its last `depth` ancestors (default 3, 0–32). */
  depth?: number;
  /** Also advertise (and generate) a from-scratch delta for each target (default false). */
  scratchDeltas?: boolean;
  /** bsdiff/rollsum kernels (default: the WASM core, compiled from its embedded bytes). */
  kernels?: DeltaKernels;
  /** SHA-256 (default: WASM core, else @noble/hashes). */
  hash?: HashProvider;
  /** Raw deflate (default: fflate). */
  deflate?: DeflateProvider;
  /** Generation knobs, as `static-delta generate` (they change the bytes: keep them fixed per deployment). */
  generate?: { maxChunkSize?: number; minFallbackSize?: number; maxBsdiffSize?: number; disableBsdiff?: boolean; signers?: DeltaSigner[] };
  /**
   * Which deltas a request may cause to be generated: 'any' from→to pair (default; xylem's
   * client may ask for any), or only 'advertised' ones (from one of the target's last `depth`
   * ancestors, or from scratch with scratchDeltas) — a bound on the CPU a client can make the
   * service spend.
   */
  generateOnRequest?: 'any' | 'advertised';
  /** Rewrite the summary's ostree.static-deltas with generated deltas (default false). */
  rewriteSummary?: boolean;
  /** With rewriteSummary: makes the summary.sig bytes for a rewritten summary; without it summary.sig is 404. */
  signSummary?: (summary: Uint8Array) => Promise<Uint8Array>;
  /** Largest origin file read whole (default 512 MiB). */
  maxFileBytes?: number;
  /** Bytes of origin objects kept in memory across generations (default 128 MiB). */
  objectCacheBytes?: number;
  /** Origin requests in flight at once while prefetching a generation's objects (default 16). */
  originConcurrency?: number;
  /** Most refs whose deltas a rewritten summary advertises (default 64). */
  maxSummaryRefs?: number;
  /** Path prefix the repository is served under (default ""; e.g. "/repo"). */
  prefix?: string;
  /** Diagnostics. */
  log?: (line: string) => void;
}

/** Counters, served as JSON at <prefix>/_xylem/stats. */
export interface DeltaServiceStats {
  /** Deltas generated (one per distinct missing delta, however many requests asked at once). */
  generated: number;
  /** Delta files served from the cache. */
  cacheHits: number;
  /** Requests passed through to the origin. */
  proxied: number;
  /**
   * Deltas that could not be produced: failed generations (one per generation, however many
   * requests waited for it) and delta requests failed by the cache (unreadable, or its start-up
   * check failed).
   */
  failures: number;
}

const MAX_SUMMARY_BYTES = 128 * 1024 * 1024;
const MAX_INDEX_BYTES = 16 * 1024 * 1024;
const MAX_CONFIG_BYTES = 1024 * 1024;
const PROXY_HEADERS = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'etag', 'last-modified'];
const IMMUTABLE = 'public, max-age=31536000, immutable';

function response(status: number, body: Uint8Array | string | null, headers: Record<string, string> = {}): Response {
  const h = new Headers(headers);
  if (typeof body === 'string') {
    h.set('content-type', 'text/plain; charset=utf-8');
    body = utf8(body.endsWith('\n') ? body : `${body}\n`);
  } else if (body && !h.has('content-type')) h.set('content-type', 'application/octet-stream');
  if (body) h.set('content-length', String(body.length));
  return new Response(body as BodyInit | null, { status, headers: h });
}

/** The cache failed its start-up check: delta requests are answered 503 with the reason. */
class CacheUnusableError extends XylemError {}

/** The on-demand delta service; `handle` is the Web-standard handler. */
export class DeltaService {
  readonly stats: DeltaServiceStats = { generated: 0, cacheHits: 0, proxied: 0, failures: 0 };
  readonly cache: DeltaCache;
  private readonly base: string;
  private readonly fetchFn: typeof fetch;
  private readonly originHeaders: Record<string, string>;
  private readonly get: OriginGet;
  private readonly objects: OriginObjectCache;
  private readonly depth: number;
  private readonly prefix: string;
  private readonly maxFileBytes: number;
  private readonly sha256: (d: Uint8Array) => Uint8Array;
  private readonly inflight = new Map<string, Promise<string>>();
  private scratchSeq = 0;
  private summaryMemo: { key: string; bytes: Uint8Array } | null = null;
  private readyCheck: Promise<void> | null = null;

  constructor(private readonly opts: DeltaServiceOptions) {
    if (!opts || typeof opts.origin !== 'string') throw new XylemError('DeltaService: an origin URL is required');
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.base = opts.origin.endsWith('/') ? opts.origin : `${opts.origin}/`;
    this.originHeaders = { ...(opts.originHeaders ?? {}) };
    this.get = httpOriginGet(this.base, this.fetchFn, this.originHeaders);
    this.cache = opts.cache ?? new MemoryDeltaCache();
    this.depth = opts.depth ?? 3;
    if (!Number.isInteger(this.depth) || this.depth < 0 || this.depth > 32) throw new XylemError(`DeltaService: invalid depth ${String(opts.depth)} (0–32)`);
    this.prefix = (opts.prefix ?? '').replace(/\/+$/, '');
    if (this.prefix !== '' && !/^(\/[A-Za-z0-9._\-]+)+$/.test(this.prefix)) throw new XylemError(`DeltaService: invalid prefix '${opts.prefix}'`);
    this.maxFileBytes = opts.maxFileBytes ?? 512 * 1024 * 1024;
    this.objects = new OriginObjectCache(opts.objectCacheBytes ?? 128 * 1024 * 1024);
    this.sha256 = oneShot(selectHashProvider(opts.hash));
    if (opts.signSummary && !opts.rewriteSummary) throw new XylemError('DeltaService: signSummary needs rewriteSummary');
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  /**
   * Checks that the cache can be written and read back (DeltaCache.check), once it succeeds
   * (a failed check is repeated on the next call); entries await it at start and refuse to run
   * when it fails. Delta requests await it too, so a service whose cache is unusable answers them
   * 503 with the reason (counted in `failures`) instead of failing later.
   */
  ready(): Promise<void> {
    this.readyCheck ??= (async () => {
      try {
        await this.cache.check?.();
      } catch (e) {
        this.readyCheck = null; // checked again next time: the cause may be fixed meanwhile
        throw new XylemError(`The delta cache (${this.cache.name}) is not usable: ${e instanceof Error ? e.message : String(e)}`);
      }
    })();
    return this.readyCheck;
  }

  /** A cache read on a delta request; a failure there counts as a failed delta. */
  private async cacheGet(key: string): Promise<Uint8Array | null> {
    try {
      return await this.cache.get(key);
    } catch (e) {
      this.stats.failures++;
      throw e;
    }
  }

  /** The start-up check before serving a delta file or index; a failure counts as a failed delta. */
  private async deltaReady(): Promise<void> {
    try {
      await this.ready();
    } catch (e) {
      this.stats.failures++;
      throw new CacheUnusableError((e as Error).message);
    }
  }

  /** The Web-standard handler: GET and HEAD of repository paths. */
  async handle(req: Request): Promise<Response> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return response(405, 'Only GET and HEAD are served', { allow: 'GET, HEAD' });
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url).pathname);
    } catch {
      return response(400, 'Malformed request path');
    }
    if (this.prefix !== '') {
      if (!path.startsWith(`${this.prefix}/`)) return response(404, 'Not found');
      path = path.slice(this.prefix.length);
    }
    const rel = path.replace(/^\/+/, '');
    let res: Response;
    try {
      if (rel === '_xylem/stats') res = response(200, JSON.stringify(this.stats), { 'content-type': 'application/json', 'cache-control': 'no-store' });
      else if (!isSafeRepoPath(rel)) res = response(404, `Not a repository path: /${rel}`);
      else res = await this.route(req, rel);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      this.log(`${req.method} /${rel}: ${msg}`);
      // 404: the origin lacks it; 502: the origin sent something wrong; 503: the cache failed its
      // check; 500: anything else (e.g. a cache read)
      res = response(e instanceof CacheUnusableError ? 503 : e instanceof NotFoundError ? 404 : e instanceof XylemError || e instanceof KeyFileError ? 502 : 500, msg);
    }
    if (req.method === 'HEAD' && res.body) {
      await res.body.cancel().catch(() => undefined);
      return new Response(null, { status: res.status, headers: res.headers });
    }
    return res;
  }

  private async route(req: Request, rel: string): Promise<Response> {
    if (rel === 'config') return this.serveConfig();
    if (rel === 'summary' && this.opts.rewriteSummary) return response(200, await this.rewrittenSummary(), { 'cache-control': 'no-cache' });
    if (rel === 'summary.sig' && this.opts.rewriteSummary) {
      if (!this.opts.signSummary) return response(404, 'The summary is rewritten by this service and not signed');
      return response(200, await this.opts.signSummary(await this.rewrittenSummary()), { 'cache-control': 'no-cache' });
    }
    if (rel.startsWith('delta-indexes/')) {
      const m = /^delta-indexes\/([A-Za-z0-9+_]{2})\/([A-Za-z0-9+_]{41})\.index$/.exec(rel);
      const name = m ? deltaNameFromDirs(m[1]!, m[2]!) : null;
      if (!name || name.from !== null) return response(404, `Not a delta index: /${rel}`);
      await this.deltaReady();
      return response(200, await this.deltaIndex(name.to), { 'cache-control': 'no-cache' });
    }
    if (rel.startsWith('deltas/')) {
      const m = /^deltas\/([A-Za-z0-9+_]{2})\/([A-Za-z0-9+_\-]+)\/(superblock|[0-9]{1,9})$/.exec(rel);
      const name = m ? deltaNameFromDirs(m[1]!, m[2]!) : null;
      if (!name) return response(404, `Not a delta path: /${rel}`);
      await this.deltaReady();
      return this.serveDeltaFile(req, name, m![3]!);
    }
    return this.proxy(req, rel);
  }

  /** The origin's config with core.indexed-deltas=true, so ostree clients ask for delta indexes. */
  private async serveConfig(): Promise<Response> {
    const data = await this.get('config', MAX_CONFIG_BYTES);
    if (!data) return response(404, 'The origin has no config');
    const kf = KeyFile.parse(fromUtf8(data), 'origin config');
    kf.setBoolean('core', 'indexed-deltas', true);
    return response(200, utf8(kf.toString()), { 'cache-control': 'no-cache' });
  }

  /** Passes a request through to the origin (Range included), streaming the body. */
  private async proxy(req: Request, rel: string): Promise<Response> {
    this.stats.proxied++;
    const headers: Record<string, string> = { ...this.originHeaders };
    const range = req.headers.get('range');
    if (range !== null) headers.range = range;
    const res = await fetchWithinOrigin(this.fetchFn, this.base + rel, { method: req.method, headers }, this.base);
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => undefined);
      return response(404, `Not found: /${rel}`);
    }
    if (res.status !== 200 && res.status !== 206 && res.status !== 416) {
      await res.body?.cancel().catch(() => undefined);
      throw new XylemError(`Origin /${rel}: HTTP ${res.status}`);
    }
    const out = new Headers();
    for (const h of PROXY_HEADERS) {
      const v = res.headers.get(h);
      if (v !== null) out.set(h, v);
    }
    out.set('cache-control', rel.startsWith('objects/') || rel.startsWith('deltas/') ? IMMUTABLE : 'no-cache');
    return new Response(req.method === 'HEAD' ? null : res.body, { status: res.status, headers: out });
  }

  private async serveDeltaFile(req: Request, name: DeltaName, file: string): Promise<Response> {
    const key = `${deltaRelDir(name.from, name.to)}/${file}`;
    const hit = await this.cacheGet(key);
    if (hit) {
      this.stats.cacheHits++;
      return response(200, hit, { 'cache-control': IMMUTABLE, 'x-xylem-delta': 'cache' });
    }
    const sbKey = `${deltaRelDir(name.from, name.to)}/superblock`;
    if (file !== 'superblock') {
      // A part: the origin's own delta, or a part of a generated delta that the cache dropped.
      const originRes = await this.proxy(req, key);
      if (originRes.status !== 404) return originRes;
      if ((await this.get(sbKey, MAX_SUPERBLOCK_SIZE)) !== null) return originRes;
    } else {
      const originSb = await this.get(sbKey, MAX_SUPERBLOCK_SIZE);
      if (originSb) return response(200, originSb, { 'cache-control': IMMUTABLE, 'x-xylem-delta': 'origin' });
    }
    if (this.opts.generateOnRequest === 'advertised' && !(await this.isAdvertisable(name)))
      return response(404, `Static delta ${deltaNameString(name)} is not offered (only deltas from the last ${this.depth} ancestors are generated)`);
    await this.generateOnce(name, key);
    const data = await this.cacheGet(key);
    if (!data) return response(404, `Static delta ${deltaNameString(name)} has no file ${file}`);
    return response(200, data, { 'cache-control': IMMUTABLE, 'x-xylem-delta': 'generated' });
  }

  /**
   * The superblock checksum (hex) of delta `name`: the cached one, else the origin's, else a
   * freshly generated one. Safe to call concurrently: one generation per delta.
   */
  async ensureDelta(name: DeltaName): Promise<string> {
    const sbKey = `${deltaRelDir(name.from, name.to)}/superblock`;
    const cached = await this.cacheGet(sbKey);
    if (cached) return toHex(this.sha256(cached));
    const originSb = await this.get(sbKey, MAX_SUPERBLOCK_SIZE);
    if (originSb) return toHex(this.sha256(originSb));
    return this.generateOnce(name, sbKey);
  }

  /**
   * Generates `name` unless a generation is already under way (then waits for it) or `needKey`
   * appeared in the cache meanwhile (a generation that finished between the caller's look-up and now).
   */
  private generateOnce(name: DeltaName, needKey: string): Promise<string> {
    const id = deltaNameString(name);
    let p = this.inflight.get(id);
    if (!p) {
      p = (async () => {
        try {
          if ((await this.cache.get(needKey)) !== null) {
            const sb = await this.cache.get(`${deltaRelDir(name.from, name.to)}/superblock`);
            if (sb) return toHex(this.sha256(sb));
          }
          return await this.generate(name);
        } catch (e) {
          this.stats.failures++; // once per generation, however many requests wait for it
          throw e;
        }
      })();
      this.inflight.set(id, p);
      const clear = () => {
        if (this.inflight.get(id) === p) this.inflight.delete(id);
      };
      p.then(clear, clear);
    }
    return p;
  }

  private newOriginRepo(): Promise<{ repo: Repo; fs: OriginFs }> {
    const fs = new OriginFs({ get: this.get, objects: this.objects, maxFileBytes: this.maxFileBytes });
    const host: Host = { fs, hash: this.opts.hash, deflate: this.opts.deflate, now: () => 0 };
    return Repo.open(host, fs.root).then((repo) => {
      if (repo.mode !== 'archive') throw new XylemError(`The origin repository is in ${repo.mode} mode; only archive repositories can be served`);
      return { repo, fs };
    });
  }

  private async generate(name: DeltaName): Promise<string> {
    const started = Date.now();
    const { repo, fs } = await this.newOriginRepo();
    const dir = `/scratch/${++this.scratchSeq}`;
    try {
      await this.prefetch(repo, name);
      const prefetched = Date.now();
      const g = this.opts.generate ?? {};
      await generateDelta(repo, {
        from: name.from,
        to: name.to,
        filename: `${dir}/superblock`,
        kernels: this.opts.kernels,
        maxChunkSize: g.maxChunkSize,
        minFallbackSize: g.minFallbackSize,
        maxBsdiffSize: g.maxBsdiffSize,
        disableBsdiff: g.disableBsdiff,
        signers: g.signers,
      });
      const superblock = fs.scratch.get(`${dir}/superblock`);
      if (!superblock) throw new XylemError(`Generating ${deltaNameString(name)}: no superblock was written`);
      const relDir = deltaRelDir(name.from, name.to);
      // Parts first, the superblock last: a cache holding a superblock holds its parts.
      for (const [p, data] of fs.scratch) {
        const m = /\/([0-9]+)$/.exec(p);
        if (p.startsWith(`${dir}/`) && m) await this.cache.put(`${relDir}/${m[1]}`, data);
      }
      await this.cache.put(`${relDir}/superblock`, superblock);
      this.stats.generated++;
      this.log(`generated ${deltaNameString(name)} in ${Date.now() - started} ms (prefetch ${prefetched - started} ms)`);
      return toHex(this.sha256(superblock));
    } catch (e) {
      if (e instanceof XylemError && /No such metadata object|Couldn't find file object/.test(e.message))
        throw new NotFoundError(`Static delta ${deltaNameString(name)}: ${e.message}`);
      throw e;
    } finally {
      await fs.rmrf(dir);
    }
  }

  /**
   * Loads the objects a generation reads, many origin requests at a time, into the shared object
   * cache (the generator itself reads one object after another, which over HTTP is mostly waiting):
   * both commits' dirtrees, then the target's new content, up to half the cache's budget.
   */
  private async prefetch(repo: Repo, name: DeltaName): Promise<void> {
    const limit = this.opts.originConcurrency ?? 16;
    if (!Number.isInteger(limit) || limit < 1 || limit > 256) throw new XylemError(`DeltaService: invalid originConcurrency ${String(limit)}`);
    const pool = async <T>(items: T[], fn: (item: T) => Promise<void>): Promise<void> => {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(limit, items.length) }, async () => {
          while (next < items.length) await fn(items[next++]!);
        }),
      );
    };
    // content checksum → the basenames it appears under
    const walk = async (commit: string): Promise<Map<string, Set<string>>> => {
      const c = await repo.loadCommit(commit);
      const seen = new Set<string>([c.rootTree]);
      const content = new Map<string, Set<string>>();
      let level = [c.rootTree];
      while (level.length > 0) {
        const nextLevel: string[] = [];
        await pool(level, async (t) => {
          const dt = await repo.loadDirTree(t);
          for (const f of dt.files) {
            const names = content.get(f.checksum);
            if (names) names.add(f.name);
            else content.set(f.checksum, new Set([f.name]));
          }
          for (const d of dt.dirs) {
            if (seen.has(d.treeChecksum)) continue;
            seen.add(d.treeChecksum);
            nextLevel.push(d.treeChecksum);
          }
        });
        level = nextLevel;
      }
      return content;
    };
    const [toContent, fromContent] = await Promise.all([walk(name.to), name.from === null ? Promise.resolve(new Map<string, Set<string>>()) : walk(name.from)]);
    const fresh = [...toContent.keys()].filter((c) => !fromContent.has(c));
    // the source's objects with a basename of a new object: the generator compares them ("modified")
    const freshNames = new Set<string>();
    for (const c of fresh) for (const n of toContent.get(c)!) freshNames.add(n);
    const similar = [...fromContent].filter(([, names]) => [...names].some((n) => freshNames.has(n))).map(([c]) => c);
    let budget = this.objects.maxBytes / 2;
    await pool([...fresh, ...similar], async (c) => {
      if (budget <= 0) return;
      const st = await repo.fs.lstat(repo.objectPath(c, ObjectType.File));
      budget -= st?.size ?? 0;
    });
  }

  /** Whether `name` is one of the deltas an index for its target advertises. */
  private async isAdvertisable(name: DeltaName): Promise<boolean> {
    if (name.from === null) return this.opts.scratchDeltas === true;
    const { repo } = await this.newOriginRepo();
    return (await this.ancestors(repo, name.to)).includes(name.from);
  }

  /** `to`'s ancestors present at the origin, nearest first, at most `depth`. */
  private async ancestors(repo: Repo, to: string): Promise<string[]> {
    const out: string[] = [];
    let c = to;
    for (let i = 0; i < this.depth; i++) {
      const parent = (await repo.loadCommit(c)).parent;
      if (!parent || out.includes(parent)) break;
      try {
        await repo.loadCommit(parent);
      } catch {
        break;
      }
      out.push(parent);
      c = parent;
    }
    return out;
  }

  /** Delta name → superblock checksum for deltas ending at `to`: the origin's plus generated ones. */
  private async deltasTo(repo: Repo, to: string, known: Map<string, string>): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const [n, c] of known) if (n === to || n.endsWith(`-${to}`)) out.set(n, c);
    const names: DeltaName[] = (await this.ancestors(repo, to)).map((from) => ({ from, to }));
    if (this.opts.scratchDeltas) names.push({ from: null, to });
    const todo = names.filter((n) => !out.has(deltaNameString(n)));
    const results = await Promise.allSettled(todo.map((n) => this.ensureDelta(n)));
    results.forEach((r, i) => {
      const n = deltaNameString(todo[i]!);
      if (r.status === 'fulfilled') out.set(n, r.value);
      else this.log(`delta ${n}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
    });
    return out;
  }

  /** The delta index for `to` (bytes of an a{sv}, as `ostree summary -u` writes them). */
  async deltaIndex(to: string): Promise<Uint8Array> {
    const { repo } = await this.newOriginRepo();
    await repo.loadCommit(to); // 404 when the origin lacks the commit
    const originIdx = await this.get(deltaIndexRelPath(to), MAX_INDEX_BYTES);
    const known = originIdx ? parseDeltaIndex(originIdx) : new Map<string, string>();
    // deltas the origin lists only in its summary (older ostree wrote no indexes) stay visible
    // to clients that, told indexed-deltas=true, now read indexes only
    for (const [n, c] of await this.originSummaryDeltas()) if (!known.has(n)) known.set(n, c);
    const entries = await this.deltasTo(repo, to, known);
    return encodeDeltaIndex([...entries]);
  }

  /** The origin summary's ostree.static-deltas (empty when it has no summary or an unreadable one). */
  private async originSummaryDeltas(): Promise<Map<string, string>> {
    const data = await this.get('summary', MAX_SUMMARY_BYTES);
    if (!data) return new Map();
    try {
      const [, meta] = decode(SUMMARY_TYPE, data, { context: 'origin summary' }) as [unknown, Array<[string, GVVariant]>];
      return advertisedDeltas(meta);
    } catch (e) {
      this.log(`origin summary: ${e instanceof Error ? e.message : String(e)}`);
      return new Map();
    }
  }

  /** The origin's summary with generated deltas for each ref's head added to ostree.static-deltas. */
  private async rewrittenSummary(): Promise<Uint8Array> {
    const data = await this.get('summary', MAX_SUMMARY_BYTES);
    if (!data) throw new NotFoundError('The origin has no summary');
    const key = toHex(this.sha256(data));
    if (this.summaryMemo?.key === key) return this.summaryMemo.bytes;
    const [refs, meta] = decode(SUMMARY_TYPE, data, { context: 'origin summary' }) as [GVValue[], Array<[string, GVVariant]>];
    const { repo } = await this.newOriginRepo();
    const advertised = advertisedDeltas(meta);
    const heads = new Set<string>();
    for (const r of refs.slice(0, this.opts.maxSummaryRefs ?? 64)) {
      const [, [, csum]] = r as [string, [bigint, Uint8Array, unknown]];
      heads.add(toHex(csum));
    }
    for (const to of heads) {
      for (const [n, c] of await this.deltasTo(repo, to, advertised)) advertised.set(n, c);
    }
    const dict: Array<[string, GVVariant]> = [...advertised].map(([n, c]) => [n, { type: 'ay', value: fromHex(c) }]);
    const newMeta = meta.filter(([k]) => k !== 'ostree.static-deltas');
    if (dict.length > 0) newMeta.push(['ostree.static-deltas', { type: 'a{sv}', value: glibDictOrder(dict) as GVValue[] }]);
    const bytes = encode(SUMMARY_TYPE, [refs, glibDictOrder(newMeta) as GVValue[]]);
    this.summaryMemo = { key, bytes };
    return bytes;
  }
}

/** The handler as a plain function, for `export default { fetch }` style entry points. */
export function createDeltaHandler(opts: DeltaServiceOptions): { service: DeltaService; handler: (req: Request) => Promise<Response> } {
  const service = new DeltaService(opts);
  return { service, handler: (req) => service.handle(req) };
}
