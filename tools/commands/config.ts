// `xylem config get|set|unset SECTION.KEY`: read and change the repo config (ostree config).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { XylemError } from '../../src/util/errors.ts';
import { checkConfigRemotes } from '../../src/remote/config.ts';

function splitKey(key: string, group: string | undefined): [string, string] {
  if (group !== undefined) return [group, key];
  const i = key.lastIndexOf('.');
  if (i <= 0) throw new UsageError(`Section key '${key}' must be of the form SECTION.KEY`);
  return [key.slice(0, i), key.slice(i + 1)];
}

export const command: Command = {
  name: 'config',
  summary: 'Change repo configuration settings',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'group', kind: 'string', arg: 'GROUP', description: 'Group (section) of KEY, for keys with dots' }]);
    const [op, key, value] = p.positionals;
    if (!op) throw new UsageError('OPERATION must be specified');
    const maxArgs = op === 'set' ? 3 : 2;
    if (p.positionals.length > maxArgs) throw new UsageError('Too many arguments given');
    const repo = await ctx.openRepo();
    const kf = repo.config;
    const group = p.value('group');
    if (op === 'get') {
      if (!key) throw new UsageError('KEY must be specified');
      const [g, k] = splitKey(key, group);
      const v = kf.get(g, k);
      if (v === undefined) {
        if (!kf.hasGroup(g)) throw new XylemError(`Key file does not have group “${g}”`);
        throw new XylemError(`Key file does not have key “${k}” in group “${g}”`);
      }
      ctx.out(v + '\n');
      return 0;
    }
    if (op === 'set') {
      if (!key || value === undefined) throw new UsageError('KEY and VALUE must be specified');
      const [g, k] = splitKey(key, group);
      kf.set(g, k, value);
      await checkConfigRemotes(repo, kf);
      await repo.writeConfig(kf);
      return 0;
    }
    if (op === 'unset') {
      if (!key) throw new UsageError('KEY must be specified');
      const [g, k] = splitKey(key, group);
      // ostree 2022.7: unsetting a key of a missing group is not an error.
      if (!kf.hasGroup(g)) return 0;
      kf.remove(g, k);
      await checkConfigRemotes(repo, kf);
      await repo.writeConfig(kf);
      return 0;
    }
    throw new UsageError(`Unknown operation ${op}`);
  },
};
