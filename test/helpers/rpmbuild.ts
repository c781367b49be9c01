// Builds real RPM packages and rpm-md repositories for the package half's tests, with Debian's
// rpmbuild and createrepo_c (the oracles make the inputs; xylem reads them). A package is described
// declaratively (name, version, dependencies, files, scripts); buildRpm writes a spec file around the
// description and runs rpmbuild in a private _topdir, so tests never depend on the machine's ~/.rpmmacros.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HAVE_RPMBUILD = hasCommand('rpmbuild');
export const HAVE_CREATEREPO = hasCommand('createrepo_c');
export const HAVE_DNF = hasCommand('dnf');

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * One file a fixture package installs. `content` for regular files; `target` for symlinks (the link
 * text) and hardlinks (the absolute path of an earlier file of the package it is a second name of).
 */
export interface FixtureFile {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  /** A host file whose bytes a regular file gets (instead of `content`), e.g. a static busybox. */
  from?: string;
  content?: string;
  target?: string;
  mode?: number;
  user?: string;
  group?: string;
  /** Spec-file attribute such as '%config(noreplace)', '%ghost', '%doc', '%caps(cap_net_raw=ep)'. */
  attr?: string;
  /** A regular file of this many zero bytes (instead of `content`; for big-package tests). */
  zeros?: number;
}

/** A package to build. Dependency lists hold spec-file syntax: `foo >= 1.2`, `(a or b)`. */
export interface FixturePackage {
  name: string;
  version?: string;
  release?: string;
  epoch?: number;
  /** 'noarch' (default) or 'x86_64'. */
  arch?: string;
  summary?: string;
  requires?: string[];
  provides?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  recommends?: string[];
  suggests?: string[];
  supplements?: string[];
  enhances?: string[];
  files?: FixtureFile[];
  /** Script sections by name ('pre', 'post', 'posttrans', 'post -p <lua>', 'triggerin -- bash'…) → body. */
  scripts?: Record<string, string>;
  changelog?: { date: string; author: string; text: string }[];
  /** rpm's _binary_payload, e.g. 'w9.gzdio' (Debian's default), 'w19.zstdio', 'w6.xzdio', 'w9.bzdio'. */
  payload?: string;
  /** Extra preamble lines written as they are ('Summary(de): …', 'Prefix: /opt/x', 'Group: System/Base', …). */
  preamble?: string[];
  /** Extra rpmbuild macro definitions, e.g. { _binary_filedigest_algorithm: '1' } for MD5 file digests. */
  macros?: Record<string, string>;
}

/** Writes the spec file of `pkg` (exported for tests that want to see it). */
export function specFor(pkg: FixturePackage): string {
  const lines: string[] = [];
  const arch = pkg.arch ?? 'noarch';
  lines.push(`Name: ${pkg.name}`, `Version: ${pkg.version ?? '1.0'}`, `Release: ${pkg.release ?? '1'}`);
  if (pkg.epoch !== undefined) lines.push(`Epoch: ${pkg.epoch}`);
  lines.push(`Summary: ${pkg.summary ?? `the ${pkg.name} fixture`}`, 'License: MIT');
  if (arch === 'noarch') lines.push('BuildArch: noarch');
  const deps: [string, string[] | undefined][] = [
    ['Requires', pkg.requires],
    ['Provides', pkg.provides],
    ['Conflicts', pkg.conflicts],
    ['Obsoletes', pkg.obsoletes],
    ['Recommends', pkg.recommends],
    ['Suggests', pkg.suggests],
    ['Supplements', pkg.supplements],
    ['Enhances', pkg.enhances],
  ];
  for (const [tag, list] of deps) for (const d of list ?? []) lines.push(`${tag}: ${d}`);
  for (const l of pkg.preamble ?? []) lines.push(l);
  lines.push('', '%description', `${pkg.name} is a package built by xylem's tests.`, '');
  lines.push('%install', 'rm -rf %{buildroot}', 'mkdir -p %{buildroot}');
  const files = pkg.files ?? [];
  for (const f of files) {
    const p = `%{buildroot}${f.path}`;
    const dir = f.path.replace(/\/[^/]*$/, '') || '/';
    lines.push(`mkdir -p '%{buildroot}${dir}'`);
    if (f.attr?.startsWith('%ghost')) continue;
    if (f.type === 'dir') lines.push(`mkdir -p '${p}'`);
    else if (f.type === 'symlink') lines.push(`ln -s '${f.target}' '${p}'`);
    else if (f.type === 'hardlink') lines.push(`ln '%{buildroot}${f.target}' '${p}'`);
    else if (f.from) lines.push(`cp '${f.from}' '${p}'`);
    else if (f.zeros !== undefined) lines.push(`head -c ${f.zeros} /dev/zero > '${p}'`);
    else {
      const b64 = Buffer.from(f.content ?? '').toString('base64');
      lines.push(`echo '${b64}' | base64 -d > '${p}'`);
    }
  }
  lines.push('', '%files');
  for (const f of files) {
    const mode = f.mode !== undefined ? f.mode.toString(8) : '-';
    const attr = `%attr(${mode},${f.user ?? 'root'},${f.group ?? 'root'})`;
    const kind = f.type === 'dir' ? '%dir ' : '';
    lines.push(`${attr} ${f.attr ?? ''} ${kind}"${f.path}"`.replace(/\s+/g, ' ').trim());
  }
  for (const [name, body] of Object.entries(pkg.scripts ?? {})) lines.push('', `%${name}`, body);
  lines.push('', '%changelog');
  for (const c of pkg.changelog ?? [{ date: 'Mon Dec 07 2026', author: 'Xylem Tests <tests@xylem.invalid>', text: '- built for a test' }])
    lines.push(`* ${c.date} ${c.author} - ${pkg.version ?? '1.0'}-${pkg.release ?? '1'}`, c.text, '');
  return lines.join('\n') + '\n';
}

/** The macros every fixture build uses: no debuginfo, no build-id links, no brp scripts. */
function macroArgs(topdir: string, pkg: FixturePackage): string[] {
  const defs: Record<string, string> = {
    _topdir: topdir,
    _build_id_links: 'none',
    debug_package: '%{nil}',
    __os_install_post: '%{nil}',
    _source_date_epoch_from_changelog: '0',
    _buildhost: 'xylem-tests',
  };
  if (pkg.payload) defs._binary_payload = pkg.payload;
  Object.assign(defs, pkg.macros ?? {});
  return Object.entries(defs).flatMap(([k, v]) => ['--define', `${k} ${v}`]);
}

/** Builds `pkg` with rpmbuild; the .rpm lands in `outDir`. Returns its path. */
export function buildRpm(pkg: FixturePackage, outDir: string): string {
  const top = mkdtempSync(join(tmpdir(), 'xylem-rpmbuild-'));
  for (const d of ['SPECS', 'RPMS', 'BUILD', 'BUILDROOT', 'SOURCES']) mkdirSync(join(top, d), { recursive: true });
  const spec = join(top, 'SPECS', `${pkg.name}.spec`);
  writeFileSync(spec, specFor(pkg));
  const args = [...macroArgs(top, pkg), '--quiet', '-bb'];
  if (pkg.arch && pkg.arch !== 'noarch') args.push('--target', pkg.arch);
  execFileSync('rpmbuild', [...args, spec], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: top } });
  const arch = pkg.arch ?? 'noarch';
  const produced = readdirSync(join(top, 'RPMS', arch)).filter((f) => f.endsWith('.rpm'));
  if (produced.length !== 1) throw new Error(`rpmbuild of ${pkg.name} produced ${produced.length} packages`);
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, produced[0]!);
  execFileSync('cp', [join(top, 'RPMS', arch, produced[0]!), out]);
  execFileSync('rm', ['-rf', top]);
  return out;
}

/** Builds the source package of `pkg` (rpmbuild -bs) into `outDir`; returns its path. */
export function buildSrpm(pkg: FixturePackage, outDir: string): string {
  const top = mkdtempSync(join(tmpdir(), 'xylem-rpmbuild-'));
  for (const d of ['SPECS', 'SRPMS', 'SOURCES']) mkdirSync(join(top, d), { recursive: true });
  const spec = join(top, 'SPECS', `${pkg.name}.spec`);
  writeFileSync(spec, specFor(pkg));
  execFileSync('rpmbuild', [...macroArgs(top, pkg), '--quiet', '-bs', spec], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: top } });
  const produced = readdirSync(join(top, 'SRPMS')).filter((f) => f.endsWith('.src.rpm'));
  if (produced.length !== 1) throw new Error(`rpmbuild -bs of ${pkg.name} produced ${produced.length} packages`);
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, produced[0]!);
  execFileSync('cp', [join(top, 'SRPMS', produced[0]!), out]);
  execFileSync('rm', ['-rf', top]);
  return out;
}

/** Builds every package into `dir` and runs createrepo_c there; returns the repo folder. */
export function buildRepo(pkgs: FixturePackage[], dir: string, createrepoArgs: string[] = []): string {
  mkdirSync(dir, { recursive: true });
  for (const p of pkgs) buildRpm(p, dir);
  execFileSync('createrepo_c', ['--quiet', ...createrepoArgs, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return dir;
}

/**
 * Runs dnf against repo folders only (no system repos, no network), into an empty installroot.
 * Returns dnf's exit status, stdout and stderr. `--assumeno` is how a test reads the transaction.
 * A repo may also be given as a file:// or http:// URL (a test server on 127.0.0.1); `setopts` adds
 * `--setopt=` options, `env` environment variables (TZ…).
 */
export function runDnf(
  args: string[],
  repos: Record<string, string>,
  opts: { installroot?: string; setopts?: string[]; env?: Record<string, string> } = {},
): { status: number; stdout: string; stderr: string } {
  const root = opts.installroot ?? mkdtempSync(join(tmpdir(), 'xylem-dnfroot-'));
  const home = mkdtempSync(join(tmpdir(), 'xylem-dnfhome-'));
  writeFileSync(join(home, '.rpmmacros'), `%_dbpath ${join(root, 'var/lib/rpm')}\n`);
  const base = ['-y', `--installroot=${root}`, '--setopt=reposdir=/dev/null', '--setopt=cachedir=' + join(home, 'cache'), '--nogpgcheck', '--releasever=1', '--forcearch=x86_64'];
  for (const [id, path] of Object.entries(repos)) base.push(`--repofrompath=${id},${/^(file|https?):\/\//.test(path) ? path : `file://${path}`}`);
  if (opts.setopts) for (const o of opts.setopts) base.push(`--setopt=${o}`);
  try {
    const stdout = execFileSync('dnf', [...base, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: home, LC_ALL: 'C.UTF-8', ...opts.env } });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    const err = e as { status: number; stdout: string; stderr: string };
    return { status: err.status ?? 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

export const HAVE_RPMSIGN = hasCommand('rpmsign') && hasCommand('gpg');

/** A throw-away OpenPGP signing key (RSA 2048, no passphrase) in its own GNUPGHOME. */
export interface SigningKey {
  gnupgHome: string;
  /** The key's user id, as rpmsign's _gpg_name wants it. */
  name: string;
}

/** Generates a signing key for rpmsign in a private GNUPGHOME. */
export function makeSigningKey(): SigningKey {
  const gnupgHome = mkdtempSync(join(tmpdir(), 'xylem-gnupg-'));
  const name = 'Xylem Test Signer <signer@xylem.invalid>';
  execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', name, 'rsa2048', 'sign', 'never'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GNUPGHOME: gnupgHome },
  });
  return { gnupgHome, name };
}

/** Signs the package at `path` in place with rpmsign --addsign (adds RSAHEADER 268 to its signature header). */
export function signRpm(path: string, key: SigningKey): void {
  const gpg = hasCommand('gpg2') ? 'gpg2' : 'gpg';
  execFileSync('rpmsign', ['--addsign', '--define', `__gpg /usr/bin/${gpg}`, '--define', `_gpg_name ${key.name}`, '--define', `_gpg_path ${key.gnupgHome}`, path], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GNUPGHOME: key.gnupgHome, HOME: key.gnupgHome },
  });
}

/**
 * Records `rpms` in the rpmdb of `root` the way rpm-ostree's "Writing rpmdb" does:
 * `rpm --root ROOT --dbpath /usr/share/rpm -i --justdb --nodeps --noscripts`.
 */
export function rpmJustdbInstall(root: string, rpms: string[], extraArgs: string[] = []): void {
  execFileSync('rpm', ['--root', root, '--dbpath', '/usr/share/rpm', '-i', '--justdb', '--nodeps', '--noscripts', ...extraArgs, ...rpms], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: root },
  });
}
