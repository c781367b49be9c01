// The hash algorithms rpm names by OpenPGP id in FILEDIGESTALGO and PAYLOADDIGESTALGO (MD5 1,
// SHA-1 2, SHA-256 8, SHA-384 9, SHA-512 10, SHA-224 11, SHA3-256 12, SHA3-512 14), as incremental
// hashers from @noble/hashes (pure JS: runs on every runtime).

import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { sha3_256, sha3_512 } from '@noble/hashes/sha3.js';
import { DigestAlgo } from './tags.ts';

/** An incremental hash. */
export interface Hasher {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

const ALGOS: ReadonlyMap<number, { name: string; create: () => Hasher }> = new Map([
  [DigestAlgo.MD5, { name: 'MD5', create: () => md5.create() }],
  [DigestAlgo.SHA1, { name: 'SHA1', create: () => sha1.create() }],
  [DigestAlgo.SHA256, { name: 'SHA256', create: () => sha256.create() }],
  [DigestAlgo.SHA384, { name: 'SHA384', create: () => sha384.create() }],
  [DigestAlgo.SHA512, { name: 'SHA512', create: () => sha512.create() }],
  [DigestAlgo.SHA224, { name: 'SHA224', create: () => sha224.create() }],
  [DigestAlgo.SHA3_256, { name: 'SHA3-256', create: () => sha3_256.create() }],
  [DigestAlgo.SHA3_512, { name: 'SHA3-512', create: () => sha3_512.create() }],
]);

/** A hasher for an rpm digest algorithm id, or null when unknown. */
export function createHasher(algo: number): Hasher | null {
  const a = ALGOS.get(algo);
  return a ? a.create() : null;
}

/** The algorithm's name (`SHA256`), or `algo N`. */
export function digestAlgoName(algo: number): string {
  return ALGOS.get(algo)?.name ?? `algo ${algo}`;
}

/** One-shot digest of `data` (the algorithm must be known). */
export function digestBytes(algo: number, data: Uint8Array): Uint8Array {
  const h = createHasher(algo);
  if (h === null) throw new TypeError(`unknown digest algorithm ${algo}`);
  h.update(data);
  return h.digest();
}
