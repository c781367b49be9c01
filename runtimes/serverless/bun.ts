// Bun entry point: Bun.serve on XYLEM_HOST (default 127.0.0.1) : XYLEM_PORT (default 0 = any free
// port), printing "listening http://HOST:PORT/" once ready. XYLEM_CACHE_DIR keeps generated
// deltas in a folder, checked at start: a folder the process cannot write stops the service with
// the reason, exit status 1. Run: bun bun.mjs

import { DeltaService } from '../../src/delta/on-demand.ts';
import { createPosixFs } from '../posix/fs.ts';
import { serviceOptionsFromEnv } from './env.ts';
import { FsDeltaCache } from './fs-cache.ts';

interface BunServe {
  env: Record<string, string | undefined>;
  serve(opts: { hostname: string; port: number; fetch: (req: Request) => Promise<Response> }): { hostname: string; port: number };
}
const Bun = (globalThis as unknown as { Bun: BunServe }).Bun;

const env = Bun.env;
const opts = serviceOptionsFromEnv(env);
if (env.XYLEM_CACHE_DIR) opts.cache = new FsDeltaCache(createPosixFs(), env.XYLEM_CACHE_DIR);
const service = new DeltaService({ ...opts, log: (l) => console.error(`xylem-delta: ${l}`) });
try {
  await service.ready();
} catch (e) {
  console.error(`xylem-delta: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
const server = Bun.serve({ hostname: env.XYLEM_HOST ?? '127.0.0.1', port: Number(env.XYLEM_PORT ?? 0), fetch: (req) => service.handle(req) });
console.log(`listening http://${server.hostname}:${server.port}/`);
