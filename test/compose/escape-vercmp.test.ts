// pkgcache ref escaping (the vectors of rpm-packages.md §8, from rpm-ostree's own tests) and the
// rpmvercmp used to sort pkglists, checked against rpm's own rpm.vercmp through `rpm --eval`.

import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { escapeRefComponent, parsePkgcacheRef, pkgcacheRef, unescapeRefComponent } from '../../src/compose/escape.ts';
import { rpmvercmp } from '../../src/solve/version.ts';
import { missing } from '../helpers/require-tool.ts';
import { hasCommand } from '../helpers/rpmbuild.ts';

describe('pkgcache refs', () => {
  it('escapes as rpm-ostree', () => {
    expect(pkgcacheRef({ name: 'perl', epoch: 4, version: '5.16.3', release: '291.el7', arch: 'x86_64' })).toBe('rpmostree/pkg/perl/4_3A5.16.3-291.el7.x86__64');
    expect(pkgcacheRef({ name: 'git', epoch: null, version: '1.8.3.1', release: '6.el7_2.1', arch: 'x86_64' })).toBe('rpmostree/pkg/git/1.8.3.1-6.el7__2.1.x86__64');
    // A zero epoch is dropped, as libdnf prints it.
    expect(pkgcacheRef({ name: 'a', epoch: 0, version: '1', release: '1', arch: 'noarch' })).toBe('rpmostree/pkg/a/1-1.noarch');
    expect(escapeRefComponent('c++')).toBe('c_2B_2B');
    expect(escapeRefComponent('1.0~rc1^git2')).toBe('1.0_7Erc1_5Egit2');
    expect(escapeRefComponent('é')).toBe('_FFFFFFC3_FFFFFFA9');
  });
  it('round-trips', () => {
    for (const s of ['perl', '4:5.16.3-291.el7', 'x86_64', 'c++', 'a b/c', 'é~^_']) expect(unescapeRefComponent(escapeRefComponent(s))).toBe(s);
    expect(parsePkgcacheRef('rpmostree/pkg/perl/4_3A5.16.3-291.el7.x86__64')).toEqual({ name: 'perl', evr: '4:5.16.3-291.el7', arch: 'x86_64' });
    expect(parsePkgcacheRef('rpmostree/base/0')).toBeNull();
    expect(() => unescapeRefComponent('a_ZZ')).toThrow(/Invalid escape/);
  });
});

const HAVE_RPM = hasCommand('rpm');
describe.skipIf(missing('rpmvercmp against rpm', { rpm: HAVE_RPM }))('rpmvercmp', () => {
  it('agrees with rpm.vercmp', () => {
    const pairs: Array<[string, string]> = [
      ['1.0', '1.0a'], ['1.01', '1.1'], ['2.0', '10'], ['1.0', '1.0.0'], ['1_0', '1.0'], ['1.0', '1.0.'],
      ['1.0~rc1', '1.0'], ['1.0', '1.0^git1'], ['1.0^git1', '1.0.1'], ['a', '1'], ['1.0~rc1', '1.0~rc2'],
      ['1.0^', '1.0'], ['Z', 'a'], ['5.4.18', '5.4.18.0'], ['el7_2.1', 'el7.2.1'], ['1.0~~', '1.0~'], ['abc', 'abd'],
      ['001', '1'], ['1a', '1b'], ['1.a', '1.1'], ['2~', '2^'],
    ];
    const lua = pairs.map(([a, b]) => `print(rpm.vercmp('${a}','${b}') .. ';')`).join(' ');
    const want = execFileSync('rpm', ['--eval', `%{lua: ${lua}}`], { encoding: 'utf8' }).trim().split(';').filter((x) => x !== '').map(Number);
    expect(pairs.map(([a, b]) => rpmvercmp(a, b))).toEqual(want);
  });
});
