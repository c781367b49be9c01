// Checksums of rpm-md files and packages as createrepo_c names them (`md5`, `sha`/`sha1`, `sha224`,
// `sha256`, `sha384`, `sha512`), computed while bytes stream past: a pass-through that hashes and
// counts, then checks the digest and size at the end (librepo's checksum verification of
// repomd-listed files, and of packages against their pkgid). SHA-256 uses the host's native hash
// when it has one.

import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { HashProvider } from '../host.ts';
import { toHex } from '../util/bytes.ts';
import { CorruptionError, XylemError } from '../util/errors.ts';

/** A checksum as repomd.xml / primary.xml give it. */
export interface Checksum {
  /** createrepo_c's name: md5, sha, sha1, sha224, sha256, sha384, sha512. */
  type: string;
  /** Lower-case hex digest. */
  value: string;
}

interface Hasher {
  update(d: Uint8Array): void;
  digest(): Uint8Array;
}

const NOBLE: Record<string, { create(): Hasher; hexLength: number }> = {
  md5: { create: () => md5.create(), hexLength: 32 },
  sha: { create: () => sha1.create(), hexLength: 40 },
  sha1: { create: () => sha1.create(), hexLength: 40 },
  sha224: { create: () => sha224.create(), hexLength: 56 },
  sha256: { create: () => sha256.create(), hexLength: 64 },
  sha384: { create: () => sha384.create(), hexLength: 96 },
  sha512: { create: () => sha512.create(), hexLength: 128 },
};

/** Whether `type` is a checksum type we can compute. */
export function isKnownChecksumType(type: string): boolean {
  return typeof type === 'string' && Object.hasOwn(NOBLE, type.toLowerCase());
}

/** Validates a checksum read from metadata: a known type and a hex digest of the right length. */
export function validateChecksum(c: Checksum, what: string): Checksum {
  const type = c.type.toLowerCase();
  const info = NOBLE[type];
  if (!Object.hasOwn(NOBLE, type) || !info) throw new XylemError(`${what}: unsupported checksum type '${c.type}'`, 'ENOTSUP');
  const value = c.value.trim().toLowerCase();
  if (value.length !== info.hexLength || !/^[0-9a-f]+$/.test(value)) throw new XylemError(`${what}: malformed ${type} checksum '${c.value}'`, 'EINVAL');
  return { type, value };
}

/** A hasher for `type` (sha256 through `provider` when given). */
export function createHasher(type: string, provider?: HashProvider): Hasher {
  const t = type.toLowerCase();
  if (t === 'sha256' && provider) return provider.createSha256();
  const info = Object.hasOwn(NOBLE, t) ? NOBLE[t] : undefined;
  if (!info) throw new XylemError(`unsupported checksum type '${type}'`, 'ENOTSUP');
  return info.create();
}

export interface VerifyOptions {
  /** What the bytes are, for errors. */
  what: string;
  /** Expected checksum (already validated); null to only count. */
  checksum: Checksum | null;
  /** Expected size in bytes; null when unknown. */
  size: number | null;
  provider?: HashProvider;
  /** Refuse more bytes than this (when size is unknown). */
  maxBytes?: number;
}

/**
 * Passes `input` through, hashing and counting. After the last chunk, throws CorruptionError when
 * the size or checksum differs (a consumer must not trust what it read until the stream ends).
 */
export async function* verifyStream(input: AsyncIterable<Uint8Array>, opts: VerifyOptions): AsyncGenerator<Uint8Array> {
  const h = opts.checksum ? createHasher(opts.checksum.type, opts.provider) : null;
  let n = 0;
  const cap = opts.size ?? opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
  for await (const c of input) {
    n += c.length;
    if (n > cap) {
      if (opts.size !== null) throw new CorruptionError(`${opts.what}: larger than its declared size of ${opts.size} bytes`);
      throw new XylemError(`${opts.what}: larger than the limit of ${cap} bytes`, 'ETOOBIG');
    }
    h?.update(c);
    yield c;
  }
  if (opts.size !== null && n !== opts.size) throw new CorruptionError(`${opts.what}: size is ${n} bytes, expected ${opts.size}`);
  if (h && opts.checksum) {
    const got = toHex(h.digest());
    if (got !== opts.checksum.value) throw new CorruptionError(`${opts.what}: ${opts.checksum.type} checksum is ${got}, expected ${opts.checksum.value}`);
  }
}
