// Plumbing for the pull tests: an archive repo written by the real ostree, async runs of the CLIs
// (the test process serves HTTP at the same time, so spawnSync would deadlock), and servers on
// 127.0.0.1 that count requests or misbehave on purpose.

import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { OSTREE, ok, ostree, type RunResult } from '../helpers/interop.ts';
import { startTrivialHttpd, type RunningHttpd, type TrivialHttpdOptions } from '../../tools/httpd/server.ts';
import type { Host } from '../../src/host.ts';
import { Repo } from '../../src/repo/repo.ts';
import { addRemote } from '../../src/remote/config.ts';
import { pull } from '../../src/pull/pull.ts';

/** Runs a command without blocking the event loop. */
export function runAsync(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...opts.env };
    delete env.OSTREE_REPO;
    const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
}

export function ostreeAsync(args: string[], cwd?: string): Promise<RunResult> {
  if (!OSTREE) throw new Error('ostree is not installed');
  return runAsync(OSTREE, args, { cwd });
}

/** Deterministic pseudo-random bytes. */
export function prng(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * A source tree for `ostree commit`: nested dirs, a symlink, an executable, empty file, a 2 MB
 * incompressible file and `nSmall` small files.
 */
export function makeTree(dir: string, nSmall = 40, seed = 1): void {
  mkdirSync(join(dir, 'baz/deeper'), { recursive: true });
  mkdirSync(join(dir, 'baz/another'), { recursive: true });
  mkdirSync(join(dir, 'many'), { recursive: true });
  writeFileSync(join(dir, 'firstfile'), 'first\n');
  writeFileSync(join(dir, 'baz/cow'), 'moo\n');
  writeFileSync(join(dir, 'baz/deeper/ohyeah'), 'hi\n');
  writeFileSync(join(dir, 'baz/another/y'), 'x\n');
  writeFileSync(join(dir, 'empty'), '');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  symlinkSync('firstfile', join(dir, 'link'));
  writeFileSync(join(dir, 'big'), prng(2 * 1024 * 1024 + 17, seed));
  for (let i = 0; i < nSmall; i++) writeFileSync(join(dir, 'many', `f${i}`), `small file ${i} seed ${seed}\n`);
}

/** An archive repo made by the real ostree with two commits on `main` and a summary. */
export function makeOstreeArchive(root: string, nSmall = 40): { repo: string; head: string; parent: string } {
  const repo = join(root, 'srv');
  const tree = join(root, 'tree');
  ok(ostree(['init', `--repo=${repo}`, '--mode=archive']));
  makeTree(tree, nSmall, 1);
  const parent = ok(ostree([`--repo=${repo}`, 'commit', '-b', 'main', '-s', 'one', '--add-metadata-string=version=1.0', `--tree=dir=${tree}`])).trim();
  writeFileSync(join(tree, 'baz/cow'), 'moo moo\n');
  writeFileSync(join(tree, 'added'), 'added in two\n');
  const head = ok(ostree([`--repo=${repo}`, 'commit', '-b', 'main', '-s', 'two', `--tree=dir=${tree}`])).trim();
  ok(ostree([`--repo=${repo}`, 'summary', '-u']));
  return { repo, head, parent };
}

export interface CountingServer extends RunningHttpd {
  /** Request paths in arrival order, with their Range headers. */
  log: Array<{ path: string; range: string | undefined }>;
  countOf(pathPart: string): number;
}

/** The trivial httpd serving `root`, recording every request. */
export async function countingServer(root: string, extra: Partial<TrivialHttpdOptions> = {}): Promise<CountingServer> {
  const log: CountingServer['log'] = [];
  const s = await startTrivialHttpd({
    root,
    ...extra,
    onRequest: (req) => {
      log.push({ path: new URL(req.url ?? '/', 'http://x').pathname, range: req.headers.range });
      extra.onRequest?.(req);
    },
  });
  return Object.assign(s, { log, countOf: (p: string) => log.filter((e) => e.path.includes(p)).length });
}

/**
 * A server that forwards to `inner` (a trivial httpd) unless `intercept` answers the request
 * itself (returns true). Lets a test break one kind of request.
 */
export async function hostileServer(
  inner: RunningHttpd,
  intercept: (req: http.IncomingMessage, res: http.ServerResponse, path: string) => boolean | Promise<boolean>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (await intercept(req, res, path)) return;
    const proxied = http.request(`${inner.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    proxied.on('error', () => res.destroy());
    proxied.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The `.filez` paths (under the repo root) of the content objects new in `head`, not in `parent`. */
export function newFilezPaths(repo: string, parent: string, head: string): string[] {
  const list = (rev: string) =>
    new Set(
      ok(ostree([`--repo=${repo}`, 'ls', '-R', '-C', rev]))
        .split('\n')
        .filter((l) => l.startsWith('-'))
        .map((l) => l.split(/\s+/)[4]!),
    );
  const old = list(parent);
  return [...list(head)].filter((c) => !old.has(c)).map((c) => `/objects/${c.slice(0, 2)}/${c.slice(2)}.filez`);
}

/**
 * A new repo at `path` whose remote `origin` already holds `main` at `parent` (pulled from
 * `goodUrl`), then re-pointed at `url` — so a test can see that a refused pull left the ref alone.
 */
export async function repoAtParent(host: Host, path: string, goodUrl: string, parent: string, url: string, mode: 'archive' | 'bare-user' = 'bare-user'): Promise<Repo> {
  const repo = await Repo.init(host, path, { mode });
  await addRemote(repo, 'origin', goodUrl, { options: [['gpg-verify', 'false']] });
  await pull(repo, 'origin', { refs: [`main@${parent}`] });
  await addRemote(repo, 'origin', url, { force: true, options: [['gpg-verify', 'false']] });
  return repo;
}

/** Where the remote ref `origin:main` of `repo` points. */
export const originMainOf = (repo: Repo): string => readFileSync(join(repo.path, 'refs/remotes/origin/main'), 'utf8').trim();
