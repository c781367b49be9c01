// `rpm-xylem install -A`, `apply-live [--reset] [--allow-replacement]` and `usroverlay` on a
// booted system (emulated: test/sysroot/booted.ts's namespace script; each command gets a fresh
// mount namespace, so a command that must show the live /usr is held open and inspected from
// outside through /proc/PID/root). The base is composed by `rpm-xylem compose tree` from fixture
// RPMs served on 127.0.0.1 and deployed by `xylem admin deploy`. Oracles: `rpm -q --dbpath` on
// the live /usr's rpmdb, the real `ostree admin status` (the booted deployment shows as
// unlocked transient), `ostree fsck`, the deployment's own usr/ compared with its commit (never
// written), rpm-ostree's status lines and refusals. Crash points: SIGKILL at apply-live's steps
// and at its Nth file-system change (XYLEM_CRASH_AT); after each, status works and a re-run succeeds.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OSTREE, ROOT, TempDir } from '../helpers/interop.ts';
import { serve } from '../helpers/serve-dir.ts';
import { runTs as runTsEntry, type TsRunResult } from '../helpers/run-ts.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, buildRepo, type FixturePackage } from '../helpers/rpmbuild.ts';
import { BUSYBOX, HAVE_BUSYBOX_STATIC, HAVE_RPM, IS_ROOT } from '../helpers/script-root.ts';
import { booted, bootedSupport } from '../sysroot/booted.ts';

const ENV = { OSTREE_SYSROOT_DEBUG: 'mutable-deployments', NODE_OPTIONS: '' };
const SCRIPT = join(ROOT, 'tools/crash/run-booted.sh');

const runTs = (entry: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<TsRunResult> => runTsEntry(entry, args, cwd, { ...ENV, ...env });


const FILESYSTEM: FixturePackage = {
  name: 'filesystem',
  version: '3.18',
  files: [
    { path: '/etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { path: '/etc/group', content: 'root:x:0:\n' },
    { path: '/etc/os-release', content: 'NAME=Xylem\nID=xylem\nVERSION_ID=1\n' },
    { path: '/usr/lib/modules/6.1.0-x/vmlinuz', content: 'kernel image\n' },
    // The namespace script binds the host's /usr: its programs need the usual compat links.
    ...[['lib', 'usr/lib'], ['lib64', 'usr/lib64'], ['sbin', 'usr/sbin']].map(([p, t]) => ({ path: `/${p}`, type: 'symlink' as const, target: t! })),
  ],
};
// A mount(8) in the OS itself: once the overlay is on /usr, the host's tools are gone from it.
const BASESH = (busybox: string): FixturePackage => ({
  name: 'basesh',
  version: '1.35',
  arch: 'x86_64',
  provides: ['/bin/sh'],
  files: [
    { path: '/usr/bin/busybox', from: busybox, mode: 0o755 },
    ...['sh', 'mount', 'cat', 'true'].map((a) => ({ path: `/usr/bin/${a}`, type: 'symlink' as const, target: 'busybox' })),
    { path: '/bin', type: 'symlink', target: 'usr/bin' },
  ],
});
const DOCKER: FixturePackage = { name: 'docker', version: '1.0', files: [{ path: '/usr/bin/docker', content: '#!/bin/sh\necho docker\n', mode: 0o755 }] };
const HELLO: FixturePackage = {
  name: 'hello',
  version: '2.12',
  files: [
    { path: '/usr/bin/hello', content: '#!/bin/sh\necho hello\n', mode: 0o755 },
    { path: '/usr/share/hello', type: 'dir' },
    { path: '/usr/share/hello/README', content: 'hello world\n' },
    { path: '/etc/hello.conf', content: 'greeting=hi\n', attr: '%config(noreplace)' },
  ],
};
const EXTRA: FixturePackage = { name: 'extra', version: '1.0', files: [{ path: '/usr/share/extra/data', content: 'extra\n' }] };

describe.skipIf(
  missing('rpm-xylem apply-live', {
    ostree: OSTREE !== null,
    rpmbuild: HAVE_RPMBUILD,
    createrepo_c: HAVE_CREATEREPO,
    rpm: HAVE_RPM,
    'busybox-static': HAVE_BUSYBOX_STATIC,
    root: IS_ROOT,
    'booted emulation': bootedSupport() === null,
  }),
)('rpm-xylem apply-live / install -A on a booted system', () => {
  const tmp = new TempDir('xylem-live-');
  const sys = tmp.join('sys');
  const runDir = tmp.join('run');
  let srv: Awaited<ReturnType<typeof serve>>;
  let base = '';
  let dep = '';
  let cliDir = '';
  let cli = '';
  const ost = (args: string[]) => execFileSync(OSTREE!, args, { encoding: 'utf8', env: { ...process.env, ...ENV } });
  const repoArg = `--repo=${sys}/ostree/repo`;
  const rx = (args: string[], env: Record<string, string> = {}) => booted(sys, dep, runDir, ['xylem', ...args], cli, env);
  /** rx for commands that fetch from the test's own server (which a synchronous spawn would block). */
  const rxAsync = (args: string[]) => held(`/usr/bin/node ${inCli()} ${args.join(' ')}`, null);
  const inCli = () => join('/mnt', relative(ROOT, cli));
  /** Deployments as the real `ostree admin status` lists them on the booted system: [csum.serial, note]. */
  const deployments = () => [...booted(sys, dep, runDir, ['ostree', 'admin', 'status']).stdout.matchAll(/^[* ] testos ([0-9a-f]{64}\.\d+)(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]);
  const pendingCsum = () => deployments()[0]![0]!.split('.')[0]!;

  /**
   * Runs `cmd` (sh -c) booted, and while its namespace lives (the command ends by waiting on
   * stdin) calls `inspect` with the path of the booted root as that namespace sees it.
   */
  async function held(cmd: string, inspect: ((liveRoot: string, out: string) => void) | null, env: Record<string, string> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
    const e = { PATH: '/usr/bin:/bin:/usr/sbin:/sbin', OSTREE_SYSROOT_DEBUG: 'mutable-deployments,no-fsfreeze', ...env };
    const child = spawn('unshare', ['-m', '-p', '-f', '--propagation', 'private', 'sh', SCRIPT, sys, dep, runDir, ROOT, 'env', '-i', ...Object.entries(e).map(([k, v]) => `${k}=${v}`), 'sh', '-c', `${cmd}; echo "rc=$?"; echo READY; read x`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let inspected: unknown = inspect === null ? true : null;
    const done = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('READY\n')) {
          try {
            if (inspect) inspect(join(`/proc/${child.pid}/root`, dep), stdout);
            inspected = true;
          } catch (err) {
            inspected = err;
          }
          child.stdin.end('\n');
          resolve();
        }
      });
      child.on('close', () => resolve());
    });
    const status = await done;
    if (inspected !== true) throw inspected instanceof Error ? inspected : new Error(`held command ended early (${status}):\n${stdout}\n${stderr}`);
    return { status: Number(/rc=(\d+)/.exec(stdout)?.[1] ?? -1), stdout, stderr };
  }

  beforeAll(async () => {
    srv = await serve(tmp.join('web'));
    buildRepo([FILESYSTEM, BASESH(BUSYBOX!), DOCKER, HELLO, EXTRA], tmp.join('web/fx'));
    writeFileSync(tmp.join('fx.repo'), `[fx]\nname=Fixtures\nbaseurl=${srv.url}fx/\ngpgcheck=0\nmetadata_expire=0\n`);
    writeFileSync(tmp.join('base.yaml'), 'ref: testos/stable\nrepos: [fx]\npackages: [filesystem, basesh, docker]\nselinux: false\nno-initramfs: true\n');
    ost(['init', `--repo=${tmp.join('compose')}`, '--mode=archive']);
    const c = await runTs('tools/rpm-xylem/main.ts', ['compose', 'tree', `--repo=${tmp.join('compose')}`, `--cachedir=${tmp.join('cc')}`, 'base.yaml'], tmp.path);
    expect(c.status, c.stderr).toBe(0);
    base = /testos\/stable => ([0-9a-f]{64})/.exec(c.stdout)![1]!;
    mkdirSync(sys);
    for (const args of [['admin', 'init-fs', sys], ['admin', `--sysroot=${sys}`, 'os-init', 'testos']]) {
      const r = await runTs('tools/cli.ts', args, tmp.path);
      expect(r.status, r.stderr).toBe(0);
    }
    ost([repoArg, 'pull-local', tmp.join('compose'), 'testos/stable']);
    const d = await runTs('tools/cli.ts', ['admin', `--sysroot=${sys}`, 'deploy', '--os=testos', 'testos/stable'], tmp.path);
    expect(d.status, d.stderr).toBe(0);
    dep = join(sys, 'ostree/deploy/testos/deploy', `${base}.0`);
    mkdirSync(join(dep, 'etc/yum.repos.d'), { recursive: true });
    writeFileSync(join(dep, 'etc/yum.repos.d/test.repo'), `[fx]\nbaseurl=${srv.url}fx/\ngpgcheck=0\nmetadata_expire=0\n`);
    // Mount points the namespace script binds onto (/mnt is var/mnt in an rpm-ostree tree).
    for (const p of ['var/mnt', 'boot']) mkdirSync(join(dep, p), { recursive: true });
    mkdirSync(join(sys, 'tmp'), { recursive: true });
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'ostree-booted'), '');
    // rpm-xylem bundled, with the SQLite WASM beside it (node_modules is a symlink that does not
    // resolve inside the booted root).
    mkdirSync(join(ROOT, 'tmp'), { recursive: true });
    cliDir = join(ROOT, 'tmp', `live-cli-${process.pid}`);
    const b = spawnSync(process.execPath, [join(ROOT, 'tools/build-cli.mjs'), '--entry', join(ROOT, 'tools/rpm-xylem/main.ts'), '--outdir', cliDir, '--name', 'rpm-xylem'], { encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    cli = join(cliDir, 'rpm-xylem.mjs');
    const sqlDir = join(cliDir, 'node_modules/sql.js');
    mkdirSync(join(sqlDir, 'dist'), { recursive: true });
    copyFileSync(join(ROOT, 'node_modules/sql.js/package.json'), join(sqlDir, 'package.json'));
    copyFileSync(join(ROOT, 'node_modules/sql.js/dist/sql-wasm.wasm'), join(sqlDir, 'dist/sql-wasm.wasm'));
  }, 300_000);

  afterAll(() => {
    srv?.server.close();
    if (cliDir) spawnSync('rm', ['-rf', cliDir]);
    if (!process.env.XYLEM_LAYER_KEEP) tmp.cleanup();
    else console.log(`kept ${tmp.path}`);
  });

  /** The deployment's own usr/ still equals its commit's /usr (apply-live writes only to the overlay). */
  const checkDeploymentUntouched = () => {
    const out = ost(['diff', repoArg, base, dep]).split('\n').filter((l) => / \/usr/.test(l));
    expect(out).toEqual([]);
  };
  /**
   * `rpm -q` on the rpmdb of a root. rpm resolves --dbpath to a real path, which would turn a
   * /proc/PID/root view back into our own namespace's (the lower) tree: a live view is copied
   * out first, byte for byte, as it is.
   */
  let copies = 0;
  const rpmq = (dbRoot: string, ...names: string[]) => {
    let db = join(dbRoot, 'usr/share/rpm');
    if (dbRoot.startsWith('/proc/')) {
      const copy = tmp.join(`rpmdb-view-${copies++}`);
      mkdirSync(copy);
      for (const f of readdirSync(db)) if (lstatSync(join(db, f)).isFile()) copyFileSync(join(db, f), join(copy, f));
      db = copy;
    }
    return spawnSync('rpm', ['-q', `--dbpath=${db}`, ...names], { encoding: 'utf8' });
  };

  it('install -A: the package is live at once, in the rpmdb of the live /usr, and pending for the next boot', async () => {
    const r = await held(`/usr/bin/node ${inCli()} install -A hello`, (live) => {
      expect(readFileSync(join(live, 'usr/share/hello/README'), 'utf8')).toBe('hello world\n');
      expect(lstatSync(join(live, 'usr/bin/hello')).mode & 0o777).toBe(0o755);
      const q = rpmq(live, 'hello', 'docker');
      expect(q.stdout, q.stderr).toBe('hello-2.12-1.noarch\ndocker-1.0-1.noarch\n');
      expect(existsSync(join(live, 'usr/bin/docker'))).toBe(true);
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Computed /usr diff: ');
    expect(r.stdout).toContain('Computed pkg diff: 1 added, 0 changed, 0 removed');
    expect(r.stdout).toContain('Successfully updated running filesystem tree.');
    // The new default config file is in /etc at once; the deployment's usr/ is untouched.
    expect(readFileSync(join(dep, 'etc/hello.conf'), 'utf8')).toBe('greeting=hi\n');
    checkDeploymentUntouched();
    expect(rpmq(dep, 'hello').status).not.toBe(0);
    // The pending deployment has it too (a reboot keeps it).
    const [pend, note] = deployments()[0]!;
    expect(note).toBe('(staged)');
    const pendingCommit = pend!.split('.')[0]!;
    expect(ost(['rev-parse', repoArg, 'rpmostree/live-apply']).trim()).toBe(pendingCommit);
    // Status: rpm-ostree's live lines; the real ostree sees a transient unlock.
    const st = rx(['status']);
    expect(st.status, st.stderr).toBe(0);
    expect(st.stdout).toContain(`           BootedCommit: ${base}\n`);
    expect(st.stdout).toContain(`             LiveCommit: ${pendingCommit}\n`);
    expect(st.stdout).toContain('               LiveDiff: 1 added\n');
    const js = JSON.parse(rx(['status', '--json']).stdout) as { deployments: Array<{ booted: boolean; 'live-replaced'?: string; unlocked: string }> };
    const b = js.deployments.find((d) => d.booted)!;
    expect(b['live-replaced']).toBe(pendingCommit);
    expect(b.unlocked).toBe('transient');
    expect(booted(sys, dep, runDir, ['ostree', 'admin', 'status']).stdout).toMatch(/^\* testos [0-9a-f]{64}\.0\n {4}Unlocked: transient\n/m);
    ost(['fsck', repoArg]);
  }, 300_000);

  it('refuses removals and changes without --allow-replacement; applies them with it', async () => {
    const o = await rxAsync(['override', 'remove', 'docker']);
    expect(o.status, o.stderr).toBe(0);
    const before = ost(['rev-parse', repoArg, 'rpmostree/live-apply']).trim();
    const refused = rx(['apply-live']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^error: packages would be removed: 1, allow replacement to override \(docker-1\.0-1\.noarch\)/);
    expect(ost(['rev-parse', repoArg, 'rpmostree/live-apply']).trim()).toBe(before);
    const r = await held(`/usr/bin/node ${inCli()} apply-live --allow-replacement`, (live) => {
      expect(existsSync(join(live, 'usr/bin/docker'))).toBe(false);
      expect(existsSync(join(live, 'usr/bin/hello'))).toBe(true);
      expect(rpmq(live, 'docker').status).not.toBe(0);
      expect(rpmq(live, 'hello').stdout).toBe('hello-2.12-1.noarch\n');
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('Computed pkg diff: 0 added, 0 changed, 1 removed');
    checkDeploymentUntouched();
    const st = rx(['status']).stdout;
    expect(st).toContain(`             LiveCommit: ${pendingCsum()}\n`);
    expect(st).toContain('               LiveDiff: 1 removed, 1 added\n');
  }, 300_000);

  it('--reset returns /usr to the booted commit', async () => {
    const r = await held(`/usr/bin/node ${inCli()} apply-live --reset --allow-replacement`, (live) => {
      expect(existsSync(join(live, 'usr/bin/hello'))).toBe(false);
      expect(existsSync(join(live, 'usr/bin/docker'))).toBe(true);
      const q = rpmq(live, 'docker', 'hello');
      expect(q.stdout).toBe('docker-1.0-1.noarch\npackage hello is not installed\n');
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(ost(['rev-parse', repoArg, 'rpmostree/live-apply']).trim()).toBe(base);
    expect(rx(['status']).stdout).toContain(`             LiveCommit: ${base}\n`);
  }, 300_000);

  it('survives SIGKILL at its steps and at file-system changes: status works, a re-run succeeds', async () => {
    const target = pendingCsum();
    const fwd = ['apply-live', '--allow-replacement'];
    const back = ['apply-live', '--reset', '--allow-replacement'];
    // How many file-system changes a whole apply makes, each way (the live /usr is the base now).
    const count = (args: string[]) => {
      rmSync(join(runDir, 'live-count'), { force: true });
      const r = rx(args, { XYLEM_CRASH_COUNT: '/run/live-count' });
      expect(r.status, r.stderr).toBe(0);
      return Number(readFileSync(join(runDir, 'live-count'), 'utf8'));
    };
    const n = { fwd: count(fwd), back: count(back) };
    expect(n.fwd).toBeGreaterThan(5);
    if (process.env.XYLEM_LAYER_TIMING) console.log(`apply-live file-system changes: ${n.fwd} (to the layered commit), ${n.back} (--reset)`);
    const runs: Array<[string, Record<string, string>]> = [
      ['step live-inprogress', { XYLEM_TEST_LIVE_KILL_AT: 'live-inprogress' }],
      ['step live-usr', { XYLEM_TEST_LIVE_KILL_AT: 'live-usr' }],
    ];
    for (const frac of [0.05, 0.3, 0.55, 0.8, 1]) runs.push([`fs op ${frac}`, { XYLEM_CRASH_AT: '' }]);
    let toTarget = true;
    for (const [what, env0] of runs) {
      const args = toTarget ? fwd : back;
      const want = toTarget ? target : base;
      const env = { ...env0 };
      if (env.XYLEM_CRASH_AT === '') env.XYLEM_CRASH_AT = String(Math.max(1, Math.round((toTarget ? n.fwd : n.back) * Number(what.split(' ')[2]))));
      const k = rx(args, env);
      expect(k.status, `${what}: ${k.stdout}${k.stderr}`).toBe(137);
      const st = rx(['status']);
      expect(st.status, `${what}: ${st.stderr}`).toBe(0);
      if (what.startsWith('step')) expect(st.stdout, what).toContain(`  InterruptedLiveCommit: ${want}\n`);
      // A different target is refused while one is half-applied.
      if (what === 'step live-usr') {
        const other = rx(toTarget ? back : fwd);
        expect(other.stderr, what).toContain(`Previously interrupted while targeting commit ${want}, cannot change target to`);
      }
      const again = await held(`/usr/bin/node ${inCli()} ${args.join(' ')}`, (live) => {
        expect(existsSync(join(live, 'usr/bin/hello')), what).toBe(toTarget);
        expect(existsSync(join(live, 'usr/bin/docker')), what).toBe(!toTarget);
      });
      expect(again.status, `${what}: ${again.stdout}${again.stderr}`).toBe(0);
      const after = rx(['status']).stdout;
      expect(after, what).not.toContain('InterruptedLiveCommit');
      expect(after, what).toContain(`             LiveCommit: ${want}\n`);
      toTarget = !toTarget;
    }
    checkDeploymentUntouched();
    ost(['fsck', repoArg]);
    expect(booted(sys, dep, runDir, ['ostree', 'admin', 'status']).status).toBe(0);
  }, 600_000);

  it('usroverlay: refused once the booted deployment is already unlocked, as ostree', () => {
    const r = rx(['usroverlay']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Deployment is already in unlocked state: transient');
    const o = booted(sys, dep, runDir, ['ostree', 'admin', 'unlock']);
    expect(o.stderr).toContain('Deployment is already in unlocked state: transient');
  });

  it('after a reboot the live state is gone; usroverlay unlocks as ostree admin unlock does', () => {
    rmSync(join(runDir, 'ostree/deployment-state'), { recursive: true, force: true });
    const st = rx(['status']);
    expect(st.status, st.stderr).toBe(0);
    expect(st.stdout).not.toMatch(/LiveCommit|LiveDiff|BootedCommit/);
    const r = rx(['usroverlay']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('Development mode enabled.  A writable overlayfs is now mounted on /usr.\nAll changes there will be discarded on reboot.\n');
    expect(booted(sys, dep, runDir, ['ostree', 'admin', 'status']).stdout).toMatch(/^\* testos [0-9a-f]{64}\.0\n {4}Unlocked: development\n/m);
    expect(rx(['status']).stdout).toContain(`\n${' '.repeat(17)}Unlocked: development\n`);
  });
});
