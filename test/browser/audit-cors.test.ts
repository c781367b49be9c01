// The audit page against a repository on another origin, in headless Chromium (as audit.test.ts):
// the page on one 127.0.0.1 port, the GPG-signed fixture repo served by the real
// `xylem trivial-httpd` on another. Without --cors the browser blocks the reads and the page says
// so: both origins named, Access-Control-Allow-Origin asked of the server, or the page served
// from the repository's origin. With --cors the same audit passes. trivial-httpd --cors itself:
// Access-Control-Allow-Origin: * on GET and HEAD, OPTIONS preflights answered; without it, neither.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import type { AuditReport } from '../../src/audit/index.ts';
import { HAVE_GPG, HAVE_OSTREE, buildFixture, serve, type Fixture } from './fixture.ts';
import { buildCli, disposeCli } from '../helpers/interop.ts';
import { stopper } from '../serverless/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '../..');
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true';
const CAN_RUN = HAVE_CHROMIUM && HAVE_OSTREE && HAVE_GPG;

if (!CAN_RUN && !IN_CI) console.warn('\n*** test/browser/audit-cors.test.ts SKIPPED: needs chromium, ostree and gpg (see tools/setup.sh) ***\n');

describe.runIf(!CAN_RUN && IN_CI)('browser audit (CORS) prerequisites', () => {
  it('has chromium, ostree and gpg (required when CI=true)', () => {
    expect({ chromium: HAVE_CHROMIUM, ostree: HAVE_OSTREE, gpg: HAVE_GPG }).toEqual({ chromium: true, ostree: true, gpg: true });
  });
});

interface Httpd {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** `xylem trivial-httpd [--cors] DIR` in the foreground on a free port (it prints the port: -p -). */
async function trivialHttpd(cli: string, dir: string, extra: string[]): Promise<Httpd> {
  const proc = spawn(process.execPath, [cli, 'trivial-httpd', '-p', '-', ...extra, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += String(d)));
  proc.stderr!.on('data', (d) => (err += String(d)));
  const end = Date.now() + 20_000;
  while (!/^\d+\n/.test(out)) {
    if (proc.exitCode !== null || Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`trivial-httpd did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${out.trim()}`, proc, stop: stopper(proc) };
}

describe.runIf(CAN_RUN)('audit page and a repository on another origin', () => {
  let fx: Fixture;
  let cli: string;
  let pageDir: string;
  let server: Server;
  let origin: string;
  let browser: BrowserContext;
  let profileDir: string;
  const httpds: Httpd[] = [];

  beforeAll(async () => {
    fx = buildFixture();
    cli = buildCli();
    pageDir = mkdtempSync(join(tmpdir(), 'xylem-audit-cors-page-'));
    const b = spawnSync(process.execPath, [join(ROOT, 'tools/build-audit.mjs'), '--outdir', pageDir], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`build-audit failed: ${b.stderr}`);
    ({ server, origin } = await serve(fx.root, pageDir));
    const { chromium } = await import('playwright-core');
    profileDir = mkdtempSync(join(tmpdir(), 'xylem-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    for (const h of httpds) await h.stop();
    await browser?.close();
    server?.close();
    fx?.cleanup();
    disposeCli();
    if (pageDir) rmSync(pageDir, { recursive: true, force: true });
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  async function audit(repoUrl: string): Promise<{ report?: AuditReport; error?: string; text: string }> {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/index.html?url=${encodeURIComponent(repoUrl)}&ref=main`);
      await page.fill('#keys', fx.publicKey);
      await page.click('#run');
      await page.waitForFunction(() => (window as { __xylemAuditDone?: boolean }).__xylemAuditDone === true, undefined, { timeout: 60_000 });
      const error = await page.evaluate(() => (window as { __xylemAuditError?: string }).__xylemAuditError);
      const report = (await page.evaluate(() => (window as { __xylemAudit?: unknown }).__xylemAudit)) as AuditReport | undefined;
      return { report, error, text: await page.innerText('#report') };
    } finally {
      await page.close();
    }
  }

  it('without --cors the page says the browser blocked the read, naming both origins and the fixes', async () => {
    const h = await trivialHttpd(cli, fx.repoDir('clean'), []);
    httpds.push(h);
    const r = await audit(`${h.url}/`);
    expect(r.report).toBeUndefined();
    expect(r.error).toBeDefined();
    expect(r.text).toContain('Audit could not run');
    expect(r.text).toContain(`${h.url}/summary`);
    expect(r.text).toMatch(/blocked this cross-origin request \(CORS\)/);
    expect(r.text).toContain(`This page is on ${origin}`);
    expect(r.text).toContain(`the repository is on ${h.url}`);
    expect(r.text).toContain('Access-Control-Allow-Origin: *');
    expect(r.text).toContain('trivial-httpd --cors');
    expect(r.text).toContain(`serve this page from ${h.url} itself`);
  });

  it('with --cors the same cross-origin audit passes', async () => {
    const h = await trivialHttpd(cli, fx.repoDir('clean'), ['--cors']);
    httpds.push(h);
    const r = await audit(`${h.url}/`);
    expect(r.error).toBeUndefined();
    expect(r.report?.problems).toEqual([]);
    expect(r.report?.ok).toBe(true);
    expect(r.report?.commit).toBe(fx.commit);
    expect(r.report?.summarySignature?.status).toBe('valid');
    expect(r.text).toMatch(/^PASS/);
  });

  it('trivial-httpd --cors: the header on GET and HEAD, OPTIONS preflights answered; without it neither', async () => {
    const withCors = await trivialHttpd(cli, fx.repoDir('clean'), ['--cors']);
    httpds.push(withCors);
    const plain = await trivialHttpd(cli, fx.repoDir('clean'), []);
    httpds.push(plain);
    for (const method of ['GET', 'HEAD']) {
      const r = await fetch(`${withCors.url}/config`, { method, headers: { origin: 'http://elsewhere.test' } });
      await r.arrayBuffer();
      expect(r.status, method).toBe(200);
      expect(r.headers.get('access-control-allow-origin'), method).toBe('*');
      const p = await fetch(`${plain.url}/config`, { method, headers: { origin: 'http://elsewhere.test' } });
      await p.arrayBuffer();
      expect(p.status, method).toBe(200);
      expect(p.headers.get('access-control-allow-origin'), method).toBeNull();
    }
    const missing = await fetch(`${withCors.url}/no-such-file`);
    await missing.arrayBuffer();
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe('*');
    const pre = await fetch(`${withCors.url}/objects/00/x.filez`, {
      method: 'OPTIONS',
      headers: { origin: 'http://elsewhere.test', 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
    });
    await pre.arrayBuffer();
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    expect(pre.headers.get('access-control-allow-headers')).toBe('range');
    const prePlain = await fetch(`${plain.url}/config`, { method: 'OPTIONS', headers: { origin: 'http://elsewhere.test', 'access-control-request-method': 'GET' } });
    await prePlain.arrayBuffer();
    expect(prePlain.status).toBe(405);
    expect(prePlain.headers.get('access-control-allow-origin')).toBeNull();
  });
});
