// The Node host's lean HTTP/1.1 client (runtimes/posix/http1.ts behind Host.http) against raw
// TCP servers on 127.0.0.1 that answer byte for byte as scripted: Content-Length, chunked and
// close-delimited bodies, 1xx heads, keep-alive reuse, a kept-alive connection the server closed
// (sent again once), redirects, HEAD, and hostile answers (malformed or huge heads, bodies cut
// short, bad chunk sizes) that must fail the request rather than hang or be accepted.

import { afterEach, describe, expect, it } from 'vitest';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { nodeHttpClient } from '../../runtimes/posix/http.ts';
import type { HttpResponse } from '../../src/host.ts';

interface Scripted {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  /** Request heads received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** A server that calls `answer(head, socket, n)` for the n-th request head it reads. */
async function scripted(answer: (head: string, sock: net.Socket, n: number) => void): Promise<Scripted> {
  const socks = new Set<net.Socket>();
  const s: Scripted = { url: '', connections: 0, requests: [], close: async () => undefined };
  const server = net.createServer((sock) => {
    s.connections++;
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => undefined);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        s.requests.push(head);
        answer(head, sock, s.requests.length);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((r) => {
      for (const x of socks) x.destroy();
      server.close(() => r());
    });
  return s;
}

async function readAll(res: HttpResponse): Promise<string> {
  const parts: Buffer[] = [];
  for (let c = await res.read(); c !== null; c = await res.read()) parts.push(Buffer.from(c));
  return Buffer.concat(parts).toString('latin1');
}

function get(url: string, method: 'GET' | 'HEAD' = 'GET') {
  return nodeHttpClient.request(url, { method, headers: { 'User-Agent': 'test' } });
}

describe('lean HTTP/1.1 client', () => {
  let server: Scripted | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('Content-Length bodies over one kept-alive connection; the request names path, host and headers', async () => {
    server = await scripted((_h, sock, n) => sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-N: ${n}\r\n\r\nbody${n}`));
    for (const n of [1, 2, 3]) {
      const res = await get(`${server.url}/objects/a${n}?q=1`).response;
      expect(res.status).toBe(200);
      expect(res.header('x-n')).toBe(String(n));
      expect(res.header('X-N')).toBe(String(n));
      expect(await readAll(res)).toBe(`body${n}`);
    }
    expect(server.connections).toBe(1);
    expect(server.requests[1]).toMatch(new RegExp(`^GET /objects/a2\\?q=1 HTTP/1\\.1\\r\\nHost: 127\\.0\\.0\\.1:\\d+\\r\\nUser-Agent: test$`));
  });

  it('chunked bodies with extensions and trailers; 1xx heads are skipped', async () => {
    server = await scripted((_h, sock) =>
      sock.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\n'),
    );
    const res = await get(`${server.url}/c`).response;
    expect(await readAll(res)).toBe('hello, world');
    // The connection was reused: the chunked body ended exactly.
    expect(await readAll(await get(`${server.url}/c`).response)).toBe('hello, world');
    expect(server.connections).toBe(1);
  });

  it('a body delimited by the end of the connection', async () => {
    server = await scripted((_h, sock) => sock.end('HTTP/1.0 200 OK\r\n\r\nuntil the end'));
    expect(await readAll(await get(`${server.url}/x`).response)).toBe('until the end');
  });

  it('a kept-alive connection the server closed meanwhile: the request is sent again on a new one', async () => {
    server = await scripted((_h, sock, n) => {
      sock.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr${n}`);
      if (n === 1) setTimeout(() => sock.destroy(), 20);
    });
    expect(await readAll(await get(`${server.url}/1`).response)).toBe('r1');
    await new Promise((r) => setTimeout(r, 100));
    expect(await readAll(await get(`${server.url}/2`).response)).toBe('r2');
    expect(server.connections).toBe(2);
  });

  it('redirects are followed (303 becomes GET); more than 20 fail', async () => {
    server = await scripted((head, sock) => {
      const path = head.split(' ')[1]!;
      if (path === '/start') sock.write('HTTP/1.1 302 Found\r\nLocation: /next\r\nContent-Length: 0\r\n\r\n');
      else if (path === '/next') sock.write('HTTP/1.1 303 See Other\r\nLocation: /final\r\nContent-Length: 3\r\n\r\nxyz');
      else if (path === '/final') sock.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone');
      else sock.write('HTTP/1.1 301 Moved\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n');
    });
    expect(await readAll(await get(`${server.url}/start`).response)).toBe('done');
    await expect(get(`${server.url}/loop`).response).rejects.toThrow(/redirect count exceeded/);
  });

  it('HEAD: no body is read even with a Content-Length, and the connection stays usable', async () => {
    server = await scripted((head, sock) =>
      sock.write(head.startsWith('HEAD') ? 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'),
    );
    const h = await get(`${server.url}/f`, 'HEAD').response;
    expect(h.header('content-length')).toBe('1000');
    expect(await readAll(h)).toBe('');
    expect(await readAll(await get(`${server.url}/f`).response)).toBe('ok');
    expect(server.connections).toBe(1);
  });

  it('hostile answers fail the request: malformed status line, a head over 64 KiB, bad Content-Length, bad chunk size', async () => {
    const answers = [
      'HTTP/1.1 2OO OK\r\n\r\n',
      `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70 * 1024)}\r\n\r\n`,
      'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello',
      'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad Header Line\r\n\r\n',
    ];
    server = await scripted((_h, sock, n) => sock.write(answers[n - 1]!));
    for (let i = 0; i < answers.length; i++) await expect(get(`${server.url}/h${i}`).response).rejects.toThrow();
    await server.close();
    server = await scripted((_h, sock) => sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'));
    const res = await get(`${server.url}/chunk`).response;
    await expect(readAll(res)).rejects.toThrow(/malformed chunk size/);
  });

  it('a body cut short rejects the read; an aborted request rejects too', async () => {
    server = await scripted((head, sock) => {
      if (head.includes('/short')) {
        sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this');
        setTimeout(() => sock.destroy(), 20);
      } else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart'); // then silence
    });
    const res = await get(`${server.url}/short`).response;
    await expect(readAll(res)).rejects.toThrow(/closed before the end of the body|aborted/);
    const ex = get(`${server.url}/stall`);
    const r2 = await ex.response;
    expect(Buffer.from((await r2.read())!).toString()).toBe('part');
    const pending = r2.read();
    ex.abort();
    await expect(pending).rejects.toThrow(/aborted/);
  });
});
