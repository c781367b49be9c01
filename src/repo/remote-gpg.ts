// A remote's trusted GPG keyring (REPO/NAME.trustedkeys.gpg): importing keys from armored or
// binary sources like `ostree remote gpg-import` / `remote add --gpg-import`. The keyring is
// written as binary transferable public keys, one after the other. openpgp is loaded on demand
// so that nothing else pays for it.

import type { PublicKey } from 'openpgp';
import { Repo, writeFileAtomic } from './repo.ts';
import { getRemoteInherited } from './remotes.ts';
import { joinPath } from '../util/path.ts';
import { concatBytes } from '../util/bytes.ts';
import { XylemError, errnoCode } from '../util/errors.ts';

/** Cap on key material we read (a keyring of thousands of keys is still far below this). */
const MAX_KEYRING_SIZE = 64 * 1024 * 1024;
const ARMOR_BLOCK = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

type OpenPgp = typeof import('openpgp');

async function loadOpenPgp(): Promise<OpenPgp> {
  return import('openpgp');
}

/** Every key in `data`: one or more ASCII-armored blocks, or a binary keyring. Secret keys give their public part. */
async function parseKeys(pgp: OpenPgp, data: Uint8Array): Promise<PublicKey[]> {
  if (data.length === 0) return [];
  if (data.length > MAX_KEYRING_SIZE) throw new XylemError(`key data too large (${data.length} bytes)`);
  const text = new TextDecoder('latin1').decode(data);
  const blocks = text.match(ARMOR_BLOCK);
  const keys = [];
  if (blocks) {
    for (const armoredKeys of blocks) keys.push(...(await pgp.readKeys({ armoredKeys })));
  } else {
    keys.push(...(await pgp.readKeys({ binaryKeys: data })));
  }
  return keys.map((k) => (k.isPrivate() ? k.toPublic() : (k as PublicKey)));
}

/** True when `id` (a key ID or fingerprint, optional 0x) names the key or one of its subkeys. */
function keyMatches(key: PublicKey, id: string): boolean {
  const want = id.replace(/^0x/i, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(want) || ![8, 16, 32, 40, 64].includes(want.length)) return false;
  const fprs = [key.getFingerprint(), ...key.getSubkeys().map((s) => s.getFingerprint())];
  return fprs.some((f) => f.toLowerCase().endsWith(want));
}

async function readOptional(repo: Repo, path: string): Promise<Uint8Array | null> {
  try {
    return await repo.fs.readFile(path);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/**
 * ostree_repo_remote_gpg_import: adds the keys of `source` (all of them, or those named by
 * `keyIds`) to the remote's keyring and returns how many were new. `source` null means the
 * user's own GnuPG keyring, which is not supported.
 */
export async function importRemoteGpgKeys(
  repo: Repo,
  name: string,
  source: Uint8Array | null,
  keyIds: string[] | null = null,
): Promise<number> {
  if (!(repo instanceof Repo)) throw new TypeError('importRemoteGpgKeys: repo must be a Repo');
  if (source !== null && !(source instanceof Uint8Array)) throw new TypeError('importRemoteGpgKeys: source must be bytes or null');
  try {
    const remote = await getRemoteInherited(repo, name);
    if (source === null) throw new XylemError("Importing from the user's GnuPG keyring is not supported; use --keyring or --stdin");
    const pgp = await loadOpenPgp();
    let available: PublicKey[];
    try {
      available = await parseKeys(pgp, source);
    } catch (e) {
      throw new XylemError(`Unable to import keys: ${(e as Error).message}`);
    }
    let selected = available;
    if (keyIds !== null && keyIds.length > 0) {
      selected = keyIds.map((id) => {
        const k = available.find((key) => keyMatches(key, id));
        if (!k) throw new XylemError(`Unable to find key "${id}": GPGME: End of file`);
        return k;
      });
    }
    const keyringPath = joinPath(repo.path, remote.keyring);
    const existing = (await readOptional(repo, keyringPath)) ?? new Uint8Array(0);
    let present: PublicKey[];
    try {
      present = await parseKeys(pgp, existing);
    } catch (e) {
      throw new XylemError(`Unable to import keys: ${keyringPath}: ${(e as Error).message}`);
    }
    const known = new Set(present.map((k) => k.getFingerprint()));
    const added: Uint8Array[] = [];
    for (const key of selected) {
      const fpr = key.getFingerprint();
      if (known.has(fpr)) continue;
      known.add(fpr);
      added.push(key.write());
    }
    await writeFileAtomic(repo.fs, keyringPath, concatBytes([existing, ...added]), { mode: 0o644 });
    return added.length;
  } catch (e) {
    if (e instanceof XylemError && !e.message.startsWith('GPG: ')) throw new XylemError(`GPG: ${e.message}`, e.code);
    throw e;
  }
}
