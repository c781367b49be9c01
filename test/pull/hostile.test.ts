// Hostile and broken servers: a 404 for one object, bodies cut short, wrong bytes under an
// object's name, an HTML error page, a ref file holding HTML, oversized metadata, a server that
// stalls, and flaky 500s. Each must end in a clear error (or, for transient faults, a complete
// pull after retries) and must leave the refs exactly as they were.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, buildCli, describeInterop, disposeCli, ostree, ostreeFsck, ok } from '../helpers/interop.ts';
import { countingServer, hostileServer, makeOstreeArchive, runAsync, type CountingServer } from './helpers.ts';
import { newFilezPaths, originMainOf, repoAtParent as repoAtParentOf } from './helpers.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { addRemote } from '../../src/remote/config.ts';
import { pull } from '../../src/pull/pull.ts';
import type { PullOptions } from '../../src/pull/options.ts';
import { archiveHeader } from '../../src/format/objects.ts';
import { deflateBound } from '../../src/pull/content.ts';

const host = createNodeHost();

describeInterop('pull from hostile servers', () => {
  let tmp: TempDir;
  let src: { repo: string; head: string; parent: string };
  let server: CountingServer;
  let n = 0;

  beforeAll(async () => {
    tmp = new TempDir('xylem-pull-hostile-');
    src = makeOstreeArchive(tmp.path, 10);
    server = await countingServer(src.repo);
  }, 120_000);
  afterAll(async () => {
    disposeCli();
    await server?.close();
    tmp?.cleanup();
  }, 60_000);

  const repoAtParent = (url: string, mode: 'archive' | 'bare-user' = 'bare-user'): Promise<Repo> => repoAtParentOf(host, tmp.join(`r${n++}`), server.url, src.parent, url, mode);
  const refOf = originMainOf;
  const fast: PullOptions = { refs: ['main'], networkRetries: 1 };

  const newFilez = (): string[] => newFilezPaths(src.repo, src.parent, src.head);

  /** A valid `.filez` header declaring `size` bytes of content (what a body must start with). */
  const fakeHead = (size: number) => archiveHeader({ uid: 0, gid: 0, mode: 0o100644, rdev: 0, symlinkTarget: '', xattrs: [] }, size);

  it('404 for one object: clear error, ref untouched, nothing partial published as complete', async () => {
    const victim = newFilez()[0]!;
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path !== victim) return false;
      res.writeHead(404).end('not here');
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await expect(pull(repo, 'origin', fast)).rejects.toThrow(/While fetching http:\/\/127\.0\.0\.1:\d+\/objects\/.*\.filez: Server returned HTTP 404/);
      expect(refOf(repo)).toBe(src.parent);
      // The new commit is marked partial (its object may be there, its tree is not).
      if (existsSync(join(repo.path, 'objects', src.head.slice(0, 2), `${src.head.slice(2)}.commit`)))
        expect(existsSync(join(repo.path, 'state', `${src.head}.commitpartial`))).toBe(true);
      ostreeFsck(repo.path);
    } finally {
      await bad.close();
    }
  });

  it('bodies cut short every time: "Transferred a partial file" after the retries, ref untouched', async () => {
    const victim = newFilez()[0]!;
    let hits = 0;
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path !== victim) return false;
      hits++;
      res.writeHead(200, { 'Content-Length': '1000' });
      res.write(fakeHead(100_000).subarray(0, 10), () => res.socket?.destroy());
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await expect(pull(repo, 'origin', { ...fast, networkRetries: 2 })).rejects.toThrow(/Transferred a partial file/);
      expect(hits).toBe(3);
      expect(refOf(repo)).toBe(src.parent);
    } finally {
      await bad.close();
    }
  });

  it('wrong bytes under an object name: corrupted object error for content and metadata', async () => {
    const [a, b] = newFilez();
    const swap = await hostileServer(server, (_req, res, path) => {
      if (path !== a) return false;
      res.writeHead(200).end(readFileSync(join(src.repo, b!)));
      return true;
    });
    try {
      for (const mode of ['bare-user', 'archive'] as const) {
        const repo = await repoAtParent(swap.url, mode);
        await expect(pull(repo, 'origin', fast)).rejects.toThrow(/Corrupted file object; checksum expected='[0-9a-f]{64}' actual='[0-9a-f]{64}'/);
        expect(refOf(repo)).toBe(src.parent);
      }
    } finally {
      await swap.close();
    }
    // An HTML error page (status 200) in place of a dirtree.
    const html = await hostileServer(server, (_req, res, path) => {
      if (!path.endsWith('.dirtree')) return false;
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<html><body>Oops, maintenance</body></html>');
      return true;
    });
    try {
      const repo = await repoAtParent(html.url);
      await expect(pull(repo, 'origin', fast)).rejects.toThrow(/Corrupted dirtree object; checksum expected/);
      expect(refOf(repo)).toBe(src.parent);
    } finally {
      await html.close();
    }
  });

  it('HTML in a ref file (no summary): ostree\'s "Invalid rev" message', async () => {
    const bad = await hostileServer(server, (_req, res, path) => {
      if (path === '/summary' || path === '/summary.sig') {
        res.writeHead(404).end();
        return true;
      }
      if (path !== '/refs/heads/main') return false;
      res.writeHead(200).end('lots of html here \n'.repeat(20));
      return true;
    });
    try {
      const repo = await repoAtParent(bad.url);
      await expect(pull(repo, 'origin', fast)).rejects.toThrow(
        'Fetching checksum for ref ((empty), main): Invalid rev lots of html here  lots of html here  lots of html here  lots of',
      );
      expect(refOf(repo)).toBe(src.parent);
    } finally {
      await bad.close();
    }
  });

  it('metadata over 10 MiB is refused before it is all read', async () => {
    let sent = 0;
    const big = await hostileServer(server, (_req, res, path) => {
      if (!path.endsWith(`${src.head.slice(2)}.commit`)) return false;
      res.writeHead(200); // no Content-Length: the cap must apply while streaming
      const chunk = Buffer.alloc(1 << 20);
      const pump = () => {
        while (sent < 40 << 20) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
      return true;
    });
    try {
      const repo = await repoAtParent(big.url);
      await expect(pull(repo, 'origin', fast)).rejects.toThrow(/exceeded maximum size of 10485760 bytes/);
      expect(sent).toBeLessThan(40 << 20);
      expect(refOf(repo)).toBe(src.parent);
    } finally {
      await big.close();
    }
  });

  it('a server that stalls mid-body is abandoned after the stall timeout', async () => {
    const victim = newFilez()[0]!;
    const stall = await hostileServer(server, (_req, res, path) => {
      if (path !== victim) return false;
      const head = fakeHead(100_000);
      res.writeHead(200, { 'Content-Length': String(head.length + 5000) });
      res.write(head); // … and nothing more, connection left open
      res.on('error', () => undefined);
      return true;
    });
    try {
      const repo = await repoAtParent(stall.url);
      const t0 = Date.now();
      await expect(pull(repo, 'origin', { ...fast, networkRetries: 0, stallTimeoutSeconds: 1 })).rejects.toThrow(/Timeout was reached/);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(refOf(repo)).toBe(src.parent);
    } finally {
      await stall.close();
    }
  });

  /**
   * Serves, for `victim`, a `.filez` header declaring `size` bytes of content and then an endless
   * chunked body (no Content-Length); counts the bytes written.
   */
  async function endlessFilez(victim: string, size: number) {
    const head = fakeHead(size);
    const state = { sent: 0 };
    const srv = await hostileServer(server, (_req, res, path) => {
      if (path !== victim) return false;
      res.writeHead(200); // chunked: the cap must come from the header, not from the server
      res.on('error', () => undefined);
      res.write(head);
      const chunk = Buffer.alloc(256 * 1024, 0x55);
      const pump = () => {
        while (!res.destroyed && state.sent < 1 << 30) {
          state.sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
      return true;
    });
    return { srv, state, cap: head.length + deflateBound(size) };
  }

  it('an endless .filez body is refused once past what its header declares, naming the object and the cap', async () => {
    const victim = newFilez()[0]!;
    const csum = victim.slice('/objects/'.length).replace('/', '').replace('.filez', '');
    const { srv, state, cap } = await endlessFilez(victim, 100);
    try {
      const repo = await repoAtParent(srv.url);
      const t0 = Date.now();
      const err = await pull(repo, 'origin', fast).then(
        () => null,
        (e: Error) => e,
      );
      expect(err?.message).toContain(`Content object ${csum}.filez`);
      expect(err?.message).toContain(`exceeded maximum size of ${cap} bytes`);
      expect((err as { code?: string }).code).toBe('ETOOBIG');
      expect(Date.now() - t0).toBeLessThan(10_000);
      // Not retried (a cap is not transient) and stopped early: a few chunks, not the gigabyte.
      expect(state.sent).toBeLessThan(8 << 20);
      expect(refOf(repo)).toBe(src.parent);
    } finally {
      await srv.close();
    }
  });

  it('an endless .filez with a big declared size: memory stays flat (the body streams to disk) until the cap', async () => {
    const victim = newFilez()[0]!;
    const size = 160 << 20;
    const { srv, state, cap } = await endlessFilez(victim, size);
    try {
      const repo = await repoAtParent(srv.url);
      const mem = () => process.memoryUsage().arrayBuffers;
      const base = mem();
      let peak = base;
      const timer = setInterval(() => (peak = Math.max(peak, mem())), 5);
      try {
        await expect(pull(repo, 'origin', fast)).rejects.toThrow(`exceeded maximum size of ${cap} bytes`);
      } finally {
        clearInterval(timer);
      }
      expect(state.sent).toBeGreaterThan(size);
      // Held in memory, the body would be > 160 MiB; streamed, only chunks in flight are.
      expect(peak - base).toBeLessThan(64 << 20);
      // Nor is the refused body kept on disk as a partial download to resume from.
      const partials = join(repo.path, 'tmp', 'xylem-pull-partial');
      expect(existsSync(partials) ? readdirSync(partials) : []).toEqual([]);
      expect(refOf(repo)).toBe(src.parent);
    } finally {
      await srv.close();
    }
  });

  it('a server trickling a byte at a time is abandoned by the low-speed limit (ostree --low-speed-limit-bytes/-time-seconds)', async () => {
    const victim = newFilez()[0]!;
    const timers = new Set<ReturnType<typeof setInterval>>();
    const slow = await hostileServer(server, (_req, res, path) => {
      if (path !== victim) return false;
      const head = fakeHead(100_000);
      res.writeHead(200, { 'Content-Length': String(head.length + 5000) });
      res.write(head);
      res.on('error', () => undefined);
      // Never silent for long: one byte every 100 ms (10 bytes/s).
      const t = setInterval(() => res.write('z'), 100);
      timers.add(t);
      res.on('close', () => clearInterval(t));
      return true;
    });
    try {
      const repo = await repoAtParent(slow.url);
      const t0 = Date.now();
      const tooSlow = /Timeout was reached \(operation too slow: less than 100 bytes\/sec transferred the last 1 seconds\)/;
      await expect(pull(repo, 'origin', { ...fast, networkRetries: 0, stallTimeoutSeconds: 1, lowSpeedLimitBytes: 100 })).rejects.toThrow(tooSlow);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(refOf(repo)).toBe(src.parent);
      // The CLI's flags reach the same watchdog.
      const cli = buildCli();
      const args = ['--low-speed-limit-bytes=100', '--low-speed-time-seconds=1', '--network-retries=0', 'origin', 'main'];
      const r = await runAsync(process.execPath, [cli, `--repo=${repo.path}`, 'pull', ...args]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(tooSlow);
      expect(refOf(repo)).toBe(src.parent);
      const neg = await runAsync(process.execPath, [cli, `--repo=${repo.path}`, 'pull', '--low-speed-limit-bytes=-1', 'origin', 'main']);
      expect(neg.status).not.toBe(0);
      expect(neg.stderr).toContain('--low-speed-limit-bytes');
    } finally {
      for (const t of timers) clearInterval(t);
      await slow.close();
    }
  });

  it('transient 500s and dropped connections are retried; the pull completes and resumes with Range', async () => {
    const seen = new Map<string, number>();
    let ranged = 0;
    const flaky = await hostileServer(server, (req, res, path) => {
      const k = seen.get(path) ?? 0;
      seen.set(path, k + 1);
      if (req.headers.range) ranged++;
      if (!path.includes('/objects/') || k > 0) return false;
      if (path.endsWith('.filez') && path.charCodeAt(path.length - 7) % 2 === 0) {
        // First try of some objects: half the body, then hang up.
        const data = readFileSync(join(src.repo, path));
        res.writeHead(200, { 'Content-Length': String(data.length) });
        res.write(data.subarray(0, data.length >> 1), () => res.socket?.destroy());
        return true;
      }
      res.writeHead(500).end('busy');
      return true;
    });
    try {
      const repo = await repoAtParent(flaky.url);
      const res = await pull(repo, 'origin', { refs: ['main'], networkRetries: 3 });
      expect(refOf(repo)).toBe(src.head);
      expect(ranged).toBeGreaterThan(0);
      expect(res.progress.contentFetched).toBe(newFilez().length);
      ostreeFsck(repo.path);
    } finally {
      await flaky.close();
    }
  });

  it('server without the repo: 404 error naming the URL; ref untouched', async () => {
    const repo = await repoAtParent(`${server.url}/noent`);
    await expect(pull(repo, 'origin', fast)).rejects.toThrow(/404/);
    expect(refOf(repo)).toBe(src.parent);
    expect(readdirSync(join(repo.path, 'tmp')).filter((f) => f.startsWith('staging-'))).toEqual([]);
  });

  it('an unknown URL scheme and a missing remote fail as ostree does', async () => {
    const repo = await Repo.init(host, tmp.join('scheme'), { mode: 'archive' });
    await addRemote(repo, 'broken', 'badscheme://something', { options: [['gpg-verify', 'false']] });
    await expect(pull(repo, 'broken', { refs: ['main'] })).rejects.toThrow('Invalid URI scheme in badscheme://something');
    await expect(pull(repo, 'nosuch', { refs: ['main'] })).rejects.toThrow('Remote "nosuch" not found');
    // gpg-verify on (the default) and no verifier wired: refuse rather than skip.
    await addRemote(repo, 'signed', server.url);
    await expect(pull(repo, 'signed', { refs: ['main'] })).rejects.toThrow(/GPG verification enabled, but no signatures found/);
    expect(existsSync(join(repo.path, 'refs/remotes/signed/main'))).toBe(false);
  });

  it('a moved-away dirtree gives a 404 at depth 0 (ostree: "pull repo 404 on dirtree object")', async () => {
    const trees = ok(ostree([`--repo=${src.repo}`, 'ls', '-R', '-C', 'main']));
    expect(trees).toContain('baz');
    const dirtrees: string[] = [];
    for (const d of readdirSync(join(src.repo, 'objects')))
      for (const f of readdirSync(join(src.repo, 'objects', d))) if (f.endsWith('.dirtree')) dirtrees.push(join(src.repo, 'objects', d, f));
    for (const f of dirtrees) renameSync(f, `${f}.orig`);
    try {
      const repo = await Repo.init(host, tmp.join('nodirtree'), { mode: 'bare-user' });
      await addRemote(repo, 'origin', server.url, { options: [['gpg-verify', 'false']] });
      await expect(pull(repo, 'origin', fast)).rejects.toThrow(/\.dirtree: Server returned HTTP 404/);
      expect(existsSync(join(repo.path, 'refs/remotes/origin/main'))).toBe(false);
    } finally {
      for (const f of dirtrees) renameSync(`${f}.orig`, f);
    }
  });
});
