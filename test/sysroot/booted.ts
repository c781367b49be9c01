// Test fixture: a small bootable OS committed by the real ostree, a sysroot deployed by it, and a
// way to run a command "booted" into a deployment — a private mount and pid namespace where the
// deployment is /, the sysroot is bound at /sysroot (/ostree → sysroot/ostree, as in a real
// deployment), /boot is the sysroot's boot/, /run is a folder that survives between commands
// (holding ostree-booted and run/ostree), /usr is the host's (so ostree and node run) and the
// checkout is at /mnt. Both tools then see a booted system: libostree and xylem both need that
// for staged deployments. Needs root and unshare(1); `bootedSupport()` says why not.
// The command runs as a child of the namespace's init (sh), not as pid 1 itself: the kernel does
// not deliver a SIGKILL that pid 1 sends itself, so a process that kills itself (kill-runner.ts,
// XYLEM_CRASH_AT) would otherwise carry on.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT, ok, ostree, run, type RunResult } from '../helpers/interop.ts';

// Deployments stay mutable (no immutable bit) so the temp folders can be removed, and the host's
// root filesystem (which holds the emulated /boot) is never frozen by a finalization.
process.env.OSTREE_SYSROOT_DEBUG = 'mutable-deployments,no-fsfreeze';
export const REF = 'testos/buildmain/x86_64-runtime';

/** Null when booted emulation works here, else the reason. */
export function bootedSupport(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  const r = spawnSync('unshare', ['-m', '-p', '-f', 'true'], { encoding: 'utf8' });
  if (r.status !== 0) return `unshare -m -p -f fails: ${r.stderr || r.error?.message}`;
  return null;
}

export interface OsFixture {
  repo: string;
  v1: string;
  v2: string;
  /** A sysroot where ostree deployed v1 (testos, origin REF) and REF points at v2. */
  base: string;
}

function put(root: string, rel: string, s: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), s);
}

/** Commits v1 and v2 of a tiny OS (`files` extra small files in usr/share) and deploys v1. */
export function makeOsFixture(dir: string, files = 40): OsFixture {
  const os = join(dir, 'osdata');
  for (const d of ['usr/bin', 'usr/lib64', 'sysroot', 'boot', 'run', 'proc', 'dev', 'tmp', 'mnt', 'var']) mkdirSync(join(os, d), { recursive: true });
  put(os, 'usr/lib/modules/5.0/vmlinuz', 'a kernel\n');
  put(os, 'usr/lib/modules/5.0/initramfs.img', 'an initramfs\n');
  put(os, 'usr/etc/os-release', 'NAME=TestOS\nPRETTY_NAME="TestOS 42"\n');
  put(os, 'usr/etc/default.conf', 'default\n');
  for (let i = 0; i < files; i++) put(os, `usr/share/data/f${i}`, `file ${i}\n`);
  for (const [l, t] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['ostree', 'sysroot/ostree']]) symlinkSync(t!, join(os, l!));
  const repo = join(dir, 'repo');
  run('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
  const v1 = run('ostree', [`--repo=${repo}`, 'commit', '--add-metadata-string=version=1', '-b', REF, `--tree=dir=${os}`]);
  put(os, 'usr/lib/modules/5.0/vmlinuz', 'a new kernel\n');
  put(os, 'usr/share/data/new', 'new in v2\n');
  const v2 = run('ostree', [`--repo=${repo}`, 'commit', '--add-metadata-string=version=2', '-b', REF, `--tree=dir=${os}`]);
  const base = join(dir, 'base');
  mkdirSync(base);
  run('ostree', ['admin', 'init-fs', base]);
  run('ostree', ['admin', `--sysroot=${base}`, 'os-init', 'testos']);
  run('ostree', [`--repo=${base}/ostree/repo`, 'pull-local', repo, v1]);
  run('ostree', [`--repo=${base}/ostree/repo`, 'refs', '--create', REF, v1]);
  run('ostree', ['admin', `--sysroot=${base}`, 'deploy', '--os=testos', '--karg=root=LABEL=x', REF]);
  run('ostree', [`--repo=${base}/ostree/repo`, 'pull-local', repo, v2]);
  run('ostree', [`--repo=${base}/ostree/repo`, 'reset', REF, v2]);
  return { repo, v1, v2, base };
}

/** The deployment folder of `csum.serial` in a sysroot. */
export function deployDir(sysroot: string, csum: string, serial = 0): string {
  return join(sysroot, 'ostree/deploy/testos/deploy', `${csum}.${serial}`);
}

// the mounts and the chroot: one script shared with the crash campaign
const SCRIPT = join(ROOT, 'tools/crash/run-booted.sh');

/**
 * Runs `argv` booted into deployment folder `dep` of `sysroot`, with `runDir` as /run. `argv[0]`
 * 'xylem' runs the CLI at `cli` (a path inside the checkout).
 */
export function booted(sysroot: string, dep: string, runDir: string, argv: string[], cli: string | null = null, env: Record<string, string> = {}): RunResult {
  mkdirSync(runDir, { recursive: true });
  if (!existsSync(join(runDir, 'ostree-booted'))) writeFileSync(join(runDir, 'ostree-booted'), '');
  let cmd = argv;
  if (argv[0] === 'xylem') {
    if (!cli) throw new Error('booted: no xylem CLI given');
    cmd = ['/usr/bin/node', join('/mnt', relative(ROOT, cli)), ...argv.slice(1)];
  }
  const e: Record<string, string> = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', OSTREE_SYSROOT_DEBUG: 'mutable-deployments,no-fsfreeze', ...env };
  const r = spawnSync('unshare', ['-m', '-p', '-f', '--propagation', 'private', 'sh', SCRIPT, sysroot, dep, runDir, ROOT, 'env', '-i', ...Object.entries(e).map(([k, v]) => `${k}=${v}`), ...cmd], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `ostree admin status` of a (not booted) sysroot as "csum.serial" lines. */
export function statusList(sysroot: string): string[] {
  const out = ok(ostree(['admin', `--sysroot=${sysroot}`, 'status']), 'ostree admin status');
  return out
    .split('\n')
    .filter((l) => /^[* ] \S+ [0-9a-f]{64}\.\d+/.test(l))
    .map((l) => l.split(' ')[3]!);
}

/** The paths under usr/ of a checkout, sorted. */
function treePaths(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      out.push(r);
      if (e.isDirectory()) walk(r);
    }
  };
  walk('usr');
  return out.sort();
}

/** The paths under /usr of a commit, as `ostree ls -R` lists them. */
export function commitUsrPaths(repo: string, csum: string): string[] {
  const out = ok(ostree([`--repo=${repo}`, 'ls', '-R', csum, '/usr']), 'ostree ls');
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/ -> .*$/, '').split(/\s+/).pop()!.replace(/^\//, ''))
    .filter((p) => p !== 'usr')
    .sort();
}

/**
 * Every boot entry of the current loader leads (ostree= through ostree/boot.B) to a deployment
 * whose /usr is complete (the same paths as its commit) and whose kernel exists in /boot.
 * Returns the deployments named, default first.
 */
export function entriesComplete(sysroot: string, expectUsr: (csum: string) => string[]): string[] {
  const loader = readlinkSync(join(sysroot, 'boot/loader'));
  const dir = join(sysroot, 'boot', loader, 'entries');
  const named: Array<[number, string]> = [];
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    const m = /ostree=(\/ostree\/boot\.\d\/\S+)/.exec(text);
    if (!m) throw new Error(`${name}: no ostree= argument`);
    const link = join(sysroot, m[1]!);
    const target = join(link, '..', readlinkSync(link));
    const depName = target.split('/').pop()!;
    const csum = depName.split('.')[0]!;
    const got = treePaths(target);
    const want = expectUsr(csum);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${name}: deployment ${depName} is incomplete (${got.length} of ${want.length} paths under usr/)`);
    const linux = /^linux (\S+)$/m.exec(text)![1]!;
    if (readFileSync(join(sysroot, 'boot', linux)).length === 0) throw new Error(`${name}: empty kernel`);
    named.push([Number(/^version (\d+)$/m.exec(text)![1]), depName]);
  }
  return named.sort((a, b) => b[0] - a[0]).map((x) => x[1]);
}
