// Help and usage texts for both CLIs, generated from the option specs the parser uses (so the
// two cannot drift), in the layout of GLib's GOptionContext as ostree prints it: a usage line
// naming the program that was run, the summary, the subcommand table, then the options.

import type { OptionSpec } from './options.ts';

/** What the help of the command being run says; the dispatchers fill it in as they descend. */
export interface HelpInfo {
  /** Command words after the program name: ['remote', 'add']. */
  path: string[];
  /** Parameters after [OPTION…], e.g. 'NAME URL [BRANCH…]'. */
  params?: string;
  summary?: string;
  /** Every option the parser accepts here (help itself is listed under "Help Options"). */
  specs: OptionSpec[];
  /** Subcommands, as [name, summary] rows, for commands that dispatch. */
  subcommands?: Array<[string, string]>;
}

/** Thrown by the option parser when it meets -h/--help: the caller prints the help, exit 0. */
export class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

/**
 * The program name the usage line shows: `xylem`/`rpm-xylem`, or what XYLEM_PROGRAM_NAME says
 * (tools/ostree-shim runs xylem as `ostree` and sets it so). Only a plain word is accepted.
 */
export function programName(env: Record<string, string | undefined>, fallback: string): string {
  const n = env.XYLEM_PROGRAM_NAME;
  return n && /^[A-Za-z0-9._-]{1,64}$/.test(n) ? n : fallback;
}

function optionLabel(s: OptionSpec): string {
  const long = `--${s.name}${s.kind === 'flag' ? '' : `=${s.arg ?? s.name.toUpperCase().replace(/-/g, '_')}`}`;
  return s.short ? `-${s.short}, ${long}` : long;
}

function table(rows: Array<[string, string]>, width: number): string {
  return rows.map(([l, d]) => (d ? `  ${l.padEnd(width)}${d}` : `  ${l}`).trimEnd() + '\n').join('');
}

/** The full help text for `prog` at `info` (ends with a blank line, as GLib's does). */
export function renderHelp(prog: string, info: HelpInfo): string {
  const words = [prog, ...info.path].join(' ');
  const params = info.params ?? (info.subcommands ? 'COMMAND' : '');
  let s = `Usage:\n  ${words} [OPTION…]${params ? ` ${params}` : ''}\n\n`;
  if (info.summary) s += `${info.summary}\n\n`;
  const opts: Array<[string, string]> = info.specs
    .filter((o) => o.name !== 'help' && !o.hidden)
    .map((o) => [optionLabel(o), o.description ?? '']);
  const helpRow: [string, string] = ['-h, --help', 'Show help options'];
  const subRows = info.subcommands ?? [];
  const optWidth = Math.max(helpRow[0].length, ...opts.map(([l]) => l.length)) + 4;
  if (info.subcommands) {
    const group = info.path.length ? `"${info.path.join(' ')}" ` : '';
    const subWidth = Math.max(0, ...subRows.map(([n]) => n.length)) + 4;
    s += `Builtin ${group}Commands:\n${table(subRows, Math.max(subWidth, optWidth))}\n`;
  }
  s += `Help Options:\n${table([helpRow], optWidth)}\n`;
  if (opts.length) s += `Application Options:\n${table(opts, optWidth)}\n`;
  return s;
}
