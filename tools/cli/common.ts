// Parsing shared by every command: its own options plus ostree's common ones (--repo, -v, -h),
// and the subcommand dispatch of the commands that group others (remote, admin, static-delta).

import type { CliContext } from './context.ts';
import { UsageError } from './context.ts';
import { HelpRequested } from './help.ts';
import { parseOptions, type OptionSpec, type Parsed } from './options.ts';

const COMMON: OptionSpec[] = [
  { name: 'repo', kind: 'string', arg: 'PATH', description: 'Path to the repository (default: the current directory if it is one, else the system repository)' },
  { name: 'verbose', short: 'v', kind: 'flag', description: 'Print debug information while the command runs' },
  { name: 'help', short: 'h', kind: 'flag', description: 'Show help options' },
  { name: 'sysroot', kind: 'string', arg: 'PATH', hidden: true, description: 'Root of the system to operate on' },
];

/** Parses a command's argv; applies --repo/-v to the context. Throws HelpRequested on -h/--help. */
export function parseCommand(ctx: CliContext, argv: string[], specs: OptionSpec[]): Parsed {
  const names = new Set(specs.map((s) => s.name));
  const all = [...specs, ...COMMON.filter((c) => !names.has(c.name))];
  ctx.help = { ...ctx.help, specs: all };
  const p = parseOptions(argv, all);
  const repo = p.value('repo');
  if (repo !== undefined && !names.has('repo')) ctx.repoPath = repo;
  if (p.flag('verbose')) ctx.verbose = true;
  return p;
}

/** A subcommand row: name, one-line summary, parameters for its usage line. */
export type SubcommandRow = [name: string, summary: string, params?: string];

/**
 * Picks the subcommand of a grouping command (`remote add …`): the first argument that is not an
 * option. Sets the group's help, then the chosen subcommand's (path, summary, parameters) on the
 * context and returns its name and remaining arguments. Without a subcommand, -h/--help shows the
 * group's help; otherwise a missing or unknown one is a usage error (usage printed by the caller).
 */
export function pickSubcommand(
  ctx: CliContext,
  argv: string[],
  rows: SubcommandRow[],
  groupSpecs: OptionSpec[] = [COMMON[1]!, COMMON[2]!],
): { name: string; argv: string[] } {
  const group = ctx.help.path.join(' ');
  ctx.help = { ...ctx.help, specs: groupSpecs, subcommands: rows.map(([n, s]) => [n, s]) };
  let name: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (name === undefined && !a.startsWith('-')) name = a;
    else rest.push(a);
  }
  if (name === undefined) {
    // Only the group's own options are accepted here; -h/--help throws HelpRequested.
    parseOptions(rest, groupSpecs);
    throw new UsageError(`No "${group}" subcommand specified`);
  }
  const row = rows.find(([n]) => n === name);
  if (!row) {
    if (rest.includes('-h') || rest.includes('--help')) throw new HelpRequested();
    // As ostree: without a known subcommand only the group's own options parse (not --repo).
    const dd = rest.indexOf('--');
    parseOptions(dd < 0 ? rest : rest.slice(0, dd), groupSpecs);
    throw new UsageError(`Unknown "${group}" subcommand '${name}'`);
  }
  const sub: typeof ctx.help = { path: [...ctx.help.path, name], summary: row[1], specs: groupSpecs };
  if (row[2] !== undefined) sub.params = row[2];
  ctx.help = sub;
  return { name, argv: rest };
}
