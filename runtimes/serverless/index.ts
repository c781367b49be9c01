// The on-demand delta service as a library (`import … from 'xylem/serverless'`): the Web-standard
// handler `(Request) => Promise<Response>` and its caches, to mount in any server or worker. The
// ready-made entries (dist/serverless/worker.mjs, deno.mjs, bun.mjs) are built from the same parts.

export { DeltaService, createDeltaHandler } from '../../src/delta/on-demand.ts';
export type { DeltaServiceOptions, DeltaServiceStats } from '../../src/delta/on-demand.ts';
export { MemoryDeltaCache } from '../../src/delta/on-demand-cache.ts';
export type { DeltaCache } from '../../src/delta/on-demand-cache.ts';
export { FsDeltaCache } from './fs-cache.ts';
export { S3DeltaCache } from './s3-cache.ts';
export type { S3CacheOptions } from './s3-cache.ts';
export { serviceOptionsFromEnv } from './env.ts';
