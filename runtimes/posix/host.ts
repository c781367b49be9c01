// Assembles a Host for a runtime that speaks node:* (Node, Bun, Deno): posix fs, node:crypto,
// node:zlib, global fetch, process env/ids, file locks (a python3 helper, see locks.ts), the
// bubblewrap script sandbox (sandbox.ts), overlay mounts through mount(8) (mounts.ts), and
// whichever xattr backend the runtime found.

import * as os from 'node:os';
import process from 'node:process';
import type { Host, WorkerPool } from '../../src/host.ts';
import { createPosixFs } from './fs.ts';
import { nodeHashProvider } from './hash.ts';
import { nodeDeflateProvider } from './deflate.ts';
import type { XattrLoad } from './xattr-napi.ts';
import { createPosixLocks } from './locks.ts';
import { createBwrapSandbox } from './sandbox.ts';
import { createPosixMounts } from './mounts.ts';
import { posixWasmSources } from './wasm.ts';
import { crashPlanFromEnv, withCrashInjection } from './crash.ts';
import { createThreadWorkerPool } from './worker-pool.ts';

export type RuntimeName = 'node' | 'bun' | 'deno';

/** A Host plus what the runtime adapter found out while building it. */
export interface RuntimeHost extends Host {
  runtime: RuntimeName;
  /** Name of the xattr backend in use, or null when `fs.xattrs` is undefined. */
  xattrBackend: string | null;
  /** Why there are no xattrs (debug aid), when there are none. */
  xattrUnavailableReason?: string;
}

function availableCores(): number {
  const n =
    typeof os.availableParallelism === 'function'
      ? ifPermitted(os.availableParallelism)
      : ifPermitted(() => os.cpus().length);
  return n !== undefined && n >= 1 ? n : 1;
}

/** Calls `f`, answering undefined where the runtime refuses (Deno without --allow-sys). */
function ifPermitted<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/**
 * process.env, or under Deno without --allow-env a view of it whose reads answer undefined
 * instead of throwing NotCapable.
 */
function readableEnv(): Record<string, string | undefined> {
  try {
    void process.env.PATH;
    return process.env;
  } catch {
    return new Proxy({} as Record<string, string | undefined>, {
      get: (_t, key) => (typeof key === 'string' ? ifPermitted(() => process.env[key]) : undefined),
    });
  }
}

/**
 * Threads of the worker pool: XYLEM_WORKERS=N (0 = none); by default cores - 1 when there are at
 * least two cores (Node, Bun and Deno alike: the pool's eval'd worker runs in all three).
 */
function workerPoolFromEnv(cores: number, env: Record<string, string | undefined>): number {
  const v = env.XYLEM_WORKERS;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 64) throw new RangeError(`XYLEM_WORKERS must be an integer in 0..64, got ${JSON.stringify(v)}`);
    return n;
  }
  return cores >= 2 ? cores - 1 : 0;
}

const pools = new Map<number, WorkerPool>();

/** One pool per thread count for the whole process: every host built here shares its threads. */
function sharedWorkerPool(cores: number, size: number): WorkerPool {
  let p = pools.get(size);
  if (!p) pools.set(size, (p = createThreadWorkerPool(cores, { size })));
  return p;
}

/** Builds the Host shared by the Node, Bun and Deno adapters. */
export function assemblePosixHost(runtime: RuntimeName, xattrLoad: XattrLoad, fsOptions: { blockingCalls?: boolean } = {}): RuntimeHost {
  const env = readableEnv();
  const baseFs = createPosixFs({ ...(xattrLoad.xattrs ? { xattrs: xattrLoad.xattrs } : {}), ...fsOptions });
  // Fault injection for crash campaigns (XYLEM_CRASH_AT / XYLEM_CRASH_COUNT), decided once here.
  const crashPlan = crashPlanFromEnv(env);
  const host: RuntimeHost = {
    runtime,
    fs: crashPlan ? withCrashInjection(baseFs, crashPlan) : baseFs,
    hash: nodeHashProvider,
    deflate: nodeDeflateProvider,
    env,
    now: Date.now,
    locks: createPosixLocks(env),
    sandbox: createBwrapSandbox(env),
    mounts: createPosixMounts(),
    wasm: posixWasmSources(),
    concurrency: availableCores(),
    xattrBackend: xattrLoad.xattrs ? xattrLoad.backend : null,
  };
  const workers = workerPoolFromEnv(host.concurrency ?? 1, env);
  if (workers) host.workers = sharedWorkerPool(host.concurrency ?? 1, workers);
  if (typeof globalThis.fetch === 'function') host.fetch = globalThis.fetch.bind(globalThis);
  const uid = typeof process.getuid === 'function' ? ifPermitted(process.getuid) : undefined;
  const gid = typeof process.getgid === 'function' ? ifPermitted(process.getgid) : undefined;
  if (uid !== undefined) host.uid = uid;
  if (gid !== undefined) host.gid = gid;
  if (!xattrLoad.xattrs) host.xattrUnavailableReason = xattrLoad.reason ?? 'no xattr backend';
  return host;
}
