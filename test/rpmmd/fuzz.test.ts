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

const SEED_PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>alpha</name>
  <arch>noarch</arch>
  <version epoch="2" ver="1.2" rel="3.fc40"/>
  <checksum type="sha256" pkgid="YES">ba5ddb32c801ae2efe4e94e6e6f5aa79a19f54781e3077c653f97423b86efde9</checksum>
  <summary>alpha &lt;&amp;&gt; "quoted" é 日本</summary>
  <description>alpha is a package.</description>
  <packager></packager>
  <url>https://example.invalid/</url>
  <time file="1796662215" build="1796662215"/>
  <size package="7953" installed="31" archive="828"/>
  <location href="alpha-1.2-3.fc40.noarch.rpm" xml:base="https://mirror.invalid/repo/"/>
  <format>
    <rpm:license>MIT</rpm:license>
    <rpm:vendor></rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>xylem-tests</rpm:buildhost>
    <rpm:sourcerpm>alpha-1.2-3.fc40.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="7733"/>
    <rpm:provides>
      <rpm:entry name="alpha" flags="EQ" epoch="2" ver="1.2" rel="3.fc40"/>
      <rpm:entry name="webserver"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="(delta or epsilon)"/>
      <rpm:entry name="/bin/sh" pre="1"/>
      <rpm:entry name="beta" flags="GE" epoch="0" ver="1.0"/>
      <rpm:entry name="lambda" flags="LE" epoch="2" ver="4"/>
    </rpm:requires>
    <rpm:conflicts><rpm:entry name="old-alpha" flags="LT" epoch="0" ver="1.0"/></rpm:conflicts>
    <rpm:obsoletes><rpm:entry name="alpha-legacy" flags="LE" epoch="0" ver="1.1"/></rpm:obsoletes>
    <rpm:suggests><rpm:entry name="(alpha-extras if beta)"/></rpm:suggests>
    <rpm:recommends><rpm:entry name="beta-docs"/></rpm:recommends>
    <file>/etc/alpha/alpha.conf</file>
    <file type="dir">/usr/bin</file>
    <file type="ghost">/usr/lib/sendmail</file>
  </format>
</package>
<package type="rpm">
  <name>beta</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  <checksum type="sha256" pkgid="YES">6bcd624f41a537e0921c2803d638b709845a9bd8ef55695b2891b3a93567553e</checksum>
  <summary>the beta fixture</summary>
  <description><![CDATA[beta <raw> text]]></description>
  <time file="1796662216" build="1796662215"/>
  <size package="6303" installed="1" archive="252"/>
  <location href="Packages/b/beta-1.0-1.x86_64.rpm"/>
  <format>
    <rpm:provides><rpm:entry name="beta" flags="EQ" epoch="0" ver="1.0" rel="1"/></rpm:provides>
  </format>
</package>
</metadata>
`;

const TOKENS = [
  '<', '>', '/>', '</', '&', '&amp;', '&#0;', '&#x110000;', '&bogus;', '"', "'", '=', ']]>', '<![CDATA[', '<!--', '-->', '<?pi x?>',
  '<!DOCTYPE m [<!ENTITY a "b">]>', '<package type="rpm">', '</package>', '<format>', '</format>', '<rpm:requires>', '</rpm:requires>',
  '<rpm:entry name="x" flags="GE" ver="1"/>', '<rpm:entry flags="EQ"/>', '<version epoch="99999999999" ver="1"/>', '<version ver=""/>',
  '<checksum type="md5">abc</checksum>', '<size package="-1"/>', '<time file="1e99"/>', '<location/>', '<file type="weird">/x</file>',
  '<rpm:header-range start="9" end="1"/>', '\u0000', '\uFFFE', '\uD800', 'é', '😀', '\r\n', ' xml:base="file:///etc"',
];

class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x >>> 0;
    return this.x;
  }
  int(n: number): number {
    return this.next() % n;
  }
}

function mutate(base: Uint8Array, rng: Rng): Uint8Array {
  let b = Buffer.from(base);
  const steps = 1 + rng.int(4);
  for (let s = 0; s < steps; s++) {
    const at = rng.int(b.length + 1);
    switch (rng.int(6)) {
      case 0: // flip bytes
        for (let k = 0; k < 1 + rng.int(3); k++) if (b.length) b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      case 1: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(200)))]);
        break;
      case 2: {
        // duplicate a range
        const len = 1 + rng.int(400);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      case 3: // insert a token
        b = Buffer.concat([b.subarray(0, at), Buffer.from(TOKENS[rng.int(TOKENS.length)]!), b.subarray(at)]);
        break;
      case 4: // truncate
        b = b.subarray(0, at);
        break;
      default: // random bytes
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + rng.int(8) }, () => rng.int(256))), b.subarray(at)]);
    }
  }
  return b;
}

async function* randomChunks(b: Uint8Array, rng: Rng): AsyncGenerator<Uint8Array> {
  let i = 0;
  while (i < b.length) {
    const n = 1 + rng.int(rng.int(2) ? 64 : 4096);
    yield b.subarray(i, i + n);
    i += n;
  }
}

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
