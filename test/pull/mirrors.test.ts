// Mirrors over real HTTP on 127.0.0.1: a mirrorlist naming a dead port, a broken mirror (serves
// /config, answers 503 for objects and 500 for the rest) and a good one; pulls through
// url=mirrorlist=, contenturl=mirrorlist= and metalink= remotes fail over per request and give the
// commit the real ostree pulls from the same servers (and `ostree fsck` passes); `remote refs`
// agrees with ostree's. The fetcher's failover is also checked on its own.

import { afterAll, beforeAll, expect, it } from 'vitest';
import * as http from 'node:http';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { TempDir, describeInterop, ok, ostree, ostreeFsck } from '../helpers/interop.ts';
import { countingServer, makeOstreeArchive, ostreeAsync, type CountingServer } from './helpers.ts';
import { startTrivialHttpd, type RunningHttpd } from '../../tools/httpd/server.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { addRemote, listRemoteSummaryRefs } from '../../src/remote/config.ts';
import { pull } from '../../src/pull/pull.ts';
import { Fetcher } from '../../src/pull/fetcher.ts';

const host = createNodeHost();

interface BrokenMirror {
  url: string;
  log: string[];
  close(): Promise<void>;
}

/**
 * Serves /config and /mirrorlist; 503 for objects, 404 for refs, 500 for anything else — with empty
 * bodies, since libostree's curl fetcher keeps a failed mirror's body in front of the next one's.
 */
async function brokenMirror(configBytes: Uint8Array, mirrorlist: () => string): Promise<BrokenMirror> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    log.push(path);
    if (path === '/config') return void res.end(configBytes);
    if (path === '/mirrorlist') return void res.end(mirrorlist());
    res.statusCode = path.startsWith('/objects/') ? 503 : path.startsWith('/refs/') ? 404 : 500;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A 127.0.0.1 port nothing listens on (listened on, then closed). */
async function deadPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describeInterop('mirrors: mirrorlist and metalink remotes with failover (vs ostree)', () => {
  let tmp: TempDir;
  let src: { repo: string; head: string; parent: string };
  let good: CountingServer;
  let broken: BrokenMirror;
  let metaSrv: RunningHttpd;
  let dead: string;

  beforeAll(async () => {
    tmp = new TempDir('xylem-mirrors-');
    src = makeOstreeArchive(tmp.path, 10);
    good = await countingServer(src.repo);
    dead = `http://127.0.0.1:${await deadPort()}`;
    broken = await brokenMirror(readFileSync(join(src.repo, 'config')), () => `# mirrors\n\n${dead}/repo\n${broken.url}\n${good.url}\n`);
    // The metalink: its first target answers 500, its second is the summary.
    const summary = readFileSync(join(src.repo, 'summary'));
    mkdirSync(tmp.join('meta'));
    writeFileSync(
      tmp.join('meta', 'metalink.xml'),
      `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
  <files>
    <file name="summary">
      <size>${summary.length}</size>
      <verification>
        <hash type="sha256">${createHash('sha256').update(summary).digest('hex')}</hash>
        <hash type="sha512">${createHash('sha512').update(summary).digest('hex')}</hash>
      </verification>
      <resources maxconnections="1">
        <url protocol="http" type="http" location="US" preference="100">${broken.url}/summary</url>
        <url protocol="http" type="http" location="US" preference="90">${good.url}/summary</url>
      </resources>
    </file>
  </files>
</metalink>
`,
    );
    metaSrv = await startTrivialHttpd({ root: tmp.join('meta') });
  }, 120_000);
  afterAll(async () => {
    await good?.close();
    await broken?.close();
    await metaSrv?.close();
    tmp?.cleanup();
  }, 60_000);

  /** Pulls main with xylem (in process) and the real ostree into fresh repos set up alike. */
  async function pullBoth(name: string, url: string, options: Array<[string, string]> = []) {
    const x = await Repo.init(host, tmp.join(`${name}-x`), { mode: 'bare-user' });
    await addRemote(x, 'origin', url, { options: [['gpg-verify', 'false'], ...options] });
    const o = tmp.join(`${name}-o`);
    ok(ostree(['init', `--repo=${o}`, '--mode=bare-user']));
    ok(ostree([`--repo=${o}`, 'remote', 'add', '--set=gpg-verify=false', ...options.map(([k, v]) => `--set=${k}=${v}`), 'origin', url]));
    const brokenBefore = broken.log.length;
    const res = await pull(x, 'origin', { refs: ['main'], networkRetries: 1 });
    const brokenAsked = broken.log.slice(brokenBefore);
    ok(await ostreeAsync([`--repo=${o}`, 'pull', 'origin', 'main']), 'ostree pull');
    return { x, o, res, brokenAsked };
  }

  it('url=mirrorlist=: skips the dead mirror, fails over from the broken one per request; ostree agrees', async () => {
    const goodBefore = good.log.length;
    const { x, o, res, brokenAsked } = await pullBoth('list', `mirrorlist=${broken.url}/mirrorlist`);
    expect(res.refs[0]!.checksum).toBe(src.head);
    expect(ok(ostree([`--repo=${o}`, 'rev-parse', 'origin:main'])).trim()).toBe(src.head);
    expect(ok(ostree([`--repo=${x.path}`, 'ls', '-R', 'origin:main']))).toBe(ok(ostree([`--repo=${o}`, 'ls', '-R', 'origin:main'])));
    ostreeFsck(x.path);
    // Every object was asked of the broken mirror first, then fetched from the good one.
    const brokenObjects = new Set(brokenAsked.filter((p) => p.startsWith('/objects/')));
    expect(brokenObjects.size).toBeGreaterThan(5);
    const goodObjects = new Set(good.log.slice(goodBefore).map((e) => e.path).filter((p) => p.startsWith('/objects/')));
    for (const p of brokenObjects) if (!p.endsWith('.commitmeta')) expect(goodObjects.has(p), p).toBe(true);
    expect(brokenAsked).toContain('/summary');
  }, 120_000);

  it('contenturl=mirrorlist= with a plain url: metadata from the url, objects through the mirrors', async () => {
    const { x, res, brokenAsked } = await pullBoth('content', good.url, [['contenturl', `mirrorlist=${broken.url}/mirrorlist`]]);
    expect(res.refs[0]!.checksum).toBe(src.head);
    ostreeFsck(x.path);
    expect(brokenAsked.some((p) => p.startsWith('/objects/'))).toBe(true);
    expect(brokenAsked).not.toContain('/summary');
  }, 120_000);

  it('metalink=: the summary comes from the first target that matches (past a failing one); ostree agrees', async () => {
    const { x, o, res } = await pullBoth('metalink', `metalink=${metaSrv.url}/metalink.xml`);
    expect(res.refs[0]!.checksum).toBe(src.head);
    expect(ok(ostree([`--repo=${o}`, 'rev-parse', 'origin:main'])).trim()).toBe(src.head);
    ostreeFsck(x.path);
  }, 120_000);

  it('remote refs through a mirrorlist and a metalink lists what ostree lists', async () => {
    for (const [name, url] of [
      ['refs-list', `mirrorlist=${broken.url}/mirrorlist`],
      ['refs-metalink', `metalink=${metaSrv.url}/metalink.xml`],
    ] as const) {
      const x = await Repo.init(host, tmp.join(`${name}-x`), { mode: 'archive' });
      await addRemote(x, 'origin', url, { options: [['gpg-verify', 'false']] });
      const mine = [...(await listRemoteSummaryRefs(x, 'origin')).keys()].map((r) => `origin:${r}\n`).join('');
      const o = tmp.join(`${name}-o`);
      ok(ostree(['init', `--repo=${o}`, '--mode=archive']));
      ok(ostree([`--repo=${o}`, 'remote', 'add', '--set=gpg-verify=false', 'origin', url]));
      const theirs = ok(await ostreeAsync([`--repo=${o}`, 'remote', 'refs', 'origin']), 'ostree remote refs');
      expect(mine).toBe(theirs);
      expect(mine).toBe('origin:main\n');
    }
  }, 120_000);

  it('a metalink whose every target is wrong fails as ostree does', async () => {
    writeFileSync(tmp.join('meta', 'wrong.xml'), readFileSync(tmp.join('meta', 'metalink.xml'), 'utf8').replace(/<size>\d+</, '<size>7<'));
    const x = await Repo.init(host, tmp.join('wrong-x'), { mode: 'bare-user' });
    await addRemote(x, 'origin', `metalink=${metaSrv.url}/wrong.xml`, { options: [['gpg-verify', 'false']] });
    await expect(pull(x, 'origin', { refs: ['main'], networkRetries: 1 })).rejects.toThrow(/^Exhausted 2 metalink targets, last error: Expected size is 7 bytes but content is \d+ bytes$/);
    const o = tmp.join('wrong-o');
    ok(ostree(['init', `--repo=${o}`, '--mode=bare-user']));
    ok(ostree([`--repo=${o}`, 'remote', 'add', '--set=gpg-verify=false', 'origin', `metalink=${metaSrv.url}/wrong.xml`]));
    const r = await ostreeAsync([`--repo=${o}`, 'pull', 'origin', 'main']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Exhausted 2 metalink targets, last error: Expected size is 7 bytes but content is \d+ bytes/);
  }, 120_000);

  it('the fetcher tries each mirror per request, quickly past dead ones, and answers 404 only when all do', async () => {
    const sleeps: number[] = [];
    const fetcher = (...mirrors: string[]) => {
      const f = new Fetcher({ http: host.http, fetch: host.fetch, retries: 2, backoffMs: 1, sleep: async (ms) => void sleeps.push(ms) });
      f.useMirrors(mirrors);
      return f;
    };
    const f = fetcher(`${dead}/`, broken.url, good.url);
    const config = await f.get({ url: `${dead}/config` });
    expect(new TextDecoder().decode(config!)).toBe(readFileSync(join(src.repo, 'config'), 'utf8'));
    const ref = await f.get({ url: `${dead}/refs/heads/main` });
    expect(new TextDecoder().decode(ref!).trim()).toBe(src.head);
    expect(await f.size(`${dead}/summary`)).toBe(readFileSync(join(src.repo, 'summary')).length);
    expect(sleeps).toEqual([]);
    // When no mirror has it: absent if one says 404 (an optional file)...
    const g = fetcher(broken.url, good.url);
    expect(await g.get({ url: `${broken.url}/refs/heads/nosuch`, optional: true })).toBeNull();
    expect(await g.get({ url: `${broken.url}/objects/00/none.commitmeta`, optional: true })).toBeNull();
    await expect(g.get({ url: `${broken.url}/refs/heads/nosuch` })).rejects.toThrow(`While fetching ${good.url}/refs/heads/nosuch: Server returned HTTP 404`);
    expect(sleeps).toEqual([]);
    // ...and retryable failures repeat the round with back-off, then the last one is thrown.
    const h = fetcher(broken.url, dead);
    await expect(h.get({ url: `${broken.url}/objects/00/none.commitmeta`, optional: true })).rejects.toThrow(`While fetching ${dead}/objects/00/none.commitmeta`);
    expect(sleeps).toEqual([1, 2]);
    // URLs outside a mirrored base are fetched as they are.
    await expect(g.get({ url: `${metaSrv.url}/metalink.xml` })).resolves.toBeInstanceOf(Uint8Array);
  }, 60_000);
});
