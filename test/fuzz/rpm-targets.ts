// The package half's parsers under fuzzing (seed corpora by rpmbuild, rpm2cpio, createrepo_c and
// modifyrepo_c: make-rpm-corpus.ts): whole .rpm files (lead, signature header, main header, every
// typed view of it, the payload decompressed and walked through the cpio reader against the header,
// and rpmkeys-style digest checks), bare headers (main and signature, with the typed views), raw
// cpio archives through the streaming cpio reader, the rpm-md XML readers (repomd, primary,
// filelists, other, updateinfo; the seed's extension picks the reader), .repo files (read from a
// yum.repos.d folder as dnf reads them), and treefiles
// (YAML or JSON, loaded from an in-memory file system next to an include).

import { parseRpm } from '../../src/rpm/open.ts';
import { parseHeader, MAIN_HEADER_LIMITS, SIG_HEADER_LIMITS } from '../../src/rpm/header.ts';
import { SIG_TAG_TYPES, TAG_TYPES, SigTag, Tag } from '../../src/rpm/tags.ts';
import { readChangelog, readDependencies, readNevra, readOrderDependencies, readPackageInfo } from '../../src/rpm/package.ts';
import { hardlinkSets, readFiles } from '../../src/rpm/files.ts';
import { readFileTriggers, readScripts, readTransFileTriggers, readTriggers } from '../../src/rpm/scripts.ts';
import { describeSignaturePacket, verifyRpm } from '../../src/rpm/verify.ts';
import { ChunkReader, readCpioHeader } from '../../src/rpm/cpio.ts';
import { parseRepomd } from '../../src/rpmmd/repomd.ts';
import { streamPrimary } from '../../src/rpmmd/primary.ts';
import { streamFilelists, streamOther } from '../../src/rpmmd/filelists.ts';
import { streamUpdateinfo } from '../../src/rpmmd/updateinfo.ts';
import { readRepoDir } from '../../src/rpmmd/index.ts';
import { loadTreefile } from '../../src/compose/treefile.ts';
import { createMemoryHost } from '../../runtimes/memory/index.ts';
import type { RpmHeader } from '../../src/rpm/header.ts';
import type { FuzzTarget } from './harness.ts';

const ext = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

/** Every typed view a caller may take of a main header. */
function readViews(h: RpmHeader): void {
  readNevra(h);
  readPackageInfo(h);
  readDependencies(h);
  readOrderDependencies(h);
  readChangelog(h);
  hardlinkSets(readFiles(h));
  readScripts(h);
  readTriggers(h);
  readFileTriggers(h);
  readTransFileTriggers(h);
}

/** `input` cut into pieces of a size picked from its length (so chunk boundaries move as it mutates). */
function* chunks(input: Uint8Array): Generator<Uint8Array> {
  const size = 1 + (input.length % 97) * 3;
  for (let i = 0; i < input.length; i += size) yield input.subarray(i, i + size);
}
async function* asyncChunks(input: Uint8Array): AsyncGenerator<Uint8Array> {
  yield* chunks(input);
}

const XML_TOKENS = ['<', '>', '</', '/>', '="', '"', '&amp;', '&#x10FFFF;', '&#0;', '&bogus;', '<![CDATA[', ']]>', '<!DOCTYPE x [<!ENTITY a "b">]>', '<?pi?>', '<!-- -->', 'xmlns:rpm="x"', '\u00e9', '\uFFFF'];

/**
 * One treefile case: `input` as /tf/fuzz.yaml (or .json, after the seed's extension) next to an
 * unmutated /tf/base.yaml that the seeds include, loaded with loadTreefile.
 */
export async function treefileCase(input: Uint8Array, seedName: string): Promise<void> {
  const host = createMemoryHost();
  await host.fs.mkdir('/tf', { recursive: true });
  await host.fs.writeFile('/tf/base.yaml', new TextEncoder().encode('ref: base/${basearch}\npackages: [base]\nrepos: [r]\n'));
  const path = ext(seedName) === 'json' ? '/tf/fuzz.json' : '/tf/fuzz.yaml';
  await host.fs.writeFile(path, input);
  await loadTreefile(host.fs, path);
}

export const RPM_TARGETS: FuzzTarget[] = [
  {
    name: 'rpm',
    async run(input) {
      const pkg = parseRpm(input, 'fuzz.rpm');
      readViews(pkg.header);
      for (const tag of [SigTag.RSA, SigTag.DSA, SigTag.PGP, SigTag.GPG]) {
        const b = pkg.signature.getBin(tag);
        if (b) describeSignaturePacket(b);
      }
      // the payload against the header (without file digests, so mutated data reaches the cpio walk),
      // then the digest checks rpmkeys -K makes
      for await (const e of pkg.entries({ verifyDigests: false })) await e.bytes();
      await verifyRpm(pkg);
    },
  },
  {
    name: 'rpm-header',
    run(input, seedName) {
      if (ext(seedName) === 'sigheader') {
        const h = parseHeader(input, { pkg: 'fuzz', what: 'signature header', regionTag: SigTag.HEADERSIGNATURES, limits: SIG_HEADER_LIMITS, tagTypes: SIG_TAG_TYPES });
        for (const t of h.tags()) h.get(t);
        return;
      }
      const h = parseHeader(input, { pkg: 'fuzz', what: 'header', regionTag: Tag.HEADERIMMUTABLE, limits: MAIN_HEADER_LIMITS, tagTypes: TAG_TYPES });
      for (const t of h.tags()) h.get(t);
      readViews(h);
    },
  },
  {
    name: 'cpio',
    async run(input) {
      const r = new ChunkReader(asyncChunks(input), 'fuzz.cpio');
      for (let n = 0; n < 10_000; n++) {
        const h = await readCpioHeader(r, 'fuzz.cpio');
        if (h === null || h.form === 'stripped') return; // stripped entries take their size from the rpm header
        await r.skip(h.size, 'cpio data');
      }
    },
  },
  {
    name: 'rpmmd',
    tokens: XML_TOKENS,
    async run(input, seedName) {
      const opts = { fileName: `fuzz.${ext(seedName)}` };
      const sink = (): void => {};
      switch (ext(seedName)) {
        case 'repomd':
          return parseRepomd(input, 'repomd.xml');
        case 'primary':
          return streamPrimary(asyncChunks(input), sink, opts);
        case 'filelists':
          return streamFilelists(asyncChunks(input), sink, opts);
        case 'other':
          return streamOther(asyncChunks(input), sink, opts);
        default:
          return streamUpdateinfo(asyncChunks(input), sink, opts);
      }
    },
  },
  {
    name: 'repo-file',
    tokens: ['[', ']', '=', '$releasever', '${basearch}', '$', '${', '}', '\n ', '\n\t', ';', '#', ',', 'baseurl=', 'metadata_expire=', 'enabled=', 'gpgcheck=', '-1', '99999999999999999999d', 'never', '\0', '\r\n'],
    async run(input) {
      // as dnf's repos are read: every *.repo of a yum.repos.d folder (UTF-8 checked, then parsed)
      const host = createMemoryHost();
      await host.fs.mkdir('/etc/yum.repos.d', { recursive: true });
      await host.fs.writeFile('/etc/yum.repos.d/fuzz.repo', input);
      await readRepoDir(host, '/etc/yum.repos.d', { releasever: '40', basearch: 'x86_64', arch: 'x86_64' });
    },
  },
  {
    name: 'treefile',
    tokens: ['include: ', '${', '}', '${basearch}', ': ', '\n- ', '[', ']', '{', '}', '&a ', '*a', '!!binary ', '!!str ', '? ', '|', '>', '"', "'", 'ref: ', 'packages: ', 'remove-from-packages: [[a, "("]]', 'add-files: [[a, /b]]', '../', 'arch-include: {x86_64: base.yaml}'],
    run: (input, seedName) => treefileCase(input, seedName),
  },
];
