// `xylem gpg-sign [--gpg-homedir=DIR] [--delete] COMMIT KEY-ID…`: add GPG signatures to a commit,
// or delete the signatures made by the given keys (ostree gpg-sign).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { deleteCommitGpgSignatures, gpgSignCommit } from '../../src/sign/repo-sign.ts';
import { readGpgSecretKeys } from '../../src/crypto/gpg.ts';
import { exportGpgSecretKeys } from '../cli/gpg-secret-keys.ts';

export const command: Command = {
  name: 'gpg-sign',
  summary: 'Sign a commit',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'delete', short: 'd', kind: 'flag', description: 'Remove the signatures of these keys instead' },
      { name: 'gpg-homedir', kind: 'string', arg: 'HOMEDIR', description: 'GnuPG home folder to find keyrings in' },
    ]);
    const repo = await ctx.openRepo();
    if (p.positionals.length < 1) throw new UsageError('Need a COMMIT to sign');
    if (p.positionals.length < 2) throw new UsageError('Need at least one GPG KEY-ID to sign with');
    const [rev, ...keyIds] = p.positionals as [string, ...string[]];
    const checksum = (await resolveRev(repo, rev))!;
    if (p.flag('delete')) {
      const n = await deleteCommitGpgSignatures(repo, checksum, keyIds);
      ctx.out(`Signatures deleted: ${n}\n`);
      return 0;
    }
    const homedir = p.value('gpg-homedir');
    const secret = await readGpgSecretKeys(await exportGpgSecretKeys(homedir, keyIds, ctx.env));
    const opts: { keyringDir?: string; homedirLabel?: string } = { homedirLabel: homedir ?? '<default>' };
    if (homedir !== undefined) opts.keyringDir = homedir;
    for (const keyId of keyIds) await gpgSignCommit(repo, checksum, secret, keyId, opts);
    return 0;
  },
};
