// Resuming: a `xylem pull` killed with SIGKILL half-way (objects being fetched, a big object
// half-received) leaves no ref and no commit that looks complete; pulling again completes the
// tree, requests none of the objects the first run already stored, and continues the big object
// with a Range request from where the partial file stopped. Also the same pull under Bun and Deno.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, TempDir, buildCli, describeInterop, disposeCli, ok, ostree, ostreeFsck } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { countingServer, makeOstreeArchive, runAsync, type CountingServer } from './helpers.ts';
import { startTrivialHttpd, type RunningHttpd } from '../../tools/httpd/server.ts';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Objects present in a repo, as server paths (/objects/XX/REST.ext, archive naming). */
function storedObjects(repo: string): Set<string> {
  const out = new Set<string>();
  const objs = join(repo, 'objects');
  for (const d of readdirSync(objs))
    for (const f of readdirSync(join(objs, d))) out.add(`/objects/${d}/${f.replace(/\.file$/, '.filez')}`);
  return out;
}

describeInterop('pull resume after SIGKILL', () => {
  let tmp: TempDir;
  let src: { repo: string; head: string; parent: string };
  let cli: string;

  beforeAll(() => {
    tmp = new TempDir('xylem-pull-resume-');
    src = makeOstreeArchive(tmp.path, 400);
    cli = buildCli();
  }, 120_000);
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  }, 60_000);

  it('a killed pull resumes without re-requesting stored objects, continuing the big one with Range', async () => {
    const bigCsum = ok(ostree([`--repo=${src.repo}`, 'ls', '-C', 'main', '/big'])).trim().split(/\s+/)[4]!;
    const bigPath = `/objects/${bigCsum.slice(0, 2)}/${bigCsum.slice(2)}.filez`;
    // Slow server: every object waits a little; the big one trickles out in 64 KiB chunks.
    const inner = await startTrivialHttpd({ root: src.repo });
    const log: Array<{ path: string; range?: string }> = [];
    let bigSent = 0;
    const slow = http.createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      log.push({ path, range: req.headers.range });
      if (path === bigPath && !req.headers.range) {
        const data = readFileSync(join(src.repo, path));
        res.writeHead(200, { 'Content-Length': String(data.length) });
        const t = setInterval(() => {
          if (res.destroyed) return clearInterval(t);
          // Never more than 60 % in run 1: the kill must find it half-received however slow the machine.
          if (bigSent + 32768 > data.length * 0.6) return;
          const next = Math.min(bigSent + 32768, data.length);
          res.write(data.subarray(bigSent, next));
          bigSent = next;
          if (next === data.length) {
            clearInterval(t);
            res.end();
          }
        }, 50);
        res.on('close', () => clearInterval(t));
        return;
      }
      const delay = path.includes('/objects/') ? 15 : 0;
      setTimeout(() => {
        const up = http.request(`${inner.url}${req.url}`, { headers: req.headers }, (u) => {
          res.writeHead(u.statusCode ?? 502, u.headers);
          u.pipe(res);
        });
        up.on('error', () => res.destroy());
        up.end();
      }, delay);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    try {
      const dest = tmp.join('dest');
      ok(ostree(['init', `--repo=${dest}`, '--mode=bare-user']));
      ok(ostree([`--repo=${dest}`, 'remote', 'add', '--no-gpg-verify', 'origin', url]));

      // Run 1: kill -9 once the big object is a third in and many small objects are done.
      const child = spawn(process.execPath, [cli, `--repo=${dest}`, 'pull', '--depth=-1', 'origin', 'main'], { stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.on('exit', (_c, sig) => r(sig === 'SIGKILL' ? 137 : _c)));
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        const smallDone = log.filter((e) => e.path.endsWith('.filez')).length;
        if (bigSent > 500_000 && smallDone > 150) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      // Give the pull a moment to publish a batch of what it received, then kill it.
      await new Promise((r) => setTimeout(r, 1000));
      child.kill('SIGKILL');
      expect(await exited).toBe(137);
      expect(bigSent).toBeLessThan(readFileSync(join(src.repo, bigPath)).length);

      expect(existsSync(join(dest, 'refs/remotes/origin/main'))).toBe(false);
      const stored = storedObjects(dest);
      const partialFile = join(dest, 'tmp/xylem-pull-partial', `${bigCsum}.filez`);
      const partialSize = existsSync(partialFile) ? statSync(partialFile).size : 0;
      expect(stored.size).toBeGreaterThan(50);
      expect(partialSize).toBeGreaterThan(0);
      // Every commit stored is either marked partial or complete for real (fsck by ostree agrees).
      ostreeFsck(dest);

      // Run 2: completes; asks for nothing it stored already; resumes the big object.
      const mark = log.length;
      const r = await runAsync(process.execPath, [cli, `--repo=${dest}`, 'pull', '--depth=-1', 'origin', 'main']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const second = log.slice(mark);
      const again = second.filter((e) => e.path.includes('/objects/') && stored.has(e.path) && !e.path.endsWith('.commitmeta'));
      expect(again).toEqual([]);
      const bigReqs = second.filter((e) => e.path === bigPath);
      expect(bigReqs).toEqual([{ path: bigPath, range: `bytes=${partialSize}-` }]);
      expect(readFileSync(join(dest, 'refs/remotes/origin/main'), 'utf8')).toBe(`${src.head}\n`);
      expect(readdirSync(join(dest, 'state')).filter((f) => f.endsWith('.commitpartial'))).toEqual([]);
      expect(existsSync(partialFile)).toBe(false);
      ostreeFsck(dest);
      expect(ok(ostree([`--repo=${dest}`, 'ls', '-R', '-C', 'origin:main']))).toBe(ok(ostree([`--repo=${src.repo}`, 'ls', '-R', '-C', 'main'])));
    } finally {
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
      await inner.close();
    }
  }, 120_000);

  for (const runtime of ['bun', 'deno'] as const) {
    const bin = join(ROOT, 'node_modules/.bin', runtime);
    it.skipIf(missing(`pull resume under ${runtime}`, { [`${runtime} (npm ci)`]: existsSync(bin) }))(`the same pull under ${runtime}`, async () => {
      let server: CountingServer | RunningHttpd | null = null;
      try {
        server = await countingServer(src.repo);
        const dest = tmp.join(`dest-${runtime}`);
        ok(ostree(['init', `--repo=${dest}`, '--mode=archive']));
        ok(ostree([`--repo=${dest}`, 'remote', 'add', '--no-gpg-verify', 'origin', server.url]));
        const args = runtime === 'deno' ? ['run', '-A', cli] : [cli];
        const r = await runAsync(bin, [...args, `--repo=${dest}`, 'pull', '--depth=-1', 'origin', 'main']);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/metadata, [1-9]\d* content objects fetched/);
        ostreeFsck(dest);
        expect(ok(ostree([`--repo=${dest}`, 'ls', '-R', '-C', 'origin:main']))).toBe(ok(ostree([`--repo=${src.repo}`, 'ls', '-R', '-C', 'main'])));
        writeFileSync(tmp.join(`${runtime}.ok`), '');
      } finally {
        await server?.close();
      }
    }, 120_000);
  }
});
