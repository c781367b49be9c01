// Cloudflare workerd entry point: `export default { fetch }`. workerd refuses to compile WASM from
// bytes at run time, so the core arrives precompiled as a module import (./core.wasm, placed beside
// the bundle by tools/build-serverless.mjs and declared as a Wasm module in the workerd config).
// Settings come from text bindings (see env.ts); the cache is in memory per isolate unless an S3
// bucket is configured, and is checked before the first request is served (500 with the reason).

import coreModule from './core.wasm';
import { loadCore, wasmHashProvider } from '../../core-wasm/index.ts';
import { DeltaService } from '../../src/delta/on-demand.ts';
import { MemoryDeltaCache } from '../../src/delta/on-demand-cache.ts';
import { serviceOptionsFromEnv } from './env.ts';

// A Workers isolate has 128 MB: keep the in-memory caches well under it.
const MEMORY_CACHE_BYTES = 48 * 1024 * 1024;
const ORIGIN_OBJECT_CACHE_BYTES = 24 * 1024 * 1024;

let service: Promise<DeltaService> | undefined;

async function start(env: Record<string, unknown>): Promise<DeltaService> {
  const core = await loadCore(coreModule);
  const opts = serviceOptionsFromEnv(env);
  const service = new DeltaService({
    ...opts,
    cache: opts.cache ?? new MemoryDeltaCache({ maxBytes: MEMORY_CACHE_BYTES }),
    objectCacheBytes: ORIGIN_OBJECT_CACHE_BYTES,
    kernels: { bsdiff: (a, b) => core.bsdiff(a, b), rollsumChunks: (d) => core.rollsumChunks(d) },
    hash: wasmHashProvider(core),
    log: (line) => console.log(`xylem-delta: ${line}`),
  });
  // an S3/R2 cache that cannot be written fails here, with the reason, on every request until fixed
  await service.ready();
  return service;
}

export default {
  async fetch(req: Request, env: Record<string, unknown>): Promise<Response> {
    if (!service) {
      service = start(env);
      service.catch(() => {
        service = undefined;
      });
    }
    let s: DeltaService;
    try {
      s = await service;
    } catch (e) {
      return new Response(`xylem delta service: ${e instanceof Error ? e.message : String(e)}\n`, { status: 500 });
    }
    return s.handle(req);
  },
};
