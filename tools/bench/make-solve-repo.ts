// The benchmark's 60,000-package rpm-md repository: Debian's own package index (apt's lists,
// converted by tools/solve/debian-to-rpmmd.ts) written as repodata/ — primary.xml.gz, an empty
// filelists.xml.gz and other.xml.gz (Debian's index has no file lists; dnf and rpm-xylem both read
// what repomd.xml lists) and repomd.xml with their checksums. Each package gets its own pkgid
// (sha256 of its NEVRA) since the repo has no real .rpm files. Prints the package count.
//   node --import tsx tools/bench/make-solve-repo.ts OUTDIR

import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { aptPackageLists, convertLz4, primaryPackageXml, realPackageNames } from '../solve/debian-to-rpmmd.ts';

interface Written {
  href: string;
  checksum: string;
  openChecksum: string;
  size: number;
  openSize: number;
}

/** Streams `parts` into DIR/NAME.xml.gz; returns the repomd.xml facts. */
async function writeGz(dir: string, name: string, parts: AsyncIterable<string>): Promise<Written> {
  const path = join(dir, `${name}.xml.gz`);
  const gz = createGzip({ level: 6 });
  const file = createWriteStream(path);
  gz.pipe(file);
  const open = createHash('sha256');
  let openSize = 0;
  for await (const s of parts) {
    const b = Buffer.from(s);
    open.update(b);
    openSize += b.length;
    if (!gz.write(b)) await new Promise<void>((r) => gz.once('drain', () => r()));
  }
  gz.end();
  await new Promise<void>((res, rej) => file.on('close', () => res()).on('error', rej));
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return { href: `repodata/${name}.xml.gz`, checksum: h.digest('hex'), openChecksum: open.digest('hex'), size: statSync(path).size, openSize };
}

async function main(): Promise<void> {
  const out = process.argv[2];
  if (!out) throw new Error('usage: make-solve-repo.ts OUTDIR');
  const lists = aptPackageLists();
  if (lists.length === 0) throw new Error('no apt lists in /var/lib/apt/lists (run apt-get update)');
  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'repodata'), { recursive: true });
  const opts = { realNames: await realPackageNames(lists) };
  let count = 0;
  for (const l of lists) for await (const _ of convertLz4(l, opts)) count++;
  async function* primary(): AsyncGenerator<string> {
    yield `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${count}">\n`;
    for (const l of lists)
      for await (const p of convertLz4(l, opts)) {
        const n = p.nevra;
        const pkgid = createHash('sha256').update(`${n.name}-${n.epoch ?? 0}:${n.version}-${n.release}.${n.arch}@${l}`).digest('hex');
        yield primaryPackageXml(p).replace('0'.repeat(64), pkgid);
      }
    yield '</metadata>\n';
  }
  async function* only(s: string): AsyncGenerator<string> {
    yield s;
  }
  const data: [string, Written][] = [
    ['primary', await writeGz(join(tmp, 'repodata'), 'primary', primary())],
    ['filelists', await writeGz(join(tmp, 'repodata'), 'filelists', only('<?xml version="1.0" encoding="UTF-8"?>\n<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="0">\n</filelists>\n'))],
    ['other', await writeGz(join(tmp, 'repodata'), 'other', only('<?xml version="1.0" encoding="UTF-8"?>\n<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="0">\n</otherdata>\n'))],
  ];
  let repomd = '<?xml version="1.0" encoding="UTF-8"?>\n<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">\n  <revision>1</revision>\n';
  for (const [type, w] of data) {
    repomd += `  <data type="${type}">\n    <checksum type="sha256">${w.checksum}</checksum>\n    <open-checksum type="sha256">${w.openChecksum}</open-checksum>\n`;
    repomd += `    <location href="${w.href}"/>\n    <timestamp>1700000000</timestamp>\n    <size>${w.size}</size>\n    <open-size>${w.openSize}</open-size>\n  </data>\n`;
  }
  writeFileSync(join(tmp, 'repodata', 'repomd.xml'), `${repomd}</repomd>\n`);
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
  process.stdout.write(`${count}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`make-solve-repo: error: ${e.message}\n`);
  process.exit(1);
});
