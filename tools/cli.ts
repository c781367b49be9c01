// The `xylem` command line: ostree's command surface. Finds the subcommand (or an external
// `xylem-FOO` on PATH), builds the host for this runtime, runs the command and maps errors to
// ostree's "error: …" lines and exit codes; -h/--help and usage errors print the help (cli/help.ts).

// Start-up cost matters (ostree's test suite runs the CLI thousands of times): only the command
// table, --version and the help texts are imported statically; the host, the repository code and
// each command are loaded when a command runs (test/interop/cli-startup.test.ts guards this).
import type { CliContext } from './cli/context.ts';
import { COMMANDS } from './commands/index.ts';
import { versionText } from './cli/version.ts';
import { HelpRequested, programName, renderHelp, type HelpInfo } from './cli/help.ts';
import type { OptionSpec } from './cli/options.ts';

const GLOBAL_SPECS: OptionSpec[] = [
  { name: 'help', short: 'h', kind: 'flag', description: 'Show help options' },
  { name: 'verbose', short: 'v', kind: 'flag', description: 'Print debug information while the command runs' },
  { name: 'version', kind: 'flag', description: 'Print version information and exit' },
];

function topHelp(): HelpInfo {
  return { path: [], params: 'COMMAND', specs: GLOBAL_SPECS, subcommands: COMMANDS.map((c) => [c.name, c.summary]) };
}

export async function main(argv: string[]): Promise<number> {
  const env = process.env as Record<string, string | undefined>;
  const prog = programName(env, 'xylem');
  // libuv's thread pool (default 4) runs every fs call and zlib job; commits and checkouts keep
  // dozens in flight. Must be set before the pool's first use.
  if (!env.UV_THREADPOOL_SIZE) env.UV_THREADPOOL_SIZE = '16';
  // tools/bin/xylem defers NODE_EXTRA_CA_CERTS (see runtimes/posix/http.ts); child processes get it back.
  if (env.XYLEM_EXTRA_CA_CERTS && !env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = env.XYLEM_EXTRA_CA_CERTS;
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
    (help ? process.stdout : process.stderr).write(renderHelp(prog, topHelp()));
    if (!help) process.stderr.write('error: No command specified\n');
    return help ? 0 : 1;
  }
  const name = argv[cmdIndex]!;
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const { findExternal, runExternal } = await import('./cli/external.ts');
    const file = findExternal(prog, name, env.PATH);
    if (file) return runExternal(file, argv.slice(cmdIndex + 1));
    process.stderr.write(renderHelp(prog, topHelp()));
    process.stderr.write(`error: Unknown command '${name}'\n`);
    return 1;
  }
  const rest = [...globals, ...argv.slice(cmdIndex + 1)];
  // A CLI run owns its process: blocking metadata syscalls beat thread-pool round trips. Under Bun
  // (`bun dist/xylem.mjs`, or the compiled dist/xylem-bun) the Bun host: its xattrs go through
  // bun:ffi, which also works inside a single-file executable where no addon can be found.
  const blockingCalls = env.XYLEM_BLOCKING_IO !== '0';
  const [host, { openRepoAt, UsageError }] = await Promise.all([
    (globalThis as { Bun?: unknown }).Bun !== undefined
      ? import('../runtimes/bun/index.ts').then((m) => m.createBunHost({ blockingCalls }))
      : import('../runtimes/node/index.ts').then((m) => m.createNodeHost({ blockingCalls })),
    import('./cli/context.ts'),
  ]);
  const ctx: CliContext = {
    host,
    env,
    repoPath: env.OSTREE_REPO || undefined,
    verbose: false,
    isTTY: !!process.stdout.isTTY,
    prog,
    help: { path: [name], summary: entry.summary, params: entry.params, specs: [GLOBAL_SPECS[0]!] },
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    openRepo: () => openRepoAt(host, ctx.repoPath),
  };
  try {
    return await (await entry.load()).run(ctx, rest);
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(renderHelp(prog, ctx.help));
      return 0;
    }
    // As ostree: a usage error shows the command's help on stderr, then the error.
    if (e instanceof UsageError) process.stderr.write(`${renderHelp(prog, ctx.help)}\n`);
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${msg}\n`);
    if (env.XYLEM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

/** Runs the CLI with these arguments and sets the process's exit code. */
export function run(argv: string[]): void {
  let settled = false;
  // Safety net: a command whose work can never finish (nothing left to run, its promise still
  // pending) would otherwise end the process with status 0 as if it had succeeded.
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write('error: internal error: the command stopped before it finished\n');
    process.exitCode = 1;
  });
  main(argv).then(
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
}

// The start-up snapshot (tools/build-snapshot.mjs) loads this module while it is being built and
// runs the CLI only when the snapshot is started; everywhere else this module is the program.
if (!(globalThis as { __xylemSnapshot?: boolean }).__xylemSnapshot) run(process.argv.slice(2));
