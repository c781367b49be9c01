// Picks the SHA-256 implementation the engine hashes with: the host's native one when it has it
// (node:crypto is several times faster than any WASM), else the WASM core, else @noble/hashes.

import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import type { HashProvider, Sha256 } from '../host.ts';
import { loadCoreSync, wasmHashProvider } from '../../core-wasm/index.ts';

export const nobleHashProvider: HashProvider = {
  name: 'noble',
  createSha256(): Sha256 {
    const h = nobleSha256.create();
    return {
      update(d: Uint8Array) {
        h.update(d);
      },
      digest() {
        return h.digest();
      },
    };
  },
  sha256(data: Uint8Array): Uint8Array {
    return nobleSha256(data);
  },
};

/** Returns a one-shot sha256 function for a provider. */
export function oneShot(p: HashProvider): (data: Uint8Array) => Uint8Array {
  if (p.sha256) return p.sha256.bind(p);
  return (data: Uint8Array) => {
    const h = p.createSha256();
    h.update(data);
    return h.digest();
  };
}

let wasmProvider: HashProvider | null | undefined;

/** The WASM core's SHA-256 (loaded on first use); null if WebAssembly is unavailable. */
export function wasmSha256Provider(): HashProvider | null {
  if (wasmProvider === undefined) {
    try {
      wasmProvider = wasmHashProvider(loadCoreSync());
    } catch {
      wasmProvider = null;
    }
  }
  return wasmProvider;
}

/** The fastest provider available: the host's native one, else the WASM core, else noble. */
export function selectHashProvider(hostProvider: HashProvider | undefined): HashProvider {
  return hostProvider ?? wasmSha256Provider() ?? nobleHashProvider;
}
