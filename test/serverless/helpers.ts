// Plumbing for the serverless delta service tests: an ostree-made origin archive repo with two
// commits, a counting static HTTP server for it on 127.0.0.1, the service under workerd / Deno /
// Bun (bundles from tools/build-serverless.mjs) on a free loopback port, and ostree helpers.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync, copyFileSync, symlinkSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT, OSTREE } from '../helpers/interop.ts';
import { pseudoRandom } from '../helpers/pseudo-random.ts';

export { ROOT, OSTREE };

/** Runs the real ostree; throws with its stderr on failure. */
export function ostree(args: string[]): string {
  const r = spawnSync(OSTREE!, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ostree ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/**
 * Runs the real ostree without blocking the event loop (the origin server lives in this process,
 * so a synchronous spawn would deadlock a pull); throws with its stderr on failure.
 */
export function ostreeAsync(args: string[], timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(OSTREE!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (err += String(d)));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code, sig) => {
      clearTimeout(t);
      if (code === 0) resolve(out);
      else reject(new Error(`ostree ${args.join(' ')} failed (${code ?? sig}): ${err}`));
    });
  });
}


/** An archive repo made by ostree with commits c1 → c2 on ref `main` and a summary. */
export function makeOrigin(dir: string, signArgs: string[] = []): { repo: string; c1: string; c2: string } {
  const t1 = join(dir, 'tree1');
  const t2 = join(dir, 'tree2');
  for (const t of [t1, t2]) {
    mkdirSync(join(t, 'usr/bin'), { recursive: true });
    mkdirSync(join(t, 'usr/lib'), { recursive: true });
    mkdirSync(join(t, 'usr/share/empty'), { recursive: true });
    mkdirSync(join(t, 'etc'), { recursive: true });
  }
  const lib = pseudoRandom(7, 600_000);
  writeFileSync(join(t1, 'usr/lib/libfoo.so'), lib);
  writeFileSync(join(t2, 'usr/lib/libfoo.so'), Buffer.concat([lib.subarray(0, 300_000), pseudoRandom(9, 400), lib.subarray(300_000)]));
  const tool = pseudoRandom(11, 120_000);
  writeFileSync(join(t1, 'usr/bin/tool'), tool);
  const tool2 = Buffer.from(tool);
  for (let i = 0; i < tool2.length; i += 997) tool2[i] ^= 0x5a;
  writeFileSync(join(t2, 'usr/bin/tool'), tool2);
  for (const t of [t1, t2]) symlinkSync('libfoo.so', join(t, 'usr/lib/libfoo.so.1'));
  writeFileSync(join(t1, 'etc/os.conf'), 'version=1\n');
  writeFileSync(join(t2, 'etc/os.conf'), 'version=2\n');
  writeFileSync(join(t2, 'usr/share/new.txt'), 'a new file in version 2\n'.repeat(50));
  writeFileSync(join(t1, 'etc/old.conf'), 'only in version 1\n');
  const repo = join(dir, 'origin');
  ostree(['--repo=' + repo, 'init', '--mode=archive']);
  const c1 = ostree(['--repo=' + repo, 'commit', '-b', 'main', '--tree=dir=' + t1, '-s', 'v1', '--timestamp=2024-01-01 00:00:00', ...signArgs]).trim();
  const c2 = ostree(['--repo=' + repo, 'commit', '-b', 'main', '--tree=dir=' + t2, '-s', 'v2', '--timestamp=2024-02-01 00:00:00', ...signArgs]).trim();
  ostree(['--repo=' + repo, 'summary', '-u', ...signArgs]);
  return { repo, c1, c2 };
}

/** A static file server for `dir` on 127.0.0.1 that counts requests by path. */
export interface StaticServer {
  url: string;
  requests: string[];
  /** Delay before answering objects/ requests (ms): makes a generation slow enough to overlap requests. */
  objectDelayMs: number;
  close: () => Promise<void>;
}

export async function serveDir(dir: string): Promise<StaticServer> {
  const requests: string[] = [];
  const state = { objectDelayMs: 0 };
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    if (state.objectDelayMs > 0 && path.startsWith('/objects/')) await new Promise((r) => setTimeout(r, state.objectDelayMs));
    const file = join(dir, path);
    if (path.includes('..') || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const data = readFileSync(file);
    res.writeHead(200, { 'content-length': data.length, 'content-type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    get objectDelayMs() {
      return state.objectDelayMs;
    },
    set objectDelayMs(v: number) {
      state.objectDelayMs = v;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Builds dist/serverless/ (bundles of the worker, Deno and Bun entries). */
export function buildServerless(): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'tools/build-serverless.mjs')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build-serverless failed: ${r.stderr}`);
  return join(ROOT, 'dist/serverless');
}

export interface Running {
  url: string;
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

async function waitReady(url: string, proc: ChildProcess, output: () => string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}): ${output()}`);
    try {
      const r = await fetch(`${url}_xylem/stats`);
      if (r.status === 200) {
        await r.text();
        return;
      }
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server at ${url} not ready after ${ms} ms: ${output()}`);
}

function track(cmd: string, args: string[], env: Record<string, string>, cwd?: string, base: Record<string, string | undefined> = process.env): { proc: ChildProcess; output: () => string } {
  const proc = spawn(cmd, args, { env: { ...base, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (out += String(d)));
  return { proc, output: () => out };
}

/** Stops a child with SIGTERM (SIGKILL after 3 s) and waits for it to exit. */
export function stopper(proc: ChildProcess): () => Promise<void> {
  return async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const done = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await done;
    clearTimeout(t);
  };
}

export const WORKERD = join(ROOT, 'node_modules/.bin/workerd');
export const DENO = join(ROOT, 'node_modules/.bin/deno');
export const BUN = join(ROOT, 'node_modules/.bin/bun');

/** Whether a tool runs here (its --version exits 0). */
export function toolWorks(path: string): boolean {
  return existsSync(path) && spawnSync(path, ['--version'], { encoding: 'utf8' }).status === 0;
}

/**
 * The bundled worker in real workerd, run with the shipped config (dist/serverless/workerd.capnp,
 * from runtimes/serverless/deploy/) exactly as its header says: settings in the environment of the
 * workerd process, the listening address moved to a free 127.0.0.1 port with --socket-addr.
 */
export async function startWorkerd(dist: string, work: string, bindings: Record<string, string>): Promise<Running> {
  mkdirSync(work, { recursive: true });
  for (const f of ['worker.mjs', 'core.wasm', 'workerd.capnp']) copyFileSync(join(dist, f), join(work, f));
  // the port was free a moment ago; another process may take it first, so try a few
  for (let attempt = 1; ; attempt++) {
    try {
      return await startWorkerdOnce(work, bindings, await freePort());
    } catch (e) {
      if (attempt >= 3 || !/address already in use|EADDRINUSE|bind/i.test((e as Error).message)) throw e;
    }
  }
}

/** process.env without XYLEM_* settings, so only the ones a test names reach a service. */
export function cleanEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('XYLEM_')) out[k] = v;
  return out;
}

async function startWorkerdOnce(work: string, bindings: Record<string, string>, port: number): Promise<Running> {
  const { proc, output } = track(WORKERD, ['serve', join(work, 'workerd.capnp'), '--socket-addr', `http=127.0.0.1:${port}`, '--verbose'], bindings, work, cleanEnv());
  const url = `http://127.0.0.1:${port}/`;
  const stop = stopper(proc);
  try {
    await waitReady(url, proc, output, 30_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, proc, output, stop };
}

/** An entry (deno.mjs / bun.mjs) under Deno or Bun; the port is the one it prints. */
export async function startEntry(cmd: string, args: string[], env: Record<string, string>): Promise<Running> {
  const { proc, output } = track(cmd, args, { ...env, XYLEM_PORT: '0', XYLEM_HOST: '127.0.0.1' });
  const stop = stopper(proc);
  const end = Date.now() + 30_000;
  let url: string | null = null;
  while (!url && Date.now() < end) {
    const m = /listening (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output());
    if (m) url = m[1]!;
    else if (proc.exitCode !== null) break;
    else await new Promise((r) => setTimeout(r, 100));
  }
  if (!url) {
    await stop();
    throw new Error(`${cmd} did not start: ${output()}`);
  }
  await waitReady(url, proc, output, 10_000);
  return { url, proc, output, stop };
}

export async function stats(url: string): Promise<{ generated: number; cacheHits: number; proxied: number; failures: number }> {
  const r = await fetch(`${url}_xylem/stats`);
  return (await r.json()) as { generated: number; cacheHits: number; proxied: number; failures: number };
}

/** `ostree pull --require-static-deltas` of c2 into a client that has c1 as svc:main; returns the client path. */
export async function ostreePullThrough(dir: string, origin: string, c1: string, serviceUrl: string, name = 'client', remoteArgs: string[] = ['--no-gpg-verify']): Promise<string> {
  const client = join(dir, name);
  ostree(['--repo=' + client, 'init', '--mode=bare-user-only']);
  ostree(['--repo=' + client, 'remote', 'add', ...remoteArgs, 'svc', serviceUrl]);
  ostree(['--repo=' + client, 'pull-local', origin, c1]);
  ostree(['--repo=' + client, 'refs', '--create=svc:main', c1]);
  await ostreeAsync(['--repo=' + client, 'pull', '--require-static-deltas', 'svc', 'main']);
  return client;
}
