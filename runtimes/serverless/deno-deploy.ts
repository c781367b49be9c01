// Deno Deploy entry point (dist/serverless/deno-deploy.mjs; deploy/deno.json names it): Deno.serve
// with settings from the project's environment variables (see env.ts). Deno Deploy has no writable
// filesystem, so deltas are cached in an S3-compatible bucket when XYLEM_S3_* is set, else in memory
// per isolate (bounded). Listens on PORT or XYLEM_PORT (default 8000) of XYLEM_HOST (default
// 0.0.0.0) and prints "listening http://HOST:PORT/"; locally:
//   deno run --allow-net --allow-env deno-deploy.mjs

import { DeltaService } from '../../src/delta/on-demand.ts';
import { MemoryDeltaCache } from '../../src/delta/on-demand-cache.ts';
import { serviceOptionsFromEnv } from './env.ts';
import { denoGlobal } from './deno-global.ts';

const Deno = denoGlobal();

// An isolate on Deno Deploy has 512 MB: keep the in-memory caches well under it.
const MEMORY_CACHE_BYTES = 128 * 1024 * 1024;
const ORIGIN_OBJECT_CACHE_BYTES = 96 * 1024 * 1024;

const env = Deno.env.toObject();
let service: DeltaService;
try {
  const opts = serviceOptionsFromEnv(env);
  service = new DeltaService({
    ...opts,
    cache: opts.cache ?? new MemoryDeltaCache({ maxBytes: MEMORY_CACHE_BYTES }),
    objectCacheBytes: ORIGIN_OBJECT_CACHE_BYTES,
    log: (l) => console.error(`xylem-delta: ${l}`),
  });
  await service.ready();
} catch (e) {
  console.error(`xylem-delta: ${e instanceof Error ? e.message : String(e)}`);
  Deno.exit(1);
}
const port = env.PORT ?? env.XYLEM_PORT ?? '8000';
if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) {
  console.error(`xylem-delta: PORT/XYLEM_PORT: expected a port number, got '${port}'`);
  Deno.exit(1);
}
Deno.serve(
  {
    hostname: env.XYLEM_HOST ?? '0.0.0.0',
    port: Number(port),
    onListen: ({ hostname, port }) => console.log(`listening http://${hostname}:${port}/`),
  },
  (req) => service.handle(req),
);
