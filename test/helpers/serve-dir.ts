// A static file server on 127.0.0.1 for the tests' rpm-md repos (dnf and rpm-ostree read repos
// over HTTP): read-only, a port the OS picks, every requested URL recorded so a test can count
// downloads. The caller closes `server`.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/** Serves the files under `dir` on 127.0.0.1; `requests` records every URL asked for. */
export function serve(dir: string): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const path = normalize(join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]!)));
    if (!path.startsWith(dir) || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': statSync(path).size });
    createReadStream(path).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, requests })));
}
