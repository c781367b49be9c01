// `commit --sign/--sign-type` and `--gpg-sign/--gpg-homedir`: the detached metadata a new commit
// gets, signatures appended as ostree commit does (signapi engine first, then GPG, one per key).

import type { Repo } from '../../src/repo/repo.ts';
import type { CliContext } from './context.ts';
import { appendSignature, GPG_SIGS_KEY, type DetachedMetadata } from '../../src/crypto/metadata.ts';
import { readCommitDetachedMetadata, gpgSignData } from '../../src/sign/repo-sign.ts';
import { XylemError } from '../../src/util/errors.ts';

export interface CommitSigningOptions {
  gpgSign: string[];
  gpgHomedir: string | undefined;
  sign: string[];
  signType: string | undefined;
}

/** True when the commit must be signed. */
export function wantsSigning(o: CommitSigningOptions): boolean {
  return o.gpgSign.length > 0 || o.sign.length > 0;
}

/**
 * The detached metadata to store for a new commit: `base` (from --add-detached-metadata-string, else
 * what the repo already has for this checksum) plus the requested signatures over `commitBytes`.
 */
export async function signNewCommit(
  ctx: CliContext,
  repo: Repo,
  checksum: string,
  commitBytes: Uint8Array,
  base: DetachedMetadata | null,
  o: CommitSigningOptions,
): Promise<DetachedMetadata | null> {
  if (!wantsSigning(o)) return base;
  let md = base ?? (await readCommitDetachedMetadata(repo, checksum));
  if (o.sign.length > 0) {
    const { getSigner } = await import('../../src/crypto/signer.ts');
    const signer = await getSigner(o.signType ?? 'ed25519', { fs: ctx.host.fs, env: ctx.env });
    for (const key of o.sign) {
      signer.setSecretKey(key);
      let sig: Uint8Array;
      try {
        sig = await signer.sign(commitBytes);
      } catch (e) {
        throw new XylemError(`Not able to sign the cobject: ${(e as Error).message}`);
      }
      md = appendSignature(md, signer.metadataKey, sig);
    }
  }
  if (o.gpgSign.length > 0) {
    const { exportGpgSecretKeys } = await import('./gpg-secret-keys.ts');
    const { readGpgSecretKeys } = await import('../../src/crypto/gpg.ts');
    const secret = await readGpgSecretKeys(await exportGpgSecretKeys(o.gpgHomedir, o.gpgSign, ctx.env));
    const opts: { keyringDir?: string; homedirLabel: string } = { homedirLabel: o.gpgHomedir ?? '<default>' };
    if (o.gpgHomedir !== undefined) opts.keyringDir = o.gpgHomedir;
    for (const keyId of o.gpgSign) {
      md = appendSignature(md, GPG_SIGS_KEY, await gpgSignData(repo, commitBytes, md, secret, keyId, opts));
    }
  }
  return md;
}
