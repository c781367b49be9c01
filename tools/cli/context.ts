// What every command gets: the host, output streams, the environment, and the repo location
// resolved from --repo / OSTREE_REPO (ostree's rules), opened on demand.

import type { Host } from '../../src/host.ts';
import { Repo } from '../../src/repo/repo.ts';
import { XylemError } from '../../src/util/errors.ts';
import type { HelpInfo } from './help.ts';

export interface CliContext {
  host: Host;
  env: Record<string, string | undefined>;
  /** Value of the global --repo option (or OSTREE_REPO), if any. */
  repoPath: string | undefined;
  verbose: boolean;
  out(text: string): void;
  err(text: string): void;
  isTTY: boolean;
  /** The program name for usage lines: `xylem`, or `ostree` under the test shim. */
  prog: string;
  /** The help of the command being run; parseCommand records its options here. */
  help: HelpInfo;
  /** Opens the repository named by --repo/OSTREE_REPO (default: the current directory if it is one). */
  openRepo(): Promise<Repo>;
}

export interface Command {
  name: string;
  /** One line for `xylem --help`. */
  summary: string;
  /** argv after the command name; returns the exit code. */
  run(ctx: CliContext, argv: string[]): Promise<number>;
  /** Subcommands (remote add, admin deploy …) are dispatched by the command itself. */
}

/** Usage error: printed as ostree's "error: …" with exit code 1. */
export class UsageError extends XylemError {
  constructor(message: string) {
    super(message, 'EUSAGE');
    this.name = 'UsageError';
  }
}

export async function openRepoAt(host: Host, path: string | undefined): Promise<Repo> {
  if (path) return Repo.open(host, path);
  // ostree: without --repo, try the current directory (a repo if it has objects/ and config).
  if (await host.fs.lstat('./config')) {
    if (await host.fs.lstat('./objects')) return Repo.open(host, '.');
  }
  // Then the system repo: $OSTREE_SYSROOT/ostree/repo, else /ostree/repo (as ostree).
  const sysroot = host.env?.OSTREE_SYSROOT;
  const sysRepo = sysroot ? `${sysroot.replace(/\/+$/, '')}/ostree/repo` : '/ostree/repo';
  if (await host.fs.lstat(`${sysRepo}/config`)) return Repo.open(host, sysRepo);
  throw new UsageError('Command requires a --repo argument');
}
