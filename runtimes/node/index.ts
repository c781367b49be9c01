// The Node host: posix fs, node:crypto, node:zlib, a node:http client for pulls, and xattrs from the
// optional native addon @napi-rs/xattr (loaded when the host is created, not when this module is imported).

import { assemblePosixHost } from '../posix/host.ts';
import type { RuntimeHost } from '../posix/host.ts';
import { loadNapiXattrs } from '../posix/xattr-napi.ts';
import { nodeHttpClient } from '../posix/http.ts';

export type { RuntimeHost } from '../posix/host.ts';

export interface NodeHostOptions {
  /** Set false to run without xattrs even when the addon is installed. Default true. */
  xattrs?: boolean;
  /** Path-based fs calls as blocking syscalls (faster for CLI work; see PosixFsOptions). Default false. */
  blockingCalls?: boolean;
}

/** Creates the Host for Node ≥20. `fs.xattrs` is undefined when @napi-rs/xattr cannot load. */
export function createNodeHost(opts: NodeHostOptions = {}): RuntimeHost {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('createNodeHost: options must be an object');
  const load = opts.xattrs === false ? { backend: null, reason: 'disabled by options' } : loadNapiXattrs({ blocking: opts.blockingCalls ?? false });
  const host = assemblePosixHost('node', load, { blockingCalls: opts.blockingCalls ?? false });
  host.http = nodeHttpClient;
  return host;
}
