// Making an ed25519 key pair in the layout libostree's ed25519 engine reads (`ostree sign
// --keys-file`, trusted.ed25519): public = 32 bytes, secret = 64 bytes (libsodium's seed ‖ public),
// both also as base64 text. The seed comes from the platform's CSPRNG (crypto.getRandomValues).

import { concatBytes } from '../util/bytes.ts';
import { ed25519PublicKeyFromSeed } from './ed25519.ts';

export interface Ed25519KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
  /** base64 of publicKey: a line of a trusted.ed25519 file, or `--keys-file` content for verifying. */
  publicKeyBase64: string;
  /** base64 of secretKey: what `ostree sign --keys-file` reads for signing. */
  secretKeyBase64: string;
}

function base64(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

/** A new ed25519 key pair; `seed` (32 bytes) makes it deterministic, e.g. for tests. */
export async function generateEd25519KeyPair(seed?: Uint8Array): Promise<Ed25519KeyPair> {
  if (seed !== undefined && (!(seed instanceof Uint8Array) || seed.length !== 32)) throw new TypeError('generateEd25519KeyPair: seed must be 32 bytes');
  const s = seed ? seed.slice() : crypto.getRandomValues(new Uint8Array(32));
  const publicKey = await ed25519PublicKeyFromSeed(s);
  const secretKey = concatBytes([s, publicKey]);
  return { publicKey, secretKey, publicKeyBase64: base64(publicKey), secretKeyBase64: base64(secretKey) };
}
