// `xylem rev-parse REV…`: print the commit checksum a revision names; `-S` prints the repo's only commit.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { ObjectType } from '../../src/format/objects.ts';
import { XylemError } from '../../src/util/errors.ts';

export const command: Command = {
  name: 'rev-parse',
  summary: 'Output the target of a rev',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'single', short: 'S', kind: 'flag', description: 'Print the only commit of the repository (error if not exactly one)' }]);
    if (p.flag('single')) {
      if (p.positionals.length > 0) throw new UsageError('Cannot specify arguments with --single');
      const repo = await ctx.openRepo();
      const commits = (await repo.listObjects()).filter((o) => o.type === ObjectType.Commit);
      if (commits.length === 0) throw new XylemError('No commit objects found');
      if (commits.length > 1) throw new XylemError('Multiple commit objects found');
      ctx.out(`${commits[0]!.checksum}\n`);
      return 0;
    }
    if (p.positionals.length === 0) throw new UsageError('REV must be specified');
    const repo = await ctx.openRepo();
    for (const rev of p.positionals) ctx.out(`${await resolveRev(repo, rev)}\n`);
    return 0;
  },
};
