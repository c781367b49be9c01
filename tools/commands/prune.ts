// `xylem prune`: search for and delete unreachable objects (ostree prune): options and output.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { pruneRepo, deleteCommit, pruneStaticDeltas } from '../../src/maintenance/prune.ts';
import { formatSize } from '../../src/util/format-size.ts';
import { parseTimestamp } from '../../src/repo/timestamp.ts';
import { XylemError } from '../../src/util/errors.ts';

/** g_ascii_strtoll-style: leading integer; "Invalid depth X" when there is none. */
function parseDepth(text: string): number {
  const m = text.match(/^\s*([+-]?\d+)/);
  if (!m) throw new XylemError(`Invalid depth ${text}`);
  return Number(m[1]);
}

/** Parses --keep-younger-than: the commit --timestamp forms plus "N unit(s) ago". */
function parseDate(text: string, nowMs: number): bigint {
  const m = text.trim().match(/^(\d+)\s+(second|minute|hour|day|week|fortnight|month|year)s?\s+ago$/i);
  if (m) {
    const n = Number(m[1]);
    const unit = m[2]!.toLowerCase();
    const now = Math.floor(nowMs / 1000);
    const secs: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800, fortnight: 1209600 };
    if (unit in secs) return BigInt(now - n * secs[unit]!);
    const d = new Date(nowMs);
    if (unit === 'month') d.setUTCMonth(d.getUTCMonth() - n);
    else d.setUTCFullYear(d.getUTCFullYear() - n);
    return BigInt(Math.floor(d.getTime() / 1000));
  }
  try {
    return parseTimestamp(text);
  } catch {
    throw new XylemError(`Could not parse '${text}'`);
  }
}

export const command: Command = {
  name: 'prune',
  summary: 'Search for unreachable objects',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'no-prune', kind: 'flag', description: 'Only report what would be deleted' },
      { name: 'refs-only', kind: 'flag', description: 'Only keep objects reachable from refs' },
      { name: 'depth', kind: 'string', arg: 'DEPTH', description: 'Keep this many parents of each ref (-1: all)' },
      { name: 'delete-commit', kind: 'string', arg: 'COMMIT', description: 'Delete this commit' },
      { name: 'keep-younger-than', kind: 'string', arg: 'DATE', description: 'Delete commits older than this date' },
      { name: 'static-deltas-only', kind: 'flag', description: 'Only delete static deltas whose target is gone' },
      { name: 'retain-branch-depth', kind: 'strings', arg: 'BRANCH=DEPTH', description: 'Keep DEPTH parents of BRANCH (repeatable)' },
      { name: 'only-branch', kind: 'strings', arg: 'BRANCH', description: 'Prune only this branch (repeatable)' },
      { name: 'commit-only', kind: 'flag', description: 'Only look at commit objects' },
    ]);
    if (p.positionals.length > 0) throw new UsageError(`Unexpected argument ${p.positionals[0]}`);
    const repo = await ctx.openRepo();
    const noPrune = p.flag('no-prune');
    const depthText = p.value('depth');
    const depth = depthText === undefined ? -1 : parseDepth(depthText);
    const del = p.value('delete-commit');
    if (del !== undefined) {
      if (noPrune) throw new XylemError('Cannot specify both --delete-commit and --no-prune');
      if (p.flag('static-deltas-only')) await pruneStaticDeltas(repo, del);
      else await deleteCommit(repo, del);
    } else if (p.flag('static-deltas-only')) {
      throw new XylemError('--static-deltas-only requires --delete-commit; see https://github.com/ostreedev/ostree/issues/1479');
    }
    const retain = new Map<string, number>();
    for (const bd of p.list('retain-branch-depth')) {
      const eq = bd.indexOf('=');
      if (eq < 0) throw new XylemError(`Invalid value ${bd}, must specify BRANCH=DEPTH`);
      retain.set(bd.slice(0, eq), parseDepth(bd.slice(eq + 1)));
    }
    const kyt = p.value('keep-younger-than');
    const result = await pruneRepo(repo, {
      refsOnly: p.flag('refs-only'),
      depth,
      noPrune,
      commitOnly: p.flag('commit-only'),
      keepYoungerThan: kyt === undefined ? undefined : parseDate(kyt, repo.host.now?.() ?? Date.now()),
      retainBranchDepth: retain,
      onlyBranches: p.list('only-branch'),
      debug: ctx.verbose ? (l) => ctx.err(`OT: ${l}\n`) : undefined,
    });
    ctx.out(p.flag('commit-only') ? `Total (commit only) objects: ${result.total}\n` : `Total objects: ${result.total}\n`);
    if (result.pruned === 0) ctx.out('No unreachable objects\n');
    else if (noPrune) ctx.out(`Would delete: ${result.pruned} objects, freeing ${formatSize(result.freedBytes)}\n`);
    else ctx.out(`Deleted ${result.pruned} objects, ${formatSize(result.freedBytes)} freed\n`);
    return 0;
  },
};
