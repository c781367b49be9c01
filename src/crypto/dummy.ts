// libostree's "dummy" signature engine, for tests only (enabled by OSTREE_DUMMY_SIGN_ENABLED=1):
// the "signature" is the secret key string itself, and it verifies when it equals the public key.

import type { Signer, SignerEnvironment, SignKey } from './signer.ts';
import { DUMMY_SIGS_KEY } from './metadata.ts';
import { fromUtf8Lossy, utf8 } from '../util/bytes.ts';
import { XylemError } from '../util/errors.ts';

function keyText(key: SignKey): string {
  if (typeof key === 'string') return key;
  if (key instanceof Uint8Array) return fromUtf8Lossy(key);
  throw new TypeError('dummy: a key must be a string or bytes');
}

/** Strings are compared up to a NUL, as g_strcmp0 on g_strndup'ed data. */
function cString(s: string): string {
  const i = s.indexOf('\0');
  return i < 0 ? s : s.slice(0, i);
}

export class DummySigner implements Signer {
  readonly name = 'dummy';
  readonly metadataKey = DUMMY_SIGS_KEY;
  private secret: string | null = null;
  private pub: string | null = null;
  private readonly env: Record<string, string | undefined>;

  constructor(senv: SignerEnvironment) {
    this.env = senv.env ?? {};
  }

  private checkEnabled(): void {
    if (this.env.OSTREE_DUMMY_SIGN_ENABLED !== '1') throw new XylemError('dummy signature type is only for ostree testing');
  }

  setSecretKey(key: SignKey): void {
    this.checkEnabled();
    this.secret = keyText(key);
  }

  setPublicKey(key: SignKey): void {
    this.pub = keyText(key);
  }

  addPublicKey(key: SignKey): void {
    this.pub = keyText(key);
  }

  async loadPublicKeys(): Promise<void> {
    throw new XylemError('not implemented');
  }

  async sign(data: Uint8Array): Promise<Uint8Array> {
    this.checkEnabled();
    if (!(data instanceof Uint8Array)) throw new TypeError('dummy: data must be a Uint8Array');
    if (this.secret === null) throw new XylemError('Not able to sign: secret key is not set');
    return utf8(cString(this.secret));
  }

  async verify(data: Uint8Array, signatures: Uint8Array[] | null): Promise<string> {
    this.checkEnabled();
    if (!(data instanceof Uint8Array)) throw new TypeError('dummy: data must be a Uint8Array');
    if (signatures === null) throw new XylemError('signature: dummy: commit have no signatures of my type');
    for (const s of signatures) {
      if (this.pub !== null && cString(fromUtf8Lossy(s)) === this.pub) return 'dummy: Signature verified';
    }
    if (signatures.length) throw new XylemError(`signature: dummy: incorrect signatures found: ${signatures.length}`);
    throw new XylemError('signature: dummy: no signatures');
  }
}
