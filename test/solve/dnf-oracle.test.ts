// The solver against dnf (the oracle): fixture packages built with rpmbuild into one rpm-md repo,
// each scenario asks dnf `--assumeno install …` and our solver the same question; the transaction
// (installed packages by dnf's sections: requested, dependencies, weak dependencies) or the problem
// text must be equal. Scenario names prefix their packages so scenarios never see each other.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNevra } from '../../src/rpm/types.ts';
import { addRpmmdPackage, createPool, solve } from '../../src/solve/index.ts';
import { decompressStream } from '../../src/rpmmd/decompress.ts';
import { streamFilelists } from '../../src/rpmmd/filelists.ts';
import { streamPrimary } from '../../src/rpmmd/primary.ts';
import { readFileSync } from 'node:fs';
import type { Job, Pool, SolveOptions } from '../../src/solve/index.ts';
import { HAVE_CREATEREPO, HAVE_DNF, HAVE_RPMBUILD, buildRepo, buildRpm, runDnf } from '../helpers/rpmbuild.ts';
import type { FixturePackage } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { loadRpmDir, parseDnfProblems, parseDnfTransaction } from './load-rpms.ts';

const P = (name: string, more: Partial<FixturePackage> = {}): FixturePackage => ({ name, ...more });

const FIXTURES: FixturePackage[] = [
  // chain
  P('ch-a', { requires: ['ch-b'] }), P('ch-b', { requires: ['ch-c'] }), P('ch-c'),
  // alternatives through a virtual provide
  P('al-a', { requires: ['al-virt'] }), P('al-zz', { provides: ['al-virt'] }), P('al-yy', { provides: ['al-virt'] }),
  // versioned requires
  P('vr-a', { requires: ['vr-b >= 2'] }), P('vr-b', { version: '1' }), P('vr-b', { version: '2' }), P('vr-b', { version: '3' }),
  P('vl-a', { requires: ['vl-b < 3'] }), P('vl-b', { version: '1' }), P('vl-b', { version: '2' }), P('vl-b', { version: '3' }),
  // a conflict forces an older version (best=False)
  P('cf-a', { requires: ['cf-b', 'cf-c'] }), P('cf-b', { version: '1' }), P('cf-b', { version: '2', conflicts: ['cf-c'] }), P('cf-c'),
  // the newest version cannot be installed: fall back
  P('bf-a', { version: '2', requires: ['bf-missing'] }), P('bf-a', { version: '1' }),
  // rich dependencies
  P('ro-a', { requires: ['(ro-c or ro-b)'] }), P('ro-b'), P('ro-c'),
  P('ra-a', { requires: ['(ra-b and ra-c)'] }), P('ra-b'), P('ra-c'),
  P('ri-a', { requires: ['(ri-b if ri-c)'] }), P('ri-b'), P('ri-c'),
  P('ie-a', { requires: ['(ie-b if ie-c else ie-d)'] }), P('ie-b'), P('ie-c'), P('ie-d'),
  P('rw-a', { requires: ['(rw-cap with rw-cap2)'] }), P('rw-p1', { provides: ['rw-cap'] }), P('rw-p2', { provides: ['rw-cap', 'rw-cap2'] }),
  P('wo-a', { requires: ['(wo-cap without wo-bad)'] }), P('wo-p1', { provides: ['wo-cap', 'wo-bad'] }), P('wo-p2', { provides: ['wo-cap'] }),
  P('ru-a', { conflicts: ['(ru-c unless ru-b)'] }), P('ru-b'), P('ru-c'),
  P('ue-a', { conflicts: ['(ue-b unless ue-c else ue-d)'] }), P('ue-b'), P('ue-c'), P('ue-d'),
  P('rn-a', { requires: ['((rn-b and rn-c) or rn-d)'] }), P('rn-b', { requires: ['rn-missing'] }), P('rn-c'), P('rn-d'),
  // weak dependencies
  P('wr-a', { recommends: ['wr-b'], suggests: ['wr-s'] }), P('wr-b', { requires: ['wr-c'] }), P('wr-c'), P('wr-s'),
  P('ws-a'), P('ws-l', { supplements: ['ws-a'] }), P('ws-e', { enhances: ['ws-a'] }),
  P('wm-a', { recommends: ['wm-nothere'] }),
  P('wc-a', { recommends: ['wc-b'] }), P('wc-b', { conflicts: ['wc-a'] }),
  P('wi-a', { recommends: ['(wi-b if wi-c)'] }), P('wi-b'), P('wi-c'),
  // file requires (primary path and a non-primary one)
  P('fr-a', { requires: ['/usr/bin/fr-tool'] }), P('fr-b', { files: [{ path: '/usr/bin/fr-tool', content: 'x' }] }),
  P('fn-a', { requires: ['/usr/share/fn/data'] }), P('fn-b', { files: [{ path: '/usr/share/fn/data', content: 'y' }] }),
  // architectures
  P('ar-a', { requires: ['ar-lib'] }), P('ar-lib', { arch: 'x86_64', version: '1' }), P('ar-lib', { arch: 'i686', version: '2' }),
  // epochs, tilde, caret, release-less equality
  P('ep-b', { version: '2.0' }), P('ep-b', { version: '1.0', epoch: 1 }),
  P('ep-a', { requires: ['ep-b < 1:0'] }),
  P('tl-a', { requires: ['tl-b >= 1.0'] }), P('tl-b', { version: '1.0~rc1' }), P('tl-b', { version: '1.0' }), P('tl-b', { version: '1.0^git1' }), P('tl-b', { version: '1.0.1~beta' }),
  P('tc-a', { requires: ['tc-b < 1.0'] }), P('tc-b', { version: '1.0~rc1' }), P('tc-b', { version: '1.0' }),
  P('eq-a', { requires: ['eq-b = 1.0'] }), P('eq-b', { version: '1.0', release: '1' }), P('eq-b', { version: '1.0', release: '2' }), P('eq-b', { version: '1.1' }),
  // obsoletes
  P('ob-new', { obsoletes: ['ob-old < 2'], provides: ['ob-old = 2'] }), P('ob-old'),
  P('oz-zz', { obsoletes: ['oz-old'] }), P('oz-old'),
  // exclude
  P('ex-a', { requires: ['ex-b'] }), P('ex-b', { provides: ['ex-virt'] }), P('ex-c', { requires: ['ex-virt'] }), P('ex-d', { provides: ['ex-virt'] }),
  // unsolvable cases
  P('cr-a', { conflicts: ['cr-b'] }), P('cr-b'),
  P('sn-a', { requires: ['sn-x = 1'] }), P('sn-b', { requires: ['sn-x = 2'] }), P('sn-x', { version: '1' }), P('sn-x', { version: '2' }),
  P('pr-a', { requires: ['pr-virt'] }), P('pr-p1', { provides: ['pr-virt'], requires: ['pr-m1'] }), P('pr-p2', { provides: ['pr-virt'], requires: ['pr-m2'] }),
  P('nv-a', { requires: ['nv-b > 2'] }), P('nv-b', { version: '2' }),
  P('rc-a', { requires: ['rc-b'] }), P('rc-b', { conflicts: ['rc-a'] }),
  P('oc-a', { requires: ['oc-b'] }), P('oc-b', { requires: ['oc-c'] }), P('oc-c', { conflicts: ['oc-a'] }),
];

interface Scenario {
  name: string;
  install: string[];
  unsolvable?: boolean;
  /** Extra dnf arguments, and the same request in our terms. */
  dnfArgs?: string[];
  extraJobs?: Job[];
  opts?: SolveOptions;
}

const SCENARIOS: Scenario[] = [
  { name: 'a chain of requires', install: ['ch-a'] },
  { name: 'alternatives through a virtual provide', install: ['al-a'] },
  { name: 'versioned requires (>=)', install: ['vr-a'] },
  { name: 'versioned requires (<)', install: ['vl-a'] },
  { name: 'a conflict forces an older provider', install: ['cf-a'] },
  { name: 'best=False falls back to an older version', install: ['bf-a'] },
  { name: 'rich: or', install: ['ro-a'] },
  { name: 'rich: and', install: ['ra-a'] },
  { name: 'rich: if, condition absent', install: ['ri-a'] },
  { name: 'rich: if, condition present', install: ['ri-a', 'ri-c'] },
  { name: 'rich: if-else', install: ['ie-a'] },
  { name: 'rich: with', install: ['rw-a'] },
  { name: 'rich: without', install: ['wo-a'] },
  { name: 'rich: unless in Conflicts', install: ['ru-a', 'ru-c'] },
  { name: 'rich: unless-else in Conflicts, condition present', install: ['ue-a', 'ue-c'] },
  { name: 'rich: unless-else in Conflicts, condition absent', install: ['ue-a', 'ue-b'] },
  { name: 'rich: nested, first branch broken', install: ['rn-a'] },
  { name: 'weak: Recommends pulled with its requires, Suggests not', install: ['wr-a'] },
  { name: 'weak: Supplements pulled, Enhances not', install: ['ws-a'] },
  { name: 'weak: an unmet Recommends does not fail', install: ['wm-a'] },
  { name: 'weak: a conflicting Recommends is skipped', install: ['wc-a'] },
  { name: 'weak: rich Recommends (if)', install: ['wi-a', 'wi-c'] },
  { name: 'file requires, primary path', install: ['fr-a'] },
  { name: 'file requires, non-primary path', install: ['fn-a'] },
  { name: 'architecture: x86_64 over i686', install: ['ar-a'] },
  { name: 'epochs outrank versions', install: ['ep-b'] },
  { name: 'epoch in a versioned require', install: ['ep-a'] },
  { name: 'tilde and caret', install: ['tl-a'] },
  { name: 'tilde sorts before the release', install: ['tc-a'] },
  { name: 'equality without release matches every release', install: ['eq-a'] },
  { name: 'obsoletes replace the old package', install: ['ob-new'] },
  { name: 'unsolvable: nothing provides, down a chain', install: ['pr-a'], unsolvable: true },
  { name: 'unsolvable: conflicting requests', install: ['cr-a', 'cr-b'], unsolvable: true },
  { name: 'unsolvable: two versions of one name', install: ['sn-a', 'sn-b'], unsolvable: true },
  { name: 'unsolvable: versioned nothing provides', install: ['nv-a'], unsolvable: true },
  { name: 'unsolvable: requires a package that conflicts back', install: ['rc-a'], unsolvable: true },
  { name: 'unsolvable: conflict two steps away', install: ['oc-a'], unsolvable: true },
  { name: 'two problems at once', install: ['nv-a', 'pr-a'], unsolvable: true },
  { name: 'install_weak_deps=False', install: ['wr-a'], dnfArgs: ['--setopt=install_weak_deps=False'], opts: { installWeakDeps: false } },
  { name: 'exclude: the only provider filtered out', install: ['ex-a'], unsolvable: true, dnfArgs: ['--exclude=ex-b'], extraJobs: [{ op: 'exclude', what: { name: 'ex-b' } }] },
  { name: 'exclude: another provider is taken', install: ['ex-c'], dnfArgs: ['--exclude=ex-b'], extraJobs: [{ op: 'exclude', what: { name: 'ex-b' } }] },
  { name: 'best=True refuses the fallback', install: ['bf-a'], unsolvable: true, dnfArgs: ['--best'], opts: { best: true } },
  { name: 'obsoletes against a request', install: ['ob-new', 'ob-old'] },
  { name: 'a request for an obsoleted package', install: ['ob-old'] },
  { name: 'a request for an obsoleted package (obsoleter sorts later)', install: ['oz-old'] },
];

describe.skipIf(missing('dnf oracle', { rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO, dnf: HAVE_DNF }))('solver vs dnf', () => {
  let dir = '';
  let pool: Pool;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-solve-dnf-'));
    buildRepo(FIXTURES, join(dir, 'repo'));
    pool = createPool();
    loadRpmDir(pool, pool.addRepo('fx'), join(dir, 'repo'));
  }, 600_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const sc of SCENARIOS) {
    it(sc.name, () => {
      const dnf = runDnf(['--assumeno', ...(sc.dnfArgs ?? []), 'install', ...sc.install], { fx: join(dir, 'repo') });
      const ours = solve(pool, [...(sc.extraJobs ?? []), ...sc.install.map((n) => ({ op: 'install' as const, what: { spec: n } }))], sc.opts);
      const dnfProblems = parseDnfProblems(dnf.stderr);
      if (sc.unsolvable) expect(dnfProblems, dnf.stderr).not.toBe('');
      else expect(dnfProblems, dnf.stderr).toBe('');
      if (dnfProblems) {
        expect(ours.ok).toBe(false);
        if (!ours.ok) expect(ours.text).toBe(dnfProblems);
        return;
      }
      const want = parseDnfTransaction(dnf.stdout);
      expect(ours.ok, ours.ok ? '' : ours.text).toBe(true);
      if (!ours.ok) return;
      const got = { install: [] as string[], deps: [] as string[], weak: [] as string[] };
      for (const it of ours.install) (it.reason === 'user' ? got.install : it.reason === 'weak' ? got.weak : got.deps).push(formatNevra(it.nevra));
      for (const k of ['install', 'deps', 'weak'] as const) got[k].sort();
      expect(got).toEqual(want);
    });
  }

  it('the pool read through src/rpmmd (primary.xml, filelists on demand) answers every scenario as the header-read pool', async () => {
    const repoDir = join(dir, 'repo');
    const repomd = readFileSync(join(repoDir, 'repodata/repomd.xml'), 'utf8');
    const href = (type: string): string => new RegExp(`<data type="${type}">[\\s\\S]*?<location href="([^"]+)"`).exec(repomd)![1]!;
    const chunks = async function* (path: string): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(readFileSync(join(repoDir, path)));
    };
    const unzip = (path: string) => decompressStream(chunks(path), { what: path, maxOutput: 1 << 26, name: path });
    const p2 = createPool();
    const r = p2.addRepo('fx');
    const byPkgid = new Map<string, number>();
    await streamPrimary(unzip(href('primary')), (pkg) => void byPkgid.set(pkg.checksum.value, addRpmmdPackage(p2, r, pkg)), { fileName: 'primary.xml.gz' });
    let filelistsReads = 0;
    const allFiles = async (): Promise<Map<string, number[]>> => {
      const m = new Map<string, number[]>();
      filelistsReads++;
      await streamFilelists(unzip(href('filelists')), (fp) => {
        for (const f of fp.files) m.set(f.path, [...(m.get(f.path) ?? []), byPkgid.get(fp.pkgid)!]);
      }, { fileName: 'filelists.xml.gz' });
      return m;
    };
    // the callback is synchronous: filelists are read ahead here, and the test counts the questions
    const preloaded = await allFiles();
    const asked: string[] = [];
    p2.setFilelistsProvider((path) => {
      asked.push(path);
      return preloaded.get(path) ?? [];
    });
    for (const sc of SCENARIOS) {
      const jobs = [...(sc.extraJobs ?? []), ...sc.install.map((n) => ({ op: 'install' as const, what: { spec: n } }))];
      const a = solve(pool, jobs, sc.opts);
      const b = solve(p2, jobs, sc.opts);
      const show = (x: typeof a): string => (x.ok ? x.install.map((i) => `${formatNevra(i.nevra)} ${i.reason}`).sort().join('\n') : x.text);
      expect(show(b), sc.name).toBe(show(a));
    }
    expect(filelistsReads).toBe(1);
    expect(asked).toEqual(['/usr/share/fn/data']); // the only non-primary path any fixture requires
  });

  it('repo priority beats a higher version', () => {
    const hi = buildRepo([P('py-x', { version: '2' })], join(dir, 'hi'));
    const lo = buildRepo([P('py-x', { version: '1' })], join(dir, 'lo'));
    const dnf = runDnf(['--assumeno', '--setopt=lo.priority=10', 'install', 'py-x'], { hi, lo });
    const p2 = createPool();
    loadRpmDir(p2, p2.addRepo('hi'), hi);
    loadRpmDir(p2, p2.addRepo('lo', { priority: 10 }), lo);
    const ours = solve(p2, [{ op: 'install', what: { name: 'py-x' } }]);
    expect(ours.ok).toBe(true);
    if (ours.ok) expect(ours.install.map((i) => formatNevra(i.nevra))).toEqual(parseDnfTransaction(dnf.stdout).install);
  }, 120_000);

  it('the system set: installed packages stay, upgrades replace them', () => {
    // dnf: install v1 into a root, then ask for the upgrade
    const root = mkdtempSync(join(tmpdir(), 'xylem-solve-root-'));
    const r1 = buildRepo([P('up-a', { version: '1', requires: ['up-b'] }), P('up-b', { version: '1' })], join(dir, 'up1'));
    const inst = runDnf(['install', 'up-a'], { r1 }, { installroot: root });
    expect(inst.status, inst.stderr).toBe(0);
    const r2 = join(dir, 'up2');
    buildRpm(P('up-a', { version: '2', requires: ['up-b >= 2'] }), r2);
    buildRepo([P('up-b', { version: '2' })], r2);
    const dnf = runDnf(['--assumeno', 'upgrade'], { r2 }, { installroot: root });
    const upgraded = dnf.stdout.split('\n').filter((l) => /^ up-/.test(l)).map((l) => l.trim().split(/\s+/)[0]).sort();
    const p3 = createPool();
    loadRpmDir(p3, p3.addRepo('@System', { installed: true }), r1);
    loadRpmDir(p3, p3.addRepo('r2'), r2);
    const ours = solve(p3, [{ op: 'upgrade' }]);
    expect(ours.ok).toBe(true);
    if (!ours.ok) return;
    expect(ours.upgrade.map((u) => u.nevra.name).sort()).toEqual(upgraded);
    expect(ours.upgrade.map((u) => u.nevra.version)).toEqual(['2', '2']);
    expect(ours.install).toEqual([]);
    expect(ours.erase).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);
});
