// Debian's real dependency graph as rpm packages, for solver scale tests and benchmarks: reads apt's
// `Packages` lists (stanza by stanza, streamed) and turns each binary package into an rpm-style
// NEVRA and dependency sets — epoch:upstream-revision → epoch / version / release (`~` keeps its
// meaning, `-` inside upstream becomes `~`, `:` becomes `_`), amd64 → x86_64, all → noarch, Depends and
// Pre-Depends → Requires (`a | b` → rich `(a or b)`), `<<  <=  =  >=  >>` → LT LE EQ GE GT,
// Provides (versioned too), Conflicts and Breaks → Conflicts; Replaces ignored. It can also write
// the result as an rpm-md primary.xml (gzip), so rpm-md readers and benchmarks can load it.
//
//   npx tsx tools/solve/debian-to-rpmmd.ts OUT.xml.gz [Packages.lz4 …]   (default: apt's lists)

import { spawn } from 'node:child_process';
import { createWriteStream, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGzip } from 'node:zlib';
import type { Dependency, Nevra, PackageDependencies } from '../../src/rpm/types.ts';
import { DepFlag } from '../../src/rpm/types.ts';

export interface ConvertedPackage {
  nevra: Nevra;
  deps: PackageDependencies;
}

const OPS: Record<string, number> = {
  '<<': DepFlag.LESS,
  '<=': DepFlag.LESS | DepFlag.EQUAL,
  '<': DepFlag.LESS | DepFlag.EQUAL, // obsolete Debian spelling of <=
  '=': DepFlag.EQUAL,
  '>=': DepFlag.GREATER | DepFlag.EQUAL,
  '>': DepFlag.GREATER | DepFlag.EQUAL, // obsolete Debian spelling of >=
  '>>': DepFlag.GREATER,
};

const ARCH: Record<string, string> = { amd64: 'x86_64', all: 'noarch', i386: 'i686', arm64: 'aarch64' };

/** Debian `[epoch:]upstream[-revision]` → rpm epoch, version, release ('0' when Debian has none). */
export function debianVersion(v: string): { epoch: number | null; version: string; release: string } {
  let epoch: number | null = null;
  let rest = v.trim();
  const colon = rest.indexOf(':');
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = Number(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash > 0 ? rest.slice(0, dash) : rest;
  const revision = dash > 0 ? rest.slice(dash + 1) : '0';
  // Debian sorts `-` inside upstream before `.` and `+` (gcc snapshots `12-20211113` < `12.2.0`);
  // rpm treats every separator alike, so `~` keeps that order in the common case
  return { epoch, version: upstream.replace(/-/g, '~').replace(/:/g, '_'), release: revision.replace(/[-:]/g, '_') };
}

/** The rpm EVR string for a Debian version (as written in a dependency). */
export function debianEvr(v: string): string {
  const { epoch, version, release } = debianVersion(v);
  return `${epoch !== null ? `${epoch}:` : ''}${version}-${release}`;
}

/** One Debian relation `name[:arch] [(op version)]` → a dependency (arch qualifiers dropped). */
export function debianRelation(rel: string): Dependency | null {
  const m = /^\s*([^\s(:[]+)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^)\s]+)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>)?\s*$/.exec(rel);
  if (!m) return null;
  if (!m[2]) return { name: m[1]!, flags: 0, version: '' };
  return { name: m[1]!, flags: OPS[m[2]]!, version: debianEvr(m[3]!) };
}

function depText(d: Dependency): string {
  if (!d.version) return d.name;
  const op = d.flags === DepFlag.LESS ? '<' : d.flags === DepFlag.GREATER ? '>' : d.flags === DepFlag.EQUAL ? '=' : d.flags === (DepFlag.LESS | DepFlag.EQUAL) ? '<=' : '>=';
  return `${d.name} ${op} ${d.version}`;
}

/** A Depends-style field → requires; alternatives become one rich `(a or b)` dependency. */
export function debianDepends(field: string | undefined): Dependency[] {
  if (!field) return [];
  const out: Dependency[] = [];
  for (const clause of field.split(',')) {
    if (!clause.trim()) continue;
    const alts = clause.split('|').map(debianRelation).filter((d): d is Dependency => d !== null);
    if (alts.length === 0) continue;
    if (alts.length === 1) out.push(alts[0]!);
    else out.push({ name: `(${alts.map(depText).join(' or ')})`, flags: 0, version: '' });
  }
  return out;
}

function simpleList(field: string | undefined): Dependency[] {
  if (!field) return [];
  return field
    .split(',')
    .map((s) => debianRelation(s.split('|')[0]!))
    .filter((d): d is Dependency => d !== null);
}

/**
 * Options. `realNames`: names of real (not only virtual) packages. Debian's unversioned Provides
 * never satisfy a versioned relation, rpm's satisfy every version; a versioned Conflicts/Breaks on a
 * purely virtual name therefore matched nothing in Debian and would match every provider in rpm, so
 * with this set such conflicts are dropped (keeping the Debian graph installable the Debian way).
 */
export interface ConvertOptions {
  realNames?: Set<string>;
}

/** A stanza's fields → an rpm-style package (null for architectures other than amd64/all). */
export function convertStanza(f: Map<string, string>, opts: ConvertOptions = {}): ConvertedPackage | null {
  const name = f.get('Package');
  const version = f.get('Version');
  const arch = ARCH[f.get('Architecture') ?? ''];
  if (!name || !version || !arch) return null;
  const v = debianVersion(version);
  const provides = simpleList(f.get('Provides'));
  const requires = [...debianDepends(f.get('Pre-Depends')), ...debianDepends(f.get('Depends'))];
  let conflicts = [...simpleList(f.get('Conflicts')), ...simpleList(f.get('Breaks'))];
  const real = opts.realNames;
  if (real) conflicts = conflicts.filter((d) => d.version === '' || real.has(d.name));
  return {
    nevra: { name, epoch: v.epoch, version: v.version, release: v.release, arch },
    deps: { provides, requires, conflicts, obsoletes: [], recommends: [], suggests: [], supplements: [], enhances: [] },
  };
}

/** Streams stanzas (as field maps) from lines of a Packages file. Continuation lines are dropped. */
export async function* stanzas(lines: AsyncIterable<string>): AsyncGenerator<Map<string, string>> {
  let cur = new Map<string, string>();
  const KEEP = new Set(['Package', 'Version', 'Architecture', 'Depends', 'Pre-Depends', 'Provides', 'Conflicts', 'Breaks']);
  for await (const line of lines) {
    if (line === '') {
      if (cur.size) yield cur;
      cur = new Map();
      continue;
    }
    if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) continue;
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const key = line.slice(0, c);
    if (KEEP.has(key)) cur.set(key, line.slice(c + 1).trim());
  }
  if (cur.size) yield cur;
}

/** apt's downloaded amd64 Packages lists (lz4), main archive first. */
export function aptPackageLists(dir = '/var/lib/apt/lists'): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /_binary-amd64_Packages\.lz4$/.test(n));
  } catch {
    return [];
  }
  const rank = (n: string): number => (/_bookworm_main/.test(n) ? 0 : /updates/.test(n) ? 1 : 2);
  return names.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)).map((n) => join(dir, n));
}

/** Converted packages of one lz4-compressed Packages file, streamed (`lz4 -dc`). */
export async function* convertLz4(path: string, opts: ConvertOptions = {}): AsyncGenerator<ConvertedPackage> {
  const child = spawn('lz4', ['-dc', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
  for await (const st of stanzas(rl)) {
    const p = convertStanza(st, opts);
    if (p) yield p;
  }
}

/** Names of the real packages in the lists (a first, light pass for ConvertOptions.realNames). */
export async function realPackageNames(paths: string[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const path of paths) {
    const child = spawn('lz4', ['-dc', path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
    // a fresh copy: a slice would keep readline's whole decoded chunk alive
    for await (const line of rl) if (line.startsWith('Package: ')) names.add(Buffer.from(line.slice(9).trim()).toString());
  }
  return names;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const FLAG_TEXT: Record<number, string> = { 2: 'LT', 4: 'GT', 8: 'EQ', 10: 'LE', 12: 'GE' };

function entryXml(d: Dependency): string {
  let s = `<rpm:entry name="${xmlEscape(d.name)}"`;
  const fl = FLAG_TEXT[d.flags & DepFlag.SENSEMASK];
  if (fl && d.version) {
    const e = d.version.indexOf(':');
    const epoch = e > 0 ? d.version.slice(0, e) : '0';
    const rest = e > 0 ? d.version.slice(e + 1) : d.version;
    const dash = rest.lastIndexOf('-');
    s += ` flags="${fl}" epoch="${epoch}" ver="${xmlEscape(dash > 0 ? rest.slice(0, dash) : rest)}"`;
    if (dash > 0) s += ` rel="${xmlEscape(rest.slice(dash + 1))}"`;
  }
  return s + '/>';
}

/** One `<package>` element of primary.xml for a converted package. */
export function primaryPackageXml(p: ConvertedPackage): string {
  const n = p.nevra;
  const lists: [string, Dependency[]][] = [
    ['provides', p.deps.provides],
    ['requires', p.deps.requires],
    ['conflicts', p.deps.conflicts],
  ];
  let x = `<package type="rpm"><name>${xmlEscape(n.name)}</name><arch>${n.arch}</arch><version epoch="${n.epoch ?? 0}" ver="${xmlEscape(n.version)}" rel="${xmlEscape(n.release)}"/>`;
  x += `<checksum type="sha256" pkgid="YES">${'0'.repeat(64)}</checksum><summary>${xmlEscape(n.name)}</summary><description/><packager/><url/>`;
  x += `<time file="0" build="0"/><size package="0" installed="0" archive="0"/><location href="Packages/${xmlEscape(n.name)}-${xmlEscape(n.version)}-${xmlEscape(n.release)}.${n.arch}.rpm"/><format>`;
  for (const [tag, list] of lists) if (list.length) x += `<rpm:${tag}>${list.map(entryXml).join('')}</rpm:${tag}>`;
  return x + '</format></package>\n';
}

/** Writes every converted package of `inputs` into a gzip primary.xml at `out`; returns the count. */
export async function writePrimaryXml(inputs: string[], out: string): Promise<number> {
  const opts: ConvertOptions = { realNames: await realPackageNames(inputs) };
  const gz = createGzip();
  const file = createWriteStream(out);
  gz.pipe(file);
  const write = (s: string): Promise<void> => new Promise((res) => (gz.write(s) ? res() : gz.once('drain', () => res())));
  let count = 0;
  // the package count goes into the root element: count first (streaming), then write
  for (const path of inputs) for await (const _ of convertLz4(path, opts)) count++;
  await write(`<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${count}">\n`);
  for (const path of inputs) for await (const p of convertLz4(path, opts)) await write(primaryPackageXml(p));
  await write('</metadata>\n');
  gz.end();
  await new Promise<void>((res, rej) => file.on('finish', () => res()).on('error', rej));
  return count;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, ...inputs] = process.argv.slice(2);
  if (!out) {
    console.error('usage: debian-to-rpmmd.ts OUT.xml.gz [Packages.lz4 …]');
    process.exit(2);
  }
  writePrimaryXml(inputs.length ? inputs : aptPackageLists(), out).then((n) => console.log(`${out}: ${n} packages`));
}
