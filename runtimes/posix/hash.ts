// SHA-256 through node:crypto (OpenSSL/BoringSSL in Node, Bun and Deno): the fast path for hosts.

import type * as cryptoNs from 'node:crypto';
import type { HashProvider, Sha256 } from '../../src/host.ts';
import { lazyBuiltin } from './builtin.ts';

const crypto = lazyBuiltin<typeof cryptoNs>('node:crypto');

function plain(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

class NodeSha256 implements Sha256 {
  private readonly h = crypto().createHash('sha256');
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Uint8Array {
    return plain(this.h.digest());
  }
}

type OneShotHash = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Uint8Array;
// crypto.hash (Node ≥20.12, Bun, Deno) skips the Hash object for one-shot digests.
let oneShot: OneShotHash | null | undefined;

function sha256OneShot(data: Uint8Array): Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError('sha256: data must be a Uint8Array');
  if (oneShot === undefined) oneShot = (crypto() as unknown as { hash?: OneShotHash }).hash?.bind(crypto()) ?? null;
  if (oneShot !== null) return plain(oneShot('sha256', data, 'buffer'));
  return plain(crypto().createHash('sha256').update(data).digest());
}

export const nodeHashProvider: HashProvider = {
  name: 'node:crypto',
  createSha256(): Sha256 {
    return new NodeSha256();
  },
  sha256: sha256OneShot,
};
