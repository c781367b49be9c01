// The HttpClient of the Node host: plain http through the lean HTTP/1.1 client in http1.ts (a
// pull makes one request per object, tens of thousands, and this costs several times less CPU per
// request than fetch() or node:http), https through node:https with a keep-alive agent. Redirects
// are followed as fetch() does (at most 20; 303 turns into GET; credentials dropped across
// origins). node:* modules are loaded on first use, so hosts that never pull do not load them.

import type { HttpClient, HttpExchange, HttpResponse } from '../../src/host.ts';
import type * as httpNs from 'node:http';
import { AbortedError, Body, http1Request, type Http1Request } from './http1.ts';

let httpsAgent: Promise<{ https: typeof import('node:https'); agent: httpNs.Agent }> | null = null;

function loadHttps(): Promise<{ https: typeof import('node:https'); agent: httpNs.Agent }> {
  // Free sockets are unref'd by the agent, so idle connections never keep the process alive.
  httpsAgent ??= Promise.all([import('node:https'), extraCaCertificates()]).then(([https, ca]) => ({
    https,
    agent: new https.Agent({ keepAlive: true, scheduling: 'lifo', ...(ca ? { ca } : {}) }),
  }));
  return httpsAgent;
}

/**
 * The trusted CAs when the CLI launcher deferred NODE_EXTRA_CA_CERTS (Node 20 parses that file at
 * every start-up; tools/bin/xylem passes it on as XYLEM_EXTRA_CA_CERTS instead): the built-in roots
 * plus the file's certificates, as Node would have used. Null when there is nothing to add; an
 * unreadable file is reported and ignored, as Node does.
 */
async function extraCaCertificates(): Promise<string[] | null> {
  const file = typeof process !== 'undefined' ? process.env.XYLEM_EXTRA_CA_CERTS : undefined;
  if (!file) return null;
  const [{ readFile }, tls] = await Promise.all([import('node:fs/promises'), import('node:tls')]);
  try {
    const pem = await readFile(file, 'utf8');
    return [...tls.rootCertificates, pem];
  } catch (e) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${e instanceof Error ? e.message : String(e)}`);
    return null;
  }
}

const MAX_REDIRECTS = 20;

/** A response: its head and the Body its bytes flow into. */
class Response implements HttpResponse {
  constructor(
    readonly status: number,
    private readonly headers: (name: string) => string | undefined,
    private readonly body: Body,
  ) {}
  header(name: string): string | null {
    return this.headers(name.toLowerCase()) ?? null;
  }
  read(): Promise<Uint8Array | null> {
    return this.body.read();
  }
  cancel(): void {
    this.body.cancel();
  }
}

/** One https request through node:https, as an Http1Request. */
function httpsRequest(url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>): Http1Request {
  let req: httpNs.ClientRequest | null = null;
  let res: httpNs.IncomingMessage | null = null;
  let aborted = false;
  let rejectPending: ((e: Error) => void) | null = null;
  const result = loadHttps().then(
    ({ https, agent }) =>
      new Promise<{ head: { status: number; headers: Map<string, string> }; body: Body }>((resolve, reject) => {
        if (aborted) throw new AbortedError();
        rejectPending = reject;
        req = https.request(url, { method, headers, agent }, (r) => {
          res = r;
          const h = new Map<string, string>();
          for (const [k, v] of Object.entries(r.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
          const body = new Body(
            (paused) => (paused ? r.pause() : r.resume()),
            () => r.destroy(),
          );
          r.on('data', (c: Buffer) => body.push(c));
          r.on('end', () => body.end());
          r.on('error', (e: Error) => body.fail(e));
          r.on('close', () => {
            if (!r.complete) body.fail(new Error('aborted (connection closed before the end of the body)'));
          });
          rejectPending = null;
          resolve({ head: { status: r.statusCode ?? 0, headers: h }, body });
        });
        req.on('error', reject);
        req.end();
      }),
  );
  result.catch(() => undefined);
  return {
    result,
    abort: () => {
      if (aborted) return;
      aborted = true;
      req?.destroy();
      res?.destroy();
      rejectPending?.(new AbortedError());
    },
  };
}

class Exchange implements HttpExchange {
  readonly response: Promise<HttpResponse>;
  private current: Http1Request | null = null;
  private aborted = false;

  constructor(url: string, method: 'GET' | 'HEAD', headers: Record<string, string>) {
    this.response = this.run(url, method, headers);
    // Nobody may be listening yet when an abort rejects it.
    this.response.catch(() => undefined);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.current?.abort();
  }

  private async run(url: string, method: 'GET' | 'HEAD', headers: Record<string, string>): Promise<HttpResponse> {
    let target = new URL(url);
    let m = method;
    let hdrs = headers;
    for (let hop = 0; ; hop++) {
      if (this.aborted) throw new AbortedError();
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new TypeError(`unsupported URL scheme ${target.protocol}`);
      if (target.username || target.password) throw new TypeError('URLs with credentials are not supported here');
      const r = target.protocol === 'http:' ? http1Request(target, m, hdrs) : httpsRequest(target, m, hdrs);
      this.current = r;
      const { head, body } = await r.result;
      const loc = head.headers.get('location');
      if (head.status >= 300 && head.status < 400 && head.status !== 304 && loc !== undefined) {
        body.cancel();
        if (hop >= MAX_REDIRECTS) throw new Error('redirect count exceeded');
        const next = new URL(loc, target);
        if (next.origin !== target.origin) {
          hdrs = { ...hdrs };
          for (const k of Object.keys(hdrs)) if (k.toLowerCase() === 'authorization') delete hdrs[k];
        }
        if (head.status === 303 && m !== 'HEAD') m = 'GET';
        target = next;
        continue;
      }
      if (this.aborted) {
        body.cancel();
        throw new AbortedError();
      }
      return new Response(head.status, (n) => head.headers.get(n), body);
    }
  }
}

/** The Node host's HttpClient (Bun and Deno keep their own fetch). */
export const nodeHttpClient: HttpClient = {
  request(url: string, init: { method?: 'GET' | 'HEAD'; headers: Record<string, string> }): HttpExchange {
    if (typeof url !== 'string') throw new TypeError('HttpClient.request: url must be a string');
    const method = init?.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') throw new TypeError(`HttpClient.request: unsupported method ${String(method)}`);
    return new Exchange(url, method, init.headers ?? {});
  },
};
