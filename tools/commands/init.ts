// `xylem init`: create a repository (ostree init).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { Repo, parseRepoMode } from '../../src/repo/repo.ts';

export const command: Command = {
  name: 'init',
  summary: 'Initialize a new empty repository',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'mode', kind: 'string', arg: 'MODE', description: 'Repository mode: bare, bare-user, bare-user-only, archive-z2 (default: bare)' },
      { name: 'collection-id', kind: 'string', arg: 'COLLECTION-ID', description: 'Collection ID for this repository or remote' },
    ]);
    const modeStr = p.value('mode') ?? 'bare';
    let mode;
    try {
      mode = parseRepoMode(modeStr);
    } catch {
      throw new UsageError(`Invalid mode '${modeStr}'`);
    }
    const path = ctx.repoPath ?? '.';
    const opts: { mode: typeof mode; collectionId?: string } = { mode };
    const cid = p.value('collection-id');
    if (cid !== undefined) opts.collectionId = cid;
    await Repo.init(ctx.host, path, opts);
    return 0;
  },
};
