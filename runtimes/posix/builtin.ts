// Loads a node:* built-in module on first use instead of at import time. Node, Bun and Deno all
// answer require() of built-ins through node:module's createRequire; the CLI's start-up (ostree's
// test suite runs it thousands of times) should not pay for crypto, zlib or child_process in
// commands that never hash, inflate or lock.

import { createRequire } from 'node:module';

let req: NodeJS.Require | null = null;

/** Returns a function that loads the built-in `name` (e.g. 'node:zlib') once, when first called. */
export function lazyBuiltin<T>(name: string): () => T {
  if (typeof name !== 'string' || !name.startsWith('node:')) throw new TypeError(`lazyBuiltin: ${String(name)} is not a node: built-in`);
  let mod: T | undefined;
  return () => {
    if (mod === undefined) {
      req ??= createRequire(import.meta.url);
      mod = req(name) as T;
    }
    return mod;
  };
}
