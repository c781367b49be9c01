// The Deno host: posix fs, node:crypto, node:zlib, and xattrs through Deno.dlopen of libc's
// l*xattr functions (Linux/glibc; needs --allow-ffi), falling back to the @napi-rs/xattr addon.

import process from 'node:process';
import { assemblePosixHost } from '../posix/host.ts';
import type { RuntimeHost } from '../posix/host.ts';
import { loadNapiXattrs } from '../posix/xattr-napi.ts';
import type { XattrLoad } from '../posix/xattr-napi.ts';
import { createLibcXattrs } from '../posix/xattr-libc.ts';

export type { RuntimeHost } from '../posix/host.ts';

export interface DenoHostOptions {
  /** 'auto' (default): libc FFI, else the addon; 'ffi' or 'napi' force one; false disables. */
  xattrs?: 'auto' | 'ffi' | 'napi' | false;
}

// The slice of the Deno namespace used here (declared locally: tsc runs without Deno's types).
interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, { parameters: string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointerView: new (ptr: unknown) => { getInt32(offset?: number): number };
}

const LIBC = 'libc.so.6';

function loadFfiXattrs(): XattrLoad {
  if (process.platform !== 'linux') return { backend: null, reason: `libc xattr FFI is Linux-only (platform ${process.platform})` };
  const deno = (globalThis as { Deno?: DenoFfi }).Deno;
  if (deno === undefined || typeof deno.dlopen !== 'function') return { backend: null, reason: 'Deno.dlopen is not available' };
  try {
    const { symbols: s } = deno.dlopen(LIBC, {
      lgetxattr: { parameters: ['buffer', 'buffer', 'buffer', 'usize'], result: 'isize' },
      lsetxattr: { parameters: ['buffer', 'buffer', 'buffer', 'usize', 'i32'], result: 'i32' },
      llistxattr: { parameters: ['buffer', 'buffer', 'usize'], result: 'isize' },
      lremovexattr: { parameters: ['buffer', 'buffer'], result: 'i32' },
      __errno_location: { parameters: [], result: 'pointer' },
    });
    const xattrs = createLibcXattrs({
      lgetxattr: (path, name, buf, size) => Number(s.lgetxattr(path, name, buf, size)),
      lsetxattr: (path, name, value, size, flags) => Number(s.lsetxattr(path, name, value, size, flags)),
      llistxattr: (path, buf, size) => Number(s.llistxattr(path, buf, size)),
      lremovexattr: (path, name) => Number(s.lremovexattr(path, name)),
      errno: () => new deno.UnsafePointerView(s.__errno_location()).getInt32(0),
    });
    return { xattrs, backend: `libc (${LIBC}) via Deno.dlopen` };
  } catch (e) {
    // Typically NotCapable/PermissionDenied without --allow-ffi.
    return { backend: null, reason: `Deno.dlopen libc xattrs unavailable: ${(e as Error).message}` };
  }
}

/** Creates the Host for Deno. `fs.xattrs` is undefined when neither backend loads. */
export function createDenoHost(opts: DenoHostOptions = {}): RuntimeHost {
  if (typeof opts !== 'object' || opts === null) throw new TypeError('createDenoHost: options must be an object');
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
  return assemblePosixHost('deno', load);
}
