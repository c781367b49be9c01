// Compares the solver with libsolv itself (testsolv, from libsolv-tools) on Debian's graph: the
// lists converted to primary.xml (debian-to-rpmmd.ts), turned into a .solv by rpmmd2solv, then
// seeded random install requests solved by both; prints how many transactions are identical.
//   npx tsx tools/solve/compare-libsolv.ts [seed=5] [requests=40]

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatNevra } from '../../src/rpm/types.ts';
import { createPool, solve } from '../../src/solve/index.ts';
import { aptPackageLists, convertLz4, realPackageNames, writePrimaryXml } from './debian-to-rpmmd.ts';

async function main(): Promise<void> {
  const seed = Number(process.argv[2] ?? 5);
  const count = Number(process.argv[3] ?? 40);
  const dir = mkdtempSync(join(tmpdir(), 'xylem-libsolv-'));
  try {
    const lists = aptPackageLists();
    await writePrimaryXml(lists, join(dir, 'primary.xml.gz'));
    execFileSync('sh', ['-c', `zcat primary.xml.gz | rpmmd2solv > deb.solv`], { cwd: dir });
    const realNames = await realPackageNames(lists);
    const pool = createPool();
    const repo = pool.addRepo('fx');
    for (const path of lists) for await (const p of convertLz4(path, { realNames })) pool.addPackage(p.nevra, p.deps, { repo });
    const names = [...new Set(Array.from({ length: pool.size }, (_, p) => pool.nevra(p).name))];
    let x = seed >>> 0 || 1;
    const rnd = (): number => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x / 4294967296;
    };
    const tally = { identical: 0, different: 0, bothUnsolvable: 0, verdictDiffers: 0 };
    for (let i = 0; i < count; i++) {
      const req = Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => names[Math.floor(rnd() * names.length)]!);
      writeFileSync(join(dir, 'tc.t'), `repo fx 0 solv deb.solv\nsystem x86_64 rpm\n${req.map((n) => `job install name ${n}`).join('\n')}\nresult transaction,problems <inline>\n`);
      let out = '';
      try {
        out = execFileSync('testsolv', ['tc.t'], { cwd: dir, encoding: 'utf8' });
      } catch (e) {
        out = String((e as { stdout?: string }).stdout ?? '');
      }
      const theirs = out.split('\n').filter((l) => l.startsWith('+install ')).map((l) => l.slice(9).replace(/@fx$/, ''));
      const theyFail = out.includes('+problem');
      const r = solve(pool, req.map((n) => ({ op: 'install' as const, what: { name: n } })));
      if (!r.ok || theyFail) {
        if (!r.ok && theyFail) tally.bothUnsolvable++;
        else tally.verdictDiffers++;
        continue;
      }
      const ours = new Set(r.install.map((it) => formatNevra(it.nevra)));
      const same = theirs.length === ours.size && theirs.every((n) => ours.has(n));
      if (same) tally.identical++;
      else {
        tally.different++;
        console.log(`differs: ${req.join(' ')}: ours only ${[...ours].filter((n) => !theirs.includes(n)).join(' ')}; libsolv only ${theirs.filter((n) => !ours.has(n)).join(' ')}`);
      }
    }
    console.log(JSON.stringify(tally));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
