// The delta service and its origin's redirects: two servers on 127.0.0.1 (different ports, so
// different origins). A redirect within the origin is followed; one to the other server — for
// the config the service reads and for a file it would relay — is refused with a 502 naming the
// target, and the other server is never asked. A fetch that follows redirects on its own is
// caught by its final URL, and its body is not relayed.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DeltaService } from '../../src/delta/on-demand.ts';

interface Srv {
  url: string;
  hits: string[];
  close(): Promise<void>;
}

async function start(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Srv> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const CONFIG = '[core]\nrepo_version=1\nmode=archive-z2\n';
const OBJ = 'objects/ab/cdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789.filez';

describe('delta service: origin redirects', () => {
  const servers: Srv[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  /** `other` serves a config and any file; `origin` redirects as `redirect` says. */
  async function pair(redirect: (path: string, other: string) => string | null) {
    const other = await start((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${CONFIG}# from the other host\n`));
    const origin = await start((req, res) => {
      const to = redirect(req.url ?? '', other.url);
      if (to !== null) return void res.writeHead(302, { location: to }).end();
      if (req.url === '/repo/real-config') return void res.writeHead(200).end(CONFIG);
      res.writeHead(404).end();
    });
    servers.push(other, origin);
    return { other, origin };
  }

  it('a redirect to another host is refused, for the config and for a proxied object; that host is never asked', async () => {
    const { other, origin } = await pair((path, o) => (path.startsWith('/repo/') ? `${o}${path}` : null));
    const svc = new DeltaService({ origin: `${origin.url}/repo`, depth: 1 });
    for (const rel of ['config', OBJ]) {
      const res = await svc.handle(new Request(`http://svc.test/${rel}`));
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(text).toContain(`refusing a redirect to ${other.url}/repo/${rel}`);
      expect(text).toContain(`leaves the origin ${origin.url}`);
    }
    expect(other.hits).toEqual([]);
  });

  it('a redirect to another scheme of the same host and port is refused too', async () => {
    const { origin } = await pair((path, o) => (path === '/repo/config' ? `${o.replace('http:', 'https:')}/config` : null));
    const svc = new DeltaService({ origin: `${origin.url}/repo`, depth: 1 });
    const res = await svc.handle(new Request('http://svc.test/config'));
    expect(res.status).toBe(502);
    expect(await res.text()).toMatch(/refusing a redirect to https:\/\/127\.0\.0\.1:\d+\/config/);
  });

  it('a redirect within the origin is followed', async () => {
    const { other, origin } = await pair((path) => (path === '/repo/config' ? '/repo/real-config' : null));
    const svc = new DeltaService({ origin: `${origin.url}/repo`, depth: 1 });
    const res = await svc.handle(new Request('http://svc.test/config'));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('indexed-deltas=true');
    expect(text).not.toContain('other host');
    expect(origin.hits).toEqual(['/repo/config', '/repo/real-config']);
    expect(other.hits).toEqual([]);
  });

  it('a fetch that follows redirects by itself is checked by its final URL; the body is not relayed', async () => {
    const { other, origin } = await pair((path, o) => (path.startsWith('/repo/') ? `${o}${path}` : null));
    const following: typeof fetch = (input, init) => globalThis.fetch(input, { ...init, redirect: 'follow' });
    const svc = new DeltaService({ origin: `${origin.url}/repo`, depth: 1, fetch: following });
    const res = await svc.handle(new Request(`http://svc.test/${OBJ}`));
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toContain(`refusing a redirect to ${other.url}/repo/${OBJ}`);
    expect(text).not.toContain('other host');
  });
});
