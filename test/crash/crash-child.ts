// Child process for crash-injection.test.ts: through the node Host (whose fs honours
// XYLEM_CRASH_AT / XYLEM_CRASH_COUNT), makes DIR/d, writes DIR/d/f in two chunks, fsyncs, renames
// it to DIR/d/g, and prints "done". Usage: crash-child DIR

import { createNodeHost } from '../../runtimes/node/index.ts';

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const host = createNodeHost({ xattrs: false });
  await host.fs.mkdir(`${dir}/d`); // op 1
  const w = await host.fs.openWrite(`${dir}/d/f`); // op 2
  await w.write(new Uint8Array(1000).fill(0x61)); // op 3
  await w.write(new Uint8Array(1000).fill(0x62)); // op 4
  await w.sync(); // op 5
  await w.close();
  await host.fs.lstat(`${dir}/d/f`); // not a mutation
  await host.fs.rename(`${dir}/d/f`, `${dir}/d/g`); // op 6
  process.stdout.write('done\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
