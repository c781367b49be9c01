// XattrHost over the libc l*xattr calls (lgetxattr, lsetxattr, llistxattr, lremovexattr), which
// act on a symlink itself. Runtime-specific FFI (bun:ffi, Deno.dlopen) supplies the raw calls.

import * as os from 'node:os';
import type { XattrHost } from '../../src/host.ts';
import { errnoError, errnoName } from './errors.ts';

/** The raw libc calls; each returns -1 on failure and leaves the reason in errno(). */
export interface LibcXattrCalls {
  lgetxattr(path: Uint8Array, name: Uint8Array, buf: Uint8Array | null, size: number): number;
  lsetxattr(path: Uint8Array, name: Uint8Array, value: Uint8Array | null, size: number, flags: number): number;
  llistxattr(path: Uint8Array, buf: Uint8Array | null, size: number): number;
  lremovexattr(path: Uint8Array, name: Uint8Array): number;
  /** errno of the calling thread, read right after a failed call. */
  errno(): number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ERANGE_RETRIES = 8;

/** A NUL-terminated copy of a string, as C expects. */
export function cString(s: string): Uint8Array {
  const bytes = new Uint8Array(s.length * 3 + 1);
  const { written } = encoder.encodeInto(s, bytes);
  return bytes.subarray(0, written + 1);
}

function checkPath(path: string, what: string): void {
  if (typeof path !== 'string' || path.length === 0) throw new TypeError(`${what}: path must be a non-empty string`);
}

function checkName(name: string, what: string): void {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError(`${what}: name must be a non-empty string`);
}

/** Builds an XattrHost from raw libc calls. */
export function createLibcXattrs(c: LibcXattrCalls): XattrHost {
  const errnoTable = os.constants.errno as Record<string, number>;
  const fail = (syscall: string, path: string): Error => errnoError(errnoName(c.errno(), errnoTable), syscall, path);

  return {
    async list(path: string): Promise<string[]> {
      checkPath(path, 'xattrs.list');
      const p = cString(path);
      for (let attempt = 0; attempt < ERANGE_RETRIES; attempt++) {
        const size = c.llistxattr(p, null, 0);
        if (size < 0) throw fail('llistxattr', path);
        if (size === 0) return [];
        const buf = new Uint8Array(size);
        const got = c.llistxattr(p, buf, size);
        if (got < 0) {
          // The list grew between the two calls: ask for the size again.
          if (errnoName(c.errno(), errnoTable) === 'ERANGE') continue;
          throw fail('llistxattr', path);
        }
        const names: string[] = [];
        let start = 0;
        for (let i = 0; i < got; i++) {
          if (buf[i] === 0) {
            if (i > start) names.push(decoder.decode(buf.subarray(start, i)));
            start = i + 1;
          }
        }
        return names;
      }
      throw errnoError('ERANGE', 'llistxattr', path);
    },

    async get(path: string, name: string): Promise<Uint8Array | null> {
      checkPath(path, 'xattrs.get');
      checkName(name, 'xattrs.get');
      const p = cString(path);
      const n = cString(name);
      for (let attempt = 0; attempt < ERANGE_RETRIES; attempt++) {
        const size = c.lgetxattr(p, n, null, 0);
        if (size < 0) {
          if (errnoName(c.errno(), errnoTable) === 'ENODATA') return null;
          throw fail('lgetxattr', path);
        }
        if (size === 0) return new Uint8Array(0);
        const buf = new Uint8Array(size);
        const got = c.lgetxattr(p, n, buf, size);
        if (got < 0) {
          const code = errnoName(c.errno(), errnoTable);
          if (code === 'ERANGE') continue;
          if (code === 'ENODATA') return null;
          throw fail('lgetxattr', path);
        }
        return got === size ? buf : buf.subarray(0, got);
      }
      throw errnoError('ERANGE', 'lgetxattr', path);
    },

    async set(path: string, name: string, value: Uint8Array): Promise<void> {
      checkPath(path, 'xattrs.set');
      checkName(name, 'xattrs.set');
      if (!(value instanceof Uint8Array)) throw new TypeError('xattrs.set: value must be a Uint8Array');
      const v = value.byteLength === 0 ? null : value;
      if (c.lsetxattr(cString(path), cString(name), v, value.byteLength, 0) < 0) throw fail('lsetxattr', path);
    },

    async remove(path: string, name: string): Promise<void> {
      checkPath(path, 'xattrs.remove');
      checkName(name, 'xattrs.remove');
      if (c.lremovexattr(cString(path), cString(name)) < 0) throw fail('lremovexattr', path);
    },
  };
}
