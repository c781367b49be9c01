// auditCommit in Node (node's fetch) against archive repos written and GPG-signed by the real
// ostree: a clean repo passes with the right signer and object counts (counted on disk), a
// flipped byte in one .filez is named with its path, a commitmeta taken from another commit is a
// BAD signature naming the key.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Server } from 'node:http';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { auditCommit } from '../../src/audit/index.ts';
import type { AuditProgress } from '../../src/audit/index.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_GPG, HAVE_OSTREE, SIGNER_EMAIL, SIGNER_NAME, buildFixture, serve, type Fixture } from './fixture.ts';


describe.skipIf(missing('auditCommit (node fetch)', { 'the real ostree': HAVE_OSTREE, gpg: HAVE_GPG }))('auditCommit (node fetch)', () => {
  let fx: Fixture;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    fx = buildFixture();
    ({ server, origin } = await serve(fx.root, fx.root));
  });
  afterAll(() => {
    server?.close();
    fx?.cleanup();
  });

  it('passes a clean, signed repo: signer, metadata and counts', async () => {
    const events: AuditProgress[] = [];
    const r = await auditCommit({ url: `${origin}/repos/clean`, ref: 'main', keys: fx.publicKey, onProgress: (p) => events.push(p) });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.commit).toBe(fx.commit);
    expect(r.resolvedFrom).toBe('summary');
    expect(r.subject).toBe('Audit fixture');
    expect(r.body).toBe('for the browser audit');
    expect(r.version).toBe('1.2.3');
    expect(r.timestamp).toBe(Date.UTC(2024, 4, 1, 12) / 1000);
    expect(r.commitSignature.status).toBe('valid');
    expect(r.commitSignature.signer).toBe(`${SIGNER_NAME} <${SIGNER_EMAIL}>`);
    expect(r.commitSignature.checks[0]!.keyId).toBe(fx.fingerprint);
    expect(r.summarySignature?.status).toBe('valid');
    expect(r.objects).toEqual({ commits: 1, ...fx.counts, total: 1 + fx.counts.dirtrees + fx.counts.dirmetas + fx.counts.files });
    expect(r.mismatches).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.hashing.batched).toBeGreaterThan(0);
    expect(r.hashing.streamed).toBeGreaterThan(1); // the commit and the 600 KiB file
    expect(events[0]!.phase).toBe('summary');
    expect(events.at(-1)!.phase).toBe('done');
  });

  it('resolves through refs/heads when the ref is not in the summary, and by checksum', async () => {
    const byCsum = await auditCommit({ url: `${origin}/repos/clean/`, ref: fx.commit, keys: fx.publicKey });
    expect(byCsum.ok).toBe(true);
    expect(byCsum.resolvedFrom).toBe('checksum');
    await expect(auditCommit({ url: `${origin}/repos/clean`, ref: 'nope', keys: fx.publicKey })).rejects.toThrow(/No such branch 'nope'/);
    const bare = join(fx.root, 'repos', 'nosummary');
    cpSync(fx.repoDir('clean'), bare, { recursive: true });
    rmSync(join(bare, 'summary'));
    rmSync(join(bare, 'summary.sig'));
    const byRef = await auditCommit({ url: `${origin}/repos/nosummary`, ref: 'main', keys: fx.publicKey });
    expect(byRef.ok).toBe(true);
    expect(byRef.resolvedFrom).toBe('refs');
    expect(byRef.commit).toBe(fx.commit);
    expect(byRef.summarySignature).toBeNull();
  });

  it('names the flipped .filez and its path', async () => {
    const r = await auditCommit({ url: `${origin}/repos/flipped`, ref: 'main', keys: fx.publicKey });
    expect(r.ok).toBe(false);
    expect(r.commitSignature.status).toBe('valid');
    expect(r.mismatches).toHaveLength(1);
    expect(r.mismatches[0]).toMatchObject({ type: 'file', checksum: fx.flippedObject, path: fx.flippedPath });
    expect(r.mismatches[0]!.actual).not.toBe(fx.flippedObject);
    expect(r.errors).toEqual([]);
  });

  it('rejects a signature copied from another commit, naming the key', async () => {
    const r = await auditCommit({ url: `${origin}/repos/forged`, ref: 'main', keys: fx.publicKey });
    expect(r.ok).toBe(false);
    expect(r.mismatches).toEqual([]);
    expect(r.commitSignature.status).toBe('invalid');
    expect(r.commitSignature.checks).toHaveLength(1);
    expect(r.commitSignature.checks[0]!.valid).toBe(false);
    expect(fx.fingerprint.endsWith(r.commitSignature.checks[0]!.keyId)).toBe(true);
    expect(r.commitSignature.message).toMatch(/BAD signature/);
    expect(r.commitSignature.message).toContain(SIGNER_NAME);
    expect(r.summarySignature?.status).toBe('valid');
  });

  it('without keys: integrity only, signatures unchecked; an unknown key is reported as such', async () => {
    const r = await auditCommit({ url: `${origin}/repos/clean`, ref: 'main', keys: '' });
    expect(r.ok).toBe(true);
    expect(r.commitSignature.status).toBe('unchecked');
    const other = await auditCommit({ url: `${origin}/repos/clean`, ref: 'main', keys: 'O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik=' });
    expect(other.ok).toBe(false);
    expect(other.commitSignature.status).toBe('unsigned');
  });

  it('validates its arguments', async () => {
    await expect(auditCommit({ url: 'file:///tmp', ref: 'main', keys: '' })).rejects.toThrow(TypeError);
    await expect(auditCommit({ url: origin, ref: '../x', keys: '' })).rejects.toThrow(/invalid ref/);
    await expect(auditCommit({ url: origin, ref: 'main', keys: 'not-a-key!' })).rejects.toThrow(/neither an armored/);
  });
});
