// GKeyFile codec vs GLib.KeyFile: scenarios (parse and/or edits) replayed against vectors recorded
// from python3-gi by tools/fixtures/gen-gvariant-vectors.py (fixtures/gvariant/keyfile-vectors.json).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KeyFile, KeyFileError } from '../../src/format/keyfile.ts';

type Op = [string, ...unknown[]];
type Accessor = unknown | { error: true };
interface Entry {
  key: string;
  raw: string;
  string: Accessor;
  boolean: Accessor;
  integer: Accessor;
  list: Accessor;
}
interface Scenario {
  ops: Op[];
  results: boolean[];
  state: { data: string; groups: string[]; keys: Record<string, Entry[]> };
}
const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/gvariant/keyfile-vectors.json', import.meta.url), 'utf8'),
) as { scenarios: Scenario[]; parseErrors: { text: string; error: boolean }[] };

function run(ops: Op[]): { kf: KeyFile; results: boolean[] } {
  let kf = new KeyFile();
  const results: boolean[] = [];
  for (const [kind, ...a] of ops) {
    const [g, k, v] = a as [string, string, never];
    switch (kind) {
      case 'parse': kf = KeyFile.parse(a[0] as string, 'test.conf'); break;
      case 'set': kf.set(g, k, v); break;
      case 'setBoolean': kf.setBoolean(g, k, v); break;
      case 'setInteger': kf.setInteger(g, k, v); break;
      case 'setStringList': kf.setStringList(g, k, v); break;
      case 'remove': results.push(kf.remove(g, k)); break;
      case 'removeGroup': results.push(kf.removeGroup(g)); break;
      default: throw new Error(`unknown op ${kind}`);
    }
  }
  return { kf, results };
}

function attempt(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KeyFileError);
    return { error: true };
  }
}

describe('KeyFile vs GLib.KeyFile', () => {
  vectors.scenarios.forEach((sc, n) => {
    it(`scenario ${n}: ${JSON.stringify(sc.ops).slice(0, 100)}`, () => {
      const { kf, results } = run(sc.ops);
      expect(kf.toString()).toBe(sc.state.data);
      expect(results).toEqual(sc.results);
      expect(kf.groups()).toEqual(sc.state.groups);
      for (const g of sc.state.groups) {
        const entries = sc.state.keys[g];
        expect(kf.keys(g)).toEqual(entries.map((e) => e.key));
        for (const e of entries) {
          expect(kf.getRaw(g, e.key), e.key).toBe(e.raw);
          expect(attempt(() => kf.get(g, e.key)), `string ${e.raw}`).toEqual(e.string);
          expect(attempt(() => kf.getBoolean(g, e.key)), `boolean ${e.raw}`).toEqual(e.boolean);
          expect(attempt(() => kf.getInteger(g, e.key)), `integer ${e.raw}`).toEqual(e.integer);
          expect(attempt(() => kf.getStringList(g, e.key)), `list ${e.raw}`).toEqual(e.list);
        }
      }
      // Re-parsing our own output is stable (GLib's to_data output is a fixed point).
      expect(KeyFile.parse(kf.toString()).toString()).toBe(sc.state.data);
    });
  });

  it('rejects exactly the files GLib rejects, naming file and line', () => {
    for (const { text, error } of vectors.parseErrors) {
      if (!error) {
        expect(() => KeyFile.parse(text), text).not.toThrow();
        continue;
      }
      let err: unknown;
      try {
        KeyFile.parse(text, '/repo/config');
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(KeyFileError);
      expect((err as Error).message).toMatch(/^\/repo\/config:\d+: /);
    }
    expect(() => KeyFile.parse('[a]\nok=1\nbroken\n', 'x.origin')).toThrow(/^x\.origin:3: .*"broken"/);
  });
});

describe('KeyFile API', () => {
  it('builds the repo config like ostree init', () => {
    const kf = new KeyFile();
    kf.set('core', 'repo_version', '1');
    kf.set('core', 'mode', 'bare');
    expect(kf.toString()).toBe('[core]\nrepo_version=1\nmode=bare\n');
  });
  it('handles missing groups and keys', () => {
    const kf = KeyFile.parse('[remote "origin"]\nurl=http://h/r\n');
    expect(kf.hasGroup('remote "origin"')).toBe(true);
    expect(kf.hasKey('remote "origin"', 'url')).toBe(true);
    expect(kf.get('remote "origin"', 'url')).toBe('http://h/r');
    expect(kf.get('remote "origin"', 'nope')).toBeUndefined();
    expect(kf.get('nope', 'url')).toBeUndefined();
    expect(kf.getBoolean('nope', 'x')).toBeUndefined();
    expect(kf.getInteger('nope', 'x')).toBeUndefined();
    expect(kf.getStringList('nope', 'x')).toBeUndefined();
    expect(kf.keys('nope')).toEqual([]);
    expect(kf.remove('nope', 'x')).toBe(false);
    expect(kf.removeGroup('nope')).toBe(false);
  });
  it('validates names and values on set', () => {
    const kf = new KeyFile();
    expect(() => kf.set('a]', 'k', 'v')).toThrow(/group name/);
    expect(() => kf.set('', 'k', 'v')).toThrow(/group name/);
    expect(() => kf.set('a', 'k=1', 'v')).toThrow(/key name/);
    expect(() => kf.set('a', ' k', 'v')).toThrow(/key name/);
    expect(() => kf.setInteger('a', 'k', 1.5)).toThrow(TypeError);
    expect(() => kf.setRaw('a', 'k', 'two\nlines')).toThrow(/single line/);
  });
  it('round-trips arbitrary strings and lists through escaping', () => {
    const kf = new KeyFile();
    const samples = ['', ' ', '  a b  ', '\t\n\r\\;', 'semi;colon', 'ünïcødé', '#not a comment', '[x]', 'a=b'];
    samples.forEach((s, k) => kf.set('g', `s${k}`, s));
    kf.setStringList('g', 'list', samples);
    const back = KeyFile.parse(kf.toString());
    samples.forEach((s, k) => expect(back.get('g', `s${k}`)).toBe(s));
    expect(back.getStringList('g', 'list')).toEqual(samples);
  });
  it('parseBytes rejects invalid UTF-8 and accepts valid bytes', () => {
    expect(() => KeyFile.parseBytes(new Uint8Array([0x5b, 0x61, 0x5d, 0x0a, 0x6b, 0x3d, 0xff, 0x0a]), 'cfg')).toThrow(
      /^cfg: .*UTF-8/,
    );
    const kf = KeyFile.parseBytes(new TextEncoder().encode('[a]\nk=\u00e9\n'));
    expect(kf.get('a', 'k')).toBe('\u00e9');
  });
  it('keepComments: false drops comments and blank lines like G_KEY_FILE_NONE', () => {
    const kf = KeyFile.parse('# c\n\n[a]\n# d\nx=1\n\n[b]\ny=2\n', undefined, { keepComments: false });
    expect(kf.toString()).toBe('[a]\nx=1\n\n[b]\ny=2\n');
  });
});
