// `xylem cat REV PATH…`: write files of a commit to stdout.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { isLnk } from '../../src/format/objects.ts';
import { pathComponents } from '../../src/util/path.ts';
import { XylemError } from '../../src/util/errors.ts';

export const command: Command = {
  name: 'cat',
  summary: 'Concatenate contents of files',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    const [rev, ...paths] = p.positionals;
    if (!rev || paths.length === 0) throw new UsageError('A COMMIT and at least one PATH argument are required');
    const repo = await ctx.openRepo();
    const commit = await repo.loadCommit((await resolveRev(repo, rev))!);
    for (const path of paths) {
      let tree = commit.rootTree;
      const comps = pathComponents(path);
      let csum: string | null = null;
      for (let i = 0; i < comps.length; i++) {
        const dt = await repo.loadDirTree(tree);
        const name = comps[i]!;
        if (i === comps.length - 1) {
          const f = dt.files.find((x) => x.name === name);
          if (f) csum = f.checksum;
          else if (dt.dirs.some((x) => x.name === name)) throw new XylemError(`${path}: Is a directory`);
          break;
        }
        const d = dt.dirs.find((x) => x.name === name);
        if (!d) break;
        tree = d.treeChecksum;
      }
      if (!csum) throw new XylemError(`No such file or directory: ${path}`);
      const obj = await repo.loadFile(csum);
      if (isLnk(obj.header.mode)) continue;
      const data = await obj.read();
      await new Promise<void>((resolve, reject) => process.stdout.write(data, (e) => (e ? reject(e) : resolve())));
    }
    return 0;
  },
};
