// libostree's ed25519 signature engine: 64-byte signatures over the signed bytes, stored as
// `ostree.sign.ed25519` (aay). Keys are base64 text: public = 32 bytes, secret = 64 bytes
// (libsodium layout: seed ‖ public). Key files hold one key per line; trusted and revoked keys are
// looked up in BASEDIR/{trusted,revoked}.ed25519 and *.d/ folders (system dirs by default).
// @noble/curves is loaded on demand.

import type { LoadKeysOptions, Signer, SignerEnvironment, SignKey } from './signer.ts';
import { ED25519_SIGS_KEY } from './metadata.ts';
import type { FsHost } from '../host.ts';
import { bytesEqual, fromUtf8Lossy, toHex } from '../util/bytes.ts';
import { joinPath } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 64;
export const ED25519_SIGNATURE_BYTES = 64;
/** libostree's defaults: /etc/ostree and DATADIR/ostree. */
export const DEFAULT_SYSTEM_KEY_DIRS = ['/etc/ostree', '/usr/share/ostree'];
/** Cap on a key file we read. */
const MAX_KEY_FILE = 16 * 1024 * 1024;

type Ed = (typeof import('@noble/curves/ed25519.js'))['ed25519'];
let edLoading: Promise<Ed> | null = null;
function loadEd(): Promise<Ed> {
  edLoading ??= import('@noble/curves/ed25519.js').then((m) => m.ed25519);
  return edLoading;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** g_base64_decode: characters outside the alphabet are skipped, '=' ends the data. */
export function lenientBase64Decode(s: string): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of s) {
    if (ch === '=') break;
    const v = B64.indexOf(ch);
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

function keyBytes(key: SignKey): Uint8Array {
  if (typeof key === 'string') return lenientBase64Decode(key);
  if (key instanceof Uint8Array) return key;
  throw new XylemError('Unknown ed25519 key type');
}

/** Parses a public key (base64 text or 32 raw bytes). */
export function parseEd25519PublicKey(key: SignKey): Uint8Array {
  const b = keyBytes(key);
  if (b.length !== ED25519_PUBLIC_KEY_BYTES) throw new XylemError('Incorrect ed25519 public key');
  return b.slice();
}

/** Parses a secret key (base64 text or 64 raw bytes: seed ‖ public). */
export function parseEd25519SecretKey(key: SignKey): Uint8Array {
  const b = keyBytes(key);
  if (b.length !== ED25519_SECRET_KEY_BYTES) throw new XylemError('Incorrect ed25519 secret key');
  return b.slice();
}

/** An ed25519 signature over `data` with a libsodium-layout 64-byte secret key. */
export async function ed25519Sign(data: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  if (!(data instanceof Uint8Array)) throw new TypeError('ed25519Sign: data must be a Uint8Array');
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== ED25519_SECRET_KEY_BYTES)
    throw new XylemError('Incorrect ed25519 secret key');
  const ed = await loadEd();
  return ed.sign(data, secretKey.subarray(0, 32));
}

/** Strict (RFC 8032, non-ZIP-215) verification, as libsodium's crypto_sign_verify_detached. */
export async function ed25519Verify(signature: Uint8Array, data: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (!(signature instanceof Uint8Array) || !(data instanceof Uint8Array) || !(publicKey instanceof Uint8Array))
    throw new TypeError('ed25519Verify: arguments must be Uint8Arrays');
  if (signature.length !== ED25519_SIGNATURE_BYTES || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  const ed = await loadEd();
  try {
    return ed.verify(signature, data, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** The public half of a 32-byte seed. */
export async function ed25519PublicKeyFromSeed(seed: Uint8Array): Promise<Uint8Array> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('ed25519PublicKeyFromSeed: seed must be 32 bytes');
  return (await loadEd()).getPublicKey(seed);
}

async function isRegularFile(fs: FsHost, path: string): Promise<boolean> {
  return (await fs.stat(path))?.kind === 'file';
}

/** Lines of a key file, as g_data_input_stream_read_line gives them (LF-separated, last line unterminated). */
async function readKeyLines(fs: FsHost, path: string): Promise<string[]> {
  const st = await fs.stat(path);
  if (st && st.size > MAX_KEY_FILE) throw new XylemError(`Key file '${path}' is too large`);
  const text = fromUtf8Lossy(await fs.readFile(path));
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export class Ed25519Signer implements Signer {
  readonly name = 'ed25519';
  readonly metadataKey = ED25519_SIGS_KEY;
  private secret: Uint8Array | null = null;
  /** Most recently added first, like libostree's g_list_prepend. */
  private publicKeys: Uint8Array[] = [];
  private revokedKeys: Uint8Array[] = [];
  private readonly fs: FsHost;
  private readonly systemDirs: string[];

  constructor(senv: SignerEnvironment) {
    this.fs = senv.fs;
    this.systemDirs = senv.systemKeyDirs ?? DEFAULT_SYSTEM_KEY_DIRS;
  }

  private clear(): void {
    this.secret = null;
    this.publicKeys = [];
    this.revokedKeys = [];
  }

  setSecretKey(key: SignKey): void {
    this.clear();
    this.secret = parseEd25519SecretKey(key);
  }

  setPublicKey(key: SignKey): void {
    this.clear();
    this.addPublicKey(key);
  }

  addPublicKey(key: SignKey): void {
    const k = parseEd25519PublicKey(key);
    if (!this.publicKeys.some((x) => bytesEqual(x, k))) this.publicKeys.unshift(k);
  }

  private addRevoked(key: SignKey): void {
    const k = keyBytes(key);
    if (k.length !== ED25519_PUBLIC_KEY_BYTES) throw new XylemError('Incorrect ed25519 revoked key');
    if (!this.revokedKeys.some((x) => bytesEqual(x, k))) this.revokedKeys.unshift(k.slice());
  }

  /** _load_pk_from_file: every valid line is added; a file with none is an error. */
  private async loadFile(path: string, trusted: boolean): Promise<void> {
    if (!(await isRegularFile(this.fs, path))) throw new XylemError(`File object '${path}' is not a regular file`);
    let added = false;
    let firstError: Error | null = null;
    for (const line of await readKeyLines(this.fs, path)) {
      try {
        if (trusted) this.addPublicKey(line);
        else this.addRevoked(line);
        added = true;
      } catch (e) {
        firstError ??= e as Error;
      }
    }
    if (!added) throw firstError ?? new XylemError(`signature: ed25519: no valid keys in file '${path}'`);
  }

  private async loadDirs(basedirs: string[], trusted: boolean): Promise<void> {
    const files: string[] = [];
    for (const base of basedirs) {
      const name = joinPath(base, trusted ? 'trusted.ed25519' : 'revoked.ed25519');
      files.push(name);
      try {
        const entries = await this.fs.readdir(`${name}.d`);
        for (const e of entries.map((x) => x.name).sort()) files.push(joinPath(`${name}.d`, e));
      } catch (e) {
        const code = errnoCode(e);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      }
    }
    let ok = false;
    for (const f of files) {
      try {
        await this.loadFile(f, trusted);
        ok = true;
      } catch {
        // libostree logs and skips files it cannot use
      }
    }
    if (!ok) throw new XylemError('signature: ed25519: no keys loaded');
  }

  async loadPublicKeys(opts: LoadKeysOptions = {}): Promise<void> {
    if (opts.filename !== undefined) return this.loadFile(opts.filename, true);
    const dirs = opts.basedir !== undefined ? [opts.basedir] : this.systemDirs;
    await this.loadDirs(dirs, true);
    try {
      await this.loadDirs(dirs, false);
    } catch {
      // revoked keys are optional
    }
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    if (!(data instanceof Uint8Array)) throw new TypeError('ed25519: data must be a Uint8Array');
    if (this.secret === null) throw new XylemError('Not able to sign: secret key is not set');
    return ed25519Sign(data, this.secret);
  }

  async verify(data: Uint8Array, signatures: Uint8Array[] | null): Promise<string> {
    if (!(data instanceof Uint8Array)) throw new XylemError('ed25519: unable to verify NULL data');
    if (signatures === null) throw new XylemError('ed25519: commit have no signatures of my type');
    if (this.publicKeys.length === 0) await this.loadPublicKeys({});
    const invalid: string[] = [];
    for (const sig of signatures) {
      if (sig.length !== ED25519_SIGNATURE_BYTES)
        throw new XylemError(`Invalid signature length of ${sig.length} bytes, expected ${ED25519_SIGNATURE_BYTES}`);
      for (const pk of this.publicKeys) {
        if (this.revokedKeys.some((r) => bytesEqual(r, pk))) continue;
        if (await ed25519Verify(sig, data, pk)) return `ed25519: Signature verified successfully with key '${toHex(pk)}'`;
        invalid.push(`key '${toHex(pk)}'`);
      }
    }
    if (invalid.length > 3) throw new XylemError(`ed25519: Signature couldn't be verified; tried ${invalid.length} keys`);
    if (invalid.length > 0) throw new XylemError(`ed25519: Signature couldn't be verified with: ${invalid.join('; ')}`);
    throw new XylemError('ed25519: no signatures found');
  }
}
