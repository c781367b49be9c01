// The package lists rpm-ostree derives from an rpmdb, against independent oracles: rpmvercmp and
// EVR order against rpm's own Lua rpm.vercmp, the a(sssss) pkglist bytes against GLib
// (python3-gi) serialising the same tuples, and `db version` against rpm -qa + sha256sum over the
// ENVRAs of a db rpm wrote.

import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_RPMBUILD, HAVE_RPMSIGN, hasCommand } from '../helpers/rpmbuild.ts';
import type { Nevra } from '../../src/rpm/types.ts';
import { encodePkglist, headerNevra, pkglistVariant, rpmdbVersion, sortPkglist } from '../../src/rpmdb/pkglist.ts';
import { readRpmdb } from '../../src/rpmdb/rpmdb.ts';
import { compareEvr, rpmvercmp } from '../../src/rpmdb/index.ts';
import { buildFixtureSet } from './fixtures.ts';

const host = createNodeHost();
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const HAVE_GI = spawnSync(PYTHON, ['-c', 'from gi.repository import GLib'], { encoding: 'utf8' }).status === 0;

const VERSIONS = ['1.0', '1.0a', '1.01', '1.1', '2.0', '10', '1.0.0', '1_0', '1.0.', '1.0~rc1', '1.0^git1', '1.0.1', 'a', '1', 'A', 'b', '1.0~rc2', '1.0~~', '1.0^', '0001', '1.a', '1.0-', '~', '^', 'fc41', '2:1.0', '1.0-1', '1.0-10', '1.0-2'];

/** Sign of rpm.vercmp(a, b) for every pair, from one rpm --eval (rpm answers any negative/positive number). */
function rpmVercmpMatrix(vs: string[]): number[][] {
  const list = vs.map((v) => `'${v}'`).join(',');
  const lua = `%{lua: local v = {${list}} local lines = {} for i = 1, #v do local row = {} for j = 1, #v do row[#row + 1] = rpm.vercmp(v[i], v[j]) end lines[#lines + 1] = table.concat(row, ' ') end print(table.concat(lines, '\\n'))}`;
  return execFileSync('rpm', ['--eval', lua], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.split(' ').map((x) => Math.sign(Number(x))));
}

describe.skipIf(missing('vercmp against rpm', { rpm: hasCommand('rpm') }))('rpmvercmp (oracle: rpm.vercmp)', () => {
  it('agrees with rpm on every pair of tricky versions', () => {
    const plain = VERSIONS.filter((v) => !v.includes(':') && !v.includes('-'));
    const m = rpmVercmpMatrix(plain);
    plain.forEach((a, i) => plain.forEach((b, j) => expect(rpmvercmp(a, b), `${a} vs ${b}`).toBe(m[i]![j])));
  });

  it('orders EVRs (epoch, then version, then release) as rpm does', () => {
    const evrs = ['1.0-1', '1.0-10', '1.0-2', '1:0.1-1', '0:2.0-1', '2.0-1', '1.0~rc1-5', '1.0^git1-1', '3:1-1'];
    const m = rpmVercmpMatrix(evrs);
    const parse = (s: string): { epoch: number | null; version: string; release: string } => {
      const [ev, release] = [s.slice(0, s.lastIndexOf('-')), s.slice(s.lastIndexOf('-') + 1)];
      const colon = ev.indexOf(':');
      return { epoch: colon < 0 ? null : Number(ev.slice(0, colon)), version: ev.slice(colon + 1), release };
    };
    evrs.forEach((a, i) => evrs.forEach((b, j) => expect(compareEvr(parse(a), parse(b)), `${a} vs ${b}`).toBe(m[i]![j])));
  });
});

describe('rpmostree.rpmdb.pkglist', () => {
  const pkgs: Nevra[] = [
    { name: 'zlib', epoch: null, version: '1.3', release: '1.fc41', arch: 'x86_64' },
    { name: 'glibc', epoch: null, version: '2.40', release: '10.fc41', arch: 'x86_64' },
    { name: 'glibc', epoch: null, version: '2.40', release: '9.fc41', arch: 'i686' },
    { name: 'glibc', epoch: null, version: '2.40', release: '10.fc41', arch: 'i686' },
    { name: 'bash', epoch: 0, version: '5.2.32', release: '1.fc41', arch: 'x86_64' },
    { name: 'NetworkManager', epoch: 1, version: '1.48.10', release: '1.fc41', arch: 'x86_64' },
    { name: 'kernel', epoch: null, version: '6.11.0', release: '63.fc41', arch: 'x86_64' },
    { name: 'kernel', epoch: null, version: '6.9.0', release: '1.fc41', arch: 'x86_64' },
    { name: 'shim', epoch: null, version: '15.8', release: '3', arch: 'x86_64' },
  ];

  it('sorts by name (bytes), then EVR, then arch; epochs as decimal strings, "0" when unset', () => {
    const v = pkglistVariant(pkgs);
    expect(v.type).toBe('a(sssss)');
    const names = (v.value as string[][]).map((t) => `${t[0]}-${t[1]}:${t[2]}-${t[3]}.${t[4]}`);
    expect(names).toEqual([
      'NetworkManager-1:1.48.10-1.fc41.x86_64',
      'bash-0:5.2.32-1.fc41.x86_64',
      'glibc-0:2.40-9.fc41.i686',
      'glibc-0:2.40-10.fc41.i686',
      'glibc-0:2.40-10.fc41.x86_64',
      'kernel-0:6.9.0-1.fc41.x86_64',
      'kernel-0:6.11.0-63.fc41.x86_64',
      'shim-0:15.8-3.x86_64',
      'zlib-0:1.3-1.fc41.x86_64',
    ]);
    expect(() => sortPkglist([{ name: 'x' } as unknown as Nevra])).toThrow(TypeError);
  });

  it.skipIf(!HAVE_GI && process.env.CI !== 'true')('serialises to the bytes GLib gives the same tuples', () => {
    const tuples = pkglistVariant(pkgs).value as string[][];
    const py = `import sys, json\nfrom gi.repository import GLib\nt = json.loads(sys.stdin.read())\nsys.stdout.write(GLib.Variant('a(sssss)', [tuple(x) for x in t]).get_data_as_bytes().get_data().hex())`;
    const hex = execFileSync(PYTHON, ['-c', py], { input: JSON.stringify(tuples), encoding: 'utf8' });
    expect(Buffer.from(encodePkglist(pkgs)).toString('hex')).toBe(hex);
  });
});

describe.skipIf(missing('db version against rpm', { rpmbuild: HAVE_RPMBUILD, rpmsign: HAVE_RPMSIGN, sha256sum: hasCommand('sha256sum') }))('db version (oracle: rpm -qa + sha256sum)', () => {
  let rpmDir: string;
  beforeAll(() => {
    rpmDir = join(buildFixtureSet().rpmRoot, 'usr/share/rpm');
  }, 120_000);

  it('is <count>:<sha256 over the ENVRAs sorted by name> of the installed headers', async () => {
    const qf = '%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n';
    const script = `rpm --dbpath '${rpmDir}' -qa --qf '${qf}' | LC_ALL=C sort | cut -f2 | tr -d '\\n' | sha256sum | cut -d' ' -f1; rpm --dbpath '${rpmDir}' -qa | wc -l`;
    const [sum, count] = execFileSync('sh', ['-c', script], { encoding: 'utf8' }).trim().split('\n');
    const installed = await readRpmdb(host, join(rpmDir, 'rpmdb.sqlite'));
    const nevras = installed.map((p) => headerNevra(p.header));
    expect(nevras.some((n) => n.epoch === 2)).toBe(true);
    expect(rpmdbVersion(nevras)).toBe(`${count!.trim()}:${sum}`);
  });
});
