// The Bun host: posix fs, node:crypto, node:zlib, and xattrs through bun:ffi calls into libc's
// l*xattr functions (Linux/glibc), falling back to the @napi-rs/xattr addon.

import { createRequire } from 'node:module';
import process from 'node:process';
import { assemblePosixHost } from '../posix/host.ts';
import type { RuntimeHost } from '../posix/host.ts';
import { loadNapiXattrs } from '../posix/xattr-napi.ts';
import type { XattrLoad } from '../posix/xattr-napi.ts';
import { createLibcXattrs } from '../posix/xattr-libc.ts';

export type { RuntimeHost } from '../posix/host.ts';

export interface BunHostOptions {
  /** 'auto' (default): libc FFI, else the addon; 'ffi' or 'napi' force one; false disables. */
  xattrs?: 'auto' | 'ffi' | 'napi' | false;
  /** Path-based fs calls as blocking syscalls (faster for CLI work; see PosixFsOptions). Default false. */
  blockingCalls?: boolean;
}

// The slice of bun:ffi used here (declared locally: this package does not depend on bun-types).
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): {
    symbols: Record<string, (...args: unknown[]) => number | bigint>;
  };
  read: { i32(ptr: number, offset: number): number };
}

const LIBC = 'libc.so.6';

function loadFfiXattrs(): XattrLoad {
  if (process.platform !== 'linux') return { backend: null, reason: `libc xattr FFI is Linux-only (platform ${process.platform})` };
  try {
    const ffi = createRequire(import.meta.url)('bun:ffi') as BunFfi;
    const { symbols: s } = ffi.dlopen(LIBC, {
      lgetxattr: { args: ['ptr', 'ptr', 'ptr', 'u64'], returns: 'i64_fast' },
      lsetxattr: { args: ['ptr', 'ptr', 'ptr', 'u64', 'i32'], returns: 'i32' },
      llistxattr: { args: ['ptr', 'ptr', 'u64'], returns: 'i64_fast' },
      lremovexattr: { args: ['ptr', 'ptr'], returns: 'i32' },
      __errno_location: { args: [], returns: 'ptr' },
    });
    const xattrs = createLibcXattrs({
      lgetxattr: (path, name, buf, size) => Number(s.lgetxattr(path, name, buf, size)),
      lsetxattr: (path, name, value, size, flags) => Number(s.lsetxattr(path, name, value, size, flags)),
      llistxattr: (path, buf, size) => Number(s.llistxattr(path, buf, size)),
      lremovexattr: (path, name) => Number(s.lremovexattr(path, name)),
      errno: () => ffi.read.i32(Number(s.__errno_location()), 0),
    });
    return { xattrs, backend: `libc (${LIBC}) via bun:ffi` };
  } catch (e) {
    return { backend: null, reason: `bun:ffi libc xattrs unavailable: ${(e as Error).message}` };
  }
}

/** Creates the Host for Bun. `fs.xattrs` is undefined when neither backend loads. */
export function createBunHost(opts: BunHostOptions = {}): RuntimeHost {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('createBunHost: options must be an object');
  const mode = opts.xattrs ?? 'auto';
  let load: XattrLoad;
  if (mode === false) load = { backend: null, reason: 'disabled by options' };
  else if (mode === 'napi') load = loadNapiXattrs();
  else {
    load = loadFfiXattrs();
    if (!load.xattrs && mode === 'auto') {
      const napi = loadNapiXattrs();
      load = napi.xattrs ? napi : { backend: null, reason: `${load.reason}; ${napi.reason}` };
    }
  }
  return assemblePosixHost('bun', load, { blockingCalls: opts.blockingCalls ?? false });
}
