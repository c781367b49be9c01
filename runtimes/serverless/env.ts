// Service settings from environment variables / worker bindings, shared by every entry point
// (workerd, Deno, Bun): XYLEM_ORIGIN (required), XYLEM_DEPTH, XYLEM_SCRATCH_DELTAS, XYLEM_PREFIX,
// XYLEM_REWRITE_SUMMARY, XYLEM_GENERATE_ON_REQUEST (any|advertised), and an S3-compatible cache with XYLEM_S3_ENDPOINT, XYLEM_S3_BUCKET,
// XYLEM_S3_REGION, XYLEM_S3_PREFIX, XYLEM_S3_ACCESS_KEY_ID, XYLEM_S3_SECRET_ACCESS_KEY.

import type { DeltaServiceOptions } from '../../src/delta/on-demand.ts';
import { S3DeltaCache } from './s3-cache.ts';

function str(env: Record<string, unknown>, name: string): string | undefined {
  const v = env[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function bool(env: Record<string, unknown>, name: string): boolean {
  const v = str(env, name);
  if (v === undefined) return false;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new Error(`${name}: expected true or false, got '${v}'`);
}

/** DeltaServiceOptions from the environment; throws naming the variable that is wrong. */
export function serviceOptionsFromEnv(env: Record<string, unknown>): DeltaServiceOptions {
  const origin = str(env, 'XYLEM_ORIGIN');
  if (!origin) throw new Error('XYLEM_ORIGIN is not set: the URL of the origin archive repository is required');
  const opts: DeltaServiceOptions = { origin };
  const depth = str(env, 'XYLEM_DEPTH');
  if (depth !== undefined) {
    if (!/^\d{1,2}$/.test(depth)) throw new Error(`XYLEM_DEPTH: expected a number of commits, got '${depth}'`);
    opts.depth = Number(depth);
  }
  opts.scratchDeltas = bool(env, 'XYLEM_SCRATCH_DELTAS');
  opts.rewriteSummary = bool(env, 'XYLEM_REWRITE_SUMMARY');
  const onRequest = str(env, 'XYLEM_GENERATE_ON_REQUEST');
  if (onRequest !== undefined) {
    if (onRequest !== 'any' && onRequest !== 'advertised') throw new Error(`XYLEM_GENERATE_ON_REQUEST: expected any or advertised, got '${onRequest}'`);
    opts.generateOnRequest = onRequest;
  }
  const prefix = str(env, 'XYLEM_PREFIX');
  if (prefix) opts.prefix = prefix;
  const endpoint = str(env, 'XYLEM_S3_ENDPOINT');
  if (endpoint) {
    const bucket = str(env, 'XYLEM_S3_BUCKET');
    const accessKeyId = str(env, 'XYLEM_S3_ACCESS_KEY_ID');
    const secretAccessKey = str(env, 'XYLEM_S3_SECRET_ACCESS_KEY');
    if (!bucket || !accessKeyId || !secretAccessKey)
      throw new Error('XYLEM_S3_ENDPOINT is set: XYLEM_S3_BUCKET, XYLEM_S3_ACCESS_KEY_ID and XYLEM_S3_SECRET_ACCESS_KEY are required too');
    opts.cache = new S3DeltaCache({ endpoint, bucket, accessKeyId, secretAccessKey, region: str(env, 'XYLEM_S3_REGION'), prefix: str(env, 'XYLEM_S3_PREFIX') });
  }
  return opts;
}
