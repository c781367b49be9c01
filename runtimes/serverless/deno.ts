// Deno entry point: Deno.serve on XYLEM_HOST (default 127.0.0.1) : XYLEM_PORT (default 0 = any
// free port), printing "listening http://HOST:PORT/" once ready. XYLEM_CACHE_DIR keeps generated
// deltas in a folder, checked at start: a folder the process cannot write (or a run without
// --allow-read/--allow-write for it) stops the service with the reason, exit status 1.
// Run: deno run --allow-net --allow-env [--allow-read=DIR --allow-write=DIR] deno.mjs

import { DeltaService } from '../../src/delta/on-demand.ts';
import { createPosixFs } from '../posix/fs.ts';
import { serviceOptionsFromEnv } from './env.ts';
import { denoGlobal } from './deno-global.ts';
import { FsDeltaCache } from './fs-cache.ts';

const Deno = denoGlobal();

const env = Deno.env.toObject();
const opts = serviceOptionsFromEnv(env);
if (env.XYLEM_CACHE_DIR) opts.cache = new FsDeltaCache(createPosixFs(), env.XYLEM_CACHE_DIR);
const service = new DeltaService({ ...opts, log: (l) => console.error(`xylem-delta: ${l}`) });
try {
  await service.ready();
} catch (e) {
  console.error(`xylem-delta: ${e instanceof Error ? e.message : String(e)}`);
  Deno.exit(1);
}
Deno.serve(
  {
    hostname: env.XYLEM_HOST ?? '127.0.0.1',
    port: Number(env.XYLEM_PORT ?? 0),
    onListen: ({ hostname, port }) => console.log(`listening http://${hostname}:${port}/`),
  },
  (req) => service.handle(req),
);
