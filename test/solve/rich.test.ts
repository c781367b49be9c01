// Rich dependencies: the parser on rpm's syntax (and its refusals), rpmbuild as the oracle for
// which strings rpm accepts in which tag, evaluation with libsolv's meaning, and hostile input.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DepFlag } from '../../src/rpm/types.ts';
import { evalRich, formatRich, parseRich, richContextError, richLeaves } from '../../src/solve/rich.ts';
import type { RichContextTag, RichLeaf } from '../../src/solve/rich.ts';
import { HAVE_RPMBUILD, buildRpm } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';

describe('parseRich', () => {
  it('parses every operator, nesting and chains', () => {
    expect(parseRich('(a or b)')).toEqual({ kind: 'op', op: 'or', args: [{ kind: 'dep', name: 'a', flags: 0, evr: '' }, { kind: 'dep', name: 'b', flags: 0, evr: '' }] });
    expect(formatRich(parseRich('(a >= 1.0-1 and  b  <  2)'))).toBe('(a >= 1.0-1 and b < 2)');
    expect(formatRich(parseRich('(a if b else c)'))).toBe('(a if b else c)');
    expect(formatRich(parseRich('(a unless b else c)'))).toBe('(a unless b else c)');
    expect(formatRich(parseRich('(a with b with c)'))).toBe('(a with b with c)');
    expect(formatRich(parseRich('(a without b)'))).toBe('(a without b)');
    expect(formatRich(parseRich('((a or b) if (c and (d or e >= 2:1)))'))).toBe('((a or b) if (c and (d or e >= 2:1)))');
    expect(parseRich('(a = 1)')).toEqual({ kind: 'dep', name: 'a', flags: DepFlag.EQUAL, evr: '1' });
  });
  it('keeps parentheses inside names', () => {
    const t = parseRich('(libfoo.so.1()(64bit) or perl(Foo::Bar) >= 1.2)');
    expect(richLeaves(t).map((l) => l.name)).toEqual(['libfoo.so.1()(64bit)', 'perl(Foo::Bar)']);
  });
  it('refuses what rpm refuses, naming the dependency', () => {
    for (const bad of ['a or b', '(a or b', '(a or b))', '(a or)', '(or b)', '()', '(a or b and c)', '(a if b if c)', '(a xor b)', '(a else b)', '(a if b else c else d)', '(a >= )'])
      expect(() => parseRich(bad), bad).toThrow(/invalid rich dependency/);
  });
  it('bounds length, depth and leaves', () => {
    expect(() => parseRich('('.repeat(40) + 'a' + ')'.repeat(40))).toThrow(/deeper than/);
    expect(() => parseRich(`(${Array.from({ length: 1100 }, (_, i) => `p${i}`).join(' or ')})`)).toThrow(/more than 1024/);
    expect(() => parseRich(`(a or ${'b'.repeat(20000)})`)).toThrow(/longer than/);
    expect(() => parseRich(42 as unknown as string)).toThrow(/must be a string/);
  });
});

describe('evalRich (libsolv meaning)', () => {
  const world = (installed: string[]) => ({
    providers: (leaf: RichLeaf) => (['a', 'b', 'c', 'd'].includes(leaf.name) ? [leaf.name.charCodeAt(0)] : []),
    installed: (p: number) => installed.includes(String.fromCharCode(p)),
  });
  const cases: [string, string[], boolean][] = [
    ['(a or b)', ['b'], true], ['(a or b)', [], false], ['(a and b)', ['a'], false], ['(a and b)', ['a', 'b'], true],
    ['(a if b)', [], true], ['(a if b)', ['b'], false], ['(a if b)', ['a', 'b'], true],
    ['(a if b else c)', ['c'], true], ['(a if b else c)', [], false], ['(a if b else c)', ['b', 'c'], false],
    ['(a unless b)', ['a'], true], ['(a unless b)', ['a', 'b'], false], ['(a unless b)', [], false],
    ['(a unless b else c)', ['b', 'c'], true], ['(a unless b else c)', ['a', 'b'], false], ['(a unless b else c)', ['a'], true],
  ];
  for (const [dep, inst, want] of cases) it(`${dep} with {${inst.join(',')}} → ${want}`, () => expect(evalRich(parseRich(dep), world(inst))).toBe(want));
  it('with / without need one package', () => {
    const ctx = {
      providers: (leaf: RichLeaf) => ({ cap1: [1, 2], cap2: [2, 3], bad: [1] })[leaf.name] ?? [],
      installed: (p: number) => p === 1 || p === 3,
    };
    expect(evalRich(parseRich('(cap1 with cap2)'), ctx)).toBe(false); // 1 has cap1, 3 has cap2, nobody both
    expect(evalRich(parseRich('(cap1 without bad)'), ctx)).toBe(false);
    expect(evalRich(parseRich('(cap2 without bad)'), ctx)).toBe(true);
  });
});

// which strings rpmbuild accepts in which tag: our context rule must agree
const CONTEXT_CASES: [RichContextTag, string][] = [
  ['requires', '(a unless b else c)'], ['requires', '((a unless b) and c)'], ['requires', '((a and b) if c)'], ['requires', '((a or b) if c)'],
  ['conflicts', '(a if b)'], ['conflicts', '(a unless b)'], ['conflicts', '((a or b) unless c)'], ['conflicts', '((a and b) unless c)'],
  ['requires', '(a if (b or c))'], ['requires', '(a if b else c)'], ['conflicts', '(a if b else c)'], ['requires', '((a if b) or c)'],
  ['requires', '((a if b) and c)'], ['recommends', '(a unless b)'], ['supplements', '(a unless b)'], ['supplements', '(a if b)'],
  ['conflicts', '((a unless b) and c)'], ['conflicts', '((a unless b) or c)'], ['requires', '(a with b)'], ['enhances', '(a if b)'],
];

describe.skipIf(missing('rich dependency context (rpmbuild oracle)', { rpmbuild: HAVE_RPMBUILD }))('richContextError vs rpmbuild', () => {
  it('accepts and refuses the same strings as rpmbuild', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xylem-richctx-'));
    try {
      const got: string[] = [];
      const want: string[] = [];
      for (const [tag, dep] of CONTEXT_CASES) {
        let rpmErr = 'ok';
        try {
          buildRpm({ name: 'ctx', [tag]: [dep] }, dir);
        } catch (e) {
          const m = /Illegal context for '\w+', please use '\w+' instead/.exec(String((e as { stderr?: unknown }).stderr));
          rpmErr = m ? m[0] : `other: ${String((e as { stderr?: unknown }).stderr)}`;
        }
        want.push(`${tag} ${dep}: ${rpmErr}`);
        got.push(`${tag} ${dep}: ${richContextError(parseRich(dep), tag) ?? 'ok'}`);
      }
      expect(got).toEqual(want);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
