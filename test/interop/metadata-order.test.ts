// Commit metadata order: libostree builds commit metadata in a GVariantDict, so the a{sv} comes out
// in GHashTable iteration order, and the commit checksum depends on it. This checks
// src/format/glib-hash-order.ts against GLib itself (python3-gi, many random key sets, including
// sets large enough to make the table resize) and then end to end: the same tree, metadata,
// subject, body, branch and timestamp give the same commit checksum from xylem and ostree.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { glibDictOrder } from '../../src/format/glib-hash-order.ts';
import { TempDir, buildCli, describeInterop, disposeCli, initRepo, ostreeFsck, run, type Mode } from '../helpers/interop.ts';
import { mulberry32 as rng } from '../helpers/pseudo-random.ts';


const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:éü';

function randomKeySet(next: () => number, n: number): string[] {
  const keys: string[] = [];
  const prefixes = ['', 'ostree.', 'xa.', 'org.example.', 'version', 'rpmostree.'];
  while (keys.length < n) {
    const len = 1 + Math.floor(next() * 12);
    let k = prefixes[Math.floor(next() * prefixes.length)]!;
    for (let i = 0; i < len; i++) k += ALPHABET[Math.floor(next() * ALPHABET.length)];
    // Occasionally repeat a key: a later value replaces the earlier one in place.
    if (keys.length > 0 && next() < 0.05) k = keys[Math.floor(next() * keys.length)]!;
    keys.push(k);
  }
  return keys;
}

/** Key order of g_variant_dict_end() after inserting `keys` in order, computed by GLib. */
function glibOrders(sets: string[][]): string[][] {
  const py = `
import json, sys
from gi.repository import GLib
out = []
for keys in json.load(sys.stdin):
    d = GLib.VariantDict.new(None)
    for i, k in enumerate(keys):
        d.insert_value(k, GLib.Variant('s', str(i)))
    v = d.end()
    out.append([v.get_child_value(i).get_child_value(0).get_string() for i in range(v.n_children())])
print(json.dumps(out))
`;
  const r = spawnSync(PYTHON, ['-c', py], { input: JSON.stringify(sets), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python3-gi oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[][];
}

/** The system python (python3-gi lives there, not in a pyenv shim). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function haveGLib(): boolean {
  return spawnSync(PYTHON, ['-c', 'from gi.repository import GLib'], { encoding: 'utf8' }).status === 0;
}

describe('glib-hash-order against GLib (python3-gi)', () => {
  it.skipIf(!haveGLib() && process.env.CI !== 'true')('matches GVariantDict order for 600 random key sets of 0..60 keys', () => {
    const next = rng(20240601);
    const sets: string[][] = [];
    for (let i = 0; i < 600; i++) sets.push(randomKeySet(next, Math.floor(next() * 61)));
    // Also the exact shapes ostree commits use.
    sets.push(['version', 'ostree.ref-binding']);
    sets.push(['version', 'rpmostree.inputhash', 'ostree.bootable', 'ostree.linux', 'ostree.ref-binding', 'ostree.collection-binding']);
    const want = glibOrders(sets);
    const mismatches: string[] = [];
    sets.forEach((keys, i) => {
      const got = glibDictOrder(keys.map((k, j) => [k, j] as const)).map(([k]) => k);
      if (JSON.stringify(got) !== JSON.stringify(want[i])) {
        mismatches.push(`inserted ${JSON.stringify(keys)}\n  glib  ${JSON.stringify(want[i])}\n  xylem ${JSON.stringify(got)}`);
      }
    });
    expect(mismatches.slice(0, 5).join('\n')).toBe('');
  });

  it('keeps the value of the last duplicate, at the first position GLib gives the key', () => {
    const got = glibDictOrder([
      ['a', 1],
      ['b', 2],
      ['a', 3],
    ]);
    expect(got.find(([k]) => k === 'a')![1]).toBe(3);
    expect(got.length).toBe(2);
  });
});

describeInterop('interop: same commit checksum from xylem and ostree', () => {
  vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
  let tmp: TempDir;
  let tree: string;

  beforeAll(() => {
    buildCli();
    tmp = new TempDir();
    tree = tmp.join('tree');
    mkdirSync(`${tree}/sub`, { recursive: true });
    writeFileSync(`${tree}/a`, 'a\n');
    writeFileSync(`${tree}/sub/b`, 'b\n');
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  const next = rng(7);
  const keySets: string[][] = [
    ['version'],
    ['version', 'custom.a', 'custom.b'],
    randomKeySet(next, 5),
    ['version', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6'],
    randomKeySet(next, 9),
    ['version', 'org.example.one', 'org.example.two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'],
    randomKeySet(next, 13),
  ];

  for (const mode of ['archive', 'bare-user'] as Mode[]) {
    describe(mode, () => {
      let xRepo: string;
      let oRepo: string;
      beforeAll(() => {
        xRepo = initRepo('xylem', tmp.join(`x-${mode}`), mode);
        oRepo = initRepo('ostree', tmp.join(`o-${mode}`), mode);
      });

      keySets.forEach((keys, i) => {
        it(`${keys.length} metadata keys: ${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''}`, () => {
          const args = [
            `--branch=b${i}`,
            '--timestamp=2020-02-02 02:02:02 +0000',
            `--subject=subject ${i}`,
            `--body=body ${i}`,
            ...keys.map((k, j) => `--add-metadata-string=${k}=value ${j} of ${k}`),
            tree,
          ];
          const o = run('ostree', [`--repo=${oRepo}`, 'commit', ...args]);
          const x = run('xylem', [`--repo=${xRepo}`, 'commit', ...args]);
          if (x !== o) {
            const order = (repo: string, t: 'ostree' | 'xylem'): string =>
              run(t, [`--repo=${repo}`, 'show', '--raw', `b${i}`]).split('\n').find((l) => l.includes('{'))?.slice(0, 2000) ?? '';
            throw new Error(`checksums differ: ostree ${o}, xylem ${x}\nostree: ${order(oRepo, 'ostree')}\nxylem:  ${order(xRepo, 'ostree')}`);
          }
          expect(x).toBe(o);
        });
      });

      it('typed --add-metadata values, --orphan, --no-bindings, --bind-ref and duplicate keys', () => {
        const variants: string[][] = [
          ['--orphan', '--add-metadata=n=uint32 7', '--add-metadata=flag=true', '--add-metadata-string=version=9'],
          ['--branch=nb', '--no-bindings', '--add-metadata-string=z=1', '--add-metadata-string=y=2'],
          ['--branch=br', '--bind-ref=zz/other', '--bind-ref=aa/first', '--add-metadata-string=version=3'],
          ['--branch=dup', '--add-metadata-string=k=first', '--add-metadata-string=other=x', '--add-metadata-string=k=second'],
          ['--branch=par', '--parent=none', '--add-metadata=list=["a", "b"]', '--add-metadata=t=(1, "x")'],
        ];
        // --keep-metadata copies a key of the parent.
        variants.push(['--branch=keep', '--add-metadata-string=custom.a=kept', '--add-metadata-string=custom.b=dropped']);
        variants.push(['--branch=keep', '--keep-metadata=custom.a', '--add-metadata-string=new=1']);
        for (const v of variants) {
          const args = [...v, '--timestamp=2020-02-02T02:02:02Z', '-s', 's', '-m', 'm', tree];
          const o = run('ostree', [`--repo=${oRepo}`, 'commit', ...args]);
          const x = run('xylem', [`--repo=${xRepo}`, 'commit', ...args]);
          expect(x, v.join(' ')).toBe(o);
        }
      });

      it('a second commit on a branch records the same parent; both repos pass ostree fsck', () => {
        const args = ['--branch=b0', '--timestamp=2020-02-03T00:00:00Z', '-s', 'second', tree];
        const o = run('ostree', [`--repo=${oRepo}`, 'commit', ...args]);
        const x = run('xylem', [`--repo=${xRepo}`, 'commit', ...args]);
        expect(x).toBe(o);
        expect(run('xylem', [`--repo=${xRepo}`, 'log', 'b0'])).toBe(run('ostree', [`--repo=${oRepo}`, 'log', 'b0']));
        ostreeFsck(xRepo);
      });

      it('with core.collection-id: ostree.collection-binding follows the ref binding', () => {
        for (const [t, repo] of [['ostree', oRepo], ['xylem', xRepo]] as const) run(t, [`--repo=${repo}`, 'config', 'set', 'core.collection-id', 'org.example.Coll']);
        for (const v of [['--branch=coll'], ['--orphan'], ['--branch=own', '--add-metadata-string=ostree.collection-binding=mine']]) {
          const args = [...v, '--timestamp=2020-02-02T02:02:02Z', tree];
          expect(run('xylem', [`--repo=${xRepo}`, 'commit', ...args]), v.join(' ')).toBe(run('ostree', [`--repo=${oRepo}`, 'commit', ...args]));
        }
      });
    });
  }
});
