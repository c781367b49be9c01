// The delta service's shipped deployment files (runtimes/serverless/deploy/, copied by the build
// beside the bundles into dist/serverless/, which the npm package holds), used as a user would use them:
// wrangler.toml parsed by a real TOML parser (Bun's) and checked against the bundle it names and
// the settings env.ts reads; the Deno Deploy entry run by Deno with network and environment
// permissions only (no filesystem, as on Deno Deploy) and pulled through by the real ostree; the
// Containerfile's COPY sources found in `npm pack`'s file list and its CMD run here with Deno, the
// image's paths mapped to local ones, pulled through by ostree. (workerd.capnp is what
// test/serverless/workerd*.test.ts run.) Then the cache checks: a Deno run without
// --allow-write, a cache folder that cannot be created, and failed deltas counted in the stats.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInterop } from '../helpers/interop.ts';
import { BUN, DENO, ROOT, buildServerless, cleanEnv, makeOrigin, ostree, ostreePullThrough, serveDir, startEntry, stats, toolWorks, type StaticServer } from './helpers.ts';
import { DeltaService } from '../../src/delta/on-demand.ts';
import { MemoryDeltaCache, type DeltaCache } from '../../src/delta/on-demand-cache.ts';
import { deltaIndexRelPath, deltaRelPath } from '../../src/delta/paths.ts';
import { FsDeltaCache } from '../../runtimes/serverless/fs-cache.ts';
import { serviceOptionsFromEnv } from '../../runtimes/serverless/env.ts';
import { S3DeltaCache } from '../../runtimes/serverless/s3-cache.ts';
import { createPosixFs } from '../../runtimes/posix/fs.ts';

const DEPLOY_FILES = ['workerd.capnp', 'wrangler.toml', 'deno.json', 'Containerfile'];

function need(bin: string, name: string): void {
  if (!toolWorks(bin)) expect.fail(`${name} (${bin}) cannot run here: the deployment files are untested under ${name}`);
}

/** Runs `cmd args` to completion with a clean XYLEM_* environment plus `env`. */
function run(cmd: string, args: string[], env: Record<string, string>, timeout = 30_000) {
  return spawnSync(cmd, args, { env: { ...cleanEnv(), ...env }, encoding: 'utf8', timeout });
}

describeInterop('serverless delta service: shipped deployment files', () => {
  let dir: string;
  let dist: string;
  let origin: { repo: string; c1: string; c2: string };
  let server: StaticServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-serverless-deploy-'));
    origin = makeOrigin(dir);
    server = await serveDir(origin.repo);
    dist = buildServerless();
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the build puts the shipped deployment files beside the bundles, unchanged', () => {
    for (const f of DEPLOY_FILES) expect(readFileSync(join(dist, f), 'utf8'), f).toBe(readFileSync(join(ROOT, 'runtimes/serverless/deploy', f), 'utf8'));
  });

  it('npm pack includes the deployment files and every bundle they name', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files = new Set((JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    // shipped beside the bundles they name (the package holds no sources: runtimes/ stays out)
    for (const f of DEPLOY_FILES) expect(files.has(`dist/serverless/${f}`), f).toBe(true);
    expect([...files].some((f) => f.startsWith('runtimes/'))).toBe(false);
    for (const f of ['worker.mjs', 'core.wasm', 'deno.mjs', 'deno-deploy.mjs', 'bun.mjs']) expect(files.has(`dist/serverless/${f}`), f).toBe(true);
    // the Containerfile's COPY sources are package paths (the build context is the package folder)
    const copies = [...readFileSync(join(dist, 'Containerfile'), 'utf8').matchAll(/^COPY\s+(\S+)\s+(\S+)\s*$/gm)];
    expect(copies.length).toBeGreaterThan(0);
    for (const [, src] of copies) expect(files.has(src!), `COPY ${src}`).toBe(true);
  });

  it('wrangler.toml: a real TOML parser reads it; its entry, WASM rule and settings match the bundle and env.ts', () => {
    need(BUN, 'Bun');
    const r = run(BUN, ['-e', `console.log(JSON.stringify(Bun.TOML.parse(await Bun.file(${JSON.stringify(join(dist, 'wrangler.toml'))}).text())))`], {});
    expect(r.status, r.stderr).toBe(0);
    const w = JSON.parse(r.stdout) as {
      name: string;
      main: string;
      no_bundle: boolean;
      find_additional_modules: boolean;
      compatibility_date: string;
      rules: Array<{ type: string; globs: string[] }>;
      vars: Record<string, string>;
    };
    expect(w.name).toMatch(/^[a-z0-9-]+$/);
    expect(existsSync(join(dist, w.main))).toBe(true);
    // the bundle is uploaded as built: its import of ./core.wasm must be a CompiledWasm module beside it
    expect(w.no_bundle).toBe(true);
    expect(w.find_additional_modules).toBe(true);
    expect(readFileSync(join(dist, w.main), 'utf8')).toMatch(/from\s*["']\.\/core\.wasm["']/);
    expect(existsSync(join(dist, 'core.wasm'))).toBe(true);
    expect(w.rules.some((rule) => rule.type === 'CompiledWasm' && rule.globs.includes('**/*.wasm'))).toBe(true);
    expect(w.compatibility_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // every var is a setting the worker reads (the workerd config binds the same names)
    const capnp = readFileSync(join(dist, 'workerd.capnp'), 'utf8');
    for (const k of Object.keys(w.vars)) expect(capnp, k).toContain(`(name = "${k}", fromEnvironment = "${k}")`);
    // R2 through the S3 settings: with the two secrets the settings make an S3 cache, region auto
    expect(() => serviceOptionsFromEnv(w.vars)).toThrow(/XYLEM_S3_ACCESS_KEY_ID/);
    const opts = serviceOptionsFromEnv({ ...w.vars, XYLEM_S3_ACCESS_KEY_ID: 'id', XYLEM_S3_SECRET_ACCESS_KEY: 'secret' });
    expect(opts.cache).toBeInstanceOf(S3DeltaCache);
    expect(w.vars.XYLEM_S3_ENDPOINT).toMatch(/^https:\/\/[A-Za-z0-9_]+\.r2\.cloudflarestorage\.com$/);
    expect(w.vars.XYLEM_S3_REGION).toBe('auto');
    expect(opts.origin).toBe(w.vars.XYLEM_ORIGIN);
  });

  it('the Deno Deploy entry serves a generated delta to ostree with no filesystem permission at all', async () => {
    need(DENO, 'Deno');
    const cfg = JSON.parse(readFileSync(join(dist, 'deno.json'), 'utf8')) as { deploy: { entrypoint: string; include: string[] } };
    expect(existsSync(join(dist, cfg.deploy.entrypoint))).toBe(true);
    for (const f of cfg.deploy.include) expect(existsSync(join(dist, f)), f).toBe(true);
    const svc = await startEntry(DENO, ['run', '--allow-net=127.0.0.1', '--allow-env', join(dist, cfg.deploy.entrypoint)], { XYLEM_ORIGIN: server.url, XYLEM_DEPTH: '1' });
    try {
      const client = await ostreePullThrough(dir, origin.repo, origin.c1, svc.url, 'client-deploy');
      expect(ostree([`--repo=${client}`, 'rev-parse', 'svc:main']).trim()).toBe(origin.c2);
      expect(ostree([`--repo=${client}`, 'fsck'])).toContain('no errors found');
      const s = await stats(svc.url);
      expect(s.generated).toBe(1);
      expect(s.failures).toBe(0);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- Deno output:\n${svc.output()}`);
    } finally {
      await svc.stop();
    }
  });

  it("the Containerfile's CMD, run here with Deno (image paths mapped), serves ostree and fills the cache folder", async () => {
    need(DENO, 'Deno');
    const text = readFileSync(join(dist, 'Containerfile'), 'utf8');
    // the image runs the Deno release the tests use
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(text).toMatch(new RegExp(`^FROM docker\\.io/denoland/deno:${pkg.devDependencies.deno!.replace(/\./g, '\\.')}$`, 'm'));
    const pathMap = new Map<string, string>();
    for (const [, src, dst] of text.matchAll(/^COPY\s+(\S+)\s+(\S+)\s*$/gm)) pathMap.set(dst!, join(ROOT, src!));
    const env: Record<string, string> = {};
    for (const [, rest] of text.matchAll(/^ENV\s+(.+)$/gm)) for (const [, k, v] of rest!.matchAll(/([A-Z_]+)=(\S+)/g)) env[k!] = v!;
    expect(env.XYLEM_CACHE_DIR).toBeDefined();
    const cache = join(dir, 'container-cache');
    mkdirSync(cache);
    pathMap.set(env.XYLEM_CACHE_DIR!, cache);
    const cmd = JSON.parse(/^CMD\s+(\[.*\])\s*$/m.exec(text)![1]!) as string[];
    expect(cmd[0]).toBe('deno');
    const mapPath = (s: string) => {
      for (const [from, to] of pathMap) s = s.split(from).join(to);
      return s;
    };
    const args = cmd.slice(1).map(mapPath);
    // the image's own settings, but listening where the test can reach it
    const svc = await startEntry(DENO, args, { ...env, XYLEM_CACHE_DIR: cache, XYLEM_ORIGIN: server.url, XYLEM_DEPTH: '1' });
    try {
      const client = await ostreePullThrough(dir, origin.repo, origin.c1, svc.url, 'client-container');
      expect(ostree([`--repo=${client}`, 'rev-parse', 'svc:main']).trim()).toBe(origin.c2);
      expect(ostree([`--repo=${client}`, 'fsck'])).toContain('no errors found');
      expect(existsSync(join(cache, deltaRelPath(origin.c1, origin.c2, 'superblock')))).toBe(true);
      expect((await stats(svc.url)).failures).toBe(0);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- Deno output:\n${svc.output()}`);
    } finally {
      await svc.stop();
    }
  });

  it('Deno without --allow-write for the cache folder refuses to start and says which flag is missing', () => {
    need(DENO, 'Deno');
    const cache = join(dir, 'cache-noperm');
    mkdirSync(cache);
    const r = run(DENO, ['run', '--allow-net=127.0.0.1', '--allow-env', `--allow-read=${cache}`, join(dist, 'deno.mjs')], { XYLEM_ORIGIN: server.url, XYLEM_CACHE_DIR: cache, XYLEM_PORT: '0' });
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(/listening/);
    expect(r.stderr).toContain(`cache folder ${cache}`);
    expect(r.stderr).toMatch(/--allow-write/);
  });

  it('a cache folder that cannot be created stops the Bun entry with the reason', () => {
    need(BUN, 'Bun');
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const r = run(BUN, [join(dist, 'bun.mjs')], { XYLEM_ORIGIN: server.url, XYLEM_CACHE_DIR: join(file, 'cache'), XYLEM_PORT: '0' });
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(/listening/);
    expect(r.stderr).toContain(`cache folder ${join(file, 'cache')}: cannot create or open it`);
    expect(r.stderr).toMatch(/ENOTDIR/);
  });
});

describeInterop('delta service: cache check and failure counts (in-process)', () => {
  let dir: string;
  let origin: { repo: string; c1: string; c2: string };
  let server: StaticServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-serverless-fail-'));
    origin = makeOrigin(dir);
    server = await serveDir(origin.repo);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const get = async (svc: DeltaService, rel: string) => {
    const r = await svc.handle(new Request(`http://svc.test/${rel}`));
    return { status: r.status, text: await r.text() };
  };

  it('FsDeltaCache.check: creates the folder, leaves nothing behind; refuses a folder that cannot be made', async () => {
    const fs = createPosixFs();
    const ok = new FsDeltaCache(fs, join(dir, 'new', 'cache'));
    await ok.check();
    expect(spawnSync('ls', ['-A', join(dir, 'new', 'cache')], { encoding: 'utf8' }).stdout).toBe('');
    writeFileSync(join(dir, 'plain-file'), 'x');
    await expect(new FsDeltaCache(fs, join(dir, 'plain-file')).check()).rejects.toThrow(`cache folder ${join(dir, 'plain-file')}: cannot create or open it`);
  });

  it('a cache that fails its check: delta requests answer 503 with the reason and count as failures; other paths are served', async () => {
    writeFileSync(join(dir, 'blocker'), 'x');
    const svc = new DeltaService({ origin: server.url, depth: 1, cache: new FsDeltaCache(createPosixFs(), join(dir, 'blocker', 'cache')) });
    await expect(svc.ready()).rejects.toThrow(/delta cache \(fs\) is not usable: cache folder .*blocker\/cache/);
    const sb = await get(svc, deltaRelPath(origin.c1, origin.c2, 'superblock'));
    expect(sb.status).toBe(503);
    expect(sb.text).toMatch(/not usable.*ENOTDIR/);
    expect((await get(svc, deltaIndexRelPath(origin.c2))).status).toBe(503);
    expect((await get(svc, 'config')).status).toBe(200);
    expect(svc.stats.failures).toBe(2);
    expect(svc.stats.generated).toBe(0);
    // the cause removed, the next delta request checks again and is served
    rmSync(join(dir, 'blocker'));
    expect((await get(svc, deltaRelPath(origin.c1, origin.c2, 'superblock'))).status).toBe(200);
    expect(svc.stats).toMatchObject({ generated: 1, failures: 2 });
    expect(existsSync(join(dir, 'blocker', 'cache', deltaRelPath(origin.c1, origin.c2, 'superblock')))).toBe(true);
  });

  it('failed generations are counted: a cache that cannot store, and a cache that cannot be read', async () => {
    // stores nothing (as a Deno run whose writes are refused): every generation fails
    const noPut: DeltaCache = { name: 'refuses-writes', get: async () => null, put: async () => Promise.reject(new Error('write refused')) };
    const a = new DeltaService({ origin: server.url, depth: 1, cache: noPut });
    const r1 = await get(a, deltaRelPath(origin.c1, origin.c2, 'superblock'));
    expect(r1.status).toBe(500);
    expect(r1.text).toContain('write refused');
    // the index still answers (without the delta it could not make) and counts the failure
    expect((await get(a, deltaIndexRelPath(origin.c2))).status).toBe(200);
    expect(a.stats).toMatchObject({ generated: 0, failures: 2 });
    // reads refused (as a Deno run without --allow-read): counted too, not only generation errors
    const noGet: DeltaCache = { name: 'refuses-reads', get: async () => Promise.reject(new Error('read refused')), put: async () => undefined };
    const b = new DeltaService({ origin: server.url, depth: 1, cache: noGet });
    expect((await get(b, deltaRelPath(origin.c1, origin.c2, 'superblock'))).status).toBe(500);
    expect(b.stats.failures).toBe(1);
    // and a working cache counts none
    const c = new DeltaService({ origin: server.url, depth: 1, cache: new MemoryDeltaCache() });
    expect((await get(c, deltaRelPath(origin.c1, origin.c2, 'superblock'))).status).toBe(200);
    expect(c.stats).toMatchObject({ generated: 1, failures: 0 });
  });
});
