// Solver load/solve figures on Debian's real dependency graph (apt's lists converted by
// debian-to-rpmmd.ts): packages loaded, load time, memory held by the pool after a full GC, and
// solve times of seeded requests. Prints one JSON object. Run with --expose-gc for exact memory:
//   node --expose-gc --import tsx tools/solve/bench-debian.ts [requests=20]

import { basename } from 'node:path';
import { createPool, solve } from '../../src/solve/index.ts';
import { aptPackageLists, convertLz4, realPackageNames } from './debian-to-rpmmd.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const mem = (): number => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

async function main(): Promise<void> {
  const lists = aptPackageLists();
  const nreq = Number(process.argv[2] ?? 20);
  // measured from a clean start; the name set of the first pass stays referenced until the end,
  // so the figure is an upper bound for the pool itself
  await new Promise((r) => setTimeout(r, 50));
  const before = mem();
  const realNames = await realPackageNames(lists);
  const t0 = performance.now();
  const pool = createPool();
  for (const path of lists) {
    const repo = pool.addRepo(basename(path));
    for await (const p of convertLz4(path, { realNames })) pool.addPackage(p.nevra, p.deps, { repo });
  }
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  pool.whatProvidesDep('libc6', 0, '');
  const indexMs = performance.now() - t1;
  await new Promise((r) => setTimeout(r, 50));
  const poolBytes = mem() - before;
  if (realNames.size === 0) throw new Error('no package names read');
  const names = [...new Set(Array.from({ length: pool.size }, (_, p) => pool.nevra(p).name))];
  let x = 1207;
  const rnd = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
  const times: number[] = [];
  let failed = 0;
  for (let i = 0; i < nreq; i++) {
    const req = Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => names[Math.floor(rnd() * names.length)]!);
    const t = performance.now();
    const r = solve(pool, req.map((n) => ({ op: 'install' as const, what: { name: n } })));
    times.push(performance.now() - t);
    if (!r.ok) failed++;
  }
  times.sort((a, b) => a - b);
  const out = {
    packages: pool.size,
    strings: pool.stringCount,
    loadMs: Math.round(loadMs),
    indexMs: Math.round(indexMs),
    poolMiB: +(poolBytes / 2 ** 20).toFixed(1),
    poolArraysMiB: +(pool.arrayBytes() / 2 ** 20).toFixed(1),
    gcExact: gc !== undefined,
    requests: nreq,
    unsolvable: failed,
    solveMsMedian: +times[times.length >> 1]!.toFixed(1),
    solveMsMax: +times[times.length - 1]!.toFixed(1),
    peakRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(0),
  };
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
