// `xylem pull-local SRC_REPO [REFS…]`: copy commits from another local repository.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { Repo } from '../../src/repo/repo.ts';
import { pullLocal } from '../../src/repo/pull-local.ts';

export const command: Command = {
  name: 'pull-local',
  summary: 'Copy data from SRC_REPO',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'commit-metadata-only', kind: 'flag' },
      { name: 'remote', kind: 'string' },
      { name: 'disable-fsync', kind: 'flag' },
      { name: 'per-object-fsync', kind: 'flag' },
      { name: 'untrusted', kind: 'flag' },
      { name: 'bareuseronly-files', kind: 'flag' },
      { name: 'require-static-deltas', kind: 'flag' },
      { name: 'gpg-verify', kind: 'flag' },
      { name: 'gpg-verify-summary', kind: 'flag' },
      { name: 'disable-verify-bindings', kind: 'flag' },
      { name: 'depth', kind: 'string' },
    ]);
    const [srcPath, ...refs] = p.positionals;
    if (!srcPath) throw new UsageError('DESTINATION must be specified');
    const repo = await ctx.openRepo();
    if (p.flag('disable-fsync')) repo.config.set('core', 'fsync', 'false');
    const src = await Repo.open(ctx.host, srcPath);
    const depth = p.value('depth');
    const stats = await pullLocal(repo, src, refs, {
      depth: depth === undefined ? 0 : Number(depth),
      commitMetadataOnly: p.flag('commit-metadata-only'),
      remote: p.value('remote') ?? null,
      bareuseronlyFiles: p.flag('bareuseronly-files'),
    });
    ctx.out(`${stats.metadataImported} metadata, ${stats.contentImported} content objects imported; ${stats.contentBytesWritten} bytes content written\n`);
    return 0;
  },
};
