// runScripts on real packages (built with rpmbuild, scripts read back with `rpm -qp`), in a tiny
// busybox root assembled from hardlinked payloads: rpm-ostree's order (all %pre, all %post, all
// %posttrans, then %transfiletriggerin) and `$1`; scripts rpm-ostree never runs; a failing %post
// aborts with rpm-ostree's wording and the script's output; %triggerin is refused; file triggers
// receive the same paths, in the same priority order, as when rpm itself installs the packages.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPosixFs } from '../../runtimes/posix/fs.ts';
import { createBwrapSandbox } from '../../runtimes/posix/sandbox.ts';
import { planScripts, runScripts, sanityCheckRoot, ScriptError, type ScriptEvent, type ScriptPackage } from '../../src/compose/scripts/index.ts';
import type { Host } from '../../src/host.ts';
import { buildRpm, HAVE_RPMBUILD, type FixturePackage } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { checkoutPackage, HAVE_BUSYBOX_STATIC, HAVE_BWRAP, HAVE_ROFILES, HAVE_RPM, IS_ROOT, makeBusyboxRoot, scriptPackageFromRpm, tempDir } from '../helpers/script-root.ts';

const host: Host = { fs: createPosixFs({}), sandbox: createBwrapSandbox(process.env) };
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function workspace(): { base: string; root: string; cache: string; rpms: string } {
  const base = tempDir('scripts-run');
  dirs.push(base);
  const w = { base, root: join(base, 'root'), cache: join(base, 'cache'), rpms: join(base, 'rpms') };
  mkdirSync(w.root);
  makeBusyboxRoot(w.root, w.cache);
  return w;
}

/** Builds the packages, hardlinks their payloads into the root, reads their scripts with rpm. */
function install(w: ReturnType<typeof workspace>, pkgs: FixturePackage[], actions: Record<string, ScriptPackage['action']> = {}): { rpms: string[]; packages: ScriptPackage[] } {
  const rpms = pkgs.map((p) => buildRpm(p, w.rpms));
  for (const r of rpms) checkoutPackage(r, w.cache, w.root);
  return { rpms, packages: rpms.map((r, i) => scriptPackageFromRpm(r, actions[pkgs[i]!.name] ?? 'install')) };
}

const logScripts = (name: string): Record<string, string> => ({
  pretrans: `echo ${name} pretrans $1 >> /usr/share/log`,
  pre: `echo ${name} prein $1 >> /usr/share/log; echo hello from ${name}`,
  post: `echo ${name} post $1 >> /usr/share/log`,
  posttrans: `echo ${name} posttrans $1 >> /usr/share/log`,
  preun: `echo ${name} preun $1 >> /usr/share/log`,
  postun: `echo ${name} postun $1 >> /usr/share/log`,
  verifyscript: `echo ${name} verify >> /usr/share/log`,
});

describe.skipIf(missing('scriptlet runs', { bwrap: HAVE_BWRAP, 'rofiles-fuse': HAVE_ROFILES, 'busybox-static': HAVE_BUSYBOX_STATIC, rpmbuild: HAVE_RPMBUILD, rpm: HAVE_RPM, root: IS_ROOT }))('runScripts', () => {
  it("runs all %pre, then all %post, then all %posttrans, with $1 = 1 on install and 2 on upgrade; never the others", async () => {
    const w = workspace();
    const { packages } = install(
      w,
      ['alpha', 'beta', 'gamma'].map((name) => ({ name, files: [{ path: `/usr/share/${name}/f`, content: name }], scripts: logScripts(name) })),
      { gamma: 'upgrade' },
    );
    const events: ScriptEvent[] = [];
    const summary = await runScripts(host, { root: w.root, packages, onEvent: (e) => events.push(e) });
    const log = readFileSync(join(w.root, 'usr/share/log'), 'utf8').trim().split('\n');
    const expected: string[] = [];
    for (const kind of ['prein', 'post', 'posttrans'])
      for (const name of ['alpha', 'beta', 'gamma']) expected.push(`${name} ${kind} ${name === 'gamma' ? 2 : 1}`);
    expect(log).toEqual(expected);
    expect(summary.counts).toEqual({ pre: 3, post: 3, posttrans: 3 });
    expect(events.filter((e) => e.type === 'output').map((e) => (e as { line: string }).line)).toEqual(['alpha.prein: hello from alpha', 'beta.prein: hello from beta', 'gamma.prein: hello from gamma']);
    expect(events.filter((e) => e.type === 'phase-done').map((e) => `${(e as { label: string }).label}... ${(e as { count: number }).count} done`)).toEqual([
      'Running pre scripts... 3 done',
      'Running post scripts... 3 done',
      'Running posttrans scripts... 3 done',
    ]);
  });

  it("a failing %post aborts with rpm-ostree's wording followed by the script's output", async () => {
    const w = workspace();
    const { packages } = install(w, [
      { name: 'broken', files: [{ path: '/usr/share/broken/f', content: 'x' }], scripts: { post: 'echo about to fail\necho oops >&2\nexit 3', posttrans: 'touch /usr/share/broken-posttrans' } },
    ]);
    const err = await runScripts(host, { root: w.root, packages }).catch((e) => e);
    expect(err).toBeInstanceOf(ScriptError);
    expect(err.message.split('\n')[0]).toBe('Running %post for broken: bwrap(/bin/sh): Child process exited with code 3');
    expect(err.output).toBe('broken.post: about to fail\nbroken.post: oops');
    expect(err.message).toContain('broken.post: oops');
    expect(err.exitCode).toBe(3);
    // The transaction stopped: %posttrans never ran.
    expect(() => readFileSync(join(w.root, 'usr/share/broken-posttrans'))).toThrow();
  });

  it("refuses %triggerin as rpm-ostree does, and skips its ignore list and `-- rpm-ostree-skip` Lua", async () => {
    const w = workspace();
    const { packages } = install(w, [
      { name: 'trig', files: [{ path: '/usr/share/trig/f', content: 'x' }], scripts: { 'triggerin -- alpha': 'echo t' } },
      { name: 'setup', files: [{ path: '/usr/share/setup/f', content: 'x' }], scripts: { post: 'exit 1' } },
      { name: 'skipper', files: [{ path: '/usr/share/skipper/f', content: 'x' }], scripts: { 'post -p <lua>': '-- rpm-ostree-skip\nerror("must not run")' } },
    ]);
    await expect(runScripts(host, { root: w.root, packages })).rejects.toThrow("Package 'trig' has (currently) unsupported script of type '%triggerin'; see https://github.com/coreos/rpm-ostree/issues/749");
    const plan = planScripts({ packages: packages.slice(1) });
    expect(plan.steps).toEqual([]);
    expect(plan.skipped.map((s) => `${s.id}:${s.reason}`)).toEqual(['setup.post:ignored', 'skipper.post:rpm-ostree-skip']);
    const summary = await runScripts(host, { root: w.root, packages: packages.slice(1) });
    expect(summary.counts).toEqual({ pre: 0, post: 0, posttrans: 0 });
  });

  it("with triggerin: 'run', %triggerin fires as under rpm -i: versioned conditions, $1 $2, on new and on installed packages", async () => {
    const w = workspace();
    const log = (what: string) => `echo "${what} $1 $2" >> /usr/share/trig.log`;
    const fixtures: FixturePackage[] = [
      { name: 'basepkg', version: '3.0', files: [{ path: '/usr/share/basepkg/f', content: 'x' }] },
      {
        name: 'owner',
        files: [{ path: '/usr/share/owner/f', content: 'x' }],
        scripts: {
          'triggerin -- tgt >= 1.0': log('owner-on-tgt'),
          'triggerin -- tgt < 1.0': log('never-old-tgt'),
          'triggerin -- basepkg': log('owner-on-basepkg'),
          'triggerin -- absent': log('never-absent'),
          post: 'echo "owner post $1" >> /usr/share/trig.log',
        },
      },
      { name: 'tgt', version: '2.0', files: [{ path: '/usr/share/tgt/f', content: 'x' }], scripts: { post: 'echo "tgt post $1" >> /usr/share/trig.log' } },
    ];
    const { rpms, packages } = install(w, fixtures);
    const [base, ...txn] = packages;
    await expect(runScripts(host, { root: w.root, packages: txn })).rejects.toThrow(/unsupported script of type '%triggerin'/);
    const skipped = planScripts({ packages: txn, installed: [base!], triggerin: 'skip' });
    expect(skipped.steps.map((s) => s.id)).toEqual(['owner.post', 'tgt.post']);
    await runScripts(host, { root: w.root, packages: txn, installed: [base!], triggerin: 'run' });

    const oracle = join(w.base, 'oracle');
    mkdirSync(oracle);
    makeBusyboxRoot(oracle);
    execFileSync('rpm', ['--root', oracle, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', rpms[0]!], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('rpm', ['--root', oracle, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', ...rpms.slice(1)], { stdio: ['ignore', 'ignore', 'pipe'] });
    const lines = (root: string): string[] => readFileSync(join(root, 'usr/share/trig.log'), 'utf8').trim().split('\n');
    // rpm interleaves each trigger right after a %post; rpm-ostree's phases run every %post first.
    expect(lines(w.root).sort()).toEqual(lines(oracle).sort());
    expect(lines(w.root)).toEqual(['owner post 1', 'tgt post 1', 'owner-on-tgt 1 1', 'owner-on-basepkg 1 1']);
  });

  it('file triggers get the same paths, in the same priority order, as rpm -i gives them', async () => {
    const w = workspace();
    const fixtures: FixturePackage[] = [
      {
        name: 'fxtrig',
        files: [{ path: '/usr/share/doc/fxtrig/README', content: 'r' }],
        scripts: {
          'transfiletriggerin -- /usr/share/fx': 'sort > /usr/share/fx-all.log; echo default-priority >> /usr/share/order.log',
          'transfiletriggerin -P 20000 -- /usr/share/fx/sub': 'sort > /usr/share/fx-sub.log; echo priority-20000 >> /usr/share/order.log',
          'transfiletriggerin -P 2000000 -- /usr/share/fx/sub /usr/lib/fxmod': 'sort > /usr/share/fx-multi.log; echo priority-2000000 >> /usr/share/order.log',
          'transfiletriggerin -- /usr/share/nothing-here': 'echo must-not-run >> /usr/share/order.log',
          // A Lua file trigger reads its paths with rpm.next_file().
          'transfiletriggerin -p <lua> -P 500 -- /usr/share/fx/sub': [
            'local t = {}',
            'local f = rpm.next_file()',
            'while f do t[#t + 1] = f; f = rpm.next_file() end',
            'table.sort(t)',
            'local o = io.open("/usr/share/fx-lua.log", "w"); o:write(table.concat(t, "\\n"), "\\n"); o:close()',
            'local order = io.open("/usr/share/order.log", "a"); order:write("lua-priority-500\\n"); order:close()',
          ].join('\n'),
        },
      },
      { name: 'fxa', files: [{ path: '/usr/share/fx/a1', content: 'a' }, { path: '/usr/share/fx/sub/a2', content: 'b' }, { path: '/usr/lib/fxmod/m.so', content: 'm' }] },
      { name: 'fxb', files: [{ path: '/usr/share/fx/b1', content: 'c' }, { path: '/usr/share/fx/sub/deeper/b2', content: 'd' }, { path: '/usr/share/fx/blink', type: 'symlink', target: 'a1' }] },
    ];
    const { rpms, packages } = install(w, fixtures);
    const events: ScriptEvent[] = [];
    await runScripts(host, { root: w.root, packages, onEvent: (e) => events.push(e) });

    // The oracle: rpm installs the same packages in one transaction into a busybox root.
    const oracle = join(w.base, 'oracle');
    mkdirSync(oracle);
    makeBusyboxRoot(oracle);
    execFileSync('rpm', ['--root', oracle, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', ...rpms], { stdio: ['ignore', 'ignore', 'pipe'] });
    for (const f of ['usr/share/fx-all.log', 'usr/share/fx-sub.log', 'usr/share/fx-multi.log', 'usr/share/fx-lua.log', 'usr/share/order.log'])
      expect(readFileSync(join(w.root, f), 'utf8'), f).toBe(readFileSync(join(oracle, f), 'utf8'));
    expect(readFileSync(join(w.root, 'usr/share/fx-all.log'), 'utf8').split('\n')).toContain('/usr/share/fx/blink');
    const done = events.filter((e) => e.type === 'script-done' && e.script === 'fxtrig.transfiletriggerin') as { matchedFiles?: number }[];
    // Priority 2000000 (3 paths), the default 1000000 (5), 20000 (2), then the Lua one at 500 (2).
    expect(done.map((d) => d.matchedFiles)).toEqual([3, 5, 2, 2]);
    expect(events.some((e) => e.type === 'script-skipped' && /nothing-here/.test(e.reason))).toBe(true);
  });

  it('shell and Lua scripts see each other\'s changes in order; `%post -e` bodies are expanded as rpm expands them', async () => {
    const w = workspace();
    const fixtures: FixturePackage[] = [
      { name: 'sa', files: [{ path: '/usr/share/sa/f', content: 'x' }], scripts: { post: 'echo shell-a > /usr/share/chain' } },
      { name: 'lb', files: [{ path: '/usr/share/lb/f', content: 'x' }], scripts: { 'post -p <lua>': 'local f = io.open("/usr/share/chain", "a"); f:write("lua-b\\n"); f:close()' } },
      { name: 'sc', files: [{ path: '/usr/share/sc/f', content: 'x' }], scripts: { post: 'cat /usr/share/chain > /usr/share/chain-seen; echo shell-c >> /usr/share/chain' } },
      // rpmbuild turns %% into %, so the header holds %{_bindir}; -e expands it when the script runs.
      { name: 'expander', files: [{ path: '/usr/share/expander/f', content: 'x' }], scripts: { 'post -e': 'echo "%%{_bindir} %%{_sysconfdir} %%{?nosuchmacro:yes}%%{!?nosuchmacro:no}" > /usr/share/expanded' } },
    ];
    const { rpms, packages } = install(w, fixtures);
    await runScripts(host, { root: w.root, packages });
    expect(readFileSync(join(w.root, 'usr/share/chain-seen'), 'utf8')).toBe('shell-a\nlua-b\n');
    expect(readFileSync(join(w.root, 'usr/share/chain'), 'utf8')).toBe('shell-a\nlua-b\nshell-c\n');
    const oracle = join(w.base, 'oracle');
    mkdirSync(oracle);
    makeBusyboxRoot(oracle);
    execFileSync('rpm', ['--root', oracle, '--dbpath', '/var/lib/rpm', '-i', '--nodeps', rpms[3]!], { stdio: ['ignore', 'ignore', 'pipe'] });
    expect(readFileSync(join(w.root, 'usr/share/expanded'), 'utf8')).toBe(readFileSync(join(oracle, 'usr/share/expanded'), 'utf8'));
    expect(packages[3]!.scripts.post!.body).toContain('%{_bindir}');
  });

  it('shares a writable /var/lib/rpm-state across the transaction, then drops it; passes SOURCE_DATE_EPOCH and LANG', async () => {
    const w = workspace();
    const script = (body: string) => ({ interpreter: ['/bin/sh'], body, flags: 0 });
    const packages: ScriptPackage[] = [
      { name: 'writer', release: '1', action: 'install', scripts: { prein: script('echo from-pre > /var/lib/rpm-state/writer.flag') }, triggers: [], fileTriggers: [] },
      { name: 'reader', release: '1', action: 'install', scripts: { posttrans: script('cat /var/lib/rpm-state/writer.flag > /usr/share/seen; echo "$SOURCE_DATE_EPOCH $LANG" >> /usr/share/seen') }, triggers: [], fileTriggers: [] },
    ];
    const siblings = (): string[] => readdirSync(w.base).filter((n) => n.includes('rpm-state'));
    await runScripts(host, { root: w.root, packages, sourceDateEpoch: '1700000000', lang: 'C.UTF-8' });
    expect(readFileSync(join(w.root, 'usr/share/seen'), 'utf8')).toBe('from-pre\n1700000000 C.UTF-8\n');
    expect(readdirSync(join(w.root, 'var/lib/rpm-state'))).toEqual([]);
    expect(siblings()).toEqual([]);
    await expect(runScripts(host, { root: w.root, packages, sourceDateEpoch: '1; rm -rf /' })).rejects.toThrow(/SOURCE_DATE_EPOCH/);
  });

  it("sanity-checks the finished root by running /usr/bin/true, with rpm-ostree's wording when it cannot", async () => {
    const w = workspace();
    await sanityCheckRoot(host, w.root);
    rmSync(join(w.root, 'usr/bin/true'));
    await expect(sanityCheckRoot(host, w.root)).rejects.toThrow(/^Sanity-checking final rootfs: bwrap\(\/usr\/bin\/true\): Child process exited with code \d+/);
  });

  it('streams a large file-trigger list with flat memory', async () => {
    const w = workspace();
    const { packages } = install(w, [{ name: 'many', files: [{ path: '/usr/share/doc/many/README', content: 'r' }], scripts: { 'transfiletriggerin -- /usr/share/many': 'wc -l > /usr/share/many.count' } }]);
    const n = 20_000;
    execFileSync('sh', ['-c', `mkdir -p usr/share/many && cd usr/share/many && seq 1 ${n} | xargs touch`], { cwd: w.root });
    await runScripts(host, { root: w.root, packages });
    expect(readFileSync(join(w.root, 'usr/share/many.count'), 'utf8').trim()).toBe(String(n));
  });
});
