// OpenPGP (GPG) signatures as libostree makes and checks them: binary detached signatures over the
// exact signed bytes (a commit object, a summary file); verification results shaped like
// OstreeGpgVerifyResult (per signature: validity, expiry/revocation/missing-key flags, key IDs,
// user, timestamps) with ostree's text ("Signature made …", "Good signature from …"), and
// ostree_gpg_verify_result_require_valid_signature's errors. Key material comes in as bytes
// (keyrings, exported secret keys); finding it on disk is the caller's job (./keyring.ts, the CLI).

import type { Key, PrivateKey, PublicKey, SignaturePacket, Subkey } from 'openpgp';
import { loadOpenPgp, pgpConfig, type OpenPgp } from './openpgp.ts';
import { toHex } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';

/** Cap on key material and signature data we parse. */
const MAX_KEY_DATA = 64 * 1024 * 1024;
const MAX_SIGNATURE_DATA = 10 * 1024 * 1024;

/** OstreeGpgError codes. */
export type GpgErrorCode =
  | 'NO_SIGNATURE'
  | 'INVALID_SIGNATURE'
  | 'MISSING_KEY'
  | 'EXPIRED_SIGNATURE'
  | 'EXPIRED_KEY'
  | 'REVOKED_KEY';

export class GpgError extends XylemError {
  readonly gpgCode: GpgErrorCode;
  constructor(gpgCode: GpgErrorCode, message: string) {
    super(message, `EGPG_${gpgCode}`);
    this.name = 'GpgError';
    this.gpgCode = gpgCode;
  }
}

/** The attributes ostree_gpg_verify_result_get_all() gives for one signature (times in seconds). */
export interface GpgSignatureInfo {
  valid: boolean;
  sigExpired: boolean;
  keyExpired: boolean;
  keyRevoked: boolean;
  keyMissing: boolean;
  /** Fingerprint of the signing (sub)key, upper-case hex; the issuer key ID when the key is unknown. */
  fingerprint: string;
  /** Fingerprint of the signing key's primary key; '' when the key is unknown. */
  fingerprintPrimary: string;
  timestamp: number;
  /** 0 when the signature does not expire. */
  expTimestamp: number;
  pubkeyAlgoName: string;
  hashAlgoName: string;
  userName: string;
  userEmail: string;
  /** Expiry of the signing (sub)key, 0 for never. */
  keyExpTimestamp: number;
  /** Expiry of the primary key, 0 for never. */
  keyExpTimestampPrimary: number;
}

// ---- Keyrings ------------------------------------------------------------------------------

/** A set of public keys (merged by fingerprint, first-seen order), like a gpgme keyring. */
export class GpgKeyring {
  readonly keys: PublicKey[];
  constructor(keys: PublicKey[]) {
    this.keys = keys;
  }

  /** gpgme_get_key: the key whose primary or subkey matches a key ID / fingerprint, or whose user ID contains `id`. */
  lookup(id: string): PublicKey | null {
    return findKey(this.keys, id);
  }

  /** The key holding the (sub)key that issued `sig`, and that (sub)key. */
  findIssuer(sig: SignaturePacket): { key: PublicKey; signer: PublicKey | Subkey } | null {
    const fpr = sig.issuerFingerprint ? toHex(sig.issuerFingerprint) : null;
    for (const key of this.keys) {
      for (const k of key.getKeys(sig.issuerKeyID)) {
        if (fpr === null || k.getFingerprint() === fpr) return { key, signer: k as PublicKey | Subkey };
      }
    }
    return null;
  }
}

function hexId(id: string): string | null {
  const h = id.replace(/^0x/i, '').toLowerCase();
  return /^[0-9a-f]+$/.test(h) && [8, 16, 32, 40, 64].includes(h.length) ? h : null;
}

function findKey<K extends Key>(keys: K[], id: string): K | null {
  const h = hexId(id);
  if (h !== null) {
    for (const key of keys) {
      const fprs = [key.getFingerprint(), ...key.getSubkeys().map((s) => s.getFingerprint())];
      if (fprs.some((f) => f.toLowerCase().endsWith(h))) return key;
    }
    return null;
  }
  const needle = id.toLowerCase();
  if (needle === '') return null;
  for (const key of keys) {
    if (key.getUserIDs().some((u) => u.toLowerCase().includes(needle))) return key;
  }
  return null;
}

const ARMOR_BLOCK = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

async function parseKeyBlob(pgp: OpenPgp, data: Uint8Array): Promise<Key[]> {
  if (data.length === 0) return [];
  const text = new TextDecoder('latin1').decode(data.subarray(0, Math.min(data.length, MAX_KEY_DATA)));
  const blocks = text.match(ARMOR_BLOCK);
  if (blocks) {
    const out: Key[] = [];
    for (const armoredKeys of blocks) out.push(...(await pgp.readKeys({ armoredKeys })));
    return out;
  }
  return pgp.readKeys({ binaryKeys: data });
}

/**
 * Builds a keyring from keyring files' contents (binary or ASCII-armored, several keys each).
 * Like GnuPG's import, blobs that hold no usable OpenPGP keys are skipped; keys seen twice are
 * merged (a later copy can add a revocation or a new expiry).
 */
export async function readGpgKeyring(blobs: readonly Uint8Array[]): Promise<GpgKeyring> {
  if (!Array.isArray(blobs) || !blobs.every((b) => b instanceof Uint8Array))
    throw new TypeError('readGpgKeyring: blobs must be an array of Uint8Array');
  const total = blobs.reduce((n, b) => n + b.length, 0);
  if (total > MAX_KEY_DATA) throw new XylemError(`GPG: key data too large (${total} bytes)`);
  const keys: PublicKey[] = [];
  if (total === 0) return new GpgKeyring(keys);
  const pgp = await loadOpenPgp();
  const index = new Map<string, number>();
  for (const blob of blobs) {
    let parsed: Key[];
    try {
      parsed = await parseKeyBlob(pgp, blob);
    } catch {
      continue;
    }
    for (const k of parsed) {
      const pub = (k.isPrivate() ? k.toPublic() : k) as PublicKey;
      const fpr = pub.getFingerprint();
      const i = index.get(fpr);
      if (i === undefined) {
        index.set(fpr, keys.length);
        keys.push(pub);
      } else {
        try {
          keys[i] = (await keys[i]!.update(pub)) as PublicKey;
        } catch {
          // an unmergeable copy: keep the first
        }
      }
    }
  }
  return new GpgKeyring(keys);
}

// ---- Signing -------------------------------------------------------------------------------

export interface GpgSignOptions {
  /** Signature creation time (default: now). */
  date?: Date;
  /** Shown in the "no key found" error, as ostree shows the GnuPG home ('<default>' if unset). */
  homedirLabel?: string;
}

/** Reads secret keys (binary or armored, as `gpg --export-secret-keys` writes them). */
export async function readGpgSecretKeys(data: Uint8Array): Promise<PrivateKey[]> {
  if (!(data instanceof Uint8Array)) throw new TypeError('readGpgSecretKeys: data must be a Uint8Array');
  if (data.length > MAX_KEY_DATA) throw new XylemError(`GPG: key data too large (${data.length} bytes)`);
  if (data.length === 0) return [];
  const pgp = await loadOpenPgp();
  const text = new TextDecoder('latin1').decode(data);
  const blocks = text.match(ARMOR_BLOCK);
  if (blocks) {
    const out: PrivateKey[] = [];
    for (const armoredKeys of blocks) out.push(...(await pgp.readPrivateKeys({ armoredKeys })));
    return out;
  }
  return pgp.readPrivateKeys({ binaryKeys: data });
}

/**
 * A binary detached OpenPGP signature over `data`, made with the secret key named by `keyId` (key
 * ID, fingerprint or user ID) among `secretKeys`. Like gpg -u KEY, the newest valid signing subkey
 * signs (the primary key when there is none).
 */
export async function gpgSignDetached(
  data: Uint8Array,
  secretKeys: Uint8Array | PrivateKey[],
  keyId: string,
  opts: GpgSignOptions = {},
): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) throw new TypeError('gpgSignDetached: data must be a Uint8Array');
  if (typeof keyId !== 'string' || keyId === '') throw new TypeError('gpgSignDetached: keyId must be a non-empty string');
  const keys = secretKeys instanceof Uint8Array ? await readGpgSecretKeys(secretKeys) : secretKeys;
  const key = findKey(keys, keyId);
  if (!key) throw new XylemError(`No gpg key found with ID ${keyId} (homedir: ${opts.homedirLabel ?? '<default>'})`);
  if (!key.isDecrypted()) throw new XylemError(`Unable to sign with GPG key ${keyId}: the secret key is passphrase-protected`);
  const pgp = await loadOpenPgp();
  const config = await pgpConfig(pgp);
  const message = await pgp.createMessage({ binary: data });
  try {
    const sig = await pgp.sign({
      message,
      signingKeys: key,
      detached: true,
      format: 'binary',
      date: opts.date ?? new Date(),
      config,
    });
    return sig as Uint8Array;
  } catch (e) {
    throw new XylemError(`Failure signing commit file: ${(e as Error).message}`);
  }
}

// ---- Verification --------------------------------------------------------------------------

const PUBKEY_ALGO_NAMES: Record<number, string> = {
  1: 'RSA', 2: 'RSA', 3: 'RSA', 16: 'ELG-E', 17: 'DSA', 18: 'ECDH', 19: 'ECDSA', 20: 'ELG', 22: 'EdDSA',
};
const HASH_ALGO_NAMES: Record<number, string> = {
  1: 'MD5', 2: 'SHA1', 3: 'RIPEMD160', 8: 'SHA256', 9: 'SHA384', 10: 'SHA512', 11: 'SHA224',
};

function seconds(d: Date | number | null | undefined): number {
  if (d === null || d === undefined || d === Infinity) return 0;
  return Math.floor((d instanceof Date ? d.getTime() : d) / 1000);
}

/** Splits ostree's signature list into signature packets (each blob may hold several). */
async function readSignaturePackets(pgp: OpenPgp, blobs: readonly Uint8Array[]): Promise<SignaturePacket[]> {
  const out: SignaturePacket[] = [];
  for (const blob of blobs) {
    let sig;
    try {
      sig = await pgp.readSignature({ binarySignature: blob });
    } catch (e) {
      throw new XylemError(`GPG: Unable to complete signature verification: ${(e as Error).message}`);
    }
    for (const p of sig.packets) out.push(p as SignaturePacket);
  }
  return out;
}

async function primaryUser(key: PublicKey): Promise<{ name: string; email: string } | null> {
  try {
    const pu = await key.getPrimaryUser(null as unknown as Date);
    const u = pu.user.userID;
    if (u) return { name: u.name || u.userID, email: u.email };
  } catch {
    // fall through to the first user ID
  }
  for (const user of key.users) if (user.userID) return { name: user.userID.name || user.userID.userID, email: user.userID.email };
  return null;
}

async function checkOne(
  pgp: OpenPgp,
  sig: SignaturePacket,
  data: Uint8Array,
  keyring: GpgKeyring,
  now: Date,
): Promise<GpgSignatureInfo> {
  const created = sig.created ?? new Date(0);
  const exp = sig.getExpirationTime();
  const info: GpgSignatureInfo = {
    valid: false,
    sigExpired: exp !== Infinity && (exp as Date).getTime() <= now.getTime(),
    keyExpired: false,
    keyRevoked: false,
    keyMissing: false,
    fingerprint: sig.issuerFingerprint ? toHex(sig.issuerFingerprint).toUpperCase() : sig.issuerKeyID.toHex().toUpperCase(),
    fingerprintPrimary: '',
    timestamp: seconds(created),
    expTimestamp: exp === Infinity ? 0 : seconds(exp as Date),
    pubkeyAlgoName: PUBKEY_ALGO_NAMES[sig.publicKeyAlgorithm as number] ?? '[unknown name]',
    hashAlgoName: HASH_ALGO_NAMES[sig.hashAlgorithm as number] ?? '[unknown name]',
    userName: '[unknown name]',
    userEmail: '[unknown email]',
    keyExpTimestamp: 0,
    keyExpTimestampPrimary: 0,
  };
  const found = keyring.findIssuer(sig);
  if (!found) {
    info.keyMissing = true;
    return info;
  }
  const { key, signer } = found;
  const isPrimary = signer === (key as unknown);
  info.fingerprint = signer.getFingerprint().toUpperCase();
  info.fingerprintPrimary = key.getFingerprint().toUpperCase();
  const user = await primaryUser(key);
  if (user) {
    info.userName = user.name;
    info.userEmail = user.email;
  }
  const config = await pgpConfig(pgp);
  const fullConfig = { ...pgp.config, ...config };
  const primaryExp = await key.getExpirationTime(undefined, fullConfig).catch(() => null);
  info.keyExpTimestampPrimary = seconds(primaryExp);
  const signerExp = isPrimary ? primaryExp : await (signer as Subkey).getExpirationTime(null as unknown as Date, fullConfig).catch(() => null);
  info.keyExpTimestamp = seconds(signerExp);
  const nowS = seconds(now);
  const expired = (t: number) => t > 0 && t <= nowS;
  info.keyExpired = expired(info.keyExpTimestamp) || expired(info.keyExpTimestampPrimary);
  const revoked = await key.isRevoked(undefined, undefined, now, fullConfig).catch(() => false);
  const subRevoked = isPrimary ? false : await (signer as Subkey).isRevoked(sig, undefined as never, now, fullConfig).catch(() => false);
  info.keyRevoked = revoked || subRevoked;
  let good = false;
  try {
    const literal = new pgp.LiteralDataPacket();
    (literal as unknown as { setBytes(b: Uint8Array, f: number): void }).setBytes(data, pgp.enums.literal.binary);
    await sig.verify(signer.keyPacket, sig.signatureType!, literal, null as unknown as Date, true, fullConfig);
    good = true;
  } catch {
    good = false;
  }
  if (!good) {
    // GnuPG's BADSIG status carries only the long key ID: gpgme then reports no time, no
    // algorithm, the key ID as fingerprint, and none of the key-state flags.
    return {
      ...info,
      sigExpired: false,
      keyExpired: false,
      keyRevoked: false,
      fingerprint: sig.issuerKeyID.toHex().toUpperCase(),
      timestamp: 0,
      expTimestamp: 0,
      pubkeyAlgoName: '[unknown name]',
      hashAlgoName: '[unknown name]',
      keyExpTimestamp: 0,
    };
  }
  info.valid = !info.sigExpired && !info.keyExpired && !info.keyRevoked;
  return info;
}

/** What ostree_gpg_verify_result_* give: one entry per signature, in signature order. */
export class GpgVerifyResult {
  readonly signatures: GpgSignatureInfo[];
  readonly keyring: GpgKeyring;
  constructor(signatures: GpgSignatureInfo[], keyring: GpgKeyring) {
    this.signatures = signatures;
    this.keyring = keyring;
  }

  countAll(): number {
    return this.signatures.length;
  }

  countValid(): number {
    return this.signatures.filter((s) => s.valid).length;
  }

  /**
   * ostree_gpg_verify_result_lookup: index of the first signature made by the key `keyId` names
   * (any of its subkeys counts), or -1. The key must be in the verification keyring.
   */
  lookup(keyId: string): number {
    const want = this.keyring.lookup(keyId);
    if (!want) return -1;
    const primary = want.getFingerprint().toUpperCase();
    return this.signatures.findIndex((s) => !s.keyMissing && s.fingerprintPrimary === primary);
  }

  /** ostree_gpg_verify_result_describe for signature `index`. */
  describe(index: number, linePrefix = ''): string {
    const s = this.signatures[index];
    if (!s) throw new RangeError(`no signature ${index}`);
    return describeGpgSignature(s, linePrefix);
  }
}

export interface GpgVerifyOptions {
  /** The time keys and signatures are judged at (default: now). */
  now?: Date;
}

/**
 * Verifies detached signatures (ostree's list of binary signature blobs) over `data` against the
 * keys of `keyring`. Signatures that fail are reported in the result, not thrown; only unreadable
 * signature data throws.
 */
export async function gpgVerify(
  data: Uint8Array,
  signatures: readonly Uint8Array[],
  keyring: GpgKeyring,
  opts: GpgVerifyOptions = {},
): Promise<GpgVerifyResult> {
  if (!(data instanceof Uint8Array)) throw new TypeError('gpgVerify: data must be a Uint8Array');
  if (!Array.isArray(signatures) || !signatures.every((s) => s instanceof Uint8Array))
    throw new TypeError('gpgVerify: signatures must be an array of Uint8Array');
  if (!(keyring instanceof GpgKeyring)) throw new TypeError('gpgVerify: keyring must be a GpgKeyring');
  const size = signatures.reduce((n, s) => n + s.length, 0);
  if (size > MAX_SIGNATURE_DATA) throw new XylemError(`GPG: signature data too large (${size} bytes)`);
  const pgp = await loadOpenPgp();
  const packets = await readSignaturePackets(pgp, signatures);
  const now = opts.now ?? new Date();
  const infos: GpgSignatureInfo[] = [];
  for (const p of packets) infos.push(await checkOne(pgp, p, data, keyring, now));
  return new GpgVerifyResult(infos, keyring);
}

// ---- Text ------------------------------------------------------------------------------------

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** g_date_time_format(local, "%c") in the C locale: `Wed Nov 25 21:44:52 2026` (%e pads with U+2007). */
export function formatCTime(secs: number): string {
  const d = new Date(secs * 1000);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, '\u2007')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

function expireLine(prefix: string, what: string, ts: number, expired: boolean): string {
  return `${prefix}${what} ${expired ? 'expired' : 'expires'} ${formatCTime(ts)}\n`;
}

/** ostree_gpg_verify_result_describe_variant with the default format. */
export function describeGpgSignature(s: GpgSignatureInfo, linePrefix = ''): string {
  const keyId = s.fingerprint.length > 16 ? s.fingerprint.slice(-16) : s.fingerprint;
  let out = `${linePrefix}Signature made ${formatCTime(s.timestamp)} using ${s.pubkeyAlgoName} key ID ${keyId}\n`;
  out += linePrefix;
  if (s.keyMissing) out += "Can't check signature: public key not found\n";
  else if (s.valid) out += `Good signature from "${s.userName} <${s.userEmail}>"\n`;
  else if (s.keyRevoked) out += 'Key revoked\n';
  else if (s.sigExpired) out += `Expired signature from "${s.userName} <${s.userEmail}>"\n`;
  else out += `BAD signature from "${s.userName} <${s.userEmail}>"\n`;
  const subkey = s.fingerprint !== s.fingerprintPrimary;
  if (!s.keyMissing && subkey) {
    const fp = s.fingerprintPrimary;
    out += `${linePrefix}Primary key ID ${fp.length > 16 ? fp.slice(-16) : fp}\n`;
  }
  if (s.expTimestamp > 0) out += expireLine(linePrefix, 'Signature', s.expTimestamp, s.sigExpired);
  if (s.keyExpTimestamp > 0) out += expireLine(linePrefix, 'Key', s.keyExpTimestamp, s.keyExpired);
  if (s.keyExpTimestampPrimary > 0 && subkey) out += expireLine(linePrefix, 'Primary key', s.keyExpTimestampPrimary, s.keyExpired);
  return out;
}

/**
 * ostree_gpg_verify_result_require_valid_signature: throws a GpgError describing every signature
 * (newest first) when none is valid; its code comes from the last signature.
 */
export function requireValidGpgSignature(result: GpgVerifyResult): void {
  if (result.countValid() > 0) return;
  const n = result.countAll();
  if (n === 0) throw new GpgError('NO_SIGNATURE', 'No GPG signatures found');
  let text = '';
  for (let i = n - 1; i >= 0; i--) text += describeGpgSignature(result.signatures[i]!);
  const last = result.signatures[n - 1]!;
  const code: GpgErrorCode = last.keyMissing
    ? 'MISSING_KEY'
    : last.keyRevoked
      ? 'REVOKED_KEY'
      : last.keyExpired
        ? 'EXPIRED_KEY'
        : last.sigExpired
          ? 'EXPIRED_SIGNATURE'
          : 'INVALID_SIGNATURE';
  throw new GpgError(code, text.replace(/\s+$/, ''));
}

/** The error ostree gives when signatures are required but the metadata has none. */
export function noGpgSignaturesError(): GpgError {
  return new GpgError(
    'NO_SIGNATURE',
    'GPG verification enabled, but no signatures found (use gpg-verify=false in remote config to disable)',
  );
}
