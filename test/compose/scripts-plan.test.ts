// The pure parts of the scriptlet engine: rpm-ostree's plan (policy tables, replacements,
// priorities, validation of hostile descriptions), and the helpers Lua scripts rely on checked
// against rpm itself: rpm.vercmp and macro expansion (`rpm --eval`).

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { evrCompare, evrSatisfies, firedTriggerins, MacroTable, planScripts, rpmvercmp, scriptIsIgnored, scriptPackageFromHeader, type Scriptlet, type ScriptPackage } from '../../src/compose/scripts/index.ts';
import { missing } from '../helpers/require-tool.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';

const sh = (body: string): Scriptlet => ({ interpreter: ['/bin/sh'], body, flags: 0 });
const lua = (body: string): Scriptlet => ({ interpreter: ['<lua>'], body, flags: 0 });
function pkg(name: string, over: Partial<ScriptPackage> = {}): ScriptPackage {
  return { name, release: '1.fc42', action: 'install', scripts: {}, triggers: [], fileTriggers: [], ...over };
}

describe('planScripts', () => {
  it("uses rpm-ostree's ignore list, kernel posttrans rule, Lua replacements and release suppressions", () => {
    const plan = planScripts({
      packages: [
        pkg('kernel-core', { scripts: { posttrans: sh('dracut') } }),
        pkg('glibc', { scripts: { prein: sh('x'), post: lua('-- lua'), posttrans: lua('-- lua') } }),
        pkg('crypto-policies', { scripts: { post: lua('os.execute("x")') } }),
        pkg('pam', { release: '5.el7', scripts: { post: sh('authconfig') } }),
        pkg('pam2', { release: '5.el7', scripts: { post: sh('ok') } }),
        pkg('systemd', { fileTriggers: [{ scope: 'transfile', kind: 'in', priority: 1000000, prefixes: ['/usr/lib/systemd/system'], script: sh('systemctl daemon-reload') }] }),
      ],
    });
    expect(plan.steps.map((s) => `${s.id} ${s.interpreter}`)).toEqual(['glibc.post /usr/bin/bash', 'crypto-policies.post /usr/bin/bash', 'pam2.post /bin/sh', 'glibc.posttrans /usr/bin/true']);
    expect(plan.steps[0]!.expand).toBe(true); // the iconv replacement uses %{_libdir}
    expect(plan.skipped.map((s) => `${s.id}:${s.reason}`)).toEqual(['glibc.prein:ignored', 'pam.post:suppressed', 'kernel-core.posttrans:ignored', 'systemd.transfiletriggerin:ignored']);
    const withKi = planScripts({ packages: [pkg('kernel-core', { scripts: { posttrans: sh('kernel-install') } })], useKernelInstall: true });
    expect(withKi.steps.map((s) => s.id)).toEqual(['kernel-core.posttrans']);
    expect(scriptIsIgnored('kernel-64k-debug-modules', '%posttrans')).toBe(true);
    expect(scriptIsIgnored('foobar', '%post')).toBe(false);
  });

  it('orders %transfiletriggerin by priority (base packages first at equal priority), only under usr/', () => {
    const ft = (priority: number, prefixes: string[]) => ({ scope: 'transfile' as const, kind: 'in' as const, priority, prefixes, script: sh('cat') });
    const plan = planScripts({
      installed: [pkg('base', { fileTriggers: [ft(1000000, ['/usr/lib/base/'])] })],
      packages: [
        pkg('low', { fileTriggers: [ft(100, ['/usr/share/low'])] }),
        pkg('high', { fileTriggers: [ft(2000000, ['/usr/share/high', '/usr/local/share/x', '/etc/x', '/usr'])] }),
        pkg('same', { fileTriggers: [ft(1000000, ['/usr/share/same']), { ...ft(1000000, ['/usr/share/un']), kind: 'un' }, { ...ft(1000000, ['/usr/share/f']), scope: 'file' }] }),
      ],
    });
    expect(plan.steps.map((s) => `${s.pkg}:${s.prefixes!.join(',')}`)).toEqual(['high:usr/share/high', 'base:usr/lib/base', 'same:usr/share/same', 'low:usr/share/low']);
    expect(plan.steps.every((s) => s.phase === 'posttrans' && s.arg === null)).toBe(true);
  });

  it("takes the RPM reader's view of a header (kinds 'pre', 'triggerin', transaction file triggers)", () => {
    const p = scriptPackageFromHeader({
      name: 'reader',
      release: '1',
      action: 'upgrade',
      scripts: [
        { kind: 'pre', body: 'echo pre', prog: ['/bin/sh'], flags: 0 },
        { kind: 'verify', body: 'true', prog: ['/bin/sh'], flags: 0 },
        { kind: 'post', body: '', prog: ['/sbin/ldconfig'], flags: 0 },
      ],
      triggers: [{ kind: 'triggerun', conditions: [{ name: 'x', flags: 1 << 17, version: '' }], body: 'y', prog: ['/bin/sh'], flags: 0 }],
      transFileTriggers: [{ kind: 'triggerin', conditions: [{ name: '/usr/lib/x', flags: 1 << 16, version: '' }], body: 'cat', prog: ['/bin/sh'], flags: 0, priority: 5 }],
    });
    const plan = planScripts({ packages: [p] });
    // `%post -p /sbin/ldconfig` has no body: rpm-ostree does not run it.
    expect(plan.steps.map((s) => `${s.id} ${s.interpreter} ${s.arg}`)).toEqual(['reader.prein /bin/sh 2', 'reader.transfiletriggerin /bin/sh null']);
    expect(plan.skipped.map((s) => `${s.id}:${s.reason}`)).toEqual(['reader.post:no-body', 'reader.verifyscript:not-run-by-rpm-ostree']);
    expect(plan.steps[1]!.prefixes).toEqual(['usr/lib/x']);
    expect(() => scriptPackageFromHeader({ ...p, scripts: [{ kind: 'bogus', body: '', prog: [], flags: 0 }] } as never)).toThrow(/unknown scriptlet kind/);
  });

  it('matches %triggerin conditions by name and version range (rpmdsCompare: a missing release compares E:V only)', () => {
    const GE = 8 | 4;
    const LT = 2;
    const EQ = 8;
    expect(evrSatisfies('1.0-1', GE, '1.0')).toBe(true);
    expect(evrSatisfies('1.0-1', GE, '1.0-2')).toBe(false);
    expect(evrSatisfies('1.0-1', EQ, '1.0')).toBe(true);
    expect(evrSatisfies('1:0.5-1', GE, '1.0')).toBe(true);
    expect(evrSatisfies('0.9-1', LT, '1.0')).toBe(true);
    expect(evrSatisfies(undefined, GE, '1.0')).toBe(false);
    expect(evrSatisfies(undefined, 0, '')).toBe(true);
    const trig = (cond: string, flags: number, version: string) => ({ kind: 'in' as const, conditions: [{ name: cond, flags: flags | (1 << 16), version }], script: sh('x') });
    const owner = pkg('owner', { evr: '1-1', triggers: [trig('dep', GE, '2'), trig('owner', 0, '')] });
    const dep = pkg('dep', { evr: '2-1' });
    const old = pkg('dep', { evr: '1-1' });
    expect(firedTriggerins([owner, dep], []).map((f) => `${f.owner.name}<-${f.target.name}`)).toEqual(['owner<-owner', 'owner<-dep']);
    expect(firedTriggerins([owner], [old])).toHaveLength(1); // only its own self-trigger: the installed dep is too old
    expect(firedTriggerins([dep], [owner]).map((f) => `${f.owner.name}<-${f.target.name}`)).toEqual(['owner<-dep']);
  });

  it('refuses %triggerprein and hostile descriptions', () => {
    expect(() => planScripts({ packages: [pkg('p', { triggers: [{ kind: 'prein', conditions: [], script: sh('x') }] })] })).toThrow("Package 'p' has (currently) unsupported script of type '%triggerprein'");
    expect(() => planScripts({ packages: [pkg('p', { triggers: [{ kind: 'un', conditions: [], script: sh('x') }] })] })).not.toThrow();
    expect(() => planScripts({ packages: [pkg('../evil')] })).toThrow(/bad package name/);
    expect(() => planScripts({ packages: [pkg('p', { action: 'erase' as never })] })).toThrow(/bad action/);
    expect(() => planScripts({ packages: [pkg('p', { scripts: { post: { interpreter: ['/bin/sh'], body: 'x'.repeat((16 << 20) + 1), flags: 0 } } })] })).toThrow(/16 MiB/);
  });
});

const HAVE_RPM = hasCommand('rpm');

describe.skipIf(missing('rpm oracle for vercmp and macros', { rpm: HAVE_RPM }))('Lua helpers against rpm', () => {
  const pairs: [string, string][] = [
    ['1.0', '1.0'],
    ['1.0', '1.1'],
    ['1.0~rc1', '1.0'],
    ['1.0~rc1', '1.0~rc2'],
    ['1.0^git1', '1.0'],
    ['1.0^git1', '1.0.1'],
    ['1.0^', '1.0'],
    ['2.0.1a', '2.0.1'],
    ['1.001', '1.1'],
    ['a', '1'],
    ['1:1.0', '2.0'],
    ['0:1.0', '1.0'],
    ['1.0-2', '1.0-10'],
    ['1.0-1', '1.0'],
    ['fc4', 'fc.4'],
    ['1.0a', '1.0.a'],
    ['5.5p1', '5.5p10'],
    ['10xyz', '10.1xyz'],
    ['xyz10', 'xyz10.1'],
    ['1.0~~', '1.0~'],
    ['1_0', '1.0'],
  ];
  it('rpm.vercmp agrees with rpm on every pair (both orders)', () => {
    // Inside %{lua:}, print() appends to the expansion without a newline: collect, then print once.
    const lua = 'local o = {} ' + pairs.map(([a, b]) => `o[#o+1] = rpm.vercmp('${a}','${b}') .. '\\t' .. rpm.vercmp('${b}','${a}')`).join(' ') + " print(table.concat(o, '\\n'))";
    const out = execFileSync('rpm', ['--eval', `%{lua: ${lua}}`], { encoding: 'utf8' }).trim().split('\n');
    const ours = pairs.map(([a, b]) => `${evrCompare(a, b)}\t${evrCompare(b, a)}`);
    expect(ours).toEqual(out);
    expect(rpmvercmp('1.0', '1.0')).toBe(0);
  });

  it('macro expansion agrees with rpm --eval', () => {
    const exprs = ['%{myname}', '%myname-x', '%{?myname}', '%{?myname:yes}', '%{!?myname:no}', '%{?nosuch:yes}', '%{!?nosuch:no}', '%{?nosuch}', '%%', '100%% %{nosuch}', '%{nested}', 'a %{?nested:%{myname}} b'];
    const defs = ['myname hello', 'nested <%{myname}>'];
    const rpmArgs = defs.flatMap((d) => ['--define', d]);
    const t = new MacroTable(new Map());
    for (const d of defs) t.define(d);
    for (const e of exprs) {
      const theirs = execFileSync('rpm', [...rpmArgs, '--eval', e], { encoding: 'utf8' }).replace(/\n$/, '');
      expect(t.expand(e), e).toBe(theirs);
    }
    expect(() => t.expand('%(id)')).toThrow(/not supported/);
    t.define('loop %{loop}');
    expect(() => t.expand('%{loop}')).toThrow(/too deep/);
  });
});
