// A partial download left complete by a killed pull (the body all received, the process killed
// before the object was stored) makes the next run ask for `Range: bytes=SIZE-`, which servers
// answer 416. The fetcher must drop the partial file and fetch the whole body on its retry
// (found by the crash campaign: the retries kept asking for the same refused range).

import { afterEach, describe, expect, it } from 'vitest';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Fetcher } from '../../src/pull/fetcher.ts';

const host = createNodeHost();

describe('fetcher: resuming from a complete partial file', () => {
  let server: http.Server | null = null;
  let dir: string | null = null;
  afterEach(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server!.close(() => r()));
    }
    server = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('a 416 for the resumed range restarts the body from byte 0', async () => {
    const body = Buffer.alloc(100_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const ranges: Array<string | undefined> = [];
    server = http.createServer((req, res) => {
      ranges.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m && Number(m[1]) >= body.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${body.length}` });
        res.end();
        return;
      }
      const start = m ? Number(m[1]) : 0;
      res.writeHead(m ? 206 : 200, { 'Content-Length': String(body.length - start), ...(m ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
      res.end(body.subarray(start));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/obj`;
    dir = mkdtempSync(join(tmpdir(), 'xylem-416-'));
    const partialPath = join(dir, 'part');
    writeFileSync(partialPath, body); // all of it, as a killed pull leaves it
    const f = new Fetcher({ http: host.http, fs: host.fs, retries: 2, sleep: async () => undefined });
    const got = await f.get({ url, partialPath });
    expect(Buffer.from(got!).equals(body)).toBe(true);
    expect(ranges).toEqual([`bytes=${body.length}-`, undefined]);
  });
});
