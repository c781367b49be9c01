// libostree's "signapi" (OstreeSign): named signature engines that sign bytes with a secret key and
// verify a list of signatures against loaded public keys. ed25519 and the test-only dummy engine
// are provided; engines are created by name like ostree_sign_get_by_name.

import type { FsHost } from '../host.ts';
import { XylemError } from '../util/errors.ts';

/** A key as ostree passes it: base64 text (command line, key files) or raw bytes. */
export type SignKey = string | Uint8Array;

export interface LoadKeysOptions {
  /** A file with one key per line (ostree's `filename` option). */
  filename?: string;
  /** Use BASEDIR/trusted.<engine>{,.d} and revoked.<engine>{,.d} instead of the system dirs. */
  basedir?: string;
}

export interface Signer {
  readonly name: string;
  /** The detached-metadata key its signatures live under (aay). */
  readonly metadataKey: string;
  setSecretKey(key: SignKey): void;
  /** Replaces the public keys with this one. */
  setPublicKey(key: SignKey): void;
  addPublicKey(key: SignKey): void;
  /** ostree_sign_load_pk. */
  loadPublicKeys(opts: LoadKeysOptions): Promise<void>;
  /** A signature over `data` with the secret key. */
  sign(data: Uint8Array): Promise<Uint8Array>;
  /** Checks `signatures` (null: none stored) over `data`; returns ostree's success message or throws. */
  verify(data: Uint8Array, signatures: Uint8Array[] | null): Promise<string>;
}

export interface SignerEnvironment {
  fs: FsHost;
  env?: Record<string, string | undefined>;
  /**
   * System key directories searched when no basedir is given (default: /etc/ostree and
   * /usr/share/ostree, as libostree built with a /usr prefix).
   */
  systemKeyDirs?: string[];
}

export const SIGNER_NAMES = ['ed25519', 'dummy'] as const;
export type SignerName = (typeof SIGNER_NAMES)[number];

/** ostree_sign_get_by_name. */
export async function getSigner(name: string, senv: SignerEnvironment): Promise<Signer> {
  if (typeof name !== 'string') throw new TypeError('getSigner: name must be a string');
  if (!senv || typeof senv !== 'object' || !senv.fs) throw new TypeError('getSigner: an environment with fs is required');
  if (name === 'ed25519') {
    const { Ed25519Signer } = await import('./ed25519.ts');
    return new Ed25519Signer(senv);
  }
  if (name === 'dummy') {
    const { DummySigner } = await import('./dummy.ts');
    return new DummySigner(senv);
  }
  throw new XylemError('Requested signature type is not implemented');
}

/** All engines (ostree_sign_get_all), in libostree's order. */
export async function getAllSigners(senv: SignerEnvironment): Promise<Signer[]> {
  return Promise.all(SIGNER_NAMES.map((n) => getSigner(n, senv)));
}
