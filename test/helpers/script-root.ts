// Fixtures for the scriptlet tests: a tiny merged-/usr root whose shell and tools are Debian's
// static busybox (busybox-static), package payloads unpacked with rpm2cpio into a "package cache"
// and hardlinked into the root (as compose hardlinks package checkouts), and the scripts of a
// built .rpm read back with `rpm -qp --qf` (the oracle reads the header, not xylem).

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileTrigger, Scriptlet, PackageTrigger, ScriptletKind, ScriptPackage } from '../../src/compose/scripts/index.ts';
import { hasCommand } from './rpmbuild.ts';

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p)) ?? null;
export const HAVE_BUSYBOX_STATIC = BUSYBOX !== null && /statically linked|static-pie/.test(safe(() => execFileSync('file', [BUSYBOX], { encoding: 'utf8' })));
export const HAVE_BWRAP = hasCommand('bwrap');
export const HAVE_ROFILES = hasCommand('rofiles-fuse') && existsSync('/dev/fuse');
export const HAVE_RPM = hasCommand('rpm') && hasCommand('rpm2cpio') && hasCommand('cpio');
export const IS_ROOT = process.getuid?.() === 0;

function safe(f: () => string): string {
  try {
    return f();
  } catch {
    return '';
  }
}

const APPLETS = ['sh', 'echo', 'cat', 'ls', 'rm', 'touch', 'mkdir', 'id', 'wget', 'nc', 'env', 'sort', 'grep', 'sleep', 'yes', 'head', 'true', 'false', 'printf', 'chmod', 'ln', 'find', 'stat', 'test', 'tr', 'wc', 'seq'];

/** A fresh temp dir. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `xylem-${prefix}-`));
}

/**
 * Makes a merged-/usr skeleton in `root`: usr/bin/busybox with applet links, bin → usr/bin,
 * sbin → usr/sbin, lib → usr/lib, etc/passwd and group, var/lib, var/tmp. The busybox binary is a
 * hardlink to `cache/busybox` when a cache dir is given (as a package checkout would be).
 */
export function makeBusyboxRoot(root: string, cache?: string): void {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/share', 'etc', 'var/lib', 'var/tmp']) mkdirSync(join(root, d), { recursive: true });
  if (cache) {
    mkdirSync(cache, { recursive: true });
    if (!existsSync(join(cache, 'busybox'))) copyFileSync(BUSYBOX!, join(cache, 'busybox'));
    execFileSync('ln', [join(cache, 'busybox'), join(root, 'usr/bin/busybox')]);
  } else copyFileSync(BUSYBOX!, join(root, 'usr/bin/busybox'));
  execFileSync('chmod', ['0755', join(root, 'usr/bin/busybox')]);
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'usr/bin', a));
  symlinkSync('usr/bin', join(root, 'bin'));
  symlinkSync('usr/sbin', join(root, 'sbin'));
  symlinkSync('usr/lib', join(root, 'lib'));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nbin:x:1:\n');
}

/** Unpacks a package's payload into `cache/<name>` (once) and hardlinks its files into `root`. */
export function checkoutPackage(rpmPath: string, cache: string, root: string): void {
  const dir = join(cache, rpmPath.replace(/.*\//, '').replace(/\.rpm$/, ''));
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', rpmPath], { cwd: dir });
  }
  execFileSync('cp', ['-al', '--no-preserve=links', `${dir}/.`, root]);
}

function qf(rpm: string, format: string): string {
  return execFileSync('rpm', ['-qp', '--qf', format, rpm], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/** Splits `rpm --qf '[%{X:shescape} ]'` output into its words. */
function shellWords(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && s[i] === ' ') i++;
    if (i >= s.length) break;
    let w = '';
    while (i < s.length && s[i] !== ' ') {
      if (s[i] === "'") {
        const end = s.indexOf("'", i + 1);
        w += s.slice(i + 1, end);
        i = end + 1;
      } else if (s[i] === '\\') {
        w += s[i + 1];
        i += 2;
      } else w += s[i++];
    }
    out.push(w);
  }
  return out;
}

function array(rpm: string, tag: string): string[] {
  return shellWords(qf(rpm, `[%{${tag}:shescape} ]`));
}
function numbers(rpm: string, tag: string): number[] {
  return qf(rpm, `[%{${tag}} ]`).trim().split(/\s+/).filter(Boolean).map(Number);
}

const SCRIPT_TAGS: [ScriptletKind, string][] = [
  ['pretrans', 'PRETRANS'],
  ['prein', 'PREIN'],
  ['post', 'POSTIN'],
  ['posttrans', 'POSTTRANS'],
  ['preun', 'PREUN'],
  ['postun', 'POSTUN'],
];

/** The scripts, triggers and file triggers of a built .rpm, as rpm reports them. */
export function scriptPackageFromRpm(rpm: string, action: ScriptPackage['action'] = 'install'): ScriptPackage {
  const [name, release, evr] = qf(rpm, '%{NAME} %{RELEASE} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}').split(' ') as [string, string, string];
  const scripts: Partial<Record<ScriptletKind, Scriptlet>> = {};
  for (const [kind, tag] of SCRIPT_TAGS) {
    const has = qf(rpm, `%|${tag}?{1}:{0}|`) === '1';
    if (!has) continue;
    const body = shellWords(qf(rpm, `%{${tag}:shescape}`))[0] ?? '';
    const interpreter = array(rpm, `${tag === 'POSTIN' ? 'POSTIN' : tag}PROG`);
    const flags = Number(qf(rpm, `%|${tag}FLAGS?{%{${tag}FLAGS}}:{0}|`));
    scripts[kind] = { interpreter, body, flags };
  }
  const triggers: PackageTrigger[] = [];
  const tScripts = array(rpm, 'TRIGGERSCRIPTS');
  const tProgs = array(rpm, 'TRIGGERSCRIPTPROG');
  const tNames = array(rpm, 'TRIGGERNAME');
  const tVersions = array(rpm, 'TRIGGERVERSION');
  const tFlags = numbers(rpm, 'TRIGGERFLAGS');
  const tIndex = numbers(rpm, 'TRIGGERINDEX');
  tScripts.forEach((body, i) => {
    const conds = tNames.map((n, j) => ({ n, j })).filter(({ j }) => tIndex[j] === i);
    const f = tFlags[conds[0]?.j ?? 0] ?? 0;
    const kind = f & (1 << 25) ? 'prein' : f & (1 << 16) ? 'in' : f & (1 << 17) ? 'un' : 'postun';
    triggers.push({ kind, conditions: conds.map(({ n, j }) => ({ name: n, flags: tFlags[j] ?? 0, version: tVersions[j] ?? '' })), script: { interpreter: [tProgs[i] ?? '/bin/sh'], body, flags: 0 } });
  });
  const fileTriggers: FileTrigger[] = [];
  for (const [scope, T] of [
    ['file', 'FILETRIGGER'],
    ['transfile', 'TRANSFILETRIGGER'],
  ] as const) {
    const bodies = array(rpm, `${T}SCRIPTS`);
    const progs = array(rpm, `${T}SCRIPTPROG`);
    const names = array(rpm, `${T}NAME`);
    const flags = numbers(rpm, `${T}FLAGS`);
    const index = numbers(rpm, `${T}INDEX`);
    const prio = numbers(rpm, `${T}PRIORITIES`);
    const sflags = numbers(rpm, `${T}SCRIPTFLAGS`);
    bodies.forEach((body, i) => {
      const mine = names.map((n, j) => ({ n, j })).filter(({ j }) => index[j] === i);
      const f = flags[mine[0]?.j ?? 0] ?? 0;
      const kind = f & (1 << 16) ? 'in' : f & (1 << 17) ? 'un' : 'postun';
      fileTriggers.push({ scope, kind, priority: prio[i] ?? 1000000, prefixes: mine.map(({ n }) => n), script: { interpreter: [progs[i] ?? '/bin/sh'], body, flags: sflags[i] ?? 0 } });
    });
  }
  return { name, release, evr, action, scripts, triggers, fileTriggers };
}
