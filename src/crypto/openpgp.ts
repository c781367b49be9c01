// Loads openpgp.js on demand (it is large: only signing/verifying code paths pay for it) and holds
// the configuration xylem uses with it.

import type { PartialConfig } from 'openpgp';

export type OpenPgp = typeof import('openpgp');

let loading: Promise<OpenPgp> | null = null;

export function loadOpenPgp(): Promise<OpenPgp> {
  loading ??= import('openpgp');
  return loading;
}

/**
 * Signing: no openpgp.js salt notation (GnuPG adds none), SHA-512 unless the key says otherwise.
 * Verification: accept what GnuPG accepts for data signatures (SHA-1 included); reject MD5/RIPEMD.
 */
export async function pgpConfig(pgp: OpenPgp): Promise<PartialConfig> {
  const h = pgp.enums.hash;
  return {
    nonDeterministicSignaturesViaNotation: false,
    preferredHashAlgorithm: h.sha512,
    rejectMessageHashAlgorithms: new Set([h.md5, h.ripemd]),
    rejectHashAlgorithms: new Set([h.md5, h.ripemd]),
    minRSABits: 1024,
  };
}
