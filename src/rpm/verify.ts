// Package digests and signatures, checked and reported the way `rpmkeys --checksig -v` does
// (rpm's lib/rpmvs.cc): the header's OpenPGP signatures (267 DSA/EdDSA/ECDSA, 268 RSA, v6 278
// OPENPGP) against keys the caller imports, the header SHA-256 (273) and SHA-1 (269) digests, the
// payload digest (PAYLOADDIGEST 5092 per PAYLOADDIGESTALGO), the legacy MD5 of header+payload
// (1004), v6's header SHA3-256 (279) and the legacy header+payload signatures (1002 PGP / 1005 GPG). The payload is streamed
// once for all payload checks. Result lines read like rpm's; the summary like `digests signatures OK`.

import { gpgVerify, readGpgKeyring, type GpgKeyring } from '../crypto/gpg.ts';
import { fromBase64, toHex } from '../util/bytes.ts';
import { createHasher, digestAlgoName, digestBytes, type Hasher } from './digest.ts';
import { RpmError, RpmErrorCode } from './errors.ts';
import type { RpmPackage } from './open.ts';
import { DigestAlgo, SigTag, Tag } from './tags.ts';

export type RpmCheckStatus = 'OK' | 'BAD' | 'NOKEY' | 'NOTTRUSTED' | 'NOTFOUND';

/** One check, as one line of `rpmkeys -Kv`. */
export interface RpmCheck {
  kind: 'digest' | 'signature';
  /** `Header SHA256 digest`, `Header V4 RSA/SHA512 Signature, key ID 716355af`… */
  name: string;
  status: RpmCheckStatus;
  /** For a BAD digest: `Expected <stored> != <computed>`. */
  detail?: string;
  /** For signatures: the signing key's ID (16 hex digits, lower case). */
  keyId?: string;
}

export interface RpmVerifyResult {
  pkg: string;
  checks: RpmCheck[];
  digestsOk: boolean;
  /** False when a signature is present and not OK (no signatures at all counts as OK, as in rpm). */
  signaturesOk: boolean;
  /** True when at least one OpenPGP signature was found. */
  signed: boolean;
  /** Every check OK. */
  ok: boolean;
  /** rpmkeys' summary after `<file>: `: `digests signatures OK`, `digests SIGNATURES NOT OK`… */
  summary: string;
  /** The `rpmkeys -Kv` lines (four-space indented, no file-name line). */
  lines: string[];
}

export interface VerifyRpmOptions {
  /** OpenPGP public keys the caller trusts (armored or binary), like `rpmkeys --import`. */
  keys?: readonly (Uint8Array | string)[];
  /** A keyring already read (takes precedence over `keys`). */
  keyring?: GpgKeyring;
  /** Skip the payload (header checks only, as `rpmkeys -K --nodigest`-free header checks). */
  headerOnly?: boolean;
  /** A faster SHA-256 (the host's native one) for the SHA256 digests; default @noble/hashes. */
  sha256?: () => Hasher;
}

const PUBKEY_NAMES: Record<number, string> = { 1: 'RSA', 2: 'RSA', 3: 'RSA', 17: 'DSA', 19: 'ECDSA', 22: 'EdDSA', 27: 'Ed25519', 28: 'Ed448' };
const HASH_NAMES: Record<number, string> = { 1: 'MD5', 2: 'SHA1', 3: 'RIPEMD160', 8: 'SHA256', 9: 'SHA384', 10: 'SHA512', 11: 'SHA224', 12: 'SHA3-256', 14: 'SHA3-512' };

interface SigToCheck {
  blob: Uint8Array;
  /** true: over header+payload (legacy 1002/1005) */
  withPayload: boolean;
}

function digestCheck(name: string, stored: string, computed: string): RpmCheck {
  const ok = stored.toLowerCase() === computed;
  return ok ? { kind: 'digest', name, status: 'OK' } : { kind: 'digest', name, status: 'BAD', detail: `Expected ${stored} != ${computed}` };
}

/** Version, algorithms and issuer key ID of an OpenPGP signature packet (v3, v4, v6), or null. */
export function describeSignaturePacket(blob: Uint8Array): { version: number; pubAlgo: number; hashAlgo: number; keyId: string } | null {
  if (blob.length < 2) return null;
  const tagByte = blob[0]!;
  if (!(tagByte & 0x80)) return null;
  let p: number;
  let tag: number;
  if (tagByte & 0x40) {
    tag = tagByte & 0x3f;
    const l0 = blob[1]!;
    p = l0 < 192 ? 2 : l0 < 224 ? 3 : l0 === 255 ? 6 : 2;
  } else {
    tag = (tagByte >> 2) & 0x0f;
    const lt = tagByte & 3;
    p = 1 + (lt === 0 ? 1 : lt === 1 ? 2 : lt === 2 ? 4 : 0);
  }
  if (tag !== 2 || p >= blob.length) return null;
  const b = blob;
  const hex = (from: number, to: number) => toHex(b.subarray(from, to));
  const version = b[p]!;
  if (version === 3) {
    if (p + 19 > b.length) return null;
    return { version, keyId: hex(p + 7, p + 15), pubAlgo: b[p + 15]!, hashAlgo: b[p + 16]! };
  }
  if (version !== 4 && version !== 6) return null;
  const pubAlgo = b[p + 2]!;
  const hashAlgo = b[p + 3]!;
  const lenBytes = version === 4 ? 2 : 4;
  const readLen = (at: number) => (lenBytes === 2 ? (b[at]! << 8) | b[at + 1]! : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0);
  let q = p + 4;
  let keyId = '';
  for (let area = 0; area < 2 && q + lenBytes <= b.length; area++) {
    const len = readLen(q);
    q += lenBytes;
    const end = Math.min(b.length, q + len);
    while (q < end) {
      let sl = b[q]!;
      let h = 1;
      if (sl >= 192 && sl < 255) {
        sl = ((sl - 192) << 8) + (b[q + 1] ?? 0) + 192;
        h = 2;
      } else if (sl === 255) {
        sl = ((b[q + 1]! << 24) | (b[q + 2]! << 16) | (b[q + 3]! << 8) | b[q + 4]!) >>> 0;
        h = 5;
      }
      const type = (b[q + h] ?? 0) & 0x7f;
      const body = q + h + 1;
      if (type === 16 && sl === 9) keyId = hex(body, body + 8);
      if (type === 33 && !keyId && sl > 2) keyId = b[body] === 4 ? hex(body + 1 + 12, body + 1 + 20) : hex(body + 1, body + 9);
      q += h + sl;
    }
    q = end;
  }
  return { version, pubAlgo, hashAlgo, keyId: keyId || '0000000000000000' };
}

async function signatureCheck(blob: Uint8Array, data: Uint8Array | (() => Uint8Array), keyring: GpgKeyring, prefix: string): Promise<RpmCheck> {
  const d = describeSignaturePacket(blob);
  if (d === null) return { kind: 'signature', name: `${prefix}OpenPGP signature`, status: 'BAD', detail: 'unreadable signature packet' };
  const keyId = d.keyId.toLowerCase();
  const name = `${prefix}V${d.version} ${PUBKEY_NAMES[d.pubAlgo] ?? `algo${d.pubAlgo}`}/${HASH_NAMES[d.hashAlgo] ?? `hash${d.hashAlgo}`} Signature, key ID ${keyId.slice(-8)}`;
  let status: RpmCheckStatus;
  try {
    const res = await gpgVerify(typeof data === 'function' ? data() : data, [blob], keyring);
    const s = res.signatures[0];
    status = !s ? 'BAD' : s.keyMissing ? 'NOKEY' : s.valid ? 'OK' : 'BAD';
  } catch {
    // openpgp.js cannot read it (a v3 or post-quantum signature): NOKEY unless we hold the key
    status = keyring.lookup(keyId) ? 'BAD' : 'NOKEY';
  }
  return { kind: 'signature', name, status, keyId };
}

/**
 * Checks a package's digests and signatures. Problems are reported in the result, not thrown;
 * only unusable arguments and unreadable packages throw.
 */
export async function verifyRpm(pkg: RpmPackage, opts: VerifyRpmOptions = {}): Promise<RpmVerifyResult> {
  if (!pkg || typeof pkg.payloadChunks !== 'function') throw new TypeError('verifyRpm: expected an RpmPackage');
  if (opts.sha256 !== undefined && typeof opts.sha256 !== 'function') throw new TypeError('verifyRpm: sha256 must be a function returning a hasher');
  const keyring =
    opts.keyring ??
    (await readGpgKeyring((opts.keys ?? []).map((k) => (typeof k === 'string' ? new TextEncoder().encode(k) : k))));
  const sig = pkg.signature;
  const hdr = pkg.header;
  const headerBytes = pkg.headerBytes;
  const checks: RpmCheck[] = [];

  // header-only signatures: v6 OPENPGP, then RSA, DSA
  const headerSigs: Uint8Array[] = [];
  if (sig.has(SigTag.OPENPGP)) {
    for (const s of sig.getStringArray(SigTag.OPENPGP)!) {
      try {
        headerSigs.push(fromBase64(s));
      } catch {
        checks.push({ kind: 'signature', name: 'Header OpenPGP signature', status: 'BAD', detail: 'not base64' });
      }
    }
  } else {
    if (sig.has(SigTag.RSA)) headerSigs.push(sig.getBin(SigTag.RSA)!);
    if (sig.has(SigTag.DSA)) headerSigs.push(sig.getBin(SigTag.DSA)!);
  }
  for (const blob of headerSigs) checks.push(await signatureCheck(blob, headerBytes, keyring, 'Header '));

  const sha256 = sig.getString(SigTag.SHA256);
  const hasher = (algo: number): Hasher | null => (algo === DigestAlgo.SHA256 && opts.sha256 ? opts.sha256() : createHasher(algo));
  const hashOf = (algo: number, data: Uint8Array): Uint8Array => {
    const h = hasher(algo)!;
    h.update(data);
    return h.digest();
  };
  if (sha256 !== undefined) checks.push(digestCheck('Header SHA256 digest', sha256, toHex(hashOf(DigestAlgo.SHA256, headerBytes))));
  const sha3 = sig.getString(SigTag.SHA3_256);
  if (sha3 !== undefined) checks.push(digestCheck('Header SHA3-256 digest', sha3, toHex(digestBytes(DigestAlgo.SHA3_256, headerBytes))));
  const sha1 = sig.getString(SigTag.SHA1);
  if (sha1 !== undefined) checks.push(digestCheck('Header SHA1 digest', sha1, toHex(digestBytes(DigestAlgo.SHA1, headerBytes))));

  const legacy: SigToCheck[] = [];
  if (!sig.has(SigTag.OPENPGP)) {
    if (sig.has(SigTag.PGP)) legacy.push({ blob: sig.getBin(SigTag.PGP)!, withPayload: true });
    if (sig.has(SigTag.GPG)) legacy.push({ blob: sig.getBin(SigTag.GPG)!, withPayload: true });
  }
  if (!opts.headerOnly) {
    const payloadDigest = hdr.getStringArray(Tag.PAYLOADDIGEST)?.[0];
    const payloadAlgo = hdr.getNumber(Tag.PAYLOADDIGESTALGO) ?? DigestAlgo.SHA256;
    const md5 = sig.getBin(SigTag.MD5);
    const pHash: Hasher | null = payloadDigest !== undefined ? hasher(payloadAlgo) : null;
    if (payloadDigest !== undefined && pHash === null) throw new RpmError(RpmErrorCode.UNSUPPORTED, pkg.pkg, `payload digest algorithm ${payloadAlgo} is not supported`);
    const mHash = md5 ? createHasher(DigestAlgo.MD5)! : null;
    mHash?.update(headerBytes);
    // legacy header+payload signatures need the bytes; they are only kept when present (rare, v3-era)
    const keep: Uint8Array[] | null = legacy.length ? [headerBytes] : null;
    let payloadSize = 0;
    for await (const chunk of pkg.payloadChunks()) {
      pHash?.update(chunk);
      mHash?.update(chunk);
      keep?.push(chunk.slice());
      payloadSize += chunk.length;
    }
    const sizeTag = sig.getNumber(SigTag.LONGSIZE) ?? sig.getNumber(SigTag.SIZE);
    if (sizeTag !== undefined && sizeTag !== headerBytes.length + payloadSize)
      checks.push({ kind: 'digest', name: 'Header+payload size', status: 'BAD', detail: `Expected ${sizeTag} != ${headerBytes.length + payloadSize}` });
    if (pHash) {
      const computed = toHex(pHash.digest());
      const main = digestCheck(`Payload ${digestAlgoName(payloadAlgo)} digest`, payloadDigest!, computed);
      // rpm checks PAYLOADDIGESTALT (the uncompressed payload's digest) only where it reads the
      // payload as stored: when no compressor is named, or as a fallback when the main digest fails
      const alt = hdr.getStringArray(Tag.PAYLOADDIGESTALT)?.[0];
      if (alt !== undefined && (!hdr.has(Tag.PAYLOADCOMPRESSOR) || main.status !== 'OK')) checks.push(digestCheck(`Payload ${digestAlgoName(payloadAlgo)} ALT digest`, alt, computed));
      checks.push(main);
    }
    for (const l of legacy) {
      const all = () => {
        const n = keep!.reduce((a, b) => a + b.length, 0);
        const out = new Uint8Array(n);
        let o = 0;
        for (const b of keep!) {
          out.set(b, o);
          o += b.length;
        }
        return out;
      };
      checks.push(await signatureCheck(l.blob, all, keyring, ''));
    }
    if (mHash) checks.push(digestCheck('MD5 digest', toHex(md5!), toHex(mHash.digest())));
  }

  const digestsOk = checks.every((c) => c.kind !== 'digest' || c.status === 'OK');
  const sigs = checks.filter((c) => c.kind === 'signature');
  const signaturesOk = sigs.every((c) => c.status === 'OK');
  const ok = digestsOk && signaturesOk;
  const words = [digestsOk ? 'digests' : 'DIGESTS'];
  if (sigs.length) words.push(signaturesOk ? 'signatures' : 'SIGNATURES');
  const summary = `${words.join(' ')} ${ok ? 'OK' : 'NOT OK'}`;
  const lines = checks.map((c) => `    ${c.name}: ${c.status}${c.detail && c.status === 'BAD' && c.kind === 'digest' ? ` (${c.detail})` : ''}`);
  return { pkg: pkg.pkg, checks, digestsOk, signaturesOk, signed: sigs.length > 0, ok, summary, lines };
}
