// Assembles a Host for a runtime that speaks node:* (Node, Bun, Deno): posix fs, node:crypto,
// node:zlib, global fetch, process env/ids, and whichever xattr backend the runtime found.

import * as os from 'node:os';
import process from 'node:process';
import type { Host } from '../../src/host.ts';
import { createPosixFs } from './fs.ts';
import { nodeHashProvider } from './hash.ts';
import { nodeDeflateProvider } from './deflate.ts';
import type { XattrLoad } from './xattr-napi.ts';

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
  try {
    if (typeof os.availableParallelism === 'function') return Math.max(1, os.availableParallelism());
    return Math.max(1, os.cpus().length);
  } catch {
    return 1;
  }
}

/** Builds the Host shared by the Node, Bun and Deno adapters. */
export function assemblePosixHost(runtime: RuntimeName, xattrLoad: XattrLoad): RuntimeHost {
  const host: RuntimeHost = {
    runtime,
    fs: createPosixFs(xattrLoad.xattrs ? { xattrs: xattrLoad.xattrs } : {}),
    hash: nodeHashProvider,
    deflate: nodeDeflateProvider,
    env: process.env,
    now: Date.now,
    concurrency: availableCores(),
    xattrBackend: xattrLoad.xattrs ? xattrLoad.backend : null,
  };
  if (typeof globalThis.fetch === 'function') host.fetch = globalThis.fetch.bind(globalThis);
  if (typeof process.getuid === 'function') host.uid = process.getuid();
  if (typeof process.getgid === 'function') host.gid = process.getgid();
  if (!xattrLoad.xattrs) host.xattrUnavailableReason = xattrLoad.reason ?? 'no xattr backend';
  return host;
}
