// The `xylem` command line: ostree's command surface. Finds the subcommand, builds the host for
// this runtime, runs the command and maps errors to ostree's "error: …" lines and exit codes.

import { createNodeHost } from '../runtimes/node/index.ts';
import type { CliContext } from './cli/context.ts';
import { openRepoAt } from './cli/context.ts';
import { COMMANDS } from './commands/index.ts';
import { versionText } from './cli/version.ts';

function usage(): string {
  const lines = ['Usage:', '  ostree [OPTION…] COMMAND', '', 'Builtin Commands:'];
  for (const c of COMMANDS) lines.push(`  ${c.name.padEnd(22)}${c.summary}`);
  lines.push('', 'Application Options:', '  -h, --help              Show help options', '  --version               Print version information and exit', '');
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const env = process.env as Record<string, string | undefined>;
  // libuv's thread pool (default 4) runs every fs call and zlib job; commits and checkouts keep
  // dozens in flight. Must be set before the pool's first use.
  if (!env.UV_THREADPOOL_SIZE) env.UV_THREADPOOL_SIZE = '16';
  let cmdIndex = -1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) {
      cmdIndex = i;
      break;
    }
  }
  const globals = cmdIndex < 0 ? argv : argv.slice(0, cmdIndex);
  if (globals.includes('--version')) {
    process.stdout.write(versionText());
    return 0;
  }
  if (cmdIndex < 0) {
    const help = globals.includes('--help') || globals.includes('-h');
    (help ? process.stdout : process.stderr).write(usage());
    if (!help) process.stderr.write('error: No command specified\n');
    return help ? 0 : 1;
  }
  const name = argv[cmdIndex]!;
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(usage());
    process.stderr.write(`error: Unknown command '${name}'\n`);
    return 1;
  }
  const rest = [...globals, ...argv.slice(cmdIndex + 1)];
  // A CLI run owns its process: blocking metadata syscalls beat thread-pool round trips.
  const host = createNodeHost({ blockingCalls: env.XYLEM_BLOCKING_IO !== '0' });
  const ctx: CliContext = {
    host,
    env,
    repoPath: env.OSTREE_REPO || undefined,
    verbose: false,
    isTTY: !!process.stdout.isTTY,
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    openRepo: () => openRepoAt(host, ctx.repoPath),
  };
  try {
    return await (await cmd.load()).run(ctx, rest);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${msg}\n`);
    if (env.XYLEM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

let settled = false;
// Safety net: a command whose work can never finish (nothing left to run, its promise still
// pending) would otherwise end the process with status 0 as if it had succeeded.
process.once('beforeExit', () => {
  if (settled) return;
  process.stderr.write('error: internal error: the command stopped before it finished\n');
  process.exitCode = 1;
});
main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
  },
  (e) => {
    settled = true;
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
