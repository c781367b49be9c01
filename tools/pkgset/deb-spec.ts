// The pure half of the demo package set (tools/pkgset/build.ts): turns a Debian binary package —
// its control fields and the list of what `dpkg-deb -x` extracted — into an rpm spec file that
// packs the same files, the way a distribution with a merged /usr would ship them (alien's job,
// done with a spec file instead: alien's `--scripts` wraps Debian's maintainer scripts in perl and
// keeps /bin and /lib, neither of which fits an rpm-ostree compose). Also the spec files of the
// small test packages the set adds (filesystem layout, os-release, kernel, a systemd unit, %post).
//
// Mapping, as alien does it where it can: Debian `[epoch:]upstream[-revision]` → rpm Epoch,
// Version, Release (revision "0" for native packages; `-` is not allowed in an rpm version, `:`
// and `-` not in a release); Debian Depends/Pre-Depends on packages of the same set → Requires by
// name (rpmbuild adds the ELF soname and interpreter requires itself); files under /bin, /sbin,
// /lib, /lib64 move to /usr (and a file that was in /bin or /sbin keeps its old path as a
// Provides, as Fedora's usrmove did); /etc files are %config(noreplace), /usr/share/doc is %doc.
// Manual pages, info and translations are left out to keep the set small.

/** The control fields the builder reads (`dpkg-deb -f DEB Package Version Architecture Depends Pre-Depends Description`). */
export interface DebControl {
  package: string;
  version: string;
  architecture: string;
  depends: string;
  preDepends: string;
  description: string;
}

/** An rpm (Epoch, Version, Release). */
export interface RpmEvr {
  epoch: number | null;
  version: string;
  release: string;
}

/** One entry of the extracted tree, relative to its root ("usr/bin/ls"), after the /usr merge. */
export interface PkgEntry {
  path: string;
  kind: 'file' | 'symlink' | 'dir';
}

const NAME_RE = /^[a-z0-9][a-z0-9+.-]*$/;
const RPM_VERSION_RE = /^[A-Za-z0-9._+~^]+$/;

export class PkgsetError extends Error {
  constructor(
    readonly pkg: string,
    message: string,
  ) {
    super(`${pkg}: ${message}`);
    this.name = 'PkgsetError';
  }
}

/** Parses `dpkg-deb -f DEB Package Version Architecture Depends Pre-Depends Description` output (RFC 822 style, continuation lines). */
export function parseControl(text: string, origin: string): DebControl {
  if (typeof text !== 'string' || text.length > 1 << 20) throw new PkgsetError(origin, 'control data missing or over 1 MiB');
  const fields = new Map<string, string>();
  let last: string | null = null;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (/^[ \t]/.test(line)) {
      if (last === null) throw new PkgsetError(origin, `control data starts with a continuation line: ${JSON.stringify(line.slice(0, 60))}`);
      fields.set(last, `${fields.get(last)}\n${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
    if (!m) throw new PkgsetError(origin, `malformed control line ${JSON.stringify(line.slice(0, 60))}`);
    last = m[1]!.toLowerCase();
    fields.set(last, m[2]!.trim());
  }
  const need = (k: string): string => {
    const v = fields.get(k);
    if (!v) throw new PkgsetError(origin, `control field ${k} is missing`);
    return v;
  };
  const c: DebControl = {
    package: need('package'),
    version: need('version'),
    architecture: need('architecture'),
    depends: fields.get('depends') ?? '',
    preDepends: fields.get('pre-depends') ?? '',
    description: fields.get('description') ?? '',
  };
  if (!NAME_RE.test(c.package)) throw new PkgsetError(origin, `bad package name ${JSON.stringify(c.package)}`);
  return c;
}

/** Debian version → rpm EVR. Refuses what rpm cannot represent. */
export function debVersionToRpm(v: string, pkg: string): RpmEvr {
  const m = /^(?:(\d+):)?(.+?)(?:-([^-]+))?$/.exec(v);
  if (!m) throw new PkgsetError(pkg, `bad Debian version ${JSON.stringify(v)}`);
  const epoch = m[1] !== undefined ? Number(m[1]) : null;
  const version = m[2]!;
  const release = m[3] ?? '0';
  if (epoch !== null && (!Number.isSafeInteger(epoch) || epoch > 0xffffffff)) throw new PkgsetError(pkg, `epoch out of range in ${v}`);
  // a Debian upstream version may hold '-' (when a revision follows) and ':' (when an epoch is given)
  if (!RPM_VERSION_RE.test(version)) throw new PkgsetError(pkg, `upstream version ${JSON.stringify(version)} has characters rpm refuses`);
  if (!RPM_VERSION_RE.test(release)) throw new PkgsetError(pkg, `revision ${JSON.stringify(release)} has characters rpm refuses`);
  return { epoch, version, release };
}

/** Debian architecture → rpm's. */
export function rpmArch(debArch: string, pkg: string): string {
  if (debArch === 'amd64') return 'x86_64';
  if (debArch === 'all') return 'noarch';
  throw new PkgsetError(pkg, `architecture ${debArch} is not in the demo set (amd64 and all only)`);
}

/** The names a Depends/Pre-Depends field mentions that are in `set` (each alternative group: the first member in the set). */
export function depsInSet(field: string, set: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const group of field.split(',')) {
    const alts = group.split('|').map((a) => a.trim().replace(/\s*\(.*\)$/, '').replace(/:any$/, ''));
    const hit = alts.find((a) => set.has(a));
    if (hit && !out.includes(hit)) out.push(hit);
  }
  return out;
}

const MERGED: Record<string, string> = { bin: 'usr/bin', sbin: 'usr/sbin', lib: 'usr/lib', lib64: 'usr/lib64' };

/** Where a path of the extracted tree goes on a merged-/usr system ("bin/ls" → "usr/bin/ls"). */
export function usrMergedPath(p: string): string {
  const slash = p.indexOf('/');
  const top = slash < 0 ? p : p.slice(0, slash);
  const to = MERGED[top];
  if (to === undefined) return p;
  return slash < 0 ? to : `${to}${p.slice(slash)}`;
}

/** Paths the set leaves out (documentation that only costs space: manuals, info, translations). */
export function isDropped(p: string): boolean {
  return /^usr\/share\/(man|info|locale|lintian)(\/|$)/.test(p);
}

// characters a %files line can hold as they are: rpm globs [ ] * ? { } and expands %, so those
// are escaped (bracket expressions, %%); anything else unusual (quotes, spaces, backslashes, control characters) is refused
const SAFE_PATH_RE = /^[A-Za-z0-9._+@:,=~/\-[\]*?{}%]+$/;

/** One %files line for `entry` (root-relative path). */
export function filesLine(entry: PkgEntry, pkg: string): string {
  const p = entry.path;
  if (p === '' || p.startsWith('/') || p.split('/').some((s) => s === '' || s === '.' || s === '..')) throw new PkgsetError(pkg, `path ${JSON.stringify(p)} escapes the package root`);
  if (!SAFE_PATH_RE.test(p)) throw new PkgsetError(pkg, `file name ${JSON.stringify(p)} cannot be listed in a spec file`);
  // a glob character matches itself inside a bracket expression ("[" → "[[]"); "]" alone is literal
  const escaped = '/' + p.replace(/%/g, '%%').replace(/[[*?{}]/g, (c) => `[${c}]`);
  if (entry.kind === 'dir') return `%dir ${escaped}`;
  if (p.startsWith('etc/') && entry.kind === 'file') return `%config(noreplace) ${escaped}`;
  if (p.startsWith('usr/share/doc/')) return `%doc ${escaped}`;
  return escaped;
}

export interface DebSpecInput {
  control: DebControl;
  /** Every entry of the /usr-merged tree (files, symlinks, empty directories), without dropped ones. */
  entries: PkgEntry[];
  /** The /usr-merged tree the %install section copies from. */
  tree: string;
  /** Names of the whole set (Depends on them become Requires). */
  set: ReadonlySet<string>;
  /** Overrides the release (the bumped package of the upgrade step). */
  release?: string;
  /** Paths (root-relative, before the merge) that were in /bin or /sbin: kept as file Provides. */
  oldPaths?: string[];
  /** Capabilities the package provides that rpm's generators cannot see (glibc's `rtld(GNU_HASH)`). */
  extraProvides?: string[];
}

function specHeader(name: string, evr: RpmEvr, arch: string, summary: string): string[] {
  const lines = [`Name: ${name}`, `Version: ${evr.version}`, `Release: ${evr.release}`];
  if (evr.epoch !== null) lines.push(`Epoch: ${evr.epoch}`);
  lines.push(`Summary: ${summary.replace(/[\r\n%]/g, ' ').slice(0, 200) || name}`, 'License: see /usr/share/doc', 'URL: https://www.debian.org/');
  if (arch === 'noarch') lines.push('BuildArch: noarch');
  return lines;
}

/** The spec file packing the extracted Debian package. */
export function specForDeb(input: DebSpecInput): string {
  const c = input.control;
  const evr = debVersionToRpm(c.version, c.package);
  if (input.release !== undefined) {
    if (!RPM_VERSION_RE.test(input.release)) throw new PkgsetError(c.package, `bad release override ${input.release}`);
    evr.release = input.release;
  }
  const arch = rpmArch(c.architecture, c.package);
  const [summary, ...body] = c.description.split('\n');
  const lines = specHeader(c.package, evr, arch, summary ?? '');
  for (const dep of depsInSet(`${c.preDepends},${c.depends}`, input.set)) if (dep !== c.package) lines.push(`Requires: ${dep}`);
  for (const old of input.oldPaths ?? []) {
    if (!SAFE_PATH_RE.test(old) || /[[\]*?{}%]/.test(old)) throw new PkgsetError(c.package, `file name ${JSON.stringify(old)} cannot be a Provides`);
    lines.push(`Provides: /${old}`);
  }
  for (const p of input.extraProvides ?? []) {
    if (!/^[A-Za-z0-9._+()/-]+$/.test(p)) throw new PkgsetError(c.package, `bad extra Provides ${JSON.stringify(p)}`);
    lines.push(`Provides: ${p}`);
  }
  if (/["'\\\s]/.test(input.tree)) throw new PkgsetError(c.package, `tree path ${JSON.stringify(input.tree)} needs quoting`);
  lines.push('', '%description', ...(body.length ? body.map((l) => (l === '.' ? '' : l.replace(/%/g, '%%'))) : [c.package]), '');
  lines.push(`Repackaged from Debian's ${c.package} ${c.version} (${c.architecture}) by xylem's tools/pkgset.`, '');
  lines.push('%install', 'rm -rf %{buildroot}', 'mkdir -p %{buildroot}', `cp -a ${input.tree}/. %{buildroot}/`, '');
  lines.push('%files', '%defattr(-,root,root,-)');
  for (const e of input.entries) lines.push(filesLine(e, c.package));
  lines.push('', '%changelog', `* Mon Dec 07 2026 Xylem pkgset <pkgset@xylem.invalid> - ${evr.epoch !== null ? `${evr.epoch}:` : ''}${evr.version}-${evr.release}`);
  lines.push(input.release !== undefined ? `- rebuilt with release ${input.release} (the demo's upgrade)` : `- repackaged from Debian ${c.version}`, '');
  return lines.join('\n');
}

/** A file of a test package: content, or a symlink target. */
export interface TestFile {
  path: string;
  content?: string;
  symlink?: string;
  mode?: number;
  config?: boolean;
}

/** A small package the set adds (spec written around inline files). */
export interface TestPackage {
  name: string;
  version: string;
  release: string;
  summary: string;
  requires?: string[];
  provides?: string[];
  files: TestFile[];
  post?: string;
}

/** The spec file of a test package. */
export function specForTest(p: TestPackage): string {
  if (!NAME_RE.test(p.name)) throw new PkgsetError(p.name, 'bad package name');
  const lines = specHeader(p.name, { epoch: null, version: p.version, release: p.release }, 'noarch', p.summary);
  for (const r of p.requires ?? []) lines.push(`Requires: ${r}`);
  for (const r of p.provides ?? []) lines.push(`Provides: ${r}`);
  lines.push('', '%description', p.summary, '', '%install', 'rm -rf %{buildroot}');
  for (const f of p.files) {
    if (!/^\/[A-Za-z0-9._+@/-]+$/.test(f.path) || f.path.includes('/../')) throw new PkgsetError(p.name, `bad path ${f.path}`);
    const dir = f.path.replace(/\/[^/]*$/, '') || '/';
    lines.push(`mkdir -p '%{buildroot}${dir}'`);
    if (f.symlink !== undefined) lines.push(`ln -s '${f.symlink.replace(/'/g, '')}' '%{buildroot}${f.path}'`);
    else lines.push(`echo '${Buffer.from(f.content ?? '').toString('base64')}' | base64 -d > '%{buildroot}${f.path}'`, `chmod ${(f.mode ?? 0o644).toString(8)} '%{buildroot}${f.path}'`);
  }
  lines.push('', '%files', '%defattr(-,root,root,-)');
  for (const f of p.files) lines.push(`${f.config ? '%config(noreplace) ' : ''}${f.path}`);
  if (p.post !== undefined) lines.push('', '%post', p.post);
  lines.push('', '%changelog', `* Mon Dec 07 2026 Xylem pkgset <pkgset@xylem.invalid> - ${p.version}-${p.release}`, `- the demo's ${p.name}`, '');
  return lines.join('\n');
}
