// `xylem refs`: list, create, alias and delete refs (ostree refs).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import {
  listLocalRefs,
  listRemoteRefs,
  listMirrorRefs,
  parseRefspec,
  resolveRev,
  setRef,
  setRefAlias,
  type RefEntry,
} from '../../src/repo/refs.ts';
import { updateSummaryIfConfigured } from '../../src/repo/transaction.ts';
import { XylemError } from '../../src/util/errors.ts';

function matches(e: RefEntry, prefix: string): string | null {
  // Returns the name with the prefix removed, or null when it does not match.
  const full = e.remote ? `${e.remote}:${e.ref}` : e.ref;
  if (prefix.endsWith(':') || prefix.endsWith(':.')) {
    const r = prefix.slice(0, prefix.indexOf(':'));
    return e.remote === r ? full : null;
  }
  if (full === prefix) return full;
  const pre = prefix.endsWith('/') ? prefix : prefix + '/';
  if (!full.startsWith(pre)) return null;
  // Like ostree: a remote prefix keeps its "remote:" in what is printed.
  return e.remote && prefix.includes(':') ? `${e.remote}:${full.slice(pre.length)}` : full.slice(pre.length);
}

export const command: Command = {
  name: 'refs',
  summary: 'List refs',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'delete', kind: 'flag', description: 'Delete the refs matching the prefixes' },
      { name: 'list', kind: 'flag', description: 'List refs with their remote names too' },
      { name: 'alias', short: 'A', kind: 'flag', description: 'With --create, make an alias ref; else list aliases' },
      { name: 'create', kind: 'string', arg: 'NEWREF', description: 'Create this ref pointing at the given one\'s commit' },
      { name: 'collections', short: 'c', kind: 'flag', description: 'List refs with their collection IDs' },
      { name: 'force', kind: 'flag', description: 'Replace the ref if it exists' },
    ]);
    const repo = await ctx.openRepo();
    const create = p.value('create');
    const alias = p.flag('alias');
    if (p.flag('delete') && create !== undefined) throw new UsageError('Cannot specify both --create and --delete');
    if (create !== undefined) {
      if (p.positionals.length !== 1) throw new UsageError('You must specify an existing ref when creating a new ref');
      const target = p.positionals[0]!;
      const { remote, ref } = (() => {
        try {
          return parseRefspec(create);
        } catch {
          throw new XylemError(`Invalid ref ${create}`);
        }
      })();
      const local = await listLocalRefs(repo);
      if (!p.flag('force')) {
        const all = [...local, ...(await listRemoteRefs(repo))];
        for (const e of all) {
          const full = e.remote ? `${e.remote}:${e.ref}` : e.ref;
          // An existing alias may be re-pointed with -A.
          if (full === create && alias && e.aliasOf) continue;
          if (full === create) throw new XylemError(`--create specified but ref ${create} already exists`);
          if (full.startsWith(create + '/') || create.startsWith(full + '/'))
            throw new XylemError(`Ref ${create} conflicts with existing ref ${full}`);
        }
      }
      if (alias) {
        if (remote !== null) throw new XylemError('Cannot create alias to remote ref: ' + create);
        if (!local.some((e) => e.ref === target)) throw new XylemError(`Cannot create alias to non-existent ref: ${target}`);
        await setRefAlias(repo, ref, target);
        await updateSummaryIfConfigured(repo, 'refs');
        return 0;
      }
      const csum = (await resolveRev(repo, target))!;
      await setRef(repo, remote, ref, csum);
      await updateSummaryIfConfigured(repo, 'refs');
      return 0;
    }
    const local = await listLocalRefs(repo);
    if (alias && !p.flag('delete')) {
      for (const e of local) if (e.aliasOf) ctx.out(`${e.ref} -> ${e.aliasOf}\n`);
      return 0;
    }
    const remote = await listRemoteRefs(repo);
    const all = [...local, ...remote];
    if (p.flag('delete')) {
      if (p.positionals.length === 0) throw new UsageError('At least one PREFIX is required when deleting refs');
      for (const prefix of p.positionals) {
        for (const e of all) {
          if (matches(e, prefix) === null) continue;
          if (e.remote === null && local.some((a) => a.aliasOf === e.ref))
            throw new XylemError(`Ref '${e.ref}' has an active alias: '${local.find((a) => a.aliasOf === e.ref)!.ref}'`);
          await setRef(repo, e.remote, e.ref, null);
        }
      }
      await updateSummaryIfConfigured(repo, 'refs');
      return 0;
    }
    if (p.flag('collections')) {
      const cid = repo.config.get('core', 'collection-id');
      for (const e of local) ctx.out(cid ? `(${cid}, ${e.ref})\n` : `${e.ref}\n`);
      for (const e of await listMirrorRefs(repo)) ctx.out(`${e.name}\n`);
      return 0;
    }
    const prefixes = p.positionals;
    const names: string[] = [];
    if (prefixes.length === 0) for (const e of all) names.push(e.remote ? `${e.remote}:${e.ref}` : e.ref);
    for (const prefix of prefixes) {
      for (const e of all) {
        const m = matches(e, prefix);
        if (m === null) continue;
        names.push(p.flag('list') ? (e.remote ? `${e.remote}:${e.ref}` : e.ref) : m);
      }
    }
    for (const n of names) ctx.out(n + '\n');
    return 0;
  },
};
