// openpgp.js reads `crypto.subtle` when it loads and refuses to start without it, but browsers
// expose WebCrypto only in secure contexts (https, localhost): a plain-http LAN host has none.
// This installs a minimal stand-in where it is missing: `digest` (SHA-1/256/384/512, SHA-256 in the
// WASM core, the others by @noble/hashes) and every other method rejecting with NotSupportedError,
// which makes openpgp.js fall back to its own JS code for key operations (ed25519 through
// tweetnacl, RSA through its bigint code). Does nothing when a real WebCrypto exists.

import { sha384, sha512 } from '@noble/hashes/sha2.js';
import { sha1 } from '@noble/hashes/legacy.js';
import type { Core } from '../../core-wasm/index.ts';

function notSupported(): Promise<never> {
  const e = new Error('WebCrypto is not available here (insecure context); using the JavaScript fallback');
  e.name = 'NotSupportedError';
  return Promise.reject(e);
}

function bytesOf(data: BufferSource): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

function algorithmName(alg: AlgorithmIdentifier): string {
  return (typeof alg === 'string' ? alg : alg.name).toUpperCase();
}

/** True when a stand-in was installed (crypto.subtle was missing). */
export function installWebCryptoFallback(core: Core): boolean {
  const c = globalThis.crypto as Crypto | undefined;
  if (!c || c.subtle) return false;
  const digest = async (alg: AlgorithmIdentifier, data: BufferSource): Promise<ArrayBuffer> => {
    const input = bytesOf(data);
    const name = algorithmName(alg);
    const out = name === 'SHA-256' ? core.sha256(input) : name === 'SHA-512' ? sha512(input) : name === 'SHA-384' ? sha384(input) : name === 'SHA-1' ? sha1(input) : null;
    if (out === null) return notSupported();
    return out.slice().buffer as ArrayBuffer;
  };
  const subtle = {
    digest,
    importKey: notSupported,
    exportKey: notSupported,
    generateKey: notSupported,
    sign: notSupported,
    verify: notSupported,
    encrypt: notSupported,
    decrypt: notSupported,
    deriveBits: notSupported,
    deriveKey: notSupported,
    wrapKey: notSupported,
    unwrapKey: notSupported,
  };
  Object.defineProperty(c, 'subtle', { value: subtle, configurable: true, enumerable: true });
  return true;
}
