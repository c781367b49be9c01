// `xylem cat REV PATH…`: write files of a commit to stdout. A symlink named by PATH is followed
// inside the commit as ostree does (relative to the link's folder; absolute from the root).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import type { Repo } from '../../src/repo/repo.ts';
import { isLnk } from '../../src/format/objects.ts';
import { pathComponents } from '../../src/util/path.ts';
import { XylemError } from '../../src/util/errors.ts';

const MAX_SYMLINKS = 40;

/** The content checksum of the regular file `path` names in the tree `root`, symlinks followed. */
async function resolveFile(repo: Repo, root: string, path: string): Promise<string> {
  let pending = pathComponents(path);
  let done: string[] = [];
  let trees: string[] = [root];
  let links = 0;
  while (pending.length > 0) {
    const name = pending[0]!;
    pending = pending.slice(1);
    if (name === '.') continue;
    if (name === '..') {
      if (done.length > 0) {
        done = done.slice(0, -1);
        trees = trees.slice(0, -1);
      }
      continue;
    }
    const dt = await repo.loadDirTree(trees[trees.length - 1]!);
    const d = dt.dirs.find((x) => x.name === name);
    if (d) {
      done = [...done, name];
      trees = [...trees, d.treeChecksum];
      continue;
    }
    const f = dt.files.find((x) => x.name === name);
    const here = '/' + [...done, name].join('/');
    if (!f) throw new XylemError(`No such file or directory: ${here}`);
    // Only the last component's symlink is followed (ostree: an inner one is 'Not a directory').
    if (pending.length > 0) throw new XylemError('Not a directory');
    const obj = await repo.loadFile(f.checksum);
    if (isLnk(obj.header.mode)) {
      if (++links > MAX_SYMLINKS) throw new XylemError(`Too many levels of symbolic links: ${here}`);
      const target = obj.header.symlinkTarget;
      if (target.startsWith('/')) {
        done = [];
        trees = [root];
      }
      pending = [...pathComponents(target), ...pending];
      continue;
    }
    return f.checksum;
  }
  throw new XylemError("Can't open directory");
}

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
      const obj = await repo.loadFile(await resolveFile(repo, commit.rootTree, path));
      const data = await obj.read();
      await new Promise<void>((resolve, reject) => process.stdout.write(data, (e) => (e ? reject(e) : resolve())));
    }
    return 0;
  },
};
