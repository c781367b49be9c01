// `xylem sign [--verify] [--sign-type=ed25519|dummy] [--keys-file=F] [--keys-dir=D] COMMIT [KEY…]`:
// sign a commit with a signapi engine, or verify its signatures (ostree sign).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { getSigner, type LoadKeysOptions } from '../../src/crypto/signer.ts';
import { signCommit, verifyCommit } from '../../src/sign/repo-sign.ts';
import { XylemError } from '../../src/util/errors.ts';
import { fromUtf8Lossy } from '../../src/util/bytes.ts';

export const command: Command = {
  name: 'sign',
  summary: 'Sign a commit',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'delete', short: 'd', kind: 'flag', description: 'Remove the signatures of these keys' },
      { name: 'verify', kind: 'flag', description: 'Verify the commit\'s signatures' },
      { name: 'sign-type', short: 's', kind: 'string', arg: 'NAME', description: 'Signature scheme (default: ed25519)' },
      { name: 'keys-file', kind: 'string', arg: 'FILE', description: 'Read keys, one per line, from FILE' },
      { name: 'keys-dir', kind: 'string', arg: 'DIR', description: 'Read trusted keys from the files of DIR' },
    ]);
    const repo = await ctx.openRepo();
    const verify = p.flag('verify');
    const keysFile = p.value('keys-file');
    if (p.positionals.length < 1) throw new UsageError('Need a COMMIT to sign or verify');
    if (!verify && keysFile === undefined && p.positionals.length < 2) throw new UsageError('Need at least one KEY-ID to sign with');
    const [rev, ...keys] = p.positionals as [string, ...string[]];
    const checksum = (await resolveRev(repo, rev))!;
    const signer = await getSigner(p.value('sign-type') ?? 'ed25519', { fs: ctx.host.fs, env: ctx.env });

    if (verify) {
      for (const key of keys) {
        try {
          signer.setPublicKey(key);
        } catch {
          continue;
        }
        try {
          ctx.out(`${await verifyCommit(signer, repo, checksum)}\n`);
          return 0;
        } catch {
          // try the next key
        }
      }
      if (keys.length === 0 || keysFile !== undefined) {
        const opts: LoadKeysOptions = {};
        const dir = p.value('keys-dir');
        if (dir !== undefined) opts.basedir = dir;
        if (keysFile !== undefined) opts.filename = keysFile;
        await signer.loadPublicKeys(opts);
        ctx.out(`${await verifyCommit(signer, repo, checksum)}\n`);
        return 0;
      }
      throw new XylemError('No valid signatures found');
    }

    for (const key of keys) {
      signer.setSecretKey(key);
      await signCommit(signer, repo, checksum);
    }
    if (keysFile !== undefined) {
      const st = await ctx.host.fs.stat(keysFile);
      if (st?.kind !== 'file') throw new XylemError(`File object '${keysFile}' is not a regular file`);
      const lines = fromUtf8Lossy(await ctx.host.fs.readFile(keysFile)).split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      for (const line of lines) {
        signer.setSecretKey(line);
        await signCommit(signer, repo, checksum);
      }
    }
    return 0;
  },
};
