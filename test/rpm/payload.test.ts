// The payload reader against `rpm2cpio X | cpio -idm`: for packages built with each compressor
// rpm offers (gzip, xz, zstd, bzip2), the tree our entries describe (contents, permission bits,
// mtimes, symlink targets, hardlink sets) must equal the tree cpio unpacks, with every file's
// digest checked on the way; packages are streamed from a file handle, never held whole.

import { execSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync, linkSync, symlinkSync, utimesSync, lutimesSync, chmodSync } from 'node:fs';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRpm, parseRpm, type PayloadEntry } from '../../src/rpm/index.ts';
import { digestBytes } from '../../src/rpm/digest.ts';
import { HAVE_RPMBUILD, hasCommand } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { built, everythingPackage, PAYLOADS } from './fixtures.ts';

interface Node {
  kind: string;
  perm: number;
  mtime: number;
  content?: string;
  target?: string;
  ino?: number;
}

/** The tree under root: path → kind, permission bits, mtime, content/target, inode. */
function snapshot(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = p.slice(root.length);
      const base = { perm: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), ino: st.ino };
      if (st.isSymbolicLink()) out.set(rel, { kind: 'symlink', ...base, perm: 0, target: readlinkSync(p) });
      else if (st.isDirectory()) {
        out.set(rel, { kind: 'dir', ...base });
        walk(p);
      } else out.set(rel, { kind: 'file', ...base, content: readFileSync(p).toString('base64') });
    }
  };
  walk(root);
  return out;
}

/** Unpacks entries the way an installer would (owners left to root). */
async function unpack(entries: AsyncIterable<PayloadEntry>, root: string): Promise<string[]> {
  const seen: string[] = [];
  for await (const e of entries) {
    const p = join(root, e.file.path);
    mkdirSync(dirname(p), { recursive: true });
    seen.push(e.file.path);
    if (e.kind === 'dir') mkdirSync(p, { recursive: true });
    else if (e.kind === 'symlink') symlinkSync(e.file.linkto, p);
    else if (e.kind === 'file') {
      const chunks: Uint8Array[] = [];
      for await (const c of e.data) chunks.push(c.slice());
      writeFileSync(p, Buffer.concat(chunks));
      for (const l of e.hardlinks) {
        mkdirSync(dirname(join(root, l.path)), { recursive: true });
        linkSync(p, join(root, l.path));
        seen.push(l.path);
      }
    }
    if (e.kind !== 'symlink') chmodSync(p, e.file.mode & 0o7777);
    lutimesSync(p, e.file.mtime, e.file.mtime);
  }
  return seen;
}

describe.skipIf(missing('rpm payloads', { rpmbuild: HAVE_RPMBUILD, rpm2cpio: hasCommand('rpm2cpio'), cpio: hasCommand('cpio') }))('payload entries match rpm2cpio | cpio -idm', () => {
  for (const payload of PAYLOADS) {
    it(payload, async () => {
      const path = built(everythingPackage(payload));
      const work = mkdtempSync(join(tmpdir(), 'xylem-rpm-payload-'));
      const ref = join(work, 'ref');
      const mine = join(work, 'mine');
      mkdirSync(ref);
      mkdirSync(mine);
      execSync(`rpm2cpio '${path}' | cpio -idm --quiet --no-absolute-filenames`, { cwd: ref, stdio: ['ignore', 'ignore', 'pipe'] });
      // through the Host's own file handle, as compose opens packages
      const host = createNodeHost();
      const fh = await host.fs.openRead(path);
      let seen: string[];
      try {
        const pkg = await openRpm(fh, basename(path));
        expect(pkg.info().payloadCompressor).toBe({ 'w9.gzdio': 'gzip', 'w6.xzdio': 'xz', 'w19.zstdio': 'zstd', 'w9.bzdio': 'bzip2' }[payload]);
        seen = await unpack(pkg.entries({ hash: host.hash }), mine);
      } finally {
        await fh.close();
      }
      const pkg = parseRpm(new Uint8Array(readFileSync(path)), basename(path));
      const a = snapshot(ref);
      const b = snapshot(mine);
      // cpio also makes the parents a package does not list (/usr, /usr/bin…); compare what the package lists
      const listed = pkg.files().filter((f) => !f.ghost).map((f) => f.path).sort();
      expect([...seen].sort()).toEqual(listed);
      for (const p of listed) {
        const x = a.get(p);
        const y = b.get(p);
        expect(y, p).toBeDefined();
        // cpio leaves a directory's mtime to whatever its children's creation made it, and a symlink's to now
        const norm = (n: Node | undefined) => ({ ...n, ino: undefined, mtime: n?.kind === 'file' ? n.mtime : undefined });
        expect(norm(y), p).toEqual(norm(x));
      }
      expect([...b.keys()].filter((k) => !a.has(k))).toEqual([]);
      // hardlink sets: same inode in both trees
      const set = ['/usr/lib/everything/hard-a', '/usr/lib/everything/hard-b', '/usr/lib/everything/hard-c'];
      expect(new Set(set.map((p) => a.get(p)!.ino)).size).toBe(1);
      expect(new Set(set.map((p) => b.get(p)!.ino)).size).toBe(1);
      expect(statSync(join(mine, set[0]!)).nlink).toBe(3);
      // the %ghost file is nowhere
      expect(b.has('/var/log/everything.log')).toBe(false);
    });
  }
});

describe.skipIf(missing('file digest algorithms', { rpmbuild: HAVE_RPMBUILD, python3: hasCommand('python3') }))('file digests per FILEDIGESTALGO', () => {
  for (const [algo, name, hexLen] of [['1', 'MD5', 32], ['10', 'SHA512', 128]] as const) {
    it(`${name} file digests are checked as the payload streams`, async () => {
      const path = built({ name: `digest-${name.toLowerCase()}`, macros: { _binary_filedigest_algorithm: algo }, files: [{ path: '/usr/share/x', content: 'hello digest\n' }, { path: '/usr/share/y', content: 'other\n' }] });
      const bytes = new Uint8Array(readFileSync(path));
      const pkg = parseRpm(bytes, basename(path));
      expect(pkg.files().every((f) => f.digest.length === hexLen)).toBe(true);
      const got: string[] = [];
      for await (const e of pkg.entries()) got.push(new TextDecoder().decode(await e.bytes()));
      expect(got).toEqual(['hello digest\n', 'other\n']);
      // the same package with one content byte changed (payload re-compressed): refused, naming the file and algorithm
      const { gunzipSync, gzipSync } = await import('node:zlib');
      const cpio = Buffer.from(gunzipSync(bytes.subarray(pkg.layout.headerEnd)));
      cpio[cpio.indexOf('hello digest')] = 0x48;
      const bad = new Uint8Array(Buffer.concat([bytes.subarray(0, pkg.layout.headerEnd), gzipSync(cpio)]));
      await expect(async () => {
        for await (const e of parseRpm(bad, 'bad.rpm').entries()) await e.bytes();
      }).rejects.toThrow(new RegExp(`bad.rpm: /usr/share/x: ${name} digest [0-9a-f]{${hexLen}} does not match`));
    });
  }

  it('every digest algorithm rpm names matches python3 hashlib', () => {
    const data = Buffer.from('xylem digest vector \u00e9\n'.repeat(100));
    const names: [number, string][] = [[1, 'md5'], [2, 'sha1'], [8, 'sha256'], [9, 'sha384'], [10, 'sha512'], [11, 'sha224'], [12, 'sha3_256'], [14, 'sha3_512']];
    const script = names.map(([, n]) => `print(hashlib.${n}(d).hexdigest())`).join('\n');
    const want = execSync(`python3 -c 'import hashlib,sys\nd=sys.stdin.buffer.read()\n${script}'`, { input: data, encoding: 'utf8' }).trim().split('\n');
    expect(names.map(([a]) => Buffer.from(digestBytes(a, data)).toString('hex'))).toEqual(want);
  });
});
