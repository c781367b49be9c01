// A seeded fuzzer over primary.xml: a createrepo-shaped document is mutated (bytes flipped, ranges
// deleted or duplicated, XML tokens and hostile fragments inserted, truncation) and streamed in
// random chunk sizes, plain and gzip-compressed. Whatever the input, the readers either succeed or
// throw a XylemError — never a TypeError, RangeError or a hang.

import { describe, expect, it } from 'vitest';
import { gzipSync } from 'fflate';
import { streamPrimary } from '../../src/rpmmd/primary.ts';
import { streamFilelists, streamOther } from '../../src/rpmmd/filelists.ts';
import { streamUpdateinfo } from '../../src/rpmmd/updateinfo.ts';
import { decompressStream } from '../../src/rpmmd/decompress.ts';
import { parseRepomd } from '../../src/rpmmd/repomd.ts';
import { parseRepoFile } from '../../src/rpmmd/repo-file.ts';
import { XylemError } from '../../src/util/errors.ts';
import { UPDATEINFO_XML } from './fixtures.ts';
import { mutate, randomChunks, Rng, SEED_PRIMARY } from './mutate.ts';


/** Runs `f`; only a XylemError may come out. */
async function onlyXylemErrors(f: () => Promise<unknown>, what: string): Promise<'ok' | 'refused'> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    if (!(e instanceof XylemError)) throw new Error(`${what}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`);
    return 'refused';
  }
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('seeded fuzzing of the rpm-md readers', () => {
  it('the seed document itself parses (2 packages)', async () => {
    let n = 0;
    const r = await streamPrimary(randomChunks(enc(SEED_PRIMARY), new Rng(1)), () => void n++, { fileName: 'primary.xml' });
    expect(r).toEqual({ packages: 2, declared: 2 });
    expect(n).toBe(2);
  });

  it('mutated primary.xml yields packages or a XylemError, never anything else (3000 cases)', async () => {
    const base = enc(SEED_PRIMARY);
    const counts = { ok: 0, refused: 0 };
    for (let seed = 1; seed <= 3000; seed++) {
      const rng = new Rng(seed * 2654435761);
      const doc = mutate(base, rng);
      counts[await onlyXylemErrors(() => streamPrimary(randomChunks(doc, rng), () => undefined, { fileName: 'primary.xml' }), `seed ${seed}`)]++;
    }
    // Both outcomes occur: the fuzzer reaches past the first refusal.
    expect(counts.ok).toBeGreaterThan(30);
    expect(counts.refused).toBeGreaterThan(1000);
  }, 120_000);

  it('mutated gzip-compressed primary.xml through decompression: XylemError only (600 cases)', async () => {
    const gz = gzipSync(enc(SEED_PRIMARY));
    for (let seed = 1; seed <= 600; seed++) {
      const rng = new Rng(seed * 40503 + 7);
      const doc = mutate(gz, rng);
      await onlyXylemErrors(
        () => streamPrimary(decompressStream(randomChunks(doc, rng), { what: 'primary.xml.gz', maxOutput: 1 << 20, name: 'primary.xml.gz' }), () => undefined, { fileName: 'primary.xml.gz' }),
        `gz seed ${seed}`,
      );
    }
  }, 120_000);

  it('the other readers (filelists, other, updateinfo, repomd) hold the same line (400 cases each)', async () => {
    const filelists = enc(
      '<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="1"><package pkgid="' +
        'a'.repeat(64) +
        '" name="p" arch="noarch"><version epoch="0" ver="1" rel="1"/><file>/a</file><file type="dir">/b</file></package></filelists>',
    );
    const other = enc('<otherdata packages="1"><package pkgid="' + 'b'.repeat(64) + '" name="p" arch="noarch"><version epoch="0" ver="1" rel="1"/><changelog author="A &lt;a@b&gt;" date="1700000000">- x</changelog></package></otherdata>');
    const upd = enc(UPDATEINFO_XML);
    const repomd = enc(
      `<repomd xmlns="http://linux.duke.edu/metadata/repo"><revision>1</revision><data type="primary"><checksum type="sha256">${'c'.repeat(64)}</checksum><open-checksum type="sha256">${'d'.repeat(64)}</open-checksum><location href="repodata/p.xml.gz"/><timestamp>1</timestamp><size>10</size><open-size>20</open-size></data></repomd>`,
    );
    for (let seed = 1; seed <= 400; seed++) {
      const rng = new Rng(seed * 7919);
      await onlyXylemErrors(() => streamFilelists(randomChunks(mutate(filelists, rng), rng), () => undefined, { fileName: 'filelists.xml' }), `filelists ${seed}`);
      await onlyXylemErrors(() => streamOther(randomChunks(mutate(other, rng), rng), () => undefined, { fileName: 'other.xml' }), `other ${seed}`);
      await onlyXylemErrors(() => streamUpdateinfo(randomChunks(mutate(upd, rng), rng), () => undefined, { fileName: 'updateinfo.xml' }), `updateinfo ${seed}`);
      await onlyXylemErrors(() => parseRepomd(mutate(repomd, rng), 'repomd.xml'), `repomd ${seed}`);
    }
  }, 120_000);

  it('mutated .repo files parse or fail with a XylemError naming file and line (2000 cases)', async () => {
    const base = enc(
      '[fedora]\nname=Fedora $releasever\nbaseurl=http://a.invalid/$releasever/\n  http://b.invalid/\nenabled=1\ngpgcheck=yes\ngpgkey=file:///k\nmetadata_expire=6h\npriority=10\nexclude=a* b\n\n[upd]\nmetalink=https://m.invalid/?r=$basearch\nmetadata_expire=never\n',
    );
    let refused = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const rng = new Rng(seed * 104729);
      const text = new TextDecoder().decode(mutate(base, rng));
      try {
        parseRepoFile(text, { fileName: 'f.repo', vars: { releasever: '40', basearch: 'x86_64' } });
      } catch (e) {
        if (!(e instanceof XylemError)) throw new Error(`repo ${seed}: ${String(e)}`);
        expect(e.message, `repo ${seed}`).toMatch(/^f\.repo:\d+/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });
});
