// XattrHost over the optional native addon @napi-rs/xattr (N-API, so it loads in Node, Bun and
// Deno --allow-ffi). Verified: it acts on a symlink itself (l*xattr), as OSTree needs.

import { createRequire } from 'node:module';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import { Buffer } from 'node:buffer';
import type { XattrHost } from '../../src/host.ts';
import { errnoError, errnoName, withPath } from './errors.ts';

interface NapiXattr {
  getAttribute(path: string, name: string): Promise<Uint8Array | null>;
  setAttribute(path: string, name: string, value: Uint8Array): Promise<void>;
  listAttributes(path: string): Promise<string[]>;
  removeAttribute(path: string, name: string): Promise<void>;
}

/** Result of trying to load an xattr backend. */
export interface XattrLoad {
  xattrs?: XattrHost;
  /** Which backend loaded ('@napi-rs/xattr', 'libc via bun:ffi', …), or null. */
  backend: string | null;
  /** Why no backend is available (for debugging), when none is. */
  reason?: string;
}

/**
 * The addon reports failures as `GenericFailure` with "… (os error N)": turn that back into an
 * errno-coded error naming the path.
 */
function napiError(e: unknown, syscall: string, path: string): unknown {
  const m = e instanceof Error ? /\(os error (\d+)\)/.exec(e.message) : null;
  if (m === null) return withPath(e, path);
  const err = errnoError(errnoName(Number(m[1]), os.constants.errno as Record<string, number>), syscall, path);
  (err as { cause?: unknown }).cause = e;
  return err;
}

function toBuffer(value: Uint8Array): Uint8Array {
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function wrap(mod: NapiXattr): XattrHost {
  return {
    async list(path: string): Promise<string[]> {
      try {
        return await mod.listAttributes(path);
      } catch (e) {
        throw napiError(e, 'llistxattr', path);
      }
    },
    async get(path: string, name: string): Promise<Uint8Array | null> {
      let value: Uint8Array | null;
      try {
        value = await mod.getAttribute(path, name);
      } catch (e) {
        throw napiError(e, 'lgetxattr', path);
      }
      if (value !== null) return plain(value);
      // The addon also answers null for a missing path: tell that apart (rare path, one lstat).
      try {
        await fsp.lstat(path);
      } catch (e) {
        throw withPath(e, path);
      }
      return null;
    },
    async set(path: string, name: string, value: Uint8Array): Promise<void> {
      if (!(value instanceof Uint8Array)) throw new TypeError('xattrs.set: value must be a Uint8Array');
      try {
        await mod.setAttribute(path, name, toBuffer(value));
      } catch (e) {
        throw napiError(e, 'lsetxattr', path);
      }
    },
    async remove(path: string, name: string): Promise<void> {
      try {
        await mod.removeAttribute(path, name);
      } catch (e) {
        throw napiError(e, 'lremovexattr', path);
      }
    },
  };
}

interface NapiXattrSync {
  getAttributeSync(path: string, name: string): Uint8Array | null;
  setAttributeSync(path: string, name: string, value: Uint8Array): void;
  listAttributesSync(path: string): string[];
  removeAttributeSync(path: string, name: string): void;
}

/** The addon's blocking calls behind the same promise API (no worker round trip per call). */
function blockingApi(mod: NapiXattrSync): NapiXattr {
  return {
    getAttribute: async (p, n) => mod.getAttributeSync(p, n),
    setAttribute: async (p, n, v) => mod.setAttributeSync(p, n, v),
    listAttributes: async (p) => mod.listAttributesSync(p),
    removeAttribute: async (p, n) => mod.removeAttributeSync(p, n),
  };
}

/**
 * Loads @napi-rs/xattr if it is installed and its native binary fits this platform. With
 * `blocking`, each call is a direct syscall on the calling thread (much cheaper per call).
 */
export function loadNapiXattrs(opts: { blocking?: boolean } = {}): XattrLoad {
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@napi-rs/xattr') as Partial<NapiXattr & NapiXattrSync>;
    if (typeof mod.getAttribute !== 'function' || typeof mod.listAttributes !== 'function') {
      return { backend: null, reason: '@napi-rs/xattr loaded but lacks getAttribute/listAttributes' };
    }
    if (opts.blocking && typeof mod.getAttributeSync === 'function')
      return { xattrs: wrap(blockingApi(mod as NapiXattrSync)), backend: '@napi-rs/xattr' };
    return { xattrs: wrap(mod as NapiXattr), backend: '@napi-rs/xattr' };
  } catch (e) {
    return { backend: null, reason: `@napi-rs/xattr did not load: ${(e as Error).message}` };
  }
}
