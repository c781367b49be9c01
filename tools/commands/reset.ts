// `xylem reset REF COMMIT`: point a ref at another commit (ostree reset).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { parseRefspec, resolveRev, setRef } from '../../src/repo/refs.ts';
import { updateSummaryIfConfigured } from '../../src/repo/transaction.ts';

export const command: Command = {
  name: 'reset',
  summary: 'Reset a REF to a previous COMMIT',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    if (p.positionals.length < 2) throw new UsageError('A ref and commit argument is required');
    const [refArg, rev] = p.positionals as [string, string];
    const repo = await ctx.openRepo();
    await resolveRev(repo, refArg);
    const { remote, ref } = parseRefspec(refArg);
    const csum = (await resolveRev(repo, rev))!;
    await setRef(repo, remote, ref, csum);
    await updateSummaryIfConfigured(repo, 'refs');
    return 0;
  },
};
