// GVariant codec vs the real ostree CLI: metadata objects written by `ostree commit` decode strictly,
// re-encode to identical bytes (= their checksums), and print exactly like `ostree show --raw` and
// `ostree summary --view --raw` (which print g_variant_print(byteswapped variant, TRUE)).

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { missing } from '../helpers/require-tool.ts';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GVValue, type GVVariant, decode, encode, print } from '../../src/format/gvariant.ts';

const OSTREE = '/usr/bin/ostree';
const TYPES: Record<string, string> = {
  commit: '(a{sv}aya(say)sstayay)',
  dirtree: '(a(say)a(sayay))',
  dirmeta: '(uuua(ayay))',
  commitmeta: 'a{sv}',
};

describe.skipIf(missing('GVariant vs real ostree objects', { [OSTREE]: existsSync(OSTREE) }))('GVariant vs real ostree objects', () => {
  let dir = '';
  let repo = '';
  const ostree = (...args: string[]): string => execFileSync(OSTREE, [`--repo=${repo}`, ...args], { encoding: 'utf8' });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-gv-'));
    repo = join(dir, 'repo');
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'sub', 'deeper'), { recursive: true });
    writeFileSync(join(tree, 'hello.txt'), 'hello\n');
    writeFileSync(join(tree, 'empty'), '');
    writeFileSync(join(tree, "it's ünïcødé"), 'x');
    symlinkSync('hello.txt', join(tree, 'link'));
    for (let k = 0; k < 300; k++) writeFileSync(join(tree, 'sub', `file-${k}`), String(k)); // 2-byte offsets
    writeFileSync(join(tree, 'sub', 'deeper', 'f'), 'f');
    execFileSync(OSTREE, [`--repo=${repo}`, 'init', '--mode=archive']);
    ostree('commit', '-b', 'main', '--timestamp=2020-01-01 00:00:00 +0000', '-s', "subject 'quoted'", '-m', 'body\nline2',
      '--add-metadata-string=version=1.0', '--add-metadata=num=<uint64 5>', '--add-metadata=bytes=[byte 0x01, 0x02]',
      '--add-metadata=bs=b"hi"', '--add-metadata=flag=true', '--add-metadata=list=["a", "b"]',
      '--add-metadata=dict={"k": <int32 -1>}', '--add-detached-metadata-string=detached=yes', tree);
    writeFileSync(join(tree, 'hello.txt'), 'changed\n');
    ostree('commit', '-b', 'main', '--timestamp=2020-01-02 00:00:00 +0000', '-s', 'second', tree);
    ostree('commit', '-b', 'other/branch', '-s', 'third', '--add-metadata-string=version=3', tree);
    ostree('summary', '-u', '--add-metadata=custom=<"value">');
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function objects(): { path: string; ext: string; csum: string }[] {
    const out: { path: string; ext: string; csum: string }[] = [];
    const root = join(repo, 'objects');
    for (const sub of readdirSync(root)) {
      for (const f of readdirSync(join(root, sub))) {
        const [rest, ext] = f.split('.');
        out.push({ path: join(root, sub, f), ext, csum: sub + rest });
      }
    }
    return out;
  }

  it('every metadata object decodes strictly, re-encodes identically and hashes to its name', () => {
    let count = 0;
    for (const o of objects()) {
      const type = TYPES[o.ext];
      if (!type) continue;
      const bytes = new Uint8Array(readFileSync(o.path));
      const value = decode(type, bytes, { context: o.path });
      expect(Buffer.from(encode(type, value)).equals(bytes), o.path).toBe(true);
      if (o.ext !== 'commitmeta') expect(createHash('sha256').update(bytes).digest('hex')).toBe(o.csum);
      count++;
    }
    expect(count).toBeGreaterThan(8);
  });

  it('archive .filez headers decode as big-endian (tuuuusa(ayay))', () => {
    let count = 0;
    for (const o of objects()) {
      if (o.ext !== 'filez') continue;
      const bytes = new Uint8Array(readFileSync(o.path));
      const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, false);
      const header = bytes.subarray(8, 8 + len);
      const value = decode('(tuuuusa(ayay))', header, { bigEndian: true }) as GVValue[];
      expect([0o100000, 0o120000]).toContain((value[3] as number) & 0o170000);
      expect(Buffer.from(encode('(tuuuusa(ayay))', value, { bigEndian: true })).equals(Buffer.from(header))).toBe(true);
      count++;
    }
    expect(count).toBeGreaterThan(300);
  });

  it('print matches `ostree show --raw` for every commit', () => {
    for (const ref of ['main', 'main^', 'other/branch']) {
      const csum = ostree('rev-parse', ref).trim();
      const bytes = new Uint8Array(readFileSync(join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.commit`)));
      const value = decode(TYPES.commit, bytes, { bigEndian: true });
      expect(ostree('show', '--raw', ref)).toBe(`commit ${csum}\n${print(TYPES.commit, value, { annotate: true })}\n`);
    }
  });

  it('metadata values print like `ostree show --print-metadata-key` (unboxed, byteswapped)', () => {
    const csum = ostree('rev-parse', 'main^').trim();
    const bytes = new Uint8Array(readFileSync(join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.commit`)));
    const meta = (decode(TYPES.commit, bytes, { bigEndian: true }) as GVValue[])[0] as [string, GVVariant][];
    expect(meta.length).toBeGreaterThanOrEqual(8);
    for (const [key, v] of meta) {
      expect(ostree('show', `--print-metadata-key=${key}`, 'main^'), key).toBe(`${print(v.type, v.value, { annotate: true })}\n`);
    }
    const detached = new Uint8Array(readFileSync(join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.commitmeta`)));
    const dm = decode('a{sv}', detached) as [string, GVVariant][];
    expect(dm).toEqual([['detached', { type: 's', value: 'yes' }]]);
    expect(ostree('show', '--print-detached-metadata-key=detached', 'main^')).toBe("'yes'\n");
  });

  it('print matches `ostree summary --view --raw`', () => {
    const bytes = new Uint8Array(readFileSync(join(repo, 'summary')));
    const type = '(a(s(taya{sv}))a{sv})';
    const value = decode(type, bytes, { bigEndian: true, context: 'summary' });
    expect(ostree('summary', '--view', '--raw')).toBe(`${print(type, value, { annotate: true })}\n`);
    expect(Buffer.from(encode(type, decode(type, bytes))).equals(Buffer.from(bytes))).toBe(true);
  });
});
