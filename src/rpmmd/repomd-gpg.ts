// `repo_gpgcheck`: repomd.xml's detached OpenPGP signature (repodata/repomd.xml.asc, ASCII-armored
// or binary) checked against the repo's `gpgkey` keys, as librepo's lr_gpg_check_signature does for
// dnf. Keys and signatures go through src/crypto/gpg.ts (openpgp.js); a repo with no key, no
// signature or no valid signature is refused with a GpgError.

import { GpgError, gpgVerify, readGpgKeyring, requireValidGpgSignature } from '../crypto/gpg.ts';
import { loadOpenPgp } from '../crypto/openpgp.ts';
import { XylemError } from '../util/errors.ts';

/** Largest signature file and key file read. */
export const MAX_SIGNATURE_SIZE = 1024 * 1024;
export const MAX_KEY_SIZE = 4 * 1024 * 1024;

/** A detached signature as binary packets (armored input is de-armored). */
export async function signatureBytes(sig: Uint8Array, what: string): Promise<Uint8Array> {
  if (sig.length > MAX_SIGNATURE_SIZE) throw new XylemError(`${what}: signature is larger than ${MAX_SIGNATURE_SIZE} bytes`, 'ETOOBIG');
  const head = new TextDecoder('latin1').decode(sig.subarray(0, Math.min(sig.length, 64)));
  if (!head.includes('-----BEGIN PGP')) return sig;
  const pgp = await loadOpenPgp();
  try {
    const s = await pgp.readSignature({ armoredSignature: new TextDecoder('latin1').decode(sig) });
    return s.write() as Uint8Array;
  } catch (e) {
    throw new GpgError('INVALID_SIGNATURE', `${what}: unreadable signature (${(e as Error).message})`);
  }
}

/**
 * Verifies `repomd` against the detached `signature` with the keys in `keys` (key files' bytes).
 * Throws a GpgError naming the repo unless one signature is valid.
 */
export async function verifyRepomdSignature(repoId: string, repomd: Uint8Array, signature: Uint8Array | null, keys: readonly Uint8Array[]): Promise<void> {
  const what = `repo '${repoId}': repomd.xml`;
  if (signature === null) throw new GpgError('NO_SIGNATURE', `${what}: repo_gpgcheck is on but repomd.xml.asc does not exist`);
  if (keys.length === 0) throw new GpgError('MISSING_KEY', `${what}: repo_gpgcheck is on but the repo has no gpgkey`);
  const keyring = await readGpgKeyring([...keys]);
  if (keyring.keys.length === 0) throw new GpgError('MISSING_KEY', `${what}: no usable OpenPGP key in the repo's gpgkey files`);
  const result = await gpgVerify(repomd, [await signatureBytes(signature, what)], keyring);
  try {
    requireValidGpgSignature(result);
  } catch (e) {
    if (e instanceof GpgError) throw new GpgError(e.gpgCode, `${what}: GPG signature check failed:\n${e.message}`);
    throw e;
  }
}
