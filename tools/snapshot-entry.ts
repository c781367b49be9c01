// Entry of the V8 start-up snapshot of the `xylem` CLI (tools/build-snapshot.mjs): the whole CLI
// is loaded and initialised while the snapshot is built, so a start from it compiles and links no
// module; the CLI runs when the snapshot is deserialised (`node --snapshot-blob … -- ARGS`, where
// process.argv is [node, ...ARGS]).
import { startupSnapshot } from 'node:v8';
import { run } from './cli.ts';

startupSnapshot.setDeserializeMainFunction(() => run(process.argv.slice(1)));

// Initialise, while the snapshot is built, the modules most commands need (the host, the repo
// code, the read-only, commit, checkout and local-pull commands), so that a start from the snapshot
// neither compiles nor runs them. The rest load on demand as usual: pull, trivial-httpd and signing
// use node:http and child processes, and with fsck, prune or diff loaded V8 aborts the build
// ("global handle not serialized"). Node takes the snapshot once the event loop is empty, after
// these have settled.
const PRELOAD = new Set(['rev-parse', 'refs', 'config', 'show', 'log', 'cat', 'ls', 'init', 'reset', 'checksum', 'commit', 'checkout', 'summary', 'pull-local']);
void Promise.all([
  import('../runtimes/node/index.ts'),
  import('./cli/context.ts'),
  import('./commands/index.ts').then(({ COMMANDS }) => Promise.all(COMMANDS.filter((c) => PRELOAD.has(c.name)).map((c) => c.load()))),
]);
