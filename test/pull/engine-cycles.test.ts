// The pull engine's cycle check on its own (no CLI): a dirtree stored under a name that is not its
// checksum and listing itself, read from a trusted local source, pulled with a subpath under the
// looping directory. Scans are then per path, so without the ancestor check the walk would go
// /loop/loop/loop/… for ever; it must fail at once, naming the dirtree.

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { encode } from '../../src/format/gvariant.ts';
import { encodeCommit, encodeDirMeta } from '../../src/format/objects.ts';
import { PullEngine } from '../../src/pull/engine.ts';
import { PullWriter } from '../../src/pull/writer.ts';
import { LocalRepoSource } from '../../src/pull/source-local.ts';

const host = createNodeHost();
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const hex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));

function put(repo: string, csum: string, ext: string, data: Uint8Array): void {
  mkdirSync(join(repo, 'objects', csum.slice(0, 2)), { recursive: true });
  writeFileSync(join(repo, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`), data);
}

describe('pull engine: cycles', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a self-listing dirtree pulled with a subpath inside it fails naming the dirtree', async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-cycles-'));
    const src = await Repo.init(host, join(dir, 'src'), { mode: 'archive' });
    const dest = await Repo.init(host, join(dir, 'dest'), { mode: 'bare-user' });
    const meta = encodeDirMeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] });
    put(src.path, sha(meta), 'dirmeta', meta);
    const self = sha('self');
    put(src.path, self, 'dirtree', encode('(a(say)a(sayay))', [[], [['loop', hex(self), hex(sha(meta))]]]));
    const commit = encodeCommit({ metadata: [], parent: null, related: [], subject: 's', body: '', timestamp: 1n, rootTree: self, rootMeta: sha(meta) });
    put(src.path, sha(commit), 'commit', commit);

    const writer = new PullWriter(dest);
    const engine = new PullEngine(dest, writer, new LocalRepoSource(src, { trusted: true, bareuseronlyFiles: false }), {
      depth: 0,
      commitOnly: false,
      subpaths: ['/loop'],
      bareuseronlyFiles: false,
      verifyBindings: false,
    });
    const t0 = Date.now();
    const err = await engine.pullTarget({ ref: null, checksum: sha(commit) }).then(
      () => null,
      (e: Error) => e,
    );
    await writer.abort();
    expect(err?.message).toBe(`Corrupted dirtree object ${self}.dirtree: listed as a subdirectory of itself (a cycle, at /loop)`);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});
