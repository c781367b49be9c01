// The delta service in-process (Node) with its S3-compatible cache: SigV4 against AWS's published
// example signature, then a tiny S3 server on 127.0.0.1 written here that checks every request's
// signature with its own node:crypto implementation and the payload hash; generated deltas land in
// the bucket and a fresh service instance serves them from there without generating. Also: the
// origin's own deltas are passed through unchanged (never mixed with generated ones), the optional
// summary rewrite advertises generated deltas (summary.sig withheld or signed by the service's
// hook), and the service refuses origins that send more than declared or allowed.

import { cpSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeInterop } from '../helpers/interop.ts';
import { makeOrigin, ostree, serveDir, type StaticServer } from './helpers.ts';
import { signV4 } from '../../runtimes/serverless/sigv4.ts';
import { S3DeltaCache } from '../../runtimes/serverless/s3-cache.ts';
import { DeltaService } from '../../src/delta/on-demand.ts';
import { MemoryDeltaCache } from '../../src/delta/on-demand-cache.ts';
import { deltaIndexRelPath, deltaRelPath } from '../../src/delta/paths.ts';
import { advertisedDeltas, parseDeltaIndex } from '../../src/delta/source.ts';
import { decode, type GVVariant } from '../../src/format/gvariant.ts';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('SigV4', () => {
  it("matches AWS's documented example (GET /test.txt with Range, examplebucket)", () => {
    const h = signV4(
      {
        method: 'GET',
        url: new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
        headers: { Range: 'bytes=0-9' },
        payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        region: 'us-east-1',
        amzDate: '20130524T000000Z',
      },
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
    );
    expect(h.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });
});

/** A minimal path-style S3 server (GET/PUT objects of one bucket) that verifies SigV4 on its own. */
async function startS3(bucket: string, keyId: string, secret: string) {
  const objects = new Map<string, Buffer>();
  const log: Array<{ method: string; key: string; status: number }> = [];
  const verify = (method: string, rawPath: string, headers: Record<string, string | string[] | undefined>, body: Buffer): string | null => {
    const auth = String(headers.authorization ?? '');
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request,SignedHeaders=([a-z0-9;-]+),Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return 'malformed Authorization';
    const [, id, day, region, signed, sig] = m;
    if (id !== keyId) return 'unknown key';
    const amzDate = String(headers['x-amz-date'] ?? '');
    if (!amzDate.startsWith(day!)) return 'date mismatch';
    const payload = String(headers['x-amz-content-sha256'] ?? '');
    if (payload !== sha(body)) return 'payload hash mismatch';
    const names = signed!.split(';');
    if (!names.includes('host') || !names.includes('x-amz-date') || !names.includes('x-amz-content-sha256')) return 'required header not signed';
    const canon = [
      method,
      rawPath,
      '',
      names.map((n) => `${n}:${String(headers[n] ?? '').trim()}\n`).join(''),
      signed,
      payload,
    ].join('\n');
    const scope = `${day}/${region}/s3/aws4_request`;
    const sts = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha(canon)}`;
    let k: Buffer = createHmac('sha256', `AWS4${secret}`).update(day!).digest();
    for (const p of [region!, 's3', 'aws4_request']) k = createHmac('sha256', k).update(p).digest();
    return createHmac('sha256', k).update(sts).digest('hex') === sig ? null : 'SignatureDoesNotMatch';
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const rawPath = (req.url ?? '/').split('?')[0]!;
      const prefix = `/${bucket}/`;
      const key = rawPath.startsWith(prefix) ? decodeURIComponent(rawPath.slice(prefix.length)) : null;
      const done = (status: number, data?: Buffer | string) => {
        log.push({ method: req.method ?? '', key: key ?? rawPath, status });
        res.writeHead(status, { 'content-length': data ? Buffer.byteLength(data) : 0 }).end(data);
      };
      const err = verify(req.method ?? '', rawPath, req.headers, body);
      if (err) return done(403, `<Error><Code>${err}</Code></Error>`);
      if (key === null) return done(404, '<Error><Code>NoSuchBucket</Code></Error>');
      if (req.method === 'PUT') {
        objects.set(key, body);
        return done(200);
      }
      if (req.method === 'GET') {
        const o = objects.get(key);
        return o ? done(200, o) : done(404, '<Error><Code>NoSuchKey</Code></Error>');
      }
      done(405);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    log,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function get(svc: DeltaService, path: string): Promise<{ status: number; body: Uint8Array; how: string | null }> {
  const r = await svc.handle(new Request(`http://svc.test/${path}`));
  return { status: r.status, body: new Uint8Array(await r.arrayBuffer()), how: r.headers.get('x-xylem-delta') };
}

describeInterop('delta service in-process: S3 cache, origin deltas, summary rewrite, hostile origins', () => {
  let dir: string;
  let origin: { repo: string; c1: string; c2: string };
  let server: StaticServer;
  let s3: Awaited<ReturnType<typeof startS3>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-serverless-s3-'));
    origin = makeOrigin(dir);
    server = await serveDir(origin.repo);
    s3 = await startS3('deltas', 'AKIDTEST', 'secret/key+test');
  });
  afterAll(async () => {
    await server?.close();
    await s3?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('generated deltas go to the S3 bucket, signed; a fresh instance serves them from there', async () => {
    const cache = () => new S3DeltaCache({ endpoint: s3.endpoint, bucket: 'deltas', region: 'eu-test-1', prefix: 'xylem/', accessKeyId: 'AKIDTEST', secretAccessKey: 'secret/key+test' });
    const a = new DeltaService({ origin: server.url, cache: cache(), depth: 1 });
    const idx = await get(a, deltaIndexRelPath(origin.c2));
    expect(idx.status).toBe(200);
    const name = `${origin.c1}-${origin.c2}`;
    const sum = parseDeltaIndex(idx.body).get(name);
    const sbKey = `xylem/${deltaRelPath(origin.c1, origin.c2, 'superblock')}`;
    expect(s3.objects.has(sbKey)).toBe(true);
    expect(s3.objects.has(`xylem/${deltaRelPath(origin.c1, origin.c2, '0')}`)).toBe(true);
    expect(sha(s3.objects.get(sbKey)!)).toBe(sum);
    expect(a.stats.generated).toBe(1);
    expect(s3.log.filter((l) => l.status === 403)).toEqual([]);

    const b = new DeltaService({ origin: server.url, cache: cache(), depth: 1 });
    const sb = await get(b, deltaRelPath(origin.c1, origin.c2, 'superblock'));
    expect(sb.status).toBe(200);
    expect(sb.how).toBe('cache');
    expect(sha(sb.body)).toBe(sum);
    expect(b.stats.generated).toBe(0);

    // a wrong secret: the bucket refuses the signature; the cache check (before any delta is
    // served) says so, the request fails 503 with the reason (nothing half-stored) and counts
    const bad = new DeltaService({
      origin: server.url,
      cache: new S3DeltaCache({ endpoint: s3.endpoint, bucket: 'deltas', prefix: 'other/', accessKeyId: 'AKIDTEST', secretAccessKey: 'wrong' }),
    });
    const r = await get(bad, deltaRelPath(origin.c2, origin.c1, 'superblock'));
    expect(r.status).toBe(503);
    expect(new TextDecoder().decode(r.body)).toMatch(/S3 PUT .*HTTP 403/);
    expect([...s3.objects.keys()].some((k) => k.startsWith('other/'))).toBe(false);
    expect(bad.stats.failures).toBe(1);
    await expect(bad.ready()).rejects.toThrow(/delta cache \(s3\) is not usable: bucket deltas at .*S3 PUT deltas\/xylem-cache-check: HTTP 403.*check the access key/);
    // with the right key the check writes and reads back its probe
    await new DeltaService({ origin: server.url, cache: cache() }).ready();
    expect(s3.objects.has('xylem/deltas/xylem-cache-check')).toBe(true);
  });

  it("an origin's own deltas are passed through unchanged and advertised with their own checksums", async () => {
    const repo2 = join(dir, 'origin-with-delta');
    cpSync(origin.repo, repo2, { recursive: true });
    ostree([`--repo=${repo2}`, 'static-delta', 'generate', `--from=${origin.c1}`, `--to=${origin.c2}`]);
    ostree([`--repo=${repo2}`, 'static-delta', 'generate', '--empty', `--to=${origin.c2}`]);
    ostree([`--repo=${repo2}`, 'summary', '-u']);
    // as an origin made before delta indexes existed: the deltas are listed in the summary only
    await rm(join(repo2, 'delta-indexes'), { recursive: true });
    const s2 = await serveDir(repo2);
    try {
      const svc = new DeltaService({ origin: s2.url, depth: 1 });
      const ostreeSb = readFileSync(join(repo2, deltaRelPath(origin.c1, origin.c2, 'superblock')));
      const idx = parseDeltaIndex((await get(svc, deltaIndexRelPath(origin.c2))).body);
      expect([...idx.keys()].sort()).toEqual([origin.c2, `${origin.c1}-${origin.c2}`].sort());
      expect(idx.get(`${origin.c1}-${origin.c2}`)).toBe(sha(ostreeSb));
      expect(idx.get(origin.c2)).toBe(sha(readFileSync(join(repo2, deltaRelPath(null, origin.c2, 'superblock')))));
      const sb = await get(svc, deltaRelPath(origin.c1, origin.c2, 'superblock'));
      expect(sb.how).toBe('origin');
      expect(sha(sb.body)).toBe(sha(ostreeSb));
      const part = await get(svc, deltaRelPath(origin.c1, origin.c2, '0'));
      expect(sha(part.body)).toBe(sha(readFileSync(join(repo2, deltaRelPath(origin.c1, origin.c2, '0')))));
      expect(svc.stats.generated).toBe(0);
    } finally {
      await s2.close();
    }
  });

  it("generateOnRequest 'advertised' generates only the deltas an index would offer", async () => {
    const svc = new DeltaService({ origin: server.url, depth: 1, generateOnRequest: 'advertised' });
    expect((await get(svc, deltaRelPath(origin.c2, origin.c1, 'superblock'))).status).toBe(404);
    expect((await get(svc, deltaRelPath(null, origin.c2, 'superblock'))).status).toBe(404);
    expect(svc.stats.generated).toBe(0);
    const ok = await get(svc, deltaRelPath(origin.c1, origin.c2, 'superblock'));
    expect(ok.status).toBe(200);
    expect(ok.how).toBe('generated');
    expect(svc.stats.generated).toBe(1);
  });

  it('rewriteSummary advertises generated deltas in the summary; summary.sig is withheld or signed by the hook', async () => {
    const plain = new DeltaService({ origin: server.url, depth: 1, rewriteSummary: true, cache: new MemoryDeltaCache() });
    const s = await get(plain, 'summary');
    expect(s.status).toBe(200);
    const [refs, meta] = decode('(a(s(taya{sv}))a{sv})', s.body) as [unknown[], Array<[string, GVVariant]>];
    expect(refs.length).toBe(1);
    const adv = advertisedDeltas(meta);
    const sb = await get(plain, deltaRelPath(origin.c1, origin.c2, 'superblock'));
    expect(adv.get(`${origin.c1}-${origin.c2}`)).toBe(sha(sb.body));
    // the other entries are the origin's, unchanged
    const [, originMeta] = decode('(a(s(taya{sv}))a{sv})', readFileSync(join(origin.repo, 'summary'))) as [unknown, Array<[string, GVVariant]>];
    for (const [k, v] of originMeta) expect(meta.find(([m]) => m === k)?.[1], k).toEqual(v);
    expect((await get(plain, 'summary.sig')).status).toBe(404);
    const signed = new DeltaService({ origin: server.url, depth: 1, rewriteSummary: true, signSummary: async (b) => new TextEncoder().encode(`sig:${sha(b)}`) });
    const sum2 = await get(signed, 'summary');
    expect(new TextDecoder().decode((await get(signed, 'summary.sig')).body)).toBe(`sig:${sha(sum2.body)}`);
  });

  it('refuses an origin that sends more than it declares or than the limit allows', async () => {
    const lying: Server = createServer((req, res) => {
      if (req.url === '/config') {
        res.end('[core]\nrepo_version=1\nmode=archive-z2\n');
        return;
      }
      if (req.url === '/summary') {
        res.writeHead(200, { 'content-length': 999_999_999 }); // declares more than the cap
        res.end('short');
        return;
      }
      // an endless body without content-length
      res.writeHead(200);
      const buf = Buffer.alloc(65536, 1);
      let n = 0;
      const push = () => {
        while (n++ < 2000) if (!res.write(buf)) return res.once('drain', push);
        res.end();
      };
      push();
    });
    await new Promise<void>((r) => lying.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(lying.address() as AddressInfo).port}/`;
      const svc = new DeltaService({ origin: url, maxFileBytes: 1024 * 1024 });
      const r = await get(svc, deltaIndexRelPath(origin.c2));
      expect(r.status).toBe(502);
      expect(new TextDecoder().decode(r.body)).toMatch(/more than 1048576 bytes|over the limit/);
      const svc2 = new DeltaService({ origin: url, rewriteSummary: true });
      const s = await get(svc2, 'summary');
      expect(s.status).toBe(502);
      expect(new TextDecoder().decode(s.body)).toMatch(/declares 999999999 bytes, over the limit/);
    } finally {
      lying.closeAllConnections();
      lying.close();
    }
  });
});
