// `xylem checkout COMMIT [DEST]`: materialize a commit into a directory (ostree checkout).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { checkout, type OverwriteMode } from '../../src/repo/checkout.ts';
import { basename } from '../../src/util/path.ts';

export const command: Command = {
  name: 'checkout',
  summary: 'Check out a commit into a filesystem tree',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'user-mode', short: 'U', kind: 'flag' },
      { name: 'disable-cache', kind: 'flag' },
      { name: 'subpath', kind: 'string' },
      { name: 'union', kind: 'flag' },
      { name: 'union-add', kind: 'flag' },
      { name: 'union-identical', kind: 'flag' },
      { name: 'whiteouts', kind: 'flag' },
      { name: 'process-whiteouts', kind: 'flag' },
      { name: 'allow-noent', kind: 'flag' },
      { name: 'require-hardlinks', short: 'H', kind: 'flag' },
      { name: 'force-copy', short: 'C', kind: 'flag' },
      { name: 'force-copy-zerosized', kind: 'flag' },
      { name: 'bareuseronly-dirs', short: 'M', kind: 'flag' },
      { name: 'fsync', kind: 'string' },
      { name: 'skip-list', kind: 'string' },
      { name: 'from-file', kind: 'string' },
      { name: 'selinux-policy', kind: 'string' },
    ]);
    const [rev, destArg] = p.positionals;
    if (!rev) throw new UsageError('COMMIT must be specified');
    const repo = await ctx.openRepo();
    let overwrite: OverwriteMode = 'none';
    if (p.flag('union')) overwrite = 'union-files';
    else if (p.flag('union-add')) overwrite = 'add-files';
    else if (p.flag('union-identical')) overwrite = 'union-identical';
    const dest = destArg ?? basename(rev);
    const opts: Parameters<typeof checkout>[3] = {
      userMode: p.flag('user-mode'),
      requireHardlinks: p.flag('require-hardlinks'),
      forceCopy: p.flag('force-copy'),
      overwrite,
    };
    const sub = p.value('subpath');
    if (sub !== undefined) opts.subpath = sub;
    if (p.flag('allow-noent')) {
      try {
        await checkout(repo, rev, dest, opts);
      } catch (e) {
        if (/No such file or directory/.test(String((e as Error).message))) return 0;
        throw e;
      }
      return 0;
    }
    await checkout(repo, rev, dest, opts);
    return 0;
  },
};
