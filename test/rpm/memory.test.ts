// Streaming in flat memory: a package whose payload unpacks to 256 MiB (rpmbuild: gzip, zstd, bzip2) is
// read through the Host's file handle with openRpm and walked entry by entry, every byte digest-
// checked; the process's memory must not grow with the payload (the reader holds one chunk, never
// the payload or a whole file).

import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { openRpm } from '../../src/rpm/index.ts';
import { HAVE_RPMBUILD } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { built } from './fixtures.ts';

const SIZE = 256 * 1024 * 1024;

describe.skipIf(missing('rpm streaming memory', { rpmbuild: HAVE_RPMBUILD }))('payloads stream in flat memory', () => {
  // xz is left out (its pure-TypeScript LZMA decoder takes minutes for 256 MiB on a loaded machine)
  for (const payload of ['w6.gzdio', 'w3.zstdio', 'w19.zstdio', 'w9.bzdio']) {
    it(`${payload}: 256 MiB of content, RSS grows by far less`, async () => {
      const path = built({ name: 'bigpkg', payload, files: [{ path: '/usr/share/big/zeros', zeros: SIZE }, { path: '/usr/share/big/small', content: 'after the big one\n' }] });
      const host = createNodeHost();
      const fh = await host.fs.openRead(path);
      try {
        global.gc?.();
        const rss0 = process.memoryUsage().rss;
        let peak = rss0;
        let total = 0;
        const t = Date.now();
        const pkg = await openRpm(fh, basename(path));
        for await (const e of pkg.entries({ hash: host.hash })) {
          for await (const c of e.data) {
            total += c.length;
            if ((total & 0xffffff) < c.length) peak = Math.max(peak, process.memoryUsage().rss);
          }
        }
        peak = Math.max(peak, process.memoryUsage().rss);
        expect(total).toBe(SIZE + 'after the big one\n'.length);
        console.log(`${payload}: ${SIZE >> 20} MiB in ${Date.now() - t} ms, RSS +${((peak - rss0) / 1048576).toFixed(0)} MiB`);
        expect(peak - rss0).toBeLessThan(96 * 1024 * 1024);
      } finally {
        await fh.close();
      }
    });
  }
});
