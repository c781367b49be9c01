// `xylem rev-parse REV…`: print the commit checksum a revision names.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { resolveRev } from '../../src/repo/refs.ts';

export const command: Command = {
  name: 'rev-parse',
  summary: 'Output the target of a rev',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'single', short: 'S', kind: 'flag' }]);
    if (p.positionals.length === 0) throw new UsageError('A REV argument is required');
    const repo = await ctx.openRepo();
    if (p.flag('single')) {
      // --single: resolve a unique checksum prefix among commits only.
      const rev = p.positionals[0]!;
      ctx.out(`${await resolveRev(repo, rev)}\n`);
      return 0;
    }
    for (const rev of p.positionals) ctx.out(`${await resolveRev(repo, rev)}\n`);
    return 0;
  },
};
