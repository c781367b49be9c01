// The audit page's script: reads the form, runs auditCommit in the browser, shows the progress
// line and renders the report (all text through textContent: report strings come from the remote).
// The last report is kept in window.__xylemAudit (and errors in __xylemAuditError) for tests.

import { auditCommit, installWebCryptoFallback, loadCore, type AuditProgress, type AuditReport, type SignatureVerdict } from '../../runtimes/browser/index.ts';
import { formatSize } from '../../src/util/format-size.ts';

declare global {
  interface Window {
    __xylemAudit?: AuditReport;
    __xylemAuditError?: string;
    __xylemAuditDone?: boolean;
  }
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function el(tag: string, text?: string, cls?: string): HTMLElement {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function progressLine(p: AuditProgress): string {
  const objs = p.objectsKnown > 0 ? ` ${p.objectsDone}/${p.objectsKnown} objects,` : '';
  return `[${p.phase}]${objs} ${formatSize(p.bytesFetched)} fetched ${p.message ? `— ${p.message}` : ''}`;
}

function signatureText(v: SignatureVerdict | null): string {
  if (v === null) return 'no summary published';
  return v.message;
}

function table(rows: Array<[string, string, boolean?]>): HTMLElement {
  const t = el('table');
  for (const [k, v, mono] of rows) {
    const tr = el('tr');
    tr.append(el('th', k), el('td', v, mono ? 'mono' : undefined));
    t.append(tr);
  }
  return t;
}

function render(r: AuditReport): HTMLElement {
  const box = el('div');
  box.id = 'result';
  const verdict = el('div', r.ok ? 'PASS — the commit checks out' : 'FAIL', `verdict ${r.ok ? 'pass' : 'fail'}`);
  verdict.id = 'verdict';
  box.append(verdict);
  if (r.problems.length > 0) {
    const ul = el('ul');
    ul.id = 'problems';
    for (const p of r.problems) ul.append(el('li', p));
    box.append(ul);
  }
  box.append(
    table([
      ['Commit', r.commit, true],
      ['Ref', `${r.ref} (resolved from ${r.resolvedFrom})`],
      ['Subject', r.subject],
      ['Version', r.version ?? '—'],
      ['Date', new Date(r.timestamp * 1000).toISOString()],
      ['Signer', r.commitSignature.signer ?? '—'],
      ['Commit signature', `${r.commitSignature.status}: ${signatureText(r.commitSignature)}`],
      ['Summary signature', r.summarySignature ? `${r.summarySignature.status}: ${signatureText(r.summarySignature)}` : 'no summary published'],
      ['Objects', `${r.objects.total} (${r.objects.files} files, ${r.objects.dirtrees} dirtrees, ${r.objects.dirmetas} dirmetas, ${r.objects.commits} commit)`],
      ['Bytes', `${formatSize(r.bytesFetched)} fetched, ${formatSize(r.bytesHashed)} hashed (${r.hashing.batched} objects in ${r.hashing.batches} SIMD batches)`],
      ['Time', `${(r.durationMs / 1000).toFixed(2)} s`],
    ]),
  );
  if (r.mismatches.length > 0) {
    box.append(el('h3', 'Objects that do not match their checksum'));
    const ul = el('ul');
    ul.id = 'mismatches';
    for (const m of r.mismatches) ul.append(el('li', `${m.type} ${m.checksum} at ${m.path || '(commit)'}: hashes to ${m.actual}`, 'mono'));
    box.append(ul);
  }
  if (r.errors.length > 0) {
    box.append(el('h3', 'Objects that could not be audited'));
    const ul = el('ul');
    ul.id = 'errors';
    for (const e of r.errors) ul.append(el('li', `${e.type} ${e.checksum} at ${e.path}: ${e.message}`, 'mono'));
    box.append(ul);
  }
  return box;
}

function fillFromQuery(): void {
  const q = new URLSearchParams(location.search);
  for (const id of ['url', 'ref']) {
    const v = q.get(id);
    if (v !== null) $<HTMLInputElement>(id).value = v;
  }
}

async function run(ev: Event): Promise<void> {
  ev.preventDefault();
  const button = $<HTMLButtonElement>('run');
  const progress = $('progress');
  const out = $('report');
  button.disabled = true;
  out.replaceChildren();
  window.__xylemAudit = undefined;
  window.__xylemAuditError = undefined;
  window.__xylemAuditDone = false;
  try {
    const url = new URL($<HTMLInputElement>('url').value.trim(), location.href).href;
    const core = await loadCore();
    // openpgp.js needs crypto.subtle, which plain-http pages lack.
    if (installWebCryptoFallback(core)) console.info('xylem audit: no WebCrypto here, using the JavaScript fallback');
    const report = await auditCommit({
      url,
      core,
      ref: $<HTMLInputElement>('ref').value.trim(),
      keys: $<HTMLTextAreaElement>('keys').value,
      onProgress: (p) => {
        progress.textContent = progressLine(p);
      },
    });
    window.__xylemAudit = report;
    out.replaceChildren(render(report));
  } catch (e) {
    const msg = (e as Error)?.message ?? String(e);
    window.__xylemAuditError = msg;
    progress.textContent = '';
    const err = el('div', `Audit could not run: ${msg}`, 'verdict fail');
    err.id = 'verdict';
    out.replaceChildren(err);
  } finally {
    button.disabled = false;
    window.__xylemAuditDone = true;
  }
}

fillFromQuery();
$('form').addEventListener('submit', (ev) => void run(ev));
