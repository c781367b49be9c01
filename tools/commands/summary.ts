// `xylem summary -u | --view | --raw`: regenerate or print the repository summary (ostree summary).

import type { Command } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { regenerateSummary, readSummary, formatSummaryView, formatSummaryRaw } from '../../src/maintenance/summary.ts';
import { parseText, type GVVariant } from '../../src/format/gvariant.ts';
import { XylemError } from '../../src/util/errors.ts';

function parseMetadata(items: string[]): Array<[string, GVVariant]> {
  return items.map((item) => {
    const eq = item.indexOf('=');
    if (eq < 0) throw new XylemError(`Invalid metadata ‘${item}’ passed to --add-metadata`);
    const text = item.slice(eq + 1);
    try {
      return [item.slice(0, eq), parseText(text)] as [string, GVVariant];
    } catch (e) {
      throw new XylemError(`Error parsing variant ‘${text}’: ${(e as Error).message}`);
    }
  });
}

export const command: Command = {
  name: 'summary',
  summary: 'Manage summary metadata',
  async run(ctx, argv) {
    // ostree's summary takes -v for --view (the global --verbose has no short form here).
    const p = parseCommand(ctx, argv, [
      { name: 'update', short: 'u', kind: 'flag', description: 'Regenerate the summary' },
      { name: 'view', short: 'v', kind: 'flag', description: 'Print the summary' },
      { name: 'verbose', kind: 'flag', description: 'Print debug information while the command runs' },
      { name: 'raw', kind: 'flag', description: 'Print the raw summary data' },
      { name: 'gpg-sign', kind: 'strings', arg: 'KEY-ID', description: 'Sign the summary with this GnuPG key (repeatable)' },
      { name: 'gpg-homedir', kind: 'string', arg: 'HOMEDIR', description: 'GnuPG home folder to find keyrings in' },
      { name: 'sign', kind: 'strings', arg: 'KEY', description: 'Sign the summary with this secret key (repeatable)' },
      { name: 'sign-type', kind: 'string', arg: 'NAME', description: 'Signature scheme (default: ed25519)' },
      { name: 'add-metadata', short: 'm', kind: 'strings', arg: 'KEY=VALUE', description: 'Add KEY=VALUE metadata, VALUE in GVariant text format' },
    ]);
    const repo = await ctx.openRepo();
    if (p.flag('update')) {
      const { getSigner } = await import('../../src/crypto/signer.ts');
      const signKeys = p.list('sign');
      const signer = signKeys.length > 0 ? await getSigner(p.value('sign-type') ?? 'ed25519', { fs: ctx.host.fs, env: ctx.env }) : null;
      await regenerateSummary(repo, { additionalMetadata: parseMetadata(p.list('add-metadata')) });
      const gpgKeys = p.list('gpg-sign');
      if (gpgKeys.length > 0) {
        const { exportGpgSecretKeys } = await import('../cli/gpg-secret-keys.ts');
        const { gpgSignSummary } = await import('../../src/sign/repo-sign.ts');
        const homedir = p.value('gpg-homedir');
        const secret = await exportGpgSecretKeys(homedir, gpgKeys, ctx.env);
        await gpgSignSummary(repo, secret, gpgKeys, { homedirLabel: homedir ?? '<default>' });
      }
      if (signer) {
        const { signSummary } = await import('../../src/sign/repo-sign.ts');
        await signSummary(signer, repo, signKeys);
      }
      return 0;
    }
    if (p.flag('view') || p.flag('raw')) {
      const data = await readSummary(repo);
      ctx.out(p.flag('raw') ? formatSummaryRaw(data) : formatSummaryView(data));
      return 0;
    }
    throw new XylemError('No option specified; use -u to update summary');
  },
};
