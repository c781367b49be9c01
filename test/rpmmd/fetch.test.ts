// Fetching rpm-md metadata over real HTTP on 127.0.0.1, counting requests: the first load fetches
// repomd.xml and each file once (the cached copies are byte-identical to the server's); a fresh
// cache makes no request; an expired one re-fetches repomd.xml and only the files whose checksum
// changed; metadata_expire=-1 never expires. Mirrors fail over (baseurl list, mirrorlist, metalink
// with its checksum); repo_gpgcheck verifies repomd.xml.asc made by gpg (a wrong key, a tampered
// repomd or a missing signature is refused); a corrupted file is refused and leaves nothing in the
// cache; hrefs escaping the repo (`../../etc/passwd`) and file:// xml:base are refused; packages
// download verified and are not fetched twice; skip_if_unavailable skips a dead repo.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { startTrivialHttpd, type RunningHttpd } from '../../tools/httpd/server.ts';
import { HAVE_CREATEREPO, HAVE_RPMBUILD, hasCommand } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { fetchPackage, loadRepoMetadata, loadRepos, makeRepoConfig, readPrimary, readUpdateinfo, type RepoConfig, type RpmmdPackage } from '../../src/rpmmd/index.ts';
import { XylemError } from '../../src/util/errors.ts';
import { GpgError } from '../../src/crypto/gpg.ts';
import { addUpdateinfo, buildFixtureRepo, copyRepo } from './fixtures.ts';

const host = createNodeHost();
const TOOLS = { rpmbuild: HAVE_RPMBUILD, createrepo_c: HAVE_CREATEREPO, gpg: hasCommand('gpg'), gzip: hasCommand('gzip'), modifyrepo_c: hasCommand('modifyrepo_c') };
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const FAST = { retries: 0, backoffMs: 1 };

interface Served extends RunningHttpd {
  log: string[];
  reset(): void;
}

async function serve(root: string, intercept?: (path: string, res: http.ServerResponse, req: http.IncomingMessage) => boolean): Promise<Served> {
  const log: string[] = [];
  let inner: RunningHttpd;
  if (!intercept) {
    inner = await startTrivialHttpd({ root, onRequest: (req) => void log.push(new URL(req.url ?? '/', 'http://x').pathname) });
    return Object.assign(inner, { log, reset: () => void (log.length = 0) });
  }
  inner = await startTrivialHttpd({ root });
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    log.push(path);
    if (intercept(path, res, req)) return;
    const up = http.request(`${inner.url}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    server,
    log,
    reset: () => void (log.length = 0),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await inner.close();
    },
  };
}

async function deadUrl(): Promise<string> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

/** Replaces one metadata file of `repo` with `bytes` (gzip) and rewrites repomd.xml to match. */
function replaceData(repo: string, type: string, bytes: Uint8Array): void {
  const repomdPath = join(repo, 'repodata', 'repomd.xml');
  let repomd = readFileSync(repomdPath, 'utf8');
  const block = new RegExp(`<data type="${type}">[\\s\\S]*?</data>`).exec(repomd)![0];
  const sum = sha256(bytes);
  const href = `repodata/${sum}-${type}.xml.gz`;
  writeFileSync(join(repo, href), bytes);
  repomd = repomd.replace(
    block,
    block
      .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${sum}</checksum>`)
      .replace(/<location href="[^"]+"/, `<location href="${href}"`)
      .replace(/<size>\d+<\/size>/, `<size>${bytes.length}</size>`),
  );
  writeFileSync(repomdPath, repomd);
}

function hrefOf(repo: string, type: string): string {
  const repomd = readFileSync(join(repo, 'repodata', 'repomd.xml'), 'utf8');
  return new RegExp(`<data type="${type}">[\\s\\S]*?<location href="([^"]+)"`).exec(repomd)![1]!;
}

async function errorOf(p: Promise<unknown>): Promise<XylemError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(XylemError);
  return e as XylemError;
}

describe.skipIf(missing('rpm-md fetching over HTTP', TOOLS))('rpm-md fetching, cache and expiry', () => {
  let tmp: string;
  let repo: string;
  let srv: Served;
  let cfg: RepoConfig;
  const T0 = 1_800_000_000_000;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'xylem-rpmmd-fetch-'));
    repo = buildFixtureRepo(join(tmp, 'srv'));
    addUpdateinfo(repo, tmp);
    srv = await serve(repo);
    cfg = makeRepoConfig({ id: 'fx', baseurl: [srv.url], metadataExpire: 3600 });
  }, 120_000);
  afterAll(async () => {
    await srv?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('first load fetches repomd.xml and each file once; the cache holds the server bytes', async () => {
    const cacheDir = join(tmp, 'c1');
    srv.reset();
    const md = await loadRepoMetadata(host, cfg, { cacheDir, now: T0 });
    expect(md.fromCache).toBe(false);
    expect(md.downloaded.sort()).toEqual(['filelists', 'other', 'primary', 'updateinfo']);
    expect(srv.log.sort()).toEqual(['/repodata/repomd.xml', ...['primary', 'filelists', 'other', 'updateinfo'].map((t) => `/${hrefOf(repo, t)}`)].sort());
    for (const [type, f] of md.files) {
      expect(sha256(readFileSync(f.path)), type).toBe(sha256(readFileSync(join(repo, hrefOf(repo, type)))));
      expect(f.path.startsWith(join(cacheDir, 'fx', 'repodata'))).toBe(true);
    }
    expect(readFileSync(join(cacheDir, 'fx', 'repodata', 'repomd.xml'))).toEqual(readFileSync(join(repo, 'repodata', 'repomd.xml')));
    const names: string[] = [];
    await readPrimary(host, md, (p) => void names.push(p.name));
    expect(names.sort()).toEqual(['alpha', 'beta', 'beta', 'delta', 'gamma']);
    const ids: string[] = [];
    await readUpdateinfo(host, md, (a) => void ids.push(`${a.id}:${a.type}:${a.collections[0]!.packages[0]!.name}`));
    expect(ids).toEqual(['XYLEM-2026-0001:security:alpha', 'XYLEM-2026-0002:bugfix:beta']);

    // Fresh: no request at all.
    srv.reset();
    const again = await loadRepoMetadata(host, cfg, { cacheDir, now: T0 + 3599_000 });
    expect(again.fromCache).toBe(true);
    expect(srv.log).toEqual([]);

    // Expired, nothing changed: repomd.xml only.
    srv.reset();
    const expired = await loadRepoMetadata(host, cfg, { cacheDir, now: T0 + 3600_000 });
    expect(expired.fromCache).toBe(false);
    expect(expired.downloaded).toEqual([]);
    expect(srv.log).toEqual(['/repodata/repomd.xml']);

    // A new repomd.xml where only other.xml changed: that file alone is fetched.
    const changed = copyRepo(repo, join(tmp, 'srv2'));
    const otherXml = execFileSync('gzip', ['-dc', join(changed, hrefOf(changed, 'other'))]);
    replaceData(changed, 'other', execFileSync('gzip', ['-c', '-1'], { input: otherXml }));
    const srv2 = await serve(changed);
    try {
      const cfg2 = { ...cfg, baseurl: [srv2.url] };
      // The configured URL changed: the cache counts as expired even though it is young.
      const md2 = await loadRepoMetadata(host, cfg2, { cacheDir, now: T0 + 3601_000 });
      expect(md2.downloaded).toEqual(['other']);
      expect(srv2.log).toEqual(['/repodata/repomd.xml', `/${hrefOf(changed, 'other')}`]);
      // The old other.xml is gone from the cache, the new one is there.
      const files = readdirSync(join(cacheDir, 'fx', 'repodata'));
      expect(files).toContain(hrefOf(changed, 'other').slice('repodata/'.length));
      expect(files).not.toContain(hrefOf(repo, 'other').slice('repodata/'.length));
      expect(files.filter((f) => f.startsWith('.'))).toEqual(['.lock'].filter((f) => files.includes(f)));
    } finally {
      await srv2.close();
    }
  }, 60_000);

  it('a load of fewer types keeps the other cached files', async () => {
    const cacheDir = join(tmp, 'c18');
    await loadRepoMetadata(host, cfg, { cacheDir, now: T0 });
    srv.reset();
    const some = await loadRepoMetadata(host, cfg, { cacheDir, now: T0 + 3600_000, types: ['primary'] });
    expect([...some.files.keys()]).toEqual(['primary']);
    expect(srv.log).toEqual(['/repodata/repomd.xml']);
    srv.reset();
    const all = await loadRepoMetadata(host, cfg, { cacheDir, now: T0 + 3601_000 });
    expect(all.fromCache).toBe(true);
    expect(all.files.size).toBe(4);
    expect(srv.log).toEqual([]);
  });

  it('metadata_expire=-1 never expires; refresh forces a fetch', async () => {
    const cacheDir = join(tmp, 'c2');
    const never = { ...cfg, metadataExpire: -1 };
    await loadRepoMetadata(host, never, { cacheDir, now: T0 });
    srv.reset();
    expect((await loadRepoMetadata(host, never, { cacheDir, now: T0 + 10 * 365 * 86400_000 })).fromCache).toBe(true);
    expect(srv.log).toEqual([]);
    await loadRepoMetadata(host, never, { cacheDir, now: T0, refresh: true });
    expect(srv.log).toEqual(['/repodata/repomd.xml']);
  });

  it('fails over from a dead mirror (baseurl list and mirrorlist)', async () => {
    const dead = await deadUrl();
    const md = await loadRepoMetadata(host, makeRepoConfig({ id: 'mirrored', baseurl: [dead, srv.url] }), { cacheDir: join(tmp, 'c3'), fetcherOptions: FAST });
    expect(md.downloaded).toContain('primary');
    const listDir = join(tmp, 'lists');
    mkdirSync(listDir, { recursive: true });
    writeFileSync(join(listDir, 'mirrorlist'), `# mirrors\n${dead}\n\n${srv.url}\n`);
    const lists = await serve(listDir);
    try {
      const md2 = await loadRepoMetadata(host, makeRepoConfig({ id: 'listed', mirrorlist: `${lists.url}/mirrorlist` }), { cacheDir: join(tmp, 'c4'), fetcherOptions: FAST });
      expect(md2.baseUrls).toEqual([dead, srv.url]);
      expect(md2.files.size).toBe(4);
    } finally {
      await lists.close();
    }
  });

  it('takes repomd.xml from a metalink only when its checksum matches', async () => {
    const repomd = readFileSync(join(repo, 'repodata', 'repomd.xml'));
    const metalink = (hash: string) => `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" type="dynamic">
 <files>
  <file name="repomd.xml">
   <size>${repomd.length}</size>
   <verification><hash type="sha256">${hash}</hash></verification>
   <resources maxconnections="1">
    <url protocol="http" type="http" location="XX" preference="100">${srv.url}/repodata/repomd.xml</url>
   </resources>
  </file>
 </files>
</metalink>
`;
    const dir = join(tmp, 'ml');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'good'), metalink(sha256(repomd)));
    writeFileSync(join(dir, 'bad'), metalink('0'.repeat(64)));
    const ml = await serve(dir);
    try {
      const md = await loadRepoMetadata(host, makeRepoConfig({ id: 'ml', metalink: `${ml.url}/good` }), { cacheDir: join(tmp, 'c5'), fetcherOptions: FAST });
      expect(md.baseUrls).toEqual([srv.url]);
      expect(md.files.get('primary')).toBeDefined();
      // A mirrorlist= that serves a metalink is read as one (dnf does the same), fetched once.
      ml.reset();
      const viaList = await loadRepoMetadata(host, makeRepoConfig({ id: 'mllist', mirrorlist: `${ml.url}/good` }), { cacheDir: join(tmp, 'c5b'), fetcherOptions: FAST });
      expect(viaList.baseUrls).toEqual([srv.url]);
      expect(ml.log).toEqual(['/good']);
      const e = await errorOf(loadRepoMetadata(host, makeRepoConfig({ id: 'mlbad', metalink: `${ml.url}/bad` }), { cacheDir: join(tmp, 'c6'), fetcherOptions: FAST }));
      expect(e.message).toMatch(/Expected checksum/);
    } finally {
      await ml.close();
    }
  });

  it('repo_gpgcheck: repomd.xml.asc from gpg verifies; wrong key, tampering or no signature is refused', async () => {
    const signed = copyRepo(repo, join(tmp, 'signed'));
    const gnupg = join(tmp, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700, recursive: true });
    const genv = { ...process.env, GNUPGHOME: gnupg };
    const gpg = (args: string[]) => execFileSync('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env: genv, stdio: ['ignore', 'pipe', 'pipe'] });
    gpg(['--quick-gen-key', 'Repo Signer <repo@xylem.invalid>', 'ed25519', 'sign', 'never']);
    gpg(['--quick-gen-key', 'Other Signer <other@xylem.invalid>', 'ed25519', 'sign', 'never']);
    writeFileSync(join(tmp, 'repo.key'), gpg(['--armor', '--export', 'repo@xylem.invalid']));
    writeFileSync(join(tmp, 'other.key'), gpg(['--armor', '--export', 'other@xylem.invalid']));
    gpg(['--armor', '--detach-sign', '--local-user', 'repo@xylem.invalid', '--output', join(signed, 'repodata', 'repomd.xml.asc'), join(signed, 'repodata', 'repomd.xml')]);
    const s = await serve(signed);
    try {
      const good = makeRepoConfig({ id: 'signed', baseurl: [s.url], repoGpgcheck: true, gpgkey: [`file://${join(tmp, 'repo.key')}`] });
      const md = await loadRepoMetadata(host, good, { cacheDir: join(tmp, 'c7'), fetcherOptions: FAST });
      expect(md.files.size).toBe(4);
      expect(s.log).toContain('/repodata/repomd.xml.asc');

      const wrongKey = { ...good, id: 'wrongkey', gpgkey: [`file://${join(tmp, 'other.key')}`] };
      const e1 = await errorOf(loadRepoMetadata(host, wrongKey, { cacheDir: join(tmp, 'c8'), fetcherOptions: FAST }));
      expect(e1).toBeInstanceOf(GpgError);
      expect(e1.message).toMatch(/repo 'wrongkey': repomd.xml: GPG signature check failed/);
      expect(existsSync(join(tmp, 'c8', 'wrongkey', 'repodata', 'repomd.xml'))).toBe(false);

      writeFileSync(join(signed, 'repodata', 'repomd.xml'), readFileSync(join(signed, 'repodata', 'repomd.xml'), 'utf8').replace('<revision>', '<revision>9'));
      const e2 = await errorOf(loadRepoMetadata(host, { ...good, id: 'tampered' }, { cacheDir: join(tmp, 'c9'), fetcherOptions: FAST }));
      expect((e2 as GpgError).gpgCode).toBe('INVALID_SIGNATURE');

      rmSync(join(signed, 'repodata', 'repomd.xml.asc'));
      const e3 = await errorOf(loadRepoMetadata(host, { ...good, id: 'unsigned' }, { cacheDir: join(tmp, 'c10'), fetcherOptions: FAST }));
      expect((e3 as GpgError).gpgCode).toBe('NO_SIGNATURE');
    } finally {
      await s.close();
    }
  }, 60_000);

  it('refuses a file whose checksum does not match, leaving nothing in the cache', async () => {
    const primaryHref = `/${hrefOf(repo, 'primary')}`;
    const bad = await serve(repo, (path, res) => {
      if (path !== primaryHref) return false;
      const b = Buffer.from(readFileSync(join(repo, path)));
      b[b.length >> 1]! ^= 0x55;
      res.end(b);
      return true;
    });
    try {
      const cacheDir = join(tmp, 'c11');
      const e = await errorOf(loadRepoMetadata(host, makeRepoConfig({ id: 'corrupt', baseurl: [bad.url] }), { cacheDir, fetcherOptions: FAST }));
      expect(e.code).toBe('ECORRUPT');
      expect(e.message).toMatch(/repo 'corrupt': primary metadata: sha256 checksum is [0-9a-f]{64}, expected/);
      expect(readdirSync(join(cacheDir, 'corrupt', 'repodata')).filter((f) => f !== '.lock' && !f.endsWith('-filelists.xml.gz') && !f.endsWith('-other.xml.gz') && !f.endsWith('-updateinfo.xml.gz'))).toEqual([]);
      expect(existsSync(join(cacheDir, 'corrupt', 'repodata', 'repomd.xml'))).toBe(false);
    } finally {
      await bad.close();
    }
  });

  it('refuses hrefs that leave the repository, and file:// xml:base on an http repo', async () => {
    const evil = copyRepo(repo, join(tmp, 'evil'));
    const repomdPath = join(evil, 'repodata', 'repomd.xml');
    const orig = readFileSync(repomdPath, 'utf8');
    writeFileSync(repomdPath, orig.replace(/<location href="repodata\/([^"]+)-primary\.xml\.gz"/, '<location href="../../etc/passwd"'));
    const s = await serve(evil);
    try {
      const e = await errorOf(loadRepoMetadata(host, makeRepoConfig({ id: 'evil', baseurl: [s.url] }), { cacheDir: join(tmp, 'c12'), fetcherOptions: FAST }));
      expect(e.message).toMatch(/location href '\.\.\/\.\.\/etc\/passwd' escapes the repository/);
      writeFileSync(repomdPath, orig.replace(/<location href="(repodata\/[^"]+-primary\.xml\.gz)"/, '<location xml:base="file:///" href="$1"'));
      const e2 = await errorOf(loadRepoMetadata(host, makeRepoConfig({ id: 'evil2', baseurl: [s.url] }), { cacheDir: join(tmp, 'c13'), fetcherOptions: FAST }));
      expect(e2.message).toMatch(/xml:base 'file:\/\/\/' is not an http\(s\) URL/);
    } finally {
      await s.close();
    }
    expect(s.log.some((p) => p.includes('passwd'))).toBe(false);
  });

  it('downloads packages verified, once; refuses a package href escaping the repo', async () => {
    const cacheDir = join(tmp, 'c14');
    const md = await loadRepoMetadata(host, cfg, { cacheDir, now: T0 });
    const pkgs: RpmmdPackage[] = [];
    await readPrimary(host, md, (p) => void pkgs.push(p));
    const alpha = pkgs.find((p) => p.name === 'alpha')!;
    srv.reset();
    const path = await fetchPackage(host, md, alpha);
    expect(path).toBe(join(cacheDir, 'fx', 'packages', alpha.location.href));
    expect(sha256(readFileSync(path))).toBe(sha256(readFileSync(join(repo, alpha.location.href))));
    expect(execFileSync('rpm', ['-qp', '--qf', '%{NAME}-%{EPOCH}:%{VERSION}-%{RELEASE}', path], { encoding: 'utf8' })).toBe('alpha-2:1.2-3.fc40');
    expect(srv.log).toEqual([`/${alpha.location.href}`]);
    await fetchPackage(host, md, alpha);
    expect(srv.log).toHaveLength(1);
    const e = await errorOf(fetchPackage(host, md, { ...alpha, location: { href: '../../etc/passwd', base: null } }));
    expect(e.message).toMatch(/escapes the repository/);
    const e2 = await errorOf(fetchPackage(host, md, { ...alpha, location: { href: 'Packages/%2e%2e/%2e%2e/x.rpm', base: null } }));
    expect(e2.message).toMatch(/escapes the repository/);
    const bad = await errorOf(fetchPackage(host, md, { ...alpha, checksum: { type: 'sha256', value: '0'.repeat(64) } }, { destDir: join(tmp, 'pk') }));
    expect(bad.code).toBe('ECORRUPT');
    expect(readdirSync(join(tmp, 'pk'))).toEqual([]);
  });

  it('resumes a big file whose connection broke, with a Range request', async () => {
    const big = copyRepo(repo, join(tmp, 'big'));
    // ~3 MB of gzip that does not compress: big enough to go through a partial file.
    const noise = createHash('sha512');
    let text = '<otherdata packages="0">\n';
    for (let i = 0; i < 40_000; i++) text += `<!-- ${noise.update(String(i)).copy().digest('base64')} -->\n`;
    replaceData(big, 'other', execFileSync('gzip', ['-c', '-1'], { input: text + '</otherdata>\n', maxBuffer: 64 << 20 }));
    const href = `/${hrefOf(big, 'other')}`;
    const whole = readFileSync(join(big, href));
    expect(whole.length).toBeGreaterThan(2 * 1024 * 1024);
    const ranges: Array<string | undefined> = [];
    const flaky = await serve(big, (path, res, req) => {
      if (path !== href) return false;
      ranges.push(req.headers.range);
      if (ranges.length > 1) return false; // the retry goes to the real server (Range honoured)
      res.writeHead(200, { 'Content-Length': String(whole.length) });
      res.write(whole.subarray(0, 1_500_000), () => setTimeout(() => res.destroy(), 50));
      return true;
    });
    try {
      const md = await loadRepoMetadata(host, makeRepoConfig({ id: 'resume', baseurl: [flaky.url] }), { cacheDir: join(tmp, 'c17'), fetcherOptions: { retries: 2, backoffMs: 1 } });
      expect(ranges).toHaveLength(2);
      expect(ranges[0]).toBeUndefined();
      expect(ranges[1]).toMatch(/^bytes=\d+-$/);
      expect(Number(/\d+/.exec(ranges[1]!)![0])).toBeGreaterThan(0);
      expect(sha256(readFileSync(md.files.get('other')!.path))).toBe(sha256(whole));
      expect(readdirSync(join(tmp, 'c17', 'resume', 'repodata')).filter((f) => f.startsWith('.'))).toEqual([]);
    } finally {
      await flaky.close();
    }
  }, 60_000);

  it('skip_if_unavailable skips a dead repo; without it the error surfaces', async () => {
    const dead = await deadUrl();
    const repos = [makeRepoConfig({ id: 'good', baseurl: [srv.url] }), makeRepoConfig({ id: 'gone', baseurl: [dead], skipIfUnavailable: true }), makeRepoConfig({ id: 'off', baseurl: [dead], enabled: false })];
    const r = await loadRepos(host, repos, { cacheDir: join(tmp, 'c15'), fetcherOptions: FAST });
    expect(r.loaded.map((m) => m.repo.id)).toEqual(['good']);
    expect(r.skipped.map((s) => s.repo.id)).toEqual(['gone']);
    await errorOf(loadRepos(host, [makeRepoConfig({ id: 'gone', baseurl: [dead] })], { cacheDir: join(tmp, 'c16'), fetcherOptions: FAST }));
  });
});
