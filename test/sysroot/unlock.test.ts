// `xylem admin unlock [--transient|--hotfix]` against the real `ostree admin unlock`, on a booted
// system (emulated: see booted.ts; each command runs in its own mount namespace, so an overlay
// lives for one command and a "reboot" is clearing /run's deployment state). Oracles: ostree's
// own output, error messages and `ostree admin status` for the same unlock; the merged /usr
// takes writes (a shell's builtins read them back) while the deployment's usr/ still equals the
// commit; transient is read-only; hotfix clones the deployment as the rollback and records
// `unlocked=hotfix` in the origin, which the real ostree reports.

import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROOT, TempDir, buildCli, describeInterop, disposeCli, ok, ostree, xylem, type RunResult } from '../helpers/interop.ts';
import { booted, bootedSupport, deployDir, makeOsFixture, type OsFixture } from './booted.ts';

const unsupported = bootedSupport();

/** Paths, kinds, modes, owners and contents under `dir`, sorted. */
function manifest(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, r));
      const what = st.isSymbolicLink() ? `-> ${readlinkSync(join(dir, r))}` : st.isFile() ? readFileSync(join(dir, r)).toString('base64') : 'dir';
      out.push(`${r} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

describeInterop('admin unlock (booted, xylem <-> ostree)', () => {
  if (unsupported) {
    if (process.env.CI === 'true') it('needs booted emulation', () => expect.fail(`booted emulation unavailable: ${unsupported}`));
    else {
      console.warn(`\n!!! admin unlock: SKIPPED — ${unsupported} !!!\n`);
      it.skip('booted emulation unavailable', () => undefined);
    }
    return;
  }
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  let tmp: TempDir;
  let fx: OsFixture;
  let cli: string;
  let dep: string;
  let runDir: string;
  const stateDir = () => join(runDir, 'ostree/deployment-state');
  /** What a reboot does to an unlock: /run is empty again. */
  const reboot = () => rmSync(stateDir(), { recursive: true, force: true });
  const inCli = () => join('/mnt', relative(ROOT, cli));
  const at = (argv: string[], withCli = false): RunResult => booted(fx.base, dep, runDir, argv, withCli ? cli : null);

  beforeAll(() => {
    tmp = new TempDir('xylem-unlock-');
    cli = buildCli();
    fx = makeOsFixture(tmp.path, 5);
    dep = deployDir(fx.base, fx.v1);
    runDir = tmp.join('run');
    // ostree 2022.7 keeps a development unlock's upper folder in /var/tmp (the deployment's var/ here).
    mkdirSync(join(dep, 'var/tmp'), { recursive: true });
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  it('refuses when not booted, as ostree does', () => {
    const o = ostree(['admin', 'unlock', `--sysroot=${fx.base}`]);
    const x = xylem(['admin', 'unlock', `--sysroot=${fx.base}`]);
    expect(o.status).toBe(1);
    expect(x.status).toBe(1);
    expect(x.stderr).toBe(o.stderr);
    expect(x.stderr).toContain('Not currently booted into an OSTree system');
  });

  it('development: writable /usr over an untouched deployment; status and refusals as ostree', () => {
    const o = at(['ostree', 'admin', 'unlock']);
    expect(o.status, o.stderr).toBe(0);
    const ostreeStatus = ok(at(['ostree', 'admin', 'status']), 'ostree status');
    expect(ostreeStatus).toContain('Unlocked: development');
    const ostreeAgain = at(['ostree', 'admin', 'unlock']);
    expect(ostreeAgain.status).toBe(1);
    reboot();

    // One namespace: unlock, then write and read back with the shell's builtins (the host's
    // tools are gone from /usr once the deployment's overlay is mounted there).
    const x = at(['sh', '-c', `/usr/bin/node ${inCli()} admin unlock && echo hello > /usr/share/unlocked-new && read l < /usr/share/unlocked-new && echo "new:$l" && echo changed > /usr/share/data/f1 && read m < /usr/share/data/f1 && echo "f1:$m"`]);
    expect(x.status, x.stderr).toBe(0);
    expect(x.stdout).toBe(`${o.stdout}new:hello\nf1:changed\n`);
    expect(ok(at(['ostree', 'admin', 'status']), 'ostree status')).toBe(ostreeStatus);
    expect(ok(at(['xylem', 'admin', 'status'], true), 'xylem status')).toBe(ostreeStatus);
    const again = at(['xylem', 'admin', 'unlock'], true);
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(ostreeAgain.stderr);

    // The writes are in the overlay's upper folder, the deployment's usr/ is the commit's.
    const upper = join(fx.base, 'ostree/deploy/testos/backing', `${fx.v1}.0`, 'usr-transient/upper');
    expect(readFileSync(join(upper, 'share/unlocked-new'), 'utf8')).toBe('hello\n');
    expect(readFileSync(join(upper, 'share/data/f1'), 'utf8')).toBe('changed\n');
    const co = tmp.join('co-usr');
    ok(ostree([`--repo=${fx.base}/ostree/repo`, 'checkout', '--subpath=/usr', fx.v1, co]), 'checkout');
    expect(manifest(join(dep, 'usr'))).toEqual(manifest(co));
    ok(ostree(['fsck', `--repo=${fx.base}/ostree/repo`]), 'ostree fsck');

    // After a reboot the changes are gone and a new unlock starts from an empty upper folder.
    reboot();
    const y = at(['sh', '-c', `/usr/bin/node ${inCli()} admin unlock >/dev/null && read m < /usr/share/data/f1 && echo "f1:$m" && (read n < /usr/share/unlocked-new) 2>/dev/null || echo gone`]);
    expect(y.stdout).toBe('f1:file 1\ngone\n');
  });

  it('transient: read-only overlay, state as ostree reports it', () => {
    reboot();
    const o = at(['ostree', 'admin', 'unlock', '--transient']);
    expect(o.status, o.stderr).toBe(0);
    const ostreeStatus = ok(at(['ostree', 'admin', 'status']), 'ostree status');
    expect(ostreeStatus).toContain('Unlocked: transient');
    reboot();
    const x = at(['sh', '-c', `/usr/bin/node ${inCli()} admin unlock --transient && { (echo x > /usr/share/t) 2>/dev/null && echo WRITABLE || echo READONLY; }`]);
    expect(x.status, x.stderr).toBe(0);
    expect(x.stdout).toBe(`${o.stdout}READONLY\n`);
    expect(ok(at(['ostree', 'admin', 'status']), 'ostree status')).toBe(ostreeStatus);
    expect(existsSync(join(dep, 'usr/share/t'))).toBe(false);
    const both = at(['xylem', 'admin', 'unlock', '--hotfix', '--transient'], true);
    expect(both.status).toBe(1);
    expect(both.stderr).toContain('Cannot specify both --hotfix and --transient');
    reboot();
  });

  it('hotfix: an unmodified clone as rollback, unlocked=hotfix in the origin, as ostree does', () => {
    // The real ostree on a twin fixture: what its status looks like after a hotfix.
    const twin = makeOsFixture(tmp.join('twin'), 5);
    const tdep = deployDir(twin.base, twin.v1);
    const tr = booted(twin.base, tdep, tmp.join('twin-run'), ['ostree', 'admin', 'unlock', '--hotfix']);
    expect(tr.status, tr.stderr).toBe(0);
    const norm = (s: string, c: string) => s.split(c).join('<v1>');
    const twinStatus = norm(ok(booted(twin.base, tdep, tmp.join('twin-run'), ['ostree', 'admin', 'status']), 'status'), twin.v1);

    reboot();
    const x = at(['sh', '-c', `/usr/bin/node ${inCli()} admin unlock --hotfix && echo fix > /usr/share/hotfixed && read l < /usr/share/hotfixed && echo "hot:$l"`]);
    expect(x.status, x.stderr).toBe(0);
    expect(x.stdout.endsWith(`${tr.stdout}hot:fix\n`)).toBe(true);
    expect(norm(ok(at(['ostree', 'admin', 'status']), 'status'), fx.v1)).toBe(twinStatus);
    expect(twinStatus).toMatch(/^\* testos <v1>\.0\n {4}Version: 1\n {4}Unlocked: hotfix\n[\s\S]*\n {2}testos <v1>\.1 \(rollback\)\n/);
    expect(readFileSync(`${dep}.origin`, 'utf8')).toMatch(/^unlocked=hotfix$/m);
    expect(readFileSync(join(dep, '.usr-ovl-upper/share/hotfixed'), 'utf8')).toBe('fix\n');
    // The clone is the commit, unmodified; the real ostree accepts the repo and both deployments.
    const co = tmp.join('co-usr-hotfix');
    ok(ostree([`--repo=${fx.base}/ostree/repo`, 'checkout', '--subpath=/usr', fx.v1, co]), 'checkout');
    expect(manifest(join(deployDir(fx.base, fx.v1, 1), 'usr'))).toEqual(manifest(co));
    expect(manifest(join(dep, 'usr'))).toEqual(manifest(co));
    ok(ostree(['fsck', `--repo=${fx.base}/ostree/repo`]), 'ostree fsck');
    // A hotfix survives the reboot: still unlocked.
    reboot();
    const again = at(['xylem', 'admin', 'unlock'], true);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('Deployment is already in unlocked state: hotfix');
    expect(ok(at(['xylem', 'admin', 'status'], true), 'xylem status')).toBe(ok(at(['ostree', 'admin', 'status']), 'ostree status'));
  });
});
