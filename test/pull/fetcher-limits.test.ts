// The fetcher's limits on its own, against scripted servers on 127.0.0.1: curl's low-speed rule
// (ostree --low-speed-limit-bytes / --low-speed-time-seconds: below N bytes/s for T seconds
// aborts even when bytes keep trickling; with N = 0 only silence does), bodies without a
// Content-Length moving to the partial file past spillMinSize instead of staying in memory, and
// a cap read from the body's own head (capFromHead) refusing what follows it.

import { afterEach, describe, expect, it } from 'vitest';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Fetcher } from '../../src/pull/fetcher.ts';

const host = createNodeHost();

interface Server {
  url: string;
  close(): Promise<void>;
}

async function serve(handler: (res: http.ServerResponse) => void): Promise<Server> {
  const server = http.createServer((_req, res) => {
    res.on('error', () => undefined);
    handler(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/obj`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** One byte every `everyMs`, `total` bytes, then the end (no Content-Length). */
function trickle(total: number, everyMs: number) {
  return (res: http.ServerResponse) => {
    res.writeHead(200);
    let n = 0;
    const t = setInterval(() => {
      if (res.destroyed) return clearInterval(t);
      res.write('a');
      if (++n === total) {
        clearInterval(t);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(t));
  };
}

describe('fetcher limits', () => {
  let server: Server | null = null;
  let dir: string | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('a trickle below lowSpeedLimitBytes for the low-speed time is aborted, though never silent', async () => {
    server = await serve(trickle(1000, 50)); // 20 bytes/s, for 50 s
    const f = new Fetcher({ http: host.http, retries: 0, stallTimeoutMs: 600, lowSpeedLimitBytes: 100 });
    const t0 = Date.now();
    const err = await f.get({ url: server.url }).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.message).toContain('Timeout was reached (operation too slow: less than 100 bytes/sec transferred the last 0.6 seconds)');
    expect(err?.code).toBe('ETIMEDOUT');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('with lowSpeedLimitBytes 0 only silence aborts: the same trickle completes', async () => {
    server = await serve(trickle(20, 50));
    const f = new Fetcher({ http: host.http, retries: 0, stallTimeoutMs: 600, lowSpeedLimitBytes: 0 });
    const body = await f.get({ url: server.url });
    expect(new TextDecoder().decode(body!)).toBe('a'.repeat(20));
  });

  it('rejects invalid limits', () => {
    expect(() => new Fetcher({ lowSpeedLimitBytes: -1 })).toThrow(/lowSpeedLimitBytes/);
    expect(() => new Fetcher({ stallTimeoutMs: 0 })).toThrow(/stallTimeoutMs/);
  });

  it('a body without Content-Length goes to the partial file only, once past spillMinSize', async () => {
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7) & 0xff;
    server = await serve((res) => {
      res.writeHead(200); // chunked
      for (let i = 0; i < 48; i++) res.write(chunk); // 3 MiB
      res.end();
    });
    dir = mkdtempSync(join(tmpdir(), 'xylem-fetcher-'));
    const f = new Fetcher({ http: host.http, fs: host.fs, retries: 0 });
    const partialPath = join(dir, 'part');
    const got = await f.getSpillable({ url: server.url, partialPath, partialMayExist: false, spillMinSize: 1 << 20 });
    expect(got).toEqual({ file: partialPath, size: 48 * chunk.length });
    const onDisk = readFileSync(partialPath);
    expect(onDisk.length).toBe(48 * chunk.length);
    expect(onDisk.subarray(5 * chunk.length, 6 * chunk.length).equals(chunk)).toBe(true);
  });

  it('capFromHead: the cap the head declares refuses the rest, naming what the body is', async () => {
    server = await serve((res) => {
      res.writeHead(200);
      res.write(Buffer.from([0, 0, 0, 50])); // "50 bytes in all", in two pieces
      setTimeout(() => res.end(Buffer.alloc(100, 1)), 20);
    });
    const f = new Fetcher({ http: host.http, retries: 3 });
    const heads: number[] = [];
    const cap = (h: Uint8Array) => {
      heads.push(h.length);
      return h.length < 4 ? { need: 4 } : new DataView(h.buffer, h.byteOffset).getUint32(0);
    };
    const err = await f.get({ url: server.url, capFromHead: cap, what: 'Thing X' }).then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.message).toBe(`Thing X: URI ${server.url} exceeded maximum size of 50 bytes`);
    expect(err?.code).toBe('ETOOBIG');
    expect(heads).toEqual([4]);
    // A head that throws is refused at once, without retries.
    let calls = 0;
    const bad = await f
      .get({
        url: server.url,
        capFromHead: () => {
          calls++;
          throw new Error('bad head');
        },
      })
      .then(
        () => null,
        (e: Error) => e,
      );
    expect(bad?.message).toContain('bad head');
    expect(calls).toBe(1);
  });
});
