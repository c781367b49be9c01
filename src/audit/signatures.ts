// Trust for the audit: parses the caller's keys (ASCII-armored OpenPGP public keys and base64
// ed25519 public keys, mixed in one text or given as a list) and judges the detached signatures of
// a commit (`.commitmeta`) or of the summary (`summary.sig`) against them, naming the signer of
// each signature and why a bad one is bad.

import { readGpgKeyring, gpgVerify, type GpgKeyring, type GpgSignatureInfo } from '../crypto/gpg.ts';
import { ed25519Verify, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../crypto/ed25519.ts';
import { getSignatures, parseDetachedMetadata, GPG_SIGS_KEY, ED25519_SIGS_KEY } from '../crypto/metadata.ts';
import { fromBase64, toBase64, textEncoder } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';

/** Caps on what the caller may hand us. */
const MAX_KEY_TEXT = 4 * 1024 * 1024;

export interface TrustedKeys {
  gpg: GpgKeyring | null;
  /** Raw 32-byte ed25519 public keys. */
  ed25519: Uint8Array[];
  /** How many keys of each kind were given. */
  gpgCount: number;
}

/** One signature's verdict. */
export interface SignatureCheck {
  kind: 'gpg' | 'ed25519';
  valid: boolean;
  /** GPG: fingerprint of the signing key (the issuer key ID when unknown or bad). ed25519: the base64 key that verified ('' if none). */
  keyId: string;
  /** "Name <email>" of the GPG key when it is known, else the key ID / base64 key. */
  signer: string;
  /** Why the signature does not count ('' when valid). */
  reason: string;
  /** Signature creation time (seconds), 0 when unknown. */
  timestamp: number;
}

export type SignatureStatus = 'valid' | 'invalid' | 'unsigned' | 'unchecked';

export interface SignatureVerdict {
  /** valid: a trusted key made a good signature; invalid: signatures present but none good; unsigned: no signatures; unchecked: no keys were given. */
  status: SignatureStatus;
  /** The first valid signature's signer, else null. */
  signer: string | null;
  checks: SignatureCheck[];
  /** One line for people. */
  message: string;
}

const ARMOR = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;

/** Parses keys: armored OpenPGP public key blocks and base64 ed25519 public keys (whitespace separated). */
export async function parseTrustedKeys(keys: string | readonly string[]): Promise<TrustedKeys> {
  const list = typeof keys === 'string' ? [keys] : keys;
  if (!Array.isArray(list) || !list.every((k) => typeof k === 'string')) throw new TypeError('auditCommit: keys must be a string or an array of strings');
  const total = list.reduce((n, k) => n + k.length, 0);
  if (total > MAX_KEY_TEXT) throw new XylemError(`Keys: ${total} characters exceeds the limit of ${MAX_KEY_TEXT}`);
  const armored: Uint8Array[] = [];
  const ed25519: Uint8Array[] = [];
  for (const text of list) {
    for (const block of text.match(ARMOR) ?? []) armored.push(textEncoder.encode(block));
    const rest = text.replace(ARMOR, ' ').trim();
    if (/-----BEGIN PGP/.test(rest)) throw new XylemError('Keys: an OpenPGP block is not a complete public key block');
    for (const token of rest.split(/\s+/).filter((t) => t !== '')) {
      let raw: Uint8Array;
      try {
        raw = fromBase64(token);
      } catch {
        throw new XylemError(`Keys: "${token.slice(0, 20)}" is neither an armored OpenPGP key nor a base64 ed25519 public key`);
      }
      if (raw.length !== ED25519_PUBLIC_KEY_BYTES)
        throw new XylemError(`Keys: "${token.slice(0, 20)}" decodes to ${raw.length} bytes, an ed25519 public key has ${ED25519_PUBLIC_KEY_BYTES}`);
      ed25519.push(raw);
    }
  }
  const gpg = armored.length > 0 ? await readGpgKeyring(armored) : null;
  if (gpg && gpg.keys.length === 0) throw new XylemError('Keys: no usable OpenPGP public key in the armored blocks');
  return { gpg, ed25519, gpgCount: gpg?.keys.length ?? 0 };
}

/** True when no key at all was given. */
export function noKeys(k: TrustedKeys): boolean {
  return k.gpg === null && k.ed25519.length === 0;
}

function gpgSigner(s: GpgSignatureInfo): string {
  if (s.userName && s.userName !== '[unknown name]')
    return s.userEmail && s.userEmail !== '[unknown email]' ? `${s.userName} <${s.userEmail}>` : s.userName;
  return s.fingerprint;
}

function gpgReason(s: GpgSignatureInfo): string {
  if (s.valid) return '';
  if (s.keyMissing) return `signed by key ${s.fingerprint}, which is not among the trusted keys`;
  if (s.timestamp === 0) return `BAD signature by key ${s.fingerprint} (${gpgSigner(s)}): the signed data does not match`;
  if (s.keyRevoked) return `key ${s.fingerprint} is revoked`;
  if (s.keyExpired) return `key ${s.fingerprint} has expired`;
  if (s.sigExpired) return `signature by ${s.fingerprint} has expired`;
  return `signature by ${s.fingerprint} is not valid`;
}

/**
 * Verifies detached metadata bytes (null: none published) over `signed` with the trusted keys.
 * Signature kinds we hold no key for are ignored, as libostree's verifiers do.
 */
export async function verifyDetached(
  signed: Uint8Array,
  detached: Uint8Array | null,
  keys: TrustedKeys,
  what: string,
): Promise<SignatureVerdict> {
  if (noKeys(keys)) return { status: 'unchecked', signer: null, checks: [], message: `${what}: no keys given, signatures not checked` };
  if (detached === null) return { status: 'unsigned', signer: null, checks: [], message: `${what}: no signatures published` };
  const md = parseDetachedMetadata(detached, what);
  const checks: SignatureCheck[] = [];
  if (keys.gpg) {
    const sigs = getSignatures(md, GPG_SIGS_KEY) ?? [];
    if (sigs.length > 0) {
      try {
        const result = await gpgVerify(signed, sigs, keys.gpg);
        for (const s of result.signatures)
          checks.push({ kind: 'gpg', valid: s.valid, keyId: s.fingerprint, signer: gpgSigner(s), reason: gpgReason(s), timestamp: s.timestamp });
      } catch (e) {
        checks.push({ kind: 'gpg', valid: false, keyId: '', signer: '', reason: `unreadable OpenPGP signature: ${(e as Error).message}`, timestamp: 0 });
      }
    }
  }
  if (keys.ed25519.length > 0) {
    const sigs = getSignatures(md, ED25519_SIGS_KEY) ?? [];
    for (const sig of sigs) {
      let match: Uint8Array | null = null;
      if (sig.length === ED25519_SIGNATURE_BYTES) {
        for (const pk of keys.ed25519) {
          if (await ed25519Verify(sig, signed, pk)) {
            match = pk;
            break;
          }
        }
      }
      const reason = sig.length !== ED25519_SIGNATURE_BYTES
        ? `ed25519 signature of ${sig.length} bytes (expected ${ED25519_SIGNATURE_BYTES})`
        : match ? '' : 'BAD ed25519 signature: no trusted ed25519 key verifies it';
      const id = match ? toBase64(match) : '';
      checks.push({ kind: 'ed25519', valid: match !== null, keyId: id, signer: id, reason, timestamp: 0 });
    }
  }
  const good = checks.find((c) => c.valid);
  if (good) return { status: 'valid', signer: good.signer, checks, message: `${what}: good ${good.kind} signature from ${good.signer}` };
  if (checks.length === 0) return { status: 'unsigned', signer: null, checks, message: `${what}: no signatures for the given kinds of key` };
  return { status: 'invalid', signer: null, checks, message: `${what}: ${checks.map((c) => c.reason).join('; ')}` };
}
