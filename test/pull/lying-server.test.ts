// A server that lies, beyond the broken ones of hostile.test.ts: Content-Length that disagrees
// with the body, a .filez whose deflate stream is a decompression bomb, an endless summary and an
// endless ref file, redirects to another scheme (file://), in a loop, and to another host serving
// other bytes, and a summary naming refs with `..`. Every pull must fail cleanly — an error that
// names what is wrong, in bounded time and memory — leave the refs where they were, and leave a
// repository the real `ostree fsck` accepts. (A redirect to another host that serves the right
// bytes is a CDN, not a lie: that pull succeeds, as with ostree's libcurl.)

import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
import { TempDir, describeInterop, ostreeFsck } from '../helpers/interop.ts';
import { countingServer, hostileServer, makeOstreeArchive, type CountingServer } from './helpers.ts';
import { newFilezPaths, originMainOf, repoAtParent as repoAtParentOf } from './helpers.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { pull } from '../../src/pull/pull.ts';
import type { PullOptions } from '../../src/pull/options.ts';
import { archiveHeader } from '../../src/format/objects.ts';

const host = createNodeHost();

/** Answers 200 and writes `byte` for ever (1 MiB at a time, as fast as the client reads). */
function endlessBody(res: ServerResponse, byte: number): void {
  res.writeHead(200);
  const chunk = Buffer.alloc(1 << 20, byte);
  const more = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', more);
  };
  res.on('error', () => undefined);
  more();
}

describeInterop('pull from a lying server', () => {
  let tmp: TempDir;
  let src: { repo: string; head: string; parent: string };
  let server: CountingServer;
  let n = 0;

  beforeAll(async () => {
    tmp = new TempDir('xylem-pull-lying-');
    src = makeOstreeArchive(tmp.path, 10);
    server = await countingServer(src.repo);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    tmp?.cleanup();
  }, 60_000);

  const repoAtParent = (url: string, mode: 'archive' | 'bare-user' = 'bare-user'): Promise<Repo> => repoAtParentOf(host, tmp.join(`r${n++}`), server.url, src.parent, url, mode);
  const refOf = originMainOf;
  const fast: PullOptions = { refs: ['main'], networkRetries: 1 };

  const newFilez = (): string[] => newFilezPaths(src.repo, src.parent, src.head);
  const commitPath = () => `/objects/${src.head.slice(0, 2)}/${src.head.slice(2)}.commit`;

  /**
   * Runs the pull, sampling this process's memory; expects it to be refused with `message`, within
   * `ms`, without the heap + buffers growing past `maxGrowth`; then checks the ref did not move and
   * the real ostree's fsck accepts the repo.
   */
  async function refused(repo: Repo, opts: PullOptions, message: RegExp, ms = 15_000, maxGrowth = 64 << 20): Promise<Error> {
    const mem = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const base = mem();
    let peak = base;
    const timer = setInterval(() => (peak = Math.max(peak, mem())), 5);
    const t0 = Date.now();
    let err: Error | null = null;
    try {
      await pull(repo, 'origin', opts);
    } catch (e) {
      err = e as Error;
    } finally {
      clearInterval(timer);
    }
    expect(err, 'the pull must fail').not.toBeNull();
    expect(err!.message).toMatch(message);
    expect(Date.now() - t0).toBeLessThan(ms);
    expect(peak - base).toBeLessThan(maxGrowth);
    expect(refOf(repo)).toBe(src.parent);
    ostreeFsck(repo.path);
    return err!;
  }

  it('Content-Length shorter than the object: the truncated object is refused as corrupted', async () => {
    const victim = newFilez()[0]!;
    const body = readFileSync(join(src.repo, victim));
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path !== victim) return false;
      // Declares 7 bytes fewer than it has; an HTTP client reads exactly what was declared.
      res.writeHead(200, { 'Content-Length': String(body.length - 7) });
      res.end(body.subarray(0, body.length - 7));
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await refused(repo, fast, /Corrupted file object [0-9a-f]{64}: .*(end of file|invalid)/);
    } finally {
      await bad.close();
    }
  });

  it('Content-Length that promises more than is sent, for a commit: a partial-file error, not a hang', async () => {
    const body = readFileSync(join(src.repo, commitPath()));
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path !== commitPath()) return false;
      res.writeHead(200, { 'Content-Length': String(body.length + 4096) });
      res.write(body, () => res.socket?.destroy());
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await refused(repo, fast, /\.commit: Transferred a partial file/);
    } finally {
      await bad.close();
    }
  });

  it('a .filez whose deflate stream is a bomb (4 KiB declared, 512 MiB of zeros inside) is refused early, memory flat', async () => {
    const victim = newFilez()[0]!;
    const csum = victim.slice('/objects/'.length).replace('/', '').replace('.filez', '');
    // 512 MiB of zeros deflates to ~0.5 MiB (streamed through the compressor 16 MiB at a time)
    const chunks: Buffer[] = [];
    const def = createDeflateRaw({ level: 1 });
    def.on('data', (c: Buffer) => chunks.push(c));
    const zero = Buffer.alloc(16 << 20);
    for (let i = 0; i < 32; i++) def.write(zero);
    await new Promise<void>((r) => def.end(r));
    const bomb = Buffer.concat([Buffer.from(archiveHeader({ uid: 0, gid: 0, mode: 0o100644, rdev: 0, symlinkTarget: '', xattrs: [] }, 4096)), ...chunks]);
    expect(bomb.length).toBeLessThan(4 << 20);
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path !== victim) return false;
      res.writeHead(200, { 'Content-Length': String(bomb.length) }).end(bomb);
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      const err = await refused(repo, fast, new RegExp(csum.slice(0, 16)), 20_000);
      expect(err.message).not.toMatch(/heap|allocation/i);
    } finally {
      await bad.close();
    }
    // sanity: a bomb that small really inflates to a gigabyte
    expect(deflateRawSync(Buffer.alloc(1 << 20)).length).toBeLessThan(2048);
  }, 60_000);

  it('a small bomb that fits the compressed-size cap still cannot inflate past the size its header declares', async () => {
    const victim = newFilez()[0]!;
    const csum = victim.slice('/objects/'.length).replace('/', '').replace('.filez', '');
    // 8 MiB of zeros in ~8 KiB of deflate, under a header that declares 64 KiB: the body passes the
    // compressed cap (deflate's bound on 64 KiB), so only the inflated size can refuse it
    const inner = deflateRawSync(Buffer.alloc(8 << 20), { level: 9 });
    const bomb = Buffer.concat([Buffer.from(archiveHeader({ uid: 0, gid: 0, mode: 0o100644, rdev: 0, symlinkTarget: '', xattrs: [] }, 64 << 10)), inner]);
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path !== victim) return false;
      res.writeHead(200, { 'Content-Length': String(bomb.length) }).end(bomb);
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await refused(repo, fast, new RegExp(`Corrupted file object ${csum}: .*output exceeds the limit of 65536 bytes`));
    } finally {
      await bad.close();
    }
  });

  it('an endless summary is refused at the metadata cap, in bounded memory', async () => {
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path !== '/summary') return false;
      endlessBody(res, 0x61);
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await refused(repo, fast, /\/summary exceeded maximum size of 10485760 bytes/);
    } finally {
      await bad.close();
    }
  });

  it('an endless ref file (no summary) is refused, in bounded memory', async () => {
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path === '/summary' || path === '/summary.sig') {
        res.writeHead(404).end();
        return true;
      }
      if (path !== '/refs/heads/main') return false;
      endlessBody(res, 0x30);
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await refused(repo, fast, /\/refs\/heads\/main exceeded maximum size of 10485760 bytes/);
    } finally {
      await bad.close();
    }
  });

  it('a redirect to file:// (the server pointing the client at its own disk) is refused', async () => {
    for (const target of ['file:///etc/passwd', `file://${join(src.repo, commitPath())}`]) {
      const bad = await hostileServer(server, (_req, res, path) => {
        if (path !== commitPath() && path !== '/summary') return false;
        res.writeHead(302, { Location: target }).end();
        return true;
      });
      try {
        const repo = await repoAtParent(bad.url);
        await refused(repo, fast, /unsupported URL scheme file:/);
      } finally {
        await bad.close();
      }
    }
  });

  it('a redirect loop ends in an error after a bounded number of hops', async () => {
    let hops = 0;
    const bad = await hostileServer(server, (req, res, path) => {
      if (path !== commitPath()) return false;
      hops++;
      res.writeHead(302, { Location: `${req.url}?again=${hops}` }).end();
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await refused(repo, fast, /redirect count exceeded/);
      // a bounded number of hops per try (libcurl's default is 50), not an endless loop
      expect(hops).toBeGreaterThan(1);
      expect(hops).toBeLessThan(200);
    } finally {
      await bad.close();
    }
  });

  it('a redirect to another host: serving other bytes is refused as corrupted; serving the right ones (a CDN) works', async () => {
    const [a, b] = newFilez();
    const liar = await hostileServer(server, (_req, res, path) => {
      if (path !== a) return false;
      res.writeHead(200).end(readFileSync(join(src.repo, b!)));
      return true;
    });
    const cdn = await countingServer(src.repo);
    for (const [other, ok] of [
      [liar, false],
      [cdn, true],
    ] as const) {
      const front = await hostileServer(server, (req, res, path) => {
        if (!path.startsWith('/objects/')) return false;
        res.writeHead(302, { Location: `${other.url}${req.url}` }).end();
        return true;
      });
      try {
        const repo = await repoAtParent(front.url);
        if (ok) {
          await pull(repo, 'origin', fast);
          expect(refOf(repo)).toBe(src.head);
          ostreeFsck(repo.path);
          expect(cdn.countOf('/objects/')).toBeGreaterThan(0);
        } else {
          await refused(repo, fast, /Corrupted file object; checksum expected/);
        }
      } finally {
        await front.close();
      }
    }
    await liar.close();
    await cdn.close();
  });

  it('a summary naming refs with ".." : a mirror pull refuses them and writes nothing outside the repo', async () => {
    // The real summary with the ref "main" renamed to "../a" — same length, so the GVariant framing
    // stays valid and only the name lies.
    const real = readFileSync(join(src.repo, 'summary'));
    const at = real.indexOf(Buffer.from('main\0'));
    expect(at).toBeGreaterThan(-1);
    const forged = Buffer.from(real);
    Buffer.from('../a').copy(forged, at);
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path === '/summary') {
        res.writeHead(200, { 'Content-Length': String(forged.length) }).end(forged);
        return true;
      }
      if (path === '/summary.sig') {
        res.writeHead(404).end();
        return true;
      }
      if (path === '/refs/heads/../a' || path === '/refs/a') {
        res.writeHead(200).end(`${src.head}\n`);
        return true;
      }
      return false;
    });
    try {
      const repo = await repoAtParent(bad.url);
      const before = readdirSync(join(repo.path, 'refs'), { recursive: true }).sort();
      await refused(repo, { mirror: true, networkRetries: 1 }, /Invalid ref name \.\.\/a/);
      expect(readdirSync(join(repo.path, 'refs'), { recursive: true }).sort()).toEqual(before);
      expect(existsSync(join(repo.path, 'refs/a'))).toBe(false);
      expect(existsSync(join(repo.path, 'a'))).toBe(false);
      // and asking for it by name is refused before any request
      await refused(repo, { refs: ['../a'], networkRetries: 1 }, /Invalid ref name \.\.\/a/);
    } finally {
      await bad.close();
    }
  });
});
