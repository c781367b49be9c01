// The seeded mutation fuzzer shared by fuzz.test.ts and xml-fast.test.ts: a createrepo-shaped
// primary.xml seed, a xorshift RNG, a mutator (bytes flipped, ranges deleted or duplicated, XML
// tokens and hostile fragments inserted, truncation) and random chunking.

export const SEED_PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
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

export { XorShift32 as Rng } from '../helpers/pseudo-random.ts';
import type { XorShift32 as Rng } from '../helpers/pseudo-random.ts';

export function mutate(base: Uint8Array, rng: Rng): Uint8Array {
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

export async function* randomChunks(b: Uint8Array, rng: Rng): AsyncGenerator<Uint8Array> {
  let i = 0;
  while (i < b.length) {
    const n = 1 + rng.int(rng.int(2) ? 64 : 4096);
    yield b.subarray(i, i + n);
    i += n;
  }
}
