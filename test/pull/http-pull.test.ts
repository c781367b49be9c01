// HTTP pulls against the real ostree: pulling an archive repo written by `ostree` (served by our
// trivial httpd) into xylem bare-user and archive repos must give trees `ostree ls -R -C` sees as
// equal and that `ostree fsck` finds clean; `ostree pull` from a xylem-written archive repo must
// work too; the CLI prints ostree's final line.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TempDir, buildCli, disposeCli, describeInterop, ok, ostree, ostreeFsck } from '../helpers/interop.ts';
import { countingServer, makeOstreeArchive, ostreeAsync, runAsync, type CountingServer } from './helpers.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { addRemote } from '../../src/remote/config.ts';
import { pull } from '../../src/pull/pull.ts';
import type { PullProgress } from '../../src/pull/progress.ts';

const host = createNodeHost();

describeInterop('pull over HTTP (vs ostree)', () => {
  let tmp: TempDir;
  let src: { repo: string; head: string; parent: string };
  let server: CountingServer;
  let cli: string;

  beforeAll(async () => {
    tmp = new TempDir('xylem-pull-');
    src = makeOstreeArchive(tmp.path);
    server = await countingServer(src.repo);
    cli = buildCli();
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    tmp?.cleanup();
    disposeCli();
  }, 60_000);

  async function newRepo(name: string, mode: 'archive' | 'bare-user', url = server.url): Promise<Repo> {
    const repo = await Repo.init(host, tmp.join(name), { mode });
    await addRemote(repo, 'origin', url, { options: [['gpg-verify', 'false']] });
    return repo;
  }

  const lsTree = (repo: string, rev: string) => ok(ostree([`--repo=${repo}`, 'ls', '-R', '-C', rev]));

  for (const mode of ['bare-user', 'archive'] as const) {
    it(`pulls an ostree archive repo into ${mode} with full history; ostree agrees`, async () => {
      const repo = await newRepo(`into-${mode}`, mode);
      const events: PullProgress[] = [];
      const res = await pull(repo, 'origin', { refs: ['main'], depth: -1, onProgress: (p) => events.push({ ...p }) });
      expect(res.refs).toEqual([{ remote: 'origin', ref: 'main', checksum: src.head, previous: null }]);
      expect(readFileSync(join(repo.path, 'refs/remotes/origin/main'), 'utf8')).toBe(`${src.head}\n`);
      ostreeFsck(repo.path);
      expect(lsTree(repo.path, 'origin:main')).toBe(lsTree(src.repo, 'main'));
      expect(lsTree(repo.path, src.parent)).toBe(lsTree(src.repo, src.parent));
      expect(readdirSync(join(repo.path, 'state')).filter((f) => f.endsWith('.commitpartial'))).toEqual([]);
      // ostree's counters: everything requested was fetched, and the final event carries the status.
      const last = events[events.length - 1]!;
      expect(last.phase).toBe('done');
      expect(last.fetched).toBe(last.requested);
      expect(last.metadataFetched + last.contentFetched).toBe(last.fetched);
      expect(res.status).toMatch(/^\d+ metadata, \d+ content objects fetched; \d+ KiB transferred in \d+ seconds; [\d.]+\u00a0(MB|kB) content written$/);
    });
  }

  it('a second pull fetches no object; a changed ref fetches only the new objects', async () => {
    const repo = await newRepo('again', 'bare-user');
    await pull(repo, 'origin', { refs: [`main@${src.parent}`] });
    expect(readFileSync(join(repo.path, 'refs/remotes/origin/main'), 'utf8')).toBe(`${src.parent}\n`);
    const before = server.log.length;
    const r1 = await pull(repo, 'origin', { refs: [`main@${src.parent}`] });
    expect(server.log.slice(before).filter((e) => e.path.includes('/objects/') && !e.path.endsWith('.commitmeta'))).toEqual([]);
    // As the real ostree 2022.7: the delta index and the detached-metadata attempt count as fetched.
    expect(r1.status).toMatch(/^2 metadata, 0 content objects fetched/);
    const mark = server.log.length;
    const r2 = await pull(repo, 'origin', { refs: ['main'] });
    const fetched = server.log.slice(mark).filter((e) => e.path.endsWith('.filez')).map((e) => e.path);
    // Only the two changed files (baz/cow, added) are new content.
    expect(fetched.length).toBe(2);
    expect(r2.progress.contentFetched).toBe(2);
    ostreeFsck(repo.path);
    expect(lsTree(repo.path, 'origin:main')).toBe(lsTree(src.repo, 'main'));
  });

  it('--dry-run writes nothing and predicts exactly what the real pull fetches', async () => {
    const repo = await newRepo('dry', 'bare-user');
    await pull(repo, 'origin', { refs: [`main@${src.parent}`] });
    const objectsBefore = readdirSync(join(repo.path, 'objects'), { recursive: true }).length;
    const dry = await pull(repo, 'origin', { refs: ['main'], dryRun: true });
    expect(readdirSync(join(repo.path, 'objects'), { recursive: true }).length).toBe(objectsBefore);
    expect(readFileSync(join(repo.path, 'refs/remotes/origin/main'), 'utf8')).toBe(`${src.parent}\n`);
    const mark = server.log.length;
    await pull(repo, 'origin', { refs: ['main'] });
    const got = server.log.slice(mark).map((e) => e.path);
    const meta = got.filter((p) => /\.(commit|dirtree|dirmeta)$/.test(p));
    const filez = got.filter((p) => p.endsWith('.filez'));
    const size = (p: string) => readFileSync(join(src.repo, p)).length;
    expect(dry.estimate).toEqual({
      metadataObjects: meta.length,
      metadataBytes: meta.reduce((a, p) => a + size(p), 0),
      contentObjects: filez.length,
      contentBytes: filez.reduce((a, p) => a + size(p), 0),
      unknownSizes: 0,
    });
    expect(dry.status).toMatch(/^main: [0-9a-f]{64}\nWould fetch \d+ metadata objects \([\d.]+[ \u00a0](bytes|kB)\) and 2 content objects/);
  });

  it('--commit-metadata-only leaves the commit partial; --subpath pulls only that path', async () => {
    const repo = await newRepo('partial', 'archive');
    await pull(repo, 'origin', { refs: ['main'], commitMetadataOnly: true });
    expect(existsSync(join(repo.path, 'state', `${src.head}.commitpartial`))).toBe(true);
    await pull(repo, 'origin', { refs: ['main'], subpaths: ['/baz/deeper'] });
    expect(existsSync(join(repo.path, 'state', `${src.head}.commitpartial`))).toBe(true);
    expect(ok(ostree([`--repo=${repo.path}`, 'ls', 'origin:main', '/baz/deeper']))).toContain('ohyeah');
    expect(ostree([`--repo=${repo.path}`, 'cat', 'origin:main', '/firstfile']).status).not.toBe(0);
    await pull(repo, 'origin', { refs: ['main'] });
    expect(existsSync(join(repo.path, 'state', `${src.head}.commitpartial`))).toBe(false);
    ostreeFsck(repo.path);
  });

  it('the CLI prints ostree final line; --mirror writes refs/heads and copies the summary', async () => {
    const repo = await newRepo('cli', 'archive');
    const r = await runAsync(process.execPath, [cli, `--repo=${repo.path}`, 'pull', '--mirror', 'origin']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^[1-9]\d* metadata, [1-9]\d* content objects fetched; \d+ KiB transferred in \d+ seconds; [\d.]+\u00a0MB content written\n$/);
    expect(readFileSync(join(repo.path, 'refs/heads/main'), 'utf8')).toBe(`${src.head}\n`);
    expect(readFileSync(join(repo.path, 'summary'))).toEqual(readFileSync(join(src.repo, 'summary')));
    ostreeFsck(repo.path);
    // --json: NDJSON with ostree's counter names, ending with the result.
    const j = await runAsync(process.execPath, [cli, `--repo=${repo.path}`, 'pull', '--json', 'origin', 'main']);
    expect(j.status).toBe(0);
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[lines.length - 1]!.event).toBe('done');
    expect(lines.some((l) => l.event === 'progress' && 'outstanding-fetches' in l && 'bytes-transferred' in l)).toBe(true);
  });

  it('counts like ostree: the final line agrees with the real ostree pull (timing aside)', async () => {
    const norm = (line: string) => line.trim().replace(/; \d+ (KiB|B) transferred in \d+ seconds/, '');
    const lines: string[] = [];
    for (const t of ['ostree', 'xylem'] as const) {
      const dest = tmp.join(`count-${t}`);
      ok(ostree(['init', `--repo=${dest}`, '--mode=bare-user']));
      ok(ostree([`--repo=${dest}`, 'remote', 'add', '--no-gpg-verify', 'origin', server.url]));
      for (const rev of [`main@${src.parent}`, 'main']) {
        const r = t === 'ostree' ? await ostreeAsync([`--repo=${dest}`, 'pull', 'origin', rev]) : await runAsync(process.execPath, [cli, `--repo=${dest}`, 'pull', 'origin', rev]);
        expect(r.status).toBe(0);
        lines.push(norm(r.stdout));
      }
    }
    expect(lines[2]).toBe(lines[0]);
    expect(lines[3]).toBe(lines[1]);
    expect(lines[1]).toMatch(/^\d+ metadata, 2 content objects fetched; \d+ bytes content written$/);
  });

  it('ostree pulls from a xylem-written archive repo served by xylem trivial-httpd', async () => {
    // xylem mirrors the ostree repo (its own .filez writes), then serves it.
    const mirror = await newRepo('xylem-srv', 'archive');
    await pull(mirror, 'origin', { refs: ['main'], depth: -1, mirror: true });
    const portFile = tmp.join('xylem-httpd-port');
    const d = await runAsync(process.execPath, [cli, 'trivial-httpd', '--daemonize', '--autoexit', '-p', portFile, mirror.path]);
    expect(d.status).toBe(0);
    const port = readFileSync(portFile, 'utf8').trim();
    expect(port).toMatch(/^\d+$/);
    const dest = tmp.join('ostree-client');
    ok(ostree(['init', `--repo=${dest}`, '--mode=bare-user']));
    ok(ostree([`--repo=${dest}`, 'remote', 'add', '--no-gpg-verify', 'x', `http://127.0.0.1:${port}`]));
    const r = await ostreeAsync([`--repo=${dest}`, 'pull', '--depth=-1', 'x', 'main']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    ostreeFsck(dest);
    expect(lsTree(dest, 'x:main')).toBe(lsTree(src.repo, 'main'));
    expect(lsTree(dest, src.parent)).toBe(lsTree(src.repo, src.parent));
    // --autoexit: the daemon goes away with its directory (checked by the port refusing).
    ok(ostree([`--repo=${mirror.path}`, 'fsck']));
  }, 60_000);

  it('file:// remotes are imported from the local repository', async () => {
    const repo = await newRepo('file', 'bare-user', `file://${src.repo}`);
    const res = await pull(repo, 'origin', { refs: ['main'] });
    expect(res.status).toMatch(/^\d+ metadata, \d+ content objects imported; [\d.]+\u00a0MB content written$/);
    ostreeFsck(repo.path);
    expect(lsTree(repo.path, 'origin:main')).toBe(lsTree(src.repo, 'main'));
  });
});
