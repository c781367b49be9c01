// The audit page in headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
// browser download): the page is built into a temp folder by tools/build-audit.mjs and served
// with archive repos written and GPG-signed by the real ostree from one 127.0.0.1 origin. WebCrypto
// is hidden from the page (plain-http hosts have none), so hashing and verification must not need it.
// A clean repo passes naming the signer with the counts found on disk; a flipped byte in one
// .filez fails naming the object and its path; a commitmeta from another commit fails naming the key.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { AuditReport } from '../../src/audit/index.ts';
import { HAVE_GPG, HAVE_OSTREE, SIGNER_EMAIL, SIGNER_NAME, buildFixture, serve, type Fixture } from './fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = resolve(import.meta.dirname, '../..');
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true';
const CAN_RUN = HAVE_CHROMIUM && HAVE_OSTREE && HAVE_GPG;

if (!CAN_RUN && !IN_CI) {
  console.warn(
    '\n*** test/browser/audit.test.ts SKIPPED: ' +
      `${HAVE_CHROMIUM ? '' : `no ${CHROMIUM} (apt-get install chromium, see tools/setup.sh) `}` +
      `${HAVE_OSTREE ? '' : 'no ostree '}${HAVE_GPG ? '' : 'no gpg'} ***\n`,
  );
}

describe.runIf(!CAN_RUN && IN_CI)('browser audit prerequisites', () => {
  it('has chromium, ostree and gpg (required when CI=true)', () => {
    expect({ chromium: HAVE_CHROMIUM, ostree: HAVE_OSTREE, gpg: HAVE_GPG }).toEqual({ chromium: true, ostree: true, gpg: true });
  });
});

describe.runIf(CAN_RUN)('audit page in headless Chromium', () => {
  let fx: Fixture;
  let pageDir: string;
  let server: Server;
  let origin: string;
  let requests: string[];
  let browser: BrowserContext;
  let profileDir: string;
  const logs: string[] = [];

  beforeAll(async () => {
    fx = buildFixture();
    pageDir = mkdtempSync(join(tmpdir(), 'xylem-audit-page-'));
    const b = spawnSync(process.execPath, [join(ROOT, 'tools/build-audit.mjs'), '--outdir', pageDir], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`build-audit failed: ${b.stderr}`);
    ({ server, origin, requests } = await serve(fx.root, pageDir));
    const { chromium } = await import('playwright-core');
    // A fresh profile folder (playwright passes it as --user-data-dir).
    profileDir = mkdtempSync(join(tmpdir(), 'xylem-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
    fx?.cleanup();
    if (pageDir) rmSync(pageDir, { recursive: true, force: true });
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  });

  async function runAudit(repo: string, keys: string): Promise<{ report: AuditReport; page: Page; text: string; progress: string[] }> {
    const page = await browser.newPage();
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    // No WebCrypto, as on a plain-http LAN host: everything must come from the WASM core / JS.
    await page.addInitScript(() => {
      Object.defineProperty(Crypto.prototype, 'subtle', { get: () => undefined, configurable: true });
    });
    await page.goto(`${origin}/index.html?url=${encodeURIComponent(`/repos/${repo}`)}&ref=main`);
    await page.fill('#keys', keys);
    // Record every progress line the page shows.
    await page.evaluate(() => {
      const w = window as unknown as { __lines: string[] };
      w.__lines = [];
      const p = document.getElementById('progress')!;
      new MutationObserver(() => w.__lines.push(p.textContent ?? '')).observe(p, { childList: true, characterData: true, subtree: true });
    });
    await page.click('#run');
    await page.waitForFunction(() => (window as { __xylemAuditDone?: boolean }).__xylemAuditDone === true, undefined, { timeout: 60_000 });
    const error = await page.evaluate(() => (window as { __xylemAuditError?: string }).__xylemAuditError);
    if (error) throw new Error(`audit failed in the page: ${error}\n${logs.join('\n')}`);
    const report = (await page.evaluate(() => (window as { __xylemAudit?: unknown }).__xylemAudit)) as AuditReport;
    const text = await page.innerText('#report');
    const progress = (await page.evaluate(() => (window as unknown as { __lines: string[] }).__lines)) as string[];
    return { report, page, text, progress };
  }

  it('serves a bundle free of Node built-ins', () => {
    const js = readFileSync(join(pageDir, 'audit.js'), 'utf8');
    expect(js).not.toMatch(/["']node:[a-z_]+["']/);
  });

  it('passes a clean signed repo, naming the signer, with the counts on disk', async () => {
    const { report, page, text, progress } = await runAudit('clean', fx.publicKey);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.commit).toBe(fx.commit);
    expect(report.commitSignature.signer).toBe(`${SIGNER_NAME} <${SIGNER_EMAIL}>`);
    expect(report.summarySignature?.status).toBe('valid');
    expect(report.version).toBe('1.2.3');
    expect(report.objects).toEqual({ commits: 1, ...fx.counts, total: 1 + fx.counts.dirtrees + fx.counts.dirmetas + fx.counts.files });
    expect(report.hashing.batched).toBeGreaterThan(0);
    expect(await page.innerText('#verdict')).toMatch(/^PASS/);
    expect(logs.some((l) => l.includes('no WebCrypto here'))).toBe(true);
    expect(text).toContain(`${SIGNER_NAME} <${SIGNER_EMAIL}>`);
    expect(text).toContain(fx.commit);
    expect(text).toContain('Audit fixture');
    expect(progress.some((l) => l.startsWith('[summary]'))).toBe(true);
    expect(progress.at(-1)).toMatch(/^\[done\]/);
    // Every object came over HTTP from the served repo.
    expect(requests.filter((r) => r.startsWith('/repos/clean/objects/') && r.endsWith('.filez')).length).toBeGreaterThanOrEqual(fx.counts.files);
    await page.close();
  });

  it('fails a repo with one flipped byte, naming the object and its path', async () => {
    const { report, page, text } = await runAudit('flipped', fx.publicKey);
    expect(report.ok).toBe(false);
    expect(report.commitSignature.status).toBe('valid');
    expect(report.mismatches).toHaveLength(1);
    expect(report.mismatches[0]).toMatchObject({ type: 'file', checksum: fx.flippedObject, path: fx.flippedPath });
    expect(await page.innerText('#verdict')).toMatch(/^FAIL/);
    expect(await page.innerText('#mismatches')).toContain(`${fx.flippedObject} at ${fx.flippedPath}`);
    expect(text).toMatch(/1 object\(s\) do not match/);
    await page.close();
  });

  it('fails a forged signature (commitmeta of another commit), naming the key', async () => {
    const { report, page, text } = await runAudit('forged', fx.publicKey);
    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([]);
    expect(report.commitSignature.status).toBe('invalid');
    const keyId = report.commitSignature.checks[0]!.keyId;
    expect(keyId.length).toBeGreaterThanOrEqual(16);
    expect(fx.fingerprint.endsWith(keyId)).toBe(true);
    expect(await page.innerText('#verdict')).toMatch(/^FAIL/);
    expect(text).toContain(`BAD signature by key ${keyId}`);
    expect(text).toContain(SIGNER_NAME);
    await page.close();
  });
});
