// A static, read-only HTTP server for repositories (what ostree-trivial-httpd does for the test
// suite): GET/HEAD of files under a root folder on 127.0.0.1, single byte ranges, 404s, ETag /
// Last-Modified, directory redirects and listings, plus the fault injection the suite uses
// (--force-range-requests, --random-500s, --random-408s, expected headers/cookies, basic auth).
// With `cors` (--cors) every answer allows any origin to read it and OPTIONS preflights are
// answered, so a page on another origin (the browser audit) can read the repository.

import * as http from 'node:http';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface TrivialHttpdOptions {
  root: string;
  /** TCP port (0 = any free one). */
  port?: number;
  host?: string;
  /** Serve only the first half of /objects files when no Range is asked (then close). */
  forceRangeRequests?: boolean;
  random500sPercent?: number;
  random500sMax?: number;
  random408sPercent?: number;
  random408sMax?: number;
  requireBasicAuth?: boolean;
  expectedCookies?: Array<[string, string]>;
  expectedHeaders?: Array<[string, string]>;
  /**
   * Cross-origin reads: `Access-Control-Allow-Origin: *` on every answer, and OPTIONS preflights
   * answered 204 (GET, HEAD; the request headers asked for). Off: OPTIONS is 405 like any method.
   */
  cors?: boolean;
  /** One line per request ("serving PATH"). */
  log?: (line: string) => void;
  /** Called for every request before it is served (tests count requests here). */
  onRequest?: (req: http.IncomingMessage) => void;
}

export interface RunningHttpd {
  port: number;
  url: string;
  server: http.Server;
  close(): Promise<void>;
}

function parseRange(h: string | undefined, size: number): { start: number; end: number } | 'invalid' | null {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // multi-range or junk: ignore, serve whole
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    start = Math.max(size - n, 0);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return { start, end };
}

function listing(urlPath: string, dir: string): string {
  const names = fs.readdirSync(dir).sort();
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const items = names.map((n) => `<li><a href="${encodeURIComponent(n)}">${esc(n)}</a></li>`).join('\n');
  return `<html>\n<head><title>Index of ${esc(urlPath)}</title></head>\n<body><ul>\n${items}\n</ul></body>\n</html>\n`;
}

/** Starts serving; resolves once listening. */
export function startTrivialHttpd(o: TrivialHttpdOptions): Promise<RunningHttpd> {
  const root = path.resolve(o.root);
  let n500 = 0;
  let n408 = 0;
  const max500 = o.random500sMax ?? 100;
  const max408 = o.random408sMax ?? 100;
  const server = http.createServer((req, res) => {
    o.onRequest?.(req);
    const send = (status: number, body = '', headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (o.cors) {
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified');
      if (req.method === 'OPTIONS') {
        // A preflight carries no credentials: answered before basic auth and fault injection.
        const asked = req.headers['access-control-request-headers'];
        const headers: Record<string, string> = {
          'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
          'Access-Control-Max-Age': '86400',
          Allow: 'GET, HEAD, OPTIONS',
        };
        if (typeof asked === 'string' && /^[A-Za-z0-9\-, ]{1,1024}$/.test(asked)) headers['Access-Control-Allow-Headers'] = asked;
        return send(204, '', headers);
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'Method Not Allowed\n');
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(400, 'Bad Request\n');
    }
    o.log?.(`serving ${urlPath}`);
    if (o.requireBasicAuth) {
      const want = `Basic ${Buffer.from('foouser:barpw').toString('base64')}`;
      if (req.headers.authorization !== want) return send(401, 'Unauthorized\n', { 'WWW-Authenticate': 'Basic realm="auth-test"' });
    }
    for (const [k, v] of o.expectedCookies ?? []) {
      const cookies = (req.headers.cookie ?? '').split(/;\s*/);
      if (!cookies.includes(`${k}=${v}`)) {
        o.log?.(`Expected cookie not found ${k}`);
        return send(403, 'Forbidden\n');
      }
    }
    for (const [k, v] of o.expectedHeaders ?? []) {
      const got = req.headers[k.toLowerCase()];
      if (got !== v) {
        o.log?.(got === undefined ? `Expected header not found ${k}` : `Expected header ${k}: ${v} but found ${got}`);
        return send(403, 'Forbidden\n');
      }
    }
    if (urlPath.includes('../') || urlPath.split('/').includes('..')) return send(403, 'Forbidden\n');
    if ((o.random500sPercent ?? 0) > 0 && n500 < max500 && Math.random() * 100 < o.random500sPercent!) {
      n500++;
      return send(500, 'Internal Server Error\n');
    }
    if ((o.random408sPercent ?? 0) > 0 && n408 < max408 && Math.random() * 100 < o.random408sPercent!) {
      n408++;
      return send(408, 'Request Timeout\n');
    }
    const file = path.join(root, urlPath);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return send(code === 'ENOENT' || code === 'ENOTDIR' ? 404 : code === 'EACCES' || code === 'EPERM' ? 403 : 500, 'Error\n');
    }
    if ((st.mode & 0o004) === 0 || (st.isDirectory() && (st.mode & 0o001) === 0)) return send(403, 'Forbidden\n');
    if (st.isDirectory()) {
      if (!urlPath.endsWith('/')) return send(301, '', { Location: `${urlPath}/` });
      const index = path.join(file, 'index.html');
      if (!fs.existsSync(index)) return send(200, listing(urlPath, file), { 'Content-Type': 'text/html' });
      st = fs.statSync(index);
      return serveFile(index, st);
    }
    if (!st.isFile()) return send(403, 'Forbidden\n');
    return serveFile(file, st);

    function serveFile(p: string, s: fs.Stats): void {
      let data: Buffer;
      try {
        data = fs.readFileSync(p);
      } catch {
        return send(500, 'Error\n');
      }
      const headers: Record<string, string> = {
        'Last-Modified': new Date(Math.floor(s.mtimeMs / 1000) * 1000).toUTCString(),
        ETag: `"${createHash('sha256').update(data).digest('hex')}"`,
        'Accept-Ranges': 'bytes',
      };
      if (req.headers['if-none-match'] && req.headers['if-none-match'] === headers.ETag) {
        res.writeHead(304, headers);
        return void res.end();
      }
      const range = req.method === 'GET' ? parseRange(req.headers.range, data.length) : null;
      if (range === 'invalid') return send(416, '', { 'Content-Range': `bytes */${data.length}` });
      if (range) {
        const body = data.subarray(range.start, range.end + 1);
        res.writeHead(206, { ...headers, 'Content-Length': String(body.length), 'Content-Range': `bytes ${range.start}-${range.end}/${data.length}` });
        return void res.end(body);
      }
      if (req.method === 'HEAD') {
        res.writeHead(200, { ...headers, 'Content-Length': String(data.length) });
        return void res.end();
      }
      if (o.forceRangeRequests && urlPath.includes('/objects')) {
        // Declare the whole length, send half, hang up: the client must resume with a Range.
        res.writeHead(200, { ...headers, 'Content-Length': String(data.length), Connection: 'close' });
        res.write(data.subarray(0, Math.floor(data.length / 2)), () => res.socket?.destroy());
        return;
      }
      res.writeHead(200, { ...headers, 'Content-Length': String(data.length) });
      res.end(data);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        url: `http://127.0.0.1:${port}`,
        server,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}
