// Generates static deltas under whichever runtime runs it (Node through tsx, Bun, Deno), for
// test/delta/reproducible-runtimes.test.ts: commits two fixed trees (A, and B with small edits
// in a large binary, a rewritten file, new/removed files and a symlink change) into an archive
// repo with fixed timestamps, then writes the A→B and the from-scratch delta of B with the
// default encoder (the built-in LZMA2) into OUT/ab and OUT/scratch. Prints the runtime's name.
// The name avoids *.test.*: vitest must not collect it.
// Usage: <runtime> test/delta/reproducible-gen.mjs OUT   (OUT must not exist)

import process from 'node:process';
import { Repo } from '../../src/repo/repo.ts';
import { Transaction } from '../../src/repo/transaction.ts';
import { MutableTree } from '../../src/repo/mutable-tree.ts';
import { importDirectory, makeImportContext, writeCommit } from '../../src/repo/commit.ts';
import { generateDelta } from '../../src/delta/generate.ts';
import { defaultXzEncoder } from '../../src/delta/xz-encoder.ts';
import { createHost, detectRuntime } from '../../runtimes/index.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: reproducible-gen.mjs OUT');
const host = await createHost();
const fs = host.fs;

/** xorshift32 bytes: the same on every runtime */
function bytes(seed, n) {
  let x = seed >>> 0;
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
const text = (s, n) => new TextEncoder().encode(s.repeat(n));

async function writeTree(dir, files) {
  await fs.rmrf(dir);
  for (const [rel, data] of Object.entries(files)) {
    if (data === undefined) continue;
    const p = `${dir}/${rel}`;
    await fs.mkdir(p.slice(0, p.lastIndexOf('/')), { recursive: true, mode: 0o755 });
    if (typeof data === 'string') await fs.symlink(data, p);
    else await fs.writeFile(p, data, { mode: 0o644 });
  }
}

async function commit(repo, dir, ts) {
  const txn = new Transaction(repo);
  const tree = new MutableTree();
  await importDirectory(makeImportContext(txn), dir, tree);
  const { checksum } = await writeCommit(txn, tree, { branch: 'main', subject: `v${ts}`, timestamp: BigInt(ts) });
  txn.setRef(null, 'main', checksum);
  await txn.commit();
  return checksum;
}

await fs.mkdir(out, { recursive: true, mode: 0o755 });
const repo = await Repo.init(host, `${out}/repo`, { mode: 'archive' });
// a compressible "binary": random blocks repeated with variations, so LZMA has real work
const blocks = [];
for (let i = 0; i < 64; i++) blocks.push(bytes(1000 + (i % 11), 4096), text(`symbol_${i}\0`, 40));
const big = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
let o = 0;
for (const b of blocks) { big.set(b, o); o += b.length; }
const filesA = {
  'usr/lib/libbig.so': big,
  'usr/lib/libmid.so': bytes(7, 40_000),
  'usr/share/doc/readme.txt': text('reproducible static deltas across runtimes\n', 300),
  'usr/share/doc/old.txt': text('removed in B\n', 50),
  'usr/bin/tool': 'tool-1.0',
  'usr/bin/tool-1.0': bytes(8, 5000),
};
await writeTree(`${out}/tree`, filesA);
const a = await commit(repo, `${out}/tree`, 1_700_000_000);
const big2 = Uint8Array.from(big);
big2.set(bytes(9, 64), 70_000);
big2.set(bytes(10, 64), 200_000);
const mid2 = Uint8Array.from(filesA['usr/lib/libmid.so']);
for (let i = 0; i < mid2.length; i += 61) mid2[i] ^= 0x33;
await writeTree(`${out}/tree`, {
  ...filesA,
  'usr/lib/libbig.so': big2,
  'usr/lib/libmid.so': mid2,
  'usr/share/doc/old.txt': undefined,
  'usr/share/doc/new.txt': text('added in B\n', 80),
  'usr/bin/tool': 'tool-1.1',
  'usr/bin/tool-1.1': bytes(11, 5100),
});
const b = await commit(repo, `${out}/tree`, 1_700_000_100);
await fs.rmrf(`${out}/tree`);
const xz = await defaultXzEncoder();
for (const [name, from] of [['ab', a], ['scratch', null]]) {
  await fs.mkdir(`${out}/${name}`, { mode: 0o755 });
  await generateDelta(repo, { from, to: b, filename: `${out}/${name}/superblock`, xz, maxChunkSize: 200_000 });
}
console.log(JSON.stringify({ runtime: detectRuntime(), a, b }));
