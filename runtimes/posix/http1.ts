// A minimal HTTP/1.1 client over node:net for plain-http pulls: one GET/HEAD per connection at a
// time, keep-alive connections reused (LIFO) per origin, bodies delimited by Content-Length,
// chunked transfer coding or the end of the connection. A pull makes one request per object, and
// this costs about a quarter of node:http's CPU per request. The server is hostile input: the
// head is capped at 64 KiB, every length is checked, anything malformed fails the request (the
// connection is dropped, never reused). A request that finds its reused connection closed by the
// server before any byte of answer is sent again once on a new connection (GET/HEAD are safe).

import type * as netNs from 'node:net';

type Net = typeof import('node:net');

let net: Net | null = null;

/** node:net, loaded on first use. */
export async function loadNet(): Promise<Net> {
  net ??= await import('node:net');
  return net;
}

const MAX_HEAD = 64 * 1024;
const MAX_CHUNK_LINE = 4096;
const HIGH_WATER = 1 << 20;
const CRLF = 0x0a;

export class Http1Error extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Http1Error';
  }
}

export class AbortedError extends Error {
  constructor() {
    super('The operation was aborted');
    this.name = 'AbortError';
  }
}

/** A parsed response head. */
export interface Head {
  status: number;
  headers: Map<string, string>;
}

type BodyMode = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

/** The body of one response: a queue of chunks read by the caller. */
export class Body {
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  ended = false;
  error: Error | null = null;
  private waiter: { resolve: (c: Uint8Array | null) => void; reject: (e: Error) => void } | null = null;
  constructor(
    private readonly onPressure: (paused: boolean) => void,
    private readonly onCancel: () => void,
  ) {}

  push(c: Uint8Array): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve(c);
      return;
    }
    this.queue.push(c);
    this.queued += c.length;
    if (this.queued > HIGH_WATER) this.onPressure(true);
  }

  end(): void {
    if (this.ended || this.error) return;
    this.ended = true;
    this.settle();
  }

  fail(e: Error): void {
    if (this.ended || this.error) return;
    this.error = e;
    this.settle();
  }

  private settle(): void {
    const w = this.waiter;
    if (!w || this.queue.length) return;
    this.waiter = null;
    if (this.error) w.reject(this.error);
    else w.resolve(null);
  }

  read(): Promise<Uint8Array | null> {
    if (this.queue.length) {
      const c = this.queue.shift()!;
      this.queued -= c.length;
      if (this.queued <= HIGH_WATER) this.onPressure(false);
      return Promise.resolve(c);
    }
    if (this.error) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve(null);
    if (this.waiter) return Promise.reject(new Error('HttpResponse.read: a read is already pending'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  cancel(): void {
    if (this.ended || this.error) return;
    this.fail(new AbortedError());
    this.onCancel();
  }
}

/** Parses "Name: value" lines of a head; null when malformed. */
function parseHead(text: string): { version: string; status: number; headers: Map<string, string> } | null {
  const lines = text.split('\r\n');
  const m = /^HTTP\/(1\.[01]) (\d{3})(?: [^\r\n]*)?$/.exec(lines[0]!);
  if (!m) return null;
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c = line.indexOf(':');
    if (c <= 0) return null;
    const name = line.slice(0, c).toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) return null;
    const value = line.slice(c + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { version: m[1]!, status: Number(m[2]), headers };
}

/**
 * One connection. `send` writes a request and resolves with its head once it has arrived; the
 * body then streams into the Body it returns. When the response is complete the connection goes
 * back to its pool (if it may be reused).
 */
class Conn {
  private buf: Buffer | null = null;
  private head: Head | null = null;
  private mode: BodyMode = { kind: 'none' };
  private chunkLeft = -1; // chunked: bytes left in the current chunk, -1 = expecting a size line, -2 = expecting CRLF after data, -3 = trailers
  private body: Body | null = null;
  private reusable = false;
  private isHead = false;
  /** Bytes of the current response received so far (0: a reused socket may have been closed). */
  private gotBytes = 0;
  private pending: { resolve: (v: { head: Head; body: Body }) => void; reject: (e: Error) => void } | null = null;
  dead = false;
  /** The request being served (a token from send), null while idle. */
  owner: object | null = null;

  constructor(
    readonly sock: netNs.Socket,
    private readonly release: (c: Conn) => void,
  ) {
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => this.onData(d));
    sock.on('error', (e: Error) => this.onClose(e));
    sock.on('close', () => this.onClose(null));
    sock.on('end', () => this.onClose(null));
  }

  send(owner: object, method: string, path: string, host: string, headers: Record<string, string>): Promise<{ head: Head; body: Body }> {
    let req = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
    for (const k of Object.keys(headers)) req += `${k}: ${headers[k]}\r\n`;
    req += '\r\n';
    this.owner = owner;
    this.isHead = method === 'HEAD';
    this.head = null;
    this.body = null;
    this.gotBytes = 0;
    this.sock.ref();
    const p = new Promise<{ head: Head; body: Body }>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    this.sock.write(req, 'latin1');
    return p;
  }

  destroy(e: Error): void {
    this.dead = true;
    this.sock.destroy();
    this.onClose(e);
  }

  private onClose(e: Error | null): void {
    this.dead = true;
    const err = e ?? new Http1Error('connection closed by the server');
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      (p.reject as (e: Error) => void)(Object.assign(err, { beforeAnyByte: this.gotBytes === 0 }));
    } else if (this.body) {
      if (this.mode.kind === 'close' && !e) this.body.end();
      else this.body.fail(e ?? new Http1Error('aborted (connection closed before the end of the body)'));
      this.body = null;
    }
  }

  private onData(d: Buffer): void {
    this.gotBytes += d.length;
    if (!this.pending && !this.body) {
      // Unsolicited bytes on an idle connection: drop it.
      this.destroy(new Http1Error('unexpected data from the server'));
      return;
    }
    this.buf = this.buf && this.buf.length ? Buffer.concat([this.buf, d]) : d;
    try {
      this.parse();
    } catch (e) {
      this.destroy(e as Error);
    }
  }

  private parse(): void {
    while (this.buf && this.buf.length) {
      if (!this.head) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.buf.length > MAX_HEAD) throw new Http1Error('response head too large');
          return;
        }
        if (end > MAX_HEAD) throw new Http1Error('response head too large');
        const parsed = parseHead(this.buf.toString('latin1', 0, end));
        this.buf = this.buf.subarray(end + 4);
        if (!parsed) throw new Http1Error('malformed HTTP response head');
        if (parsed.status < 200) continue; // 1xx: informational, the real head follows
        this.startBody(parsed);
        continue;
      }
      const body = this.body!;
      const mode = this.mode;
      if (mode.kind === 'length') {
        const n = Math.min(mode.left, this.buf.length);
        body.push(this.buf.subarray(0, n));
        mode.left -= n;
        this.buf = this.buf.subarray(n);
        if (mode.left === 0) this.finish();
      } else if (mode.kind === 'close') {
        body.push(this.buf);
        this.buf = null;
      } else if (mode.kind === 'chunked') {
        if (this.chunkLeft > 0) {
          const n = Math.min(this.chunkLeft, this.buf.length);
          body.push(this.buf.subarray(0, n));
          this.chunkLeft -= n;
          this.buf = this.buf.subarray(n);
          if (this.chunkLeft === 0) this.chunkLeft = -2;
          continue;
        }
        const nl = this.buf.indexOf(CRLF);
        if (nl < 0) {
          if (this.buf.length > MAX_CHUNK_LINE) throw new Http1Error('malformed chunked body');
          return;
        }
        const line = this.buf.toString('latin1', 0, nl).replace(/\r$/, '');
        this.buf = this.buf.subarray(nl + 1);
        if (this.chunkLeft === -2) {
          if (line !== '') throw new Http1Error('malformed chunked body');
          this.chunkLeft = -1;
        } else if (this.chunkLeft === -3) {
          if (line === '') this.finish();
        } else {
          const m = /^([0-9a-fA-F]{1,12})(?:;.*)?$/.exec(line);
          if (!m) throw new Http1Error('malformed chunk size');
          const size = parseInt(m[1]!, 16);
          this.chunkLeft = size === 0 ? -3 : size;
        }
      } else {
        throw new Http1Error('unexpected data after the response');
      }
    }
  }

  private startBody(parsed: { version: string; status: number; headers: Map<string, string> }): void {
    const h = parsed.headers;
    const conn = (h.get('connection') ?? '').toLowerCase();
    this.reusable = parsed.version === '1.1' ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn);
    const te = h.get('transfer-encoding');
    const cl = h.get('content-length');
    let mode: BodyMode;
    if (this.isHead || parsed.status === 204 || parsed.status === 304) mode = { kind: 'none' };
    else if (te !== undefined) {
      if (!/(^|,)\s*chunked\s*$/i.test(te)) throw new Http1Error(`unsupported transfer coding ${te}`);
      mode = { kind: 'chunked' };
      this.chunkLeft = -1;
    } else if (cl !== undefined) {
      const parts = cl.split(',').map((s) => s.trim());
      if (!parts.every((p) => /^\d{1,15}$/.test(p) && p === parts[0])) throw new Http1Error(`invalid Content-Length ${cl}`);
      mode = { kind: 'length', left: Number(parts[0]) };
    } else {
      mode = { kind: 'close' };
      this.reusable = false;
    }
    this.mode = mode;
    this.head = { status: parsed.status, headers: h };
    const body = new Body(
      (paused) => (paused ? this.sock.pause() : this.sock.resume()),
      () => this.destroy(new AbortedError()),
    );
    this.body = body;
    const p = this.pending!;
    this.pending = null;
    p.resolve({ head: this.head, body });
    if (mode.kind === 'none' || (mode.kind === 'length' && mode.left === 0)) this.finish();
  }

  private finish(): void {
    const body = this.body!;
    this.body = null;
    this.head = null;
    this.owner = null;
    const leftover = this.buf !== null && this.buf.length > 0;
    this.buf = null;
    body.end();
    if (!this.reusable || leftover || this.dead) {
      this.dead = true;
      this.sock.destroy();
      return;
    }
    this.sock.unref();
    this.release(this);
  }
}

/** Keep-alive connections per origin ("host:port"), most recently used first. */
const idle = new Map<string, Conn[]>();

function takeIdle(key: string): Conn | null {
  const list = idle.get(key);
  while (list && list.length) {
    const c = list.pop()!;
    if (!c.dead) return c;
  }
  return null;
}

async function connect(n: Net, key: string, host: string, port: number): Promise<Conn> {
  const sock = n.connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  sock.removeAllListeners('error');
  return new Conn(sock, (c) => {
    let list = idle.get(key);
    if (!list) idle.set(key, (list = []));
    list.push(c);
  });
}

/** A request in flight on one connection; `abort` drops the connection. */
export interface Http1Request {
  readonly result: Promise<{ head: Head; body: Body }>;
  abort(): void;
}

/** Sends one request on a kept-alive or new connection to `url`'s origin (plain http only). */
export function http1Request(url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>): Http1Request {
  for (const k of Object.keys(headers))
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n\0]/.test(headers[k]!)) throw new TypeError(`invalid HTTP header ${JSON.stringify(k)}`);
  let aborted = false;
  let conn: Conn | null = null;
  const token = {};
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port ? Number(url.port) : 80;
  const key = `${host}:${port}`;
  const run = async (): Promise<{ head: Head; body: Body }> => {
    const n = await loadNet();
    for (let tries = 0; ; tries++) {
      if (aborted) throw new AbortedError();
      const reused = takeIdle(key);
      conn = reused ?? (await connect(n, key, host, port));
      if (aborted) {
        conn.destroy(new AbortedError());
        throw new AbortedError();
      }
      try {
        return await conn.send(token, method, url.pathname + url.search, url.host, headers);
      } catch (e) {
        // A kept-alive connection the server had closed meanwhile: once more on a fresh one.
        if (!aborted && reused && tries === 0 && (e as { beforeAnyByte?: boolean }).beforeAnyByte) continue;
        throw e;
      }
    }
  };
  const result = run();
  result.catch(() => undefined);
  return {
    result,
    abort: () => {
      if (aborted) return;
      aborted = true;
      // Only while the connection still serves this request (afterwards it may serve another).
      if (conn && conn.owner === token) conn.destroy(new AbortedError());
    },
  };
}
