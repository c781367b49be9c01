// Hash and deflate providers of the hosts (node:crypto/node:zlib and @noble/hashes/fflate),
// checked against FIPS 180 vectors and a zlib-produced raw DEFLATE vector; plus the fields of
// the Node host and memory-host specifics that the shared contract cannot check on both hosts.

import { describe, expect, it } from 'vitest';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nfs from 'node:fs/promises';
import * as zlib from 'node:zlib';
import type { DeflateProvider, HashProvider } from '../../src/host.ts';
import { nodeDeflateProvider, nodeHashProvider, createPosixFs } from '../../runtimes/posix/index.ts';
import { createMemoryHost, fflateDeflateProvider, nobleHashProvider } from '../../runtimes/memory/index.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Byte equality without vitest's slow element-wise deep diff on large arrays. */
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

// FIPS 180-2 examples.
const VECTORS: [string, Uint8Array][] = [
  ['e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', new Uint8Array(0)],
  ['ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', bytes('abc')],
  ['248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1', bytes('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')],
  ['cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0', new Uint8Array(1_000_000).fill(0x61)],
];

function hashSuite(p: HashProvider, expectedName: string): void {
  describe(`HashProvider ${p.name}`, () => {
    it('has the expected name', () => expect(p.name).toBe(expectedName));
    it('matches FIPS 180-2 vectors one-shot and incrementally', () => {
      for (const [want, data] of VECTORS) {
        expect(hex(p.sha256!(data))).toBe(want);
        const h = p.createSha256();
        // Odd-sized pieces cross the 64-byte block boundary in every way.
        for (let i = 0; i < data.length; i += 997) h.update(data.subarray(i, i + 997));
        const d = h.digest();
        expect(d.constructor).toBe(Uint8Array);
        expect(hex(d)).toBe(want);
      }
    });
  });
}

hashSuite(nodeHashProvider, 'node:crypto');
hashSuite(nobleHashProvider, '@noble/hashes');

// zlib.deflateRawSync('hello') from zlib 1.x at the default level: a raw DEFLATE fixed-Huffman block.
const HELLO_RAW = new Uint8Array([0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);

function deflateSuite(p: DeflateProvider, expectedName: string): void {
  describe(`DeflateProvider ${p.name}`, () => {
    const sample = new Uint8Array(200_000).map((_, i) => (i * 7919) % 251 ^ (i >> 9));
    it('has the expected name', () => expect(p.name).toBe(expectedName));

    it('inflates a zlib-made raw DEFLATE vector', async () => {
      expect(new TextDecoder().decode(await p.inflateRaw(HELLO_RAW))).toBe('hello');
    });

    it('round-trips at several levels, and zlib can read what it wrote', async () => {
      for (const level of [-1, 0, 1, 6, 9]) {
        const c = await p.deflateRaw(sample, level);
        expect(same(await p.inflateRaw(c), sample)).toBe(true);
        expect(same(zlib.inflateRawSync(c), sample)).toBe(true);
      }
      expect(await p.inflateRaw(await p.deflateRaw(new Uint8Array(0), 6))).toEqual(new Uint8Array(0));
    });

    it('honours maxOutput: exactly the size passes, one byte less is refused', async () => {
      const c = new Uint8Array(zlib.deflateRawSync(sample));
      expect((await p.inflateRaw(c, sample.length)).length).toBe(sample.length);
      await expect(p.inflateRaw(c, sample.length - 1)).rejects.toThrow(/exceeds the limit/);
      await expect(p.inflateRaw(new Uint8Array(zlib.deflateRawSync(new Uint8Array(0))), 0)).resolves.toEqual(new Uint8Array(0));
    });

    it('refuses a deflate bomb without inflating it all', async () => {
      const bomb = new Uint8Array(zlib.deflateRawSync(new Uint8Array(64 * 1024 * 1024)));
      expect(bomb.length).toBeLessThan(100_000);
      await expect(p.inflateRaw(bomb, 1024 * 1024)).rejects.toThrow(/exceeds the limit of 1048576 bytes/);
    });

    it('rejects corrupt data and bad arguments with clear errors', async () => {
      await expect(p.inflateRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).rejects.toThrow(/invalid deflate data/);
      await expect(p.deflateRaw(sample, 10)).rejects.toThrow(/level/);
      await expect(p.inflateRaw(HELLO_RAW, -1)).rejects.toThrow(/maxOutput/);
    });
  });
}

deflateSuite(nodeDeflateProvider, 'node:zlib');
deflateSuite(fflateDeflateProvider, 'fflate');

describe('createNodeHost', () => {
  it('wires posix fs, native providers, process identity and the xattr addon', () => {
    const h = createNodeHost();
    expect(h.runtime).toBe('node');
    expect(h.hash).toBe(nodeHashProvider);
    expect(h.deflate).toBe(nodeDeflateProvider);
    expect(h.uid).toBe(process.getuid!());
    expect(h.gid).toBe(process.getgid!());
    expect(h.env).toBe(process.env);
    expect(h.concurrency).toBe(os.availableParallelism());
    expect(typeof h.fetch).toBe('function');
    expect(Math.abs(h.now!() - Date.now())).toBeLessThan(1000);
    // @napi-rs/xattr is an optionalDependency installed here, with a linux-x64 binary.
    expect(h.xattrBackend).toBe('@napi-rs/xattr');
    expect(h.fs.xattrs).toBeDefined();
  });

  it('can run without xattrs, saying why', () => {
    const h = createNodeHost({ xattrs: false });
    expect(h.fs.xattrs).toBeUndefined();
    expect(h.xattrBackend).toBeNull();
    expect(h.xattrUnavailableReason).toMatch(/disabled/);
  });
});

describe('freeSpace', () => {
  it('posix reports the statfs numbers of the filesystem', async () => {
    const d = await nfs.mkdtemp(path.join(os.tmpdir(), 'xylem-statfs-'));
    try {
      const got = (await createPosixFs().freeSpace!(d))!;
      const s = await nfs.statfs(d);
      expect(got.totalBytes).toBe(s.blocks * s.bsize);
      expect(got.freeBytes).toBeGreaterThan(0);
      expect(got.freeBytes).toBeLessThanOrEqual(got.totalBytes);
    } finally {
      await nfs.rm(d, { recursive: true, force: true });
    }
  });

  it('memory reports what it was configured with, else null', async () => {
    expect(await createMemoryHost().fs.freeSpace!('/')).toBeNull();
    const h = createMemoryHost({ space: { freeBytes: 10, totalBytes: 20 } });
    expect(await h.fs.freeSpace!('/')).toEqual({ freeBytes: 10, totalBytes: 20 });
  });
});

describe('memory host specifics', () => {
  it('applies its umask, owner and clock to new entries', async () => {
    const h = createMemoryHost({ umask: 0o027, uid: 1000, gid: 100, now: () => 42_000 });
    await h.fs.mkdir('/d', { mode: 0o777 });
    await h.fs.writeFile('/d/f', bytes('x'), { mode: 0o666 });
    const d = (await h.fs.lstat('/d'))!;
    const f = (await h.fs.lstat('/d/f'))!;
    expect(d.mode).toBe(0o040750);
    expect(f.mode).toBe(0o100640);
    expect([f.uid, f.gid, f.mtimeMs]).toEqual([1000, 100, 42_000]);
    expect(h.uid).toBe(1000);
  });

  it('counts directory links like ext4 (2 + subdirectories)', async () => {
    const { fs } = createMemoryHost();
    await fs.mkdir('/p/a', { recursive: true });
    await fs.mkdir('/p/b');
    expect((await fs.lstat('/p'))!.nlink).toBe(4);
    await fs.rename('/p/b', '/p/a/b');
    expect((await fs.lstat('/p'))!.nlink).toBe(3);
    expect((await fs.lstat('/p/a'))!.nlink).toBe(3);
    await fs.rmdir('/p/a/b');
    expect((await fs.lstat('/p/a'))!.nlink).toBe(2);
  });

  it('refuses xattr names outside the Linux namespaces', async () => {
    const { fs } = createMemoryHost();
    await fs.writeFile('/f', new Uint8Array(0));
    await expect(fs.xattrs!.set('/f', 'nonamespace', bytes('x'))).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
  });

  it('returns copies: changing a read buffer does not change the file', async () => {
    const { fs } = createMemoryHost();
    const data = bytes('abc');
    await fs.writeFile('/f', data);
    data[0] = 0x7a;
    const got = await fs.readFile('/f');
    got[1] = 0x7a;
    expect(new TextDecoder().decode(await fs.readFile('/f'))).toBe('abc');
  });
});
