// rpm-md reading checked against dnf: a repo built by rpmbuild + createrepo_c is loaded with
// loadRepoMetadata (file:// repo) and streamed with readPrimary/readFilelists/readOther; every answer
// `dnf repoquery` gives for the same repo (NEVRAs, descriptive fields, the eight dependency lists,
// --whatprovides, --list, --changelog) must come out of our parse. The same holds for the repo made
// with --simple-md-filenames and for copies re-compressed as xz and zstd (repomd.xml rewritten);
// bzip2 is refused clearly until the bzip2 decoder lands.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { createMemoryHost } from '../../runtimes/memory/index.ts';
import { HAVE_CREATEREPO, HAVE_DNF, HAVE_RPMBUILD, hasCommand, runDnf } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { DepFlag, formatNevra, type Dependency } from '../../src/rpm/types.ts';
import { loadRepoMetadata, makeRepoConfig, repomdTimestamp, readFilelists, readOther, readPrimary, repoPackageFilter, splitList, type FilelistsPackage, type OtherPackage, type RpmmdPackage } from '../../src/rpmmd/index.ts';
import { XylemError } from '../../src/util/errors.ts';
import { buildFixtureRepo, copyRepo, recompressRepo } from './fixtures.ts';

const host = createNodeHost();
const TOOLS = { rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO, dnf: HAVE_DNF, xz: hasCommand('xz'), zstd: hasCommand('zstd'), bzip2: hasCommand('bzip2') };

interface Parsed {
  primary: RpmmdPackage[];
  filelists: FilelistsPackage[];
  other: OtherPackage[];
}

async function parseRepo(dir: string, cacheDir: string): Promise<Parsed> {
  const md = await loadRepoMetadata(host, makeRepoConfig({ id: 'fx', baseurl: [`file://${dir}`] }), { cacheDir });
  const out: Parsed = { primary: [], filelists: [], other: [] };
  await readPrimary(host, md, (p) => void out.primary.push(p));
  await readFilelists(host, md, (p) => void out.filelists.push(p));
  await readOther(host, md, (p) => void out.other.push(p));
  return out;
}

/** dnf's form of a dependency: `name`, or `name OP version`. */
function formatDep(d: Dependency): string {
  const sense = d.flags & DepFlag.SENSEMASK;
  if (sense === 0) return d.name;
  const op = { [DepFlag.LESS]: '<', [DepFlag.GREATER]: '>', [DepFlag.EQUAL]: '=', [DepFlag.LESS | DepFlag.EQUAL]: '<=', [DepFlag.GREATER | DepFlag.EQUAL]: '>=' }[sense];
  return `${d.name} ${op} ${d.version}`;
}

const uniqSorted = (xs: string[]): string[] => [...new Set(xs)].sort();
/** dnf's EVR form: the epoch always shown. */
const dnfNevra = (p: { name: string; epoch: number; version: string; release: string; arch: string }): string => `${p.name}-${p.epoch}:${p.version}-${p.release}.${p.arch}`;

function dnf(dir: string, args: string[]): string {
  const r = runDnf(['-q', 'repoquery', ...args], { fx: dir }, { env: { TZ: 'UTC' } });
  if (r.status !== 0) throw new Error(`dnf ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Splits `@@nevra` records of a --qf answer into nevra → lines. */
function records(out: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const rec of out.split('@@').slice(1)) {
    const lines = rec.split('\n');
    m.set(lines[0]!, lines.slice(1));
  }
  return m;
}

const DEP_KINDS = ['provides', 'requires', 'conflicts', 'obsoletes', 'recommends', 'suggests', 'supplements', 'enhances'] as const;

describe.skipIf(missing('rpm-md reading vs dnf repoquery', TOOLS))('rpm-md metadata vs dnf repoquery', () => {
  let tmp: string;
  let repo: string;
  let parsed: Parsed;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'xylem-rpmmd-oracle-'));
    repo = buildFixtureRepo(join(tmp, 'repo'));
    parsed = await parseRepo(repo, join(tmp, 'cache'));
  }, 120_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('lists the same packages (NEVRA) as dnf', () => {
    const theirs = dnf(repo, ['--qf', '%{name}-%{epoch}:%{version}-%{release}.%{arch}']).trim().split('\n').sort();
    expect(parsed.primary.map(dnfNevra).sort()).toEqual(theirs);
    expect(theirs.length).toBe(5);
    expect(parsed.primary.map(formatNevra)).toContain('alpha-2:1.2-3.fc40.noarch');
  });

  it('reads the descriptive fields dnf shows', () => {
    const out = dnf(repo, ['--qf', '@@%{name}-%{epoch}:%{version}-%{release}.%{arch}\n%{summary}\n%{location}\n%{size}\n%{installsize}\n%{license}\n%{sourcerpm}\n%{description}']);
    const recs = records(out);
    for (const p of parsed.primary) {
      const r = recs.get(dnfNevra(p))!;
      expect(r, dnfNevra(p)).toBeDefined();
      expect(r.slice(0, 6)).toEqual([p.summary, p.location.href, String(p.size.package), String(p.size.installed), p.license, p.sourcerpm]);
      expect(r.slice(6).join('\n').trim()).toBe(p.description.trim());
    }
    expect(parsed.primary.find((p) => p.name === 'alpha')!.summary).toBe('alpha <&> "quoted" é 日本');
  });

  it('gives every dependency list as dnf does', () => {
    const qf = '@@%{name}-%{epoch}:%{version}-%{release}.%{arch}\n' + DEP_KINDS.map((k) => `#${k}\n%{${k}}`).join('\n');
    const recs = records(dnf(repo, ['--qf', qf]));
    let compared = 0;
    for (const p of parsed.primary) {
      const lines = recs.get(dnfNevra(p))!;
      for (const kind of DEP_KINDS) {
        const start = lines.indexOf(`#${kind}`);
        const rest = lines.slice(start + 1);
        const end = rest.findIndex((l) => l.startsWith('#'));
        const theirs = uniqSorted((end < 0 ? rest : rest.slice(0, end)).filter((l) => l !== ''));
        expect(uniqSorted(p[kind].map(formatDep)), `${p.name} ${kind}`).toEqual(theirs);
        compared += theirs.length;
      }
    }
    expect(compared).toBeGreaterThan(25);
    // pre="1" carries through as PREREQ.
    const alpha = parsed.primary.find((p) => p.name === 'alpha')!;
    expect(alpha.requires.some((d) => d.name === '/bin/sh' && d.flags & DepFlag.PREREQ)).toBe(true);
  });

  it('answers --whatprovides like dnf (provides, and files from filelists)', () => {
    const queries = ['webserver', 'libgamma.so.1()(64bit)', 'zeta', 'alpha-api', '/usr/bin/beta-tool', '/usr/share/alpha/data.txt', '/usr/lib/beta'];
    for (const q of queries) {
      const theirs = dnf(repo, ['--whatprovides', q, '--qf', '%{name}-%{epoch}:%{version}-%{release}.%{arch}']).trim().split('\n').filter(Boolean).sort();
      const fileOwners = new Set(parsed.filelists.filter((f) => f.files.some((x) => x.path === q)).map((f) => f.pkgid));
      const ours = parsed.primary.filter((p) => p.provides.some((d) => d.name === q) || fileOwners.has(p.checksum.value)).map(dnfNevra).sort();
      expect(ours, q).toEqual(theirs);
      expect(theirs.length, q).toBeGreaterThan(0);
    }
  });

  it('lists every file (--list) from filelists.xml, and the primary subset in primary.xml', () => {
    const recs = records(dnf(repo, ['--qf', '@@%{name}-%{epoch}:%{version}-%{release}.%{arch}\n%{files}']));
    for (const f of parsed.filelists) {
      const theirs = recs.get(dnfNevra(f))!.filter(Boolean).sort();
      expect(f.files.map((x) => x.path).sort(), f.name).toEqual(theirs);
      const p = parsed.primary.find((x) => x.checksum.value === f.pkgid)!;
      expect(p, f.pkgid).toBeDefined();
      // createrepo's primary subset: /etc/…, …bin/…, /usr/lib/sendmail.
      const primary = f.files.filter((x) => x.path.startsWith('/etc/') || x.path.includes('bin/') || x.path === '/usr/lib/sendmail');
      expect(p.files.map((x) => x.path).sort()).toEqual(primary.map((x) => x.path).sort());
    }
    const alpha = parsed.filelists.find((f) => f.name === 'alpha')!;
    expect(alpha.files.find((x) => x.path === '/usr/share/alpha')!.type).toBe('dir');
    expect(alpha.files.find((x) => x.path === '/var/log/alpha.log')!.type).toBe('ghost');
  });

  it('gives the changelog dnf prints (--changelog)', () => {
    const out = dnf(repo, ['--changelog', 'alpha']);
    const alpha = parsed.other.find((o) => o.name === 'alpha')!;
    expect(alpha.changelogs).toHaveLength(3);
    const fmt = (d: number): string => {
      const s = new Date(d * 1000).toUTCString(); // "Mon, 07 Dec 2026 00:00:00 GMT"
      const [wd, day, mon, year] = s.replace(',', '').split(' ');
      return `${wd} ${mon} ${day} ${year}`;
    };
    const ours = [...alpha.changelogs].reverse().map((c) => `* ${fmt(c.date)} ${c.author}\n${c.text}\n`).join('\n');
    expect(out).toContain(`Changelog for ${dnfNevra(alpha)}\n${ours}`);
  });

  it('gives the revision and last-updated time dnf shows (repoinfo)', async () => {
    const dir = copyRepo(repo, join(tmp, 'stamps'));
    const path = join(dir, 'repodata', 'repomd.xml');
    let n = 0;
    // Distinct timestamps per record: the newest one is the repo's "updated" time.
    writeFileSync(path, readFileSync(path, 'utf8').replace(/<timestamp>\d+<\/timestamp>/g, () => `<timestamp>${1_790_000_000 + 86_400 * 37 * ++n}</timestamp>`));
    const md = await loadRepoMetadata(host, makeRepoConfig({ id: 'fx', baseurl: [`file://${dir}`] }), { cacheDir: join(tmp, 'cache-stamps') });
    const r = runDnf(['repoinfo', 'fx'], { fx: dir }, { env: { TZ: 'UTC' } });
    expect(r.status, r.stderr).toBe(0);
    const field = (k: string) => new RegExp(`^${k}\\s*: (.*)$`, 'm').exec(r.stdout)![1]!;
    expect(field('Repo-revision')).toBe(md.repomd.revision);
    const t = repomdTimestamp(md.repomd)!;
    expect(t).toBe(1_790_000_000 + 86_400 * 37 * n);
    // dnf prints it with ctime(3) in UTC: "Mon Dec  7 16:50:17 2026".
    const d = new Date(t * 1000);
    const [wd, mon] = [d.toUTCString().slice(0, 3), d.toUTCString().slice(8, 11)];
    const hms = d.toISOString().slice(11, 19);
    expect(field('Repo-updated')).toBe(`${wd} ${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms} ${d.getUTCFullYear()}`);
  }, 60_000);

  it('reads the same on the in-memory host (runtime-neutral engine)', async () => {
    const mem = createMemoryHost();
    await mem.fs.mkdir('/srv/repo/repodata', { recursive: true });
    for (const f of readdirSync(join(repo, 'repodata'))) await mem.fs.writeFile(`/srv/repo/repodata/${f}`, readFileSync(join(repo, 'repodata', f)));
    const md = await loadRepoMetadata(mem, makeRepoConfig({ id: 'fx', baseurl: ['file:///srv/repo'] }), { cacheDir: '/cache' });
    const primary: RpmmdPackage[] = [];
    await readPrimary(mem, md, (p) => void primary.push(p));
    expect(primary).toEqual(parsed.primary);
    const other: OtherPackage[] = [];
    await readOther(mem, md, (p) => void other.push(p));
    expect(other).toEqual(parsed.other);
  });

  it('applies excludepkgs / includepkgs globs as dnf does', () => {
    const cases = ['excludepkgs=beta*', 'includepkgs=alpha,gamma*', 'excludepkgs=*.x86_64', 'excludepkgs=beta-2*', 'excludepkgs=alpha-2:1.2-3.fc40.noarch', 'excludepkgs=[ab]*', 'excludepkgs=de?ta', 'excludepkgs=gamma-0.9~rc1'];
    for (const c of cases) {
      const r = runDnf(['-q', 'repoquery', '--qf', '%{name}-%{epoch}:%{version}-%{release}.%{arch}'], { fx: repo }, { setopts: [`fx.${c}`] });
      expect(r.status, r.stderr).toBe(0);
      const theirs = r.stdout.trim().split('\n').filter(Boolean).sort();
      const [key, value] = c.split('=') as [string, string];
      const keep = repoPackageFilter({ excludepkgs: key === 'excludepkgs' ? splitList(value) : [], includepkgs: key === 'includepkgs' ? splitList(value) : [] });
      expect(parsed.primary.filter(keep).map(dnfNevra).sort(), c).toEqual(theirs);
    }
  }, 60_000);

  it('reads the --simple-md-filenames repo the same way', async () => {
    const simple = copyRepo(repo, join(tmp, 'simple'));
    rmSync(join(simple, 'repodata'), { recursive: true });
    buildFixtureRepoIndex(simple, ['--simple-md-filenames']);
    const p = await parseRepo(simple, join(tmp, 'cache-simple'));
    const theirs = dnf(simple, ['--qf', '%{name}-%{epoch}:%{version}-%{release}.%{arch}']).trim().split('\n').sort();
    expect(p.primary.map(dnfNevra).sort()).toEqual(theirs);
    expect(p.primary).toEqual(parsed.primary);
    expect(p.filelists).toEqual(parsed.filelists);
  }, 60_000);

  for (const tool of ['xz', 'zstd'] as const) {
    it(`reads metadata re-compressed with ${tool} (repomd.xml rewritten), as dnf does`, async () => {
      const dir = copyRepo(repo, join(tmp, tool));
      recompressRepo(dir, tool);
      const p = await parseRepo(dir, join(tmp, `cache-${tool}`));
      const r = runDnf(['-q', 'repoquery', '--qf', '%{name}-%{epoch}:%{version}-%{release}.%{arch}'], { fx: dir });
      // dnf (librepo + libsolv) is the oracle where it reads the format; the content is the gz repo's.
      const theirs = r.status === 0 ? r.stdout.trim().split('\n').sort() : dnf(repo, ['--qf', '%{name}-%{epoch}:%{version}-%{release}.%{arch}']).trim().split('\n').sort();
      expect(p.primary.map(dnfNevra).sort()).toEqual(theirs);
      expect(p.primary).toEqual(parsed.primary);
      expect(p.filelists).toEqual(parsed.filelists);
      expect(p.other).toEqual(parsed.other);
    }, 60_000);
  }

  it('refuses bzip2 metadata with a clear "not supported yet" error', async () => {
    const dir = copyRepo(repo, join(tmp, 'bz2'));
    recompressRepo(dir, 'bzip2');
    const err = await parseRepo(dir, join(tmp, 'cache-bz2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XylemError);
    expect((err as XylemError).code).toBe('ENOTSUP');
    expect((err as Error).message).toMatch(/bzip2.*not supported yet/);
  }, 60_000);
});

/** createrepo_c over an existing folder of packages. */
function buildFixtureRepoIndex(dir: string, args: string[]): void {
  execFileSync('createrepo_c', ['--quiet', ...args, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
}
