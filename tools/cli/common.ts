// Parsing shared by every command: its own options plus ostree's common ones (--repo, -v, -h).

import type { CliContext } from './context.ts';
import { parseOptions, type OptionSpec, type Parsed } from './options.ts';

const COMMON: OptionSpec[] = [
  { name: 'repo', kind: 'string' },
  { name: 'verbose', short: 'v', kind: 'flag' },
  { name: 'help', short: 'h', kind: 'flag' },
  { name: 'sysroot', kind: 'string' },
];

/** Parses a command's argv; applies --repo/-v to the context. */
export function parseCommand(ctx: CliContext, argv: string[], specs: OptionSpec[]): Parsed {
  const names = new Set(specs.map((s) => s.name));
  const p = parseOptions(argv, [...specs, ...COMMON.filter((c) => !names.has(c.name))]);
  const repo = p.value('repo');
  if (repo !== undefined && !names.has('repo')) ctx.repoPath = repo;
  if (p.flag('verbose')) ctx.verbose = true;
  return p;
}
