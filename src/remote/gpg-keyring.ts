// A remote's trusted GPG keyring (REPO/NAME.trustedkeys.gpg): importing keys from armored or
// binary sources like `ostree remote gpg-import` / `remote add --gpg-import`. The keyring is
// written as binary transferable public keys, one after the other. openpgp is loaded on demand
// so that nothing else pays for it.

import type { PublicKey } from 'openpgp';
import { Repo } from '../repo/repo.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { getRemoteInherited, openParentRepo, remotesConfigDir } from './config.ts';
import { joinPath } from '../util/path.ts';
import { concatBytes } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';
import { readFileOptional } from '../util/read-optional.ts';

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
    const existing = (await readFileOptional(repo.fs, keyringPath)) ?? new Uint8Array(0);
    let present: PublicKey[];
    try {
      present = await parseKeys(pgp, existing);
    } catch (e) {
      throw new XylemError(`Unable to import keys: ${keyringPath}: ${(e as Error).message}`);
    }
    // Like a GnuPG import: new keys are appended, known ones get the new signatures, user IDs
    // and subkeys merged in (an expiry change, a revocation); only new keys are counted.
    const index = new Map(present.map((k, i) => [k.getFingerprint(), i]));
    let added = 0;
    for (const key of selected) {
      const i = index.get(key.getFingerprint());
      if (i === undefined) {
        index.set(key.getFingerprint(), present.length);
        present.push(key);
        added++;
      } else {
        present[i] = (await present[i]!.update(key)) as PublicKey;
      }
    }
    await writeFileAtomic(repo.fs, keyringPath, concatBytes(present.map((k) => k.write())), { mode: 0o644 });
    return added;
  } catch (e) {
    if (e instanceof XylemError && !e.message.startsWith('GPG: ')) throw new XylemError(`GPG: ${e.message}`, e.code);
    throw e;
  }
}

// ---- Listing keys (ostree remote gpg-list-keys) ------------------------------------------------

/** One key or subkey as ostree_repo_remote_get_gpg_keys describes it (times in seconds). */
export interface GpgSubkeyInfo {
  fingerprint: string;
  created: number;
  /** 0 when the key never expires. */
  expires: number;
  revoked: boolean;
  expired: boolean;
  invalid: boolean;
}

export interface GpgUidInfo {
  uid: string;
  email: string;
  revoked: boolean;
  invalid: boolean;
  /** WKD update URLs, null when the user ID has no mail address. */
  advancedUrl: string | null;
  directUrl: string | null;
}

/** A key: its primary key first in `subkeys`, then the subkeys, plus its user IDs. */
export interface GpgKeyInfo {
  subkeys: GpgSubkeyInfo[];
  uids: GpgUidInfo[];
}

export interface ListGpgKeysOptions {
  /** Directory of global keyrings (OSTREE_GPG_HOME; default /usr/share/ostree/trusted.gpg.d/). */
  globalKeyringDir?: string;
}

const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** z-base-32 (RFC 6189 alphabet, most significant bits first), as libotutil's zbase32_encode. */
export function zbase32(data: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of data) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ZBASE32[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ZBASE32[(acc << (5 - bits)) & 31];
  return out;
}

/** g_uri_escape_string(s, NULL, FALSE): everything but unreserved characters as %XX. */
function uriEscape(s: string): string {
  let out = '';
  for (const b of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** ot_gpg_wkd_urls: the Web Key Directory URLs of a mail address. */
export async function wkdUrls(email: string): Promise<{ advanced: string; direct: string }> {
  const parts = email.split('@');
  if (parts.length !== 2) throw new XylemError(`Invalid email address "${email}"`);
  const [local, domain] = parts as [string, string];
  const { sha1 } = await import('@noble/hashes/legacy.js');
  const hu = zbase32(sha1(new TextEncoder().encode(local.replace(/[A-Z]/g, (c) => c.toLowerCase()))));
  const l = uriEscape(local);
  const domainLower = domain.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return {
    advanced: `https://openpgpkey.${domain}/.well-known/openpgpkey/${domainLower}/hu/${hu}?l=${l}`,
    direct: `https://${domain}/.well-known/openpgpkey/hu/${hu}?l=${l}`,
  };
}

/** The mail address gpgme finds in a user ID: the `<…>` part, or the whole ID if it is one. */
function uidAddress(uid: string): string | null {
  const m = /<([^<>]*)>\s*$/.exec(uid);
  if (m) return m[1]!.includes('@') ? m[1]! : null;
  return /^[^\s@<>]+@[^\s@<>]+$/.test(uid) ? uid : null;
}

async function readKeyDir(repo: Repo, dir: string, keyringsOnly: boolean): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const ent of await repo.fs.readdir(dir)) {
    if (ent.kind !== 'file') continue;
    if (keyringsOnly && (!ent.name.endsWith('.gpg') || ent.name === 'trustdb.gpg' || ent.name === 'secring.gpg')) continue;
    out.push(await repo.fs.readFile(joinPath(dir, ent.name)));
  }
  return out;
}

/** The key material ostree's verifier would load for `name` (or the global keyrings for null). */
async function verifierKeyData(repo: Repo, name: string | null, opts: ListGpgKeysOptions): Promise<Uint8Array[]> {
  const data: Uint8Array[] = [];
  if (name !== null) {
    const remote = await getRemoteInherited(repo, name);
    // the remote's keyring: in the repo, then the remotes dir, then the parents
    for (let r: Repo | null = repo; r !== null; r = await openParentRepo(r)) {
      const own = await readFileOptional(r.fs, joinPath(r.path, remote.keyring));
      if (own) {
        data.push(own);
        break;
      }
      const dir = await remotesConfigDir(r);
      const inDir = dir === null ? null : await readFileOptional(r.fs, joinPath(dir, remote.keyring));
      if (inDir) {
        data.push(inDir);
        break;
      }
    }
    const raw = remote.options.get(remote.group, 'gpgkeypath');
    if (raw !== undefined) {
      const paths = raw.split(raw.includes(';') ? ';' : ',').filter((p) => p !== '');
      for (const p of paths) {
        const st = await repo.fs.stat(p);
        if (st?.kind === 'dir') data.push(...(await readKeyDir(repo, p, false)));
        else {
          const bytes = await readFileOptional(repo.fs, p);
          if (!bytes) throw new XylemError(`Opening ${p}: No such file or directory`);
          data.push(bytes);
        }
      }
    }
    return data;
  }
  const dir = opts.globalKeyringDir ?? repo.host.env?.OSTREE_GPG_HOME ?? '/usr/share/ostree/trusted.gpg.d/';
  if ((await repo.fs.stat(dir))?.kind === 'dir') {
    try {
      data.push(...(await readKeyDir(repo, dir, true)));
    } catch (e) {
      throw new XylemError(`Reading keyring directory '${dir}': ${(e as Error).message}`);
    }
  }
  return data;
}

function seconds(d: Date | number | null): number {
  if (d === null || d === Infinity) return 0;
  return Math.floor((d instanceof Date ? d.getTime() : d) / 1000);
}

/** ostree_repo_remote_get_gpg_keys: the keys trusted for a remote (null: the global keyrings). */
export async function listRemoteGpgKeys(repo: Repo, name: string | null, opts: ListGpgKeysOptions = {}): Promise<GpgKeyInfo[]> {
  if (!(repo instanceof Repo)) throw new TypeError('listRemoteGpgKeys: repo must be a Repo');
  if (name !== null) await getRemoteInherited(repo, name);
  try {
    const data = await verifierKeyData(repo, name, opts);
    if (data.length === 0) return [];
    const pgp = await loadOpenPgp();
    const keys: PublicKey[] = [];
    const seen = new Set<string>();
    for (const d of data) {
      for (const k of await parseKeys(pgp, d)) {
        if (seen.has(k.getFingerprint())) continue;
        seen.add(k.getFingerprint());
        keys.push(k);
      }
    }
    const nowS = Math.floor((repo.host.now?.() ?? Date.now()) / 1000);
    const out: GpgKeyInfo[] = [];
    for (const key of keys) {
      const keyRevoked = key.revocationSignatures.length > 0;
      const primaryExpires = seconds((await key.getExpirationTime().catch(() => null)) as Date | number | null);
      const subkeys: GpgSubkeyInfo[] = [
        {
          fingerprint: key.getFingerprint().toUpperCase(),
          created: seconds(key.getCreationTime()),
          expires: primaryExpires,
          revoked: keyRevoked,
          expired: primaryExpires > 0 && primaryExpires <= nowS,
          invalid: false,
        },
      ];
      for (const sk of key.getSubkeys()) {
        const exp = seconds((await sk.getExpirationTime().catch(() => null)) as Date | number | null);
        subkeys.push({
          fingerprint: sk.getFingerprint().toUpperCase(),
          created: seconds(sk.getCreationTime()),
          expires: exp,
          revoked: keyRevoked || sk.revocationSignatures.length > 0,
          expired: exp > 0 && exp <= nowS,
          invalid: false,
        });
      }
      const uids: GpgUidInfo[] = [];
      for (const user of key.users) {
        if (!user.userID) continue;
        const uid = user.userID.userID;
        const address = uidAddress(uid);
        const urls = address === null ? null : await wkdUrls(address);
        uids.push({
          uid,
          email: address ?? '',
          revoked: keyRevoked || user.revocationSignatures.length > 0,
          invalid: false,
          advancedUrl: urls?.advanced ?? null,
          directUrl: urls?.direct ?? null,
        });
      }
      out.push({ subkeys, uids });
    }
    return out;
  } catch (e) {
    if (e instanceof XylemError && !e.message.startsWith('GPG: ')) throw new XylemError(`GPG: ${e.message}`, e.code);
    throw e;
  }
}
