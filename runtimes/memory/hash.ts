// SHA-256 in pure JavaScript (@noble/hashes), for hosts without native crypto (browsers, tests).

import { sha256 } from '@noble/hashes/sha2.js';
import type { HashProvider, Sha256 } from '../../src/host.ts';

export const nobleHashProvider: HashProvider = {
  name: '@noble/hashes',
  createSha256(): Sha256 {
    return sha256.create();
  },
  sha256(data: Uint8Array): Uint8Array {
    if (!(data instanceof Uint8Array)) throw new TypeError('sha256: data must be a Uint8Array');
    return sha256(data);
  },
};
