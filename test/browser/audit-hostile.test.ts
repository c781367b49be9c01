// auditCommit against hostile or broken remotes, served from memory through a fake fetch: objects
// are built with xylem's encoders (the clean case is checked against node:crypto), then damaged.
// A deflate bomb, an absurd declared size, an over-cap body, a missing object and a path-traversal
// name are each reported against the right object and path without aborting the audit; shared
// objects are fetched once; the number of requests in flight never exceeds the limit.

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { deflateSync } from 'fflate';
import { auditCommit } from '../../src/audit/index.ts';
import { encode } from '../../src/format/gvariant.ts';
import { S_IFDIR, S_IFREG, archiveHeader, encodeCommit, encodeDirMeta, encodeDirTree, fileStreamHeader, type DirTree } from '../../src/format/objects.ts';
import { fromHex } from '../../src/util/bytes.ts';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const path = (c: string, ext: string): string => `objects/${c.slice(0, 2)}/${c.slice(2)}.${ext}`;

class MemRepo {
  files = new Map<string, Uint8Array>();
  inFlight = 0;
  maxInFlight = 0;
  requests: string[] = [];

  put(rel: string, data: Uint8Array): void {
    this.files.set(rel, data);
  }
  /** A regular file object; returns its checksum. `tamper` may rewrite the stored .filez. */
  file(content: Uint8Array, tamper?: (filez: Uint8Array) => Uint8Array, declared = content.length): string {
    const h = { uid: 0, gid: 0, mode: S_IFREG | 0o644, rdev: 0, symlinkTarget: '', xattrs: [] };
    const csum = sha(new Uint8Array([...fileStreamHeader(h), ...content]));
    let filez: Uint8Array = new Uint8Array([...archiveHeader(h, declared), ...deflateSync(content)]);
    if (tamper) filez = tamper(filez);
    this.put(path(csum, 'filez'), filez);
    return csum;
  }
  meta(): string {
    const m = encodeDirMeta({ uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] });
    const c = sha(m);
    this.put(path(c, 'dirmeta'), m);
    return c;
  }
  tree(t: DirTree): string {
    const b = encodeDirTree(t);
    const c = sha(b);
    this.put(path(c, 'dirtree'), b);
    return c;
  }
  /** A raw dirtree (names not validated by the encoder). */
  rawTree(files: Array<[string, string]>): string {
    const b = encode('(a(say)a(sayay))', [files.map(([n, c]) => [n, fromHex(c)]), []]);
    const c = sha(b);
    this.put(path(c, 'dirtree'), b);
    return c;
  }
  commit(tree: string, meta: string): string {
    const b = encodeCommit({ metadata: [], parent: null, related: [], subject: 's', body: '', timestamp: 1700000000n, rootTree: tree, rootMeta: meta });
    const c = sha(b);
    this.put(path(c, 'commit'), b);
    this.put('refs/heads/main', new TextEncoder().encode(`${c}\n`));
    return c;
  }
  fetch: typeof fetch = async (input) => {
    const rel = new URL(String(input)).pathname.replace(/^\/repo\//, '');
    this.requests.push(rel);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 1));
    this.inFlight--;
    const body = this.files.get(rel);
    if (!body) return new Response('not found', { status: 404 });
    return new Response(body.slice(), { status: 200, headers: { 'Content-Length': String(body.length) } });
  };
}

const URL_ = 'http://repo.invalid/repo';

describe('auditCommit on hostile remotes', () => {
  it('audits a clean in-memory repo; shared objects are fetched once; concurrency is bounded', async () => {
    const r = new MemRepo();
    const shared = r.file(new TextEncoder().encode('shared\n'));
    const files = Array.from({ length: 40 }, (_, i) => ({ name: `f${String(i).padStart(2, '0')}`, checksum: r.file(new TextEncoder().encode(`file ${i}\n`)) }));
    const meta = r.meta();
    const sub = r.tree({ files: [{ name: 'again', checksum: shared }], dirs: [] });
    const root = r.tree({ files: [{ name: 'a-shared', checksum: shared }, ...files], dirs: [{ name: 'sub', treeChecksum: sub, metaChecksum: meta }] });
    const commit = r.commit(root, meta);
    const rep = await auditCommit({ url: URL_, ref: 'main', keys: '', fetch: r.fetch, concurrency: 3 });
    expect(rep.problems).toEqual([]);
    expect(rep.commit).toBe(commit);
    expect(rep.resolvedFrom).toBe('refs');
    expect(rep.objects).toEqual({ commits: 1, dirtrees: 2, dirmetas: 1, files: 41, total: 45 });
    expect(r.requests.filter((p) => p === path(shared, 'filez'))).toHaveLength(1);
    expect(r.maxInFlight).toBeLessThanOrEqual(3);
    expect(r.maxInFlight).toBeGreaterThan(1);
    expect(rep.hashing.batches).toBeLessThan(rep.hashing.batched); // lanes were shared
  });

  it('reports a deflate bomb, an absurd size, an over-cap body, a missing object and a bad name, each with its path', async () => {
    const r = new MemRepo();
    const zeros = new Uint8Array(1 << 20);
    const bomb = r.file(new TextEncoder().encode('0123456789'), (f) => {
      const hdr = f.subarray(0, f.length - deflateSync(new TextEncoder().encode('0123456789')).length);
      return new Uint8Array([...hdr, ...deflateSync(zeros)]);
    });
    const huge = r.file(new TextEncoder().encode('x'), undefined, 2 ** 50);
    const big = r.file(new Uint8Array(5000).map((_, i) => createHash('sha256').update(String(i)).digest()[0]!)); // incompressible
    const missing = sha(new TextEncoder().encode('nowhere'));
    const fine = r.file(new TextEncoder().encode('fine\n'));
    const meta = r.meta();
    const evil = r.rawTree([['..', fine]]);
    const root = r.tree({
      files: [
        { name: 'big', checksum: big },
        { name: 'bomb', checksum: bomb },
        { name: 'fine', checksum: fine },
        { name: 'huge', checksum: huge },
        { name: 'missing', checksum: missing },
      ],
      dirs: [{ name: 'evil', treeChecksum: evil, metaChecksum: meta }],
    });
    r.commit(root, meta);
    const rep = await auditCommit({ url: URL_, ref: 'main', keys: '', fetch: r.fetch, limits: { maxObjectBytes: 4096, maxFileSize: 1 << 30 } });
    expect(rep.ok).toBe(false);
    expect(rep.mismatches).toEqual([]);
    const byPath = new Map(rep.errors.map((e) => [e.path, e]));
    expect(byPath.get('/bomb')).toMatchObject({ type: 'file', checksum: bomb });
    expect(byPath.get('/bomb')!.message).toMatch(/more than the declared 10 bytes/);
    expect(byPath.get('/huge')!.message).toMatch(/exceeds the limit/);
    expect(byPath.get('/big')!.message).toMatch(/exceeds the limit of 4096/);
    expect(byPath.get('/missing')).toMatchObject({ checksum: missing });
    expect(byPath.get('/missing')!.message).toMatch(/HTTP 404/);
    expect(byPath.get('/evil')).toMatchObject({ type: 'dirtree', checksum: evil });
    expect(byPath.get('/evil')!.message).toMatch(/\.\./);
    expect(rep.errors).toHaveLength(5);
    expect(rep.objects.files).toBe(1); // only /fine was hashed
  });

  it('a dirtree that does not hash to its name is reported and not descended into', async () => {
    const r = new MemRepo();
    const meta = r.meta();
    const a = r.file(new TextEncoder().encode('a\n'));
    const sub = r.tree({ files: [{ name: 'a', checksum: a }], dirs: [] });
    const root = r.tree({ files: [], dirs: [{ name: 'etc', treeChecksum: sub, metaChecksum: meta }] });
    r.commit(root, meta);
    const other = encodeDirTree({ files: [{ name: 'b', checksum: a }], dirs: [] });
    r.put(path(sub, 'dirtree'), other);
    const rep = await auditCommit({ url: URL_, ref: 'main', keys: '', fetch: r.fetch });
    expect(rep.ok).toBe(false);
    expect(rep.mismatches).toEqual([{ type: 'dirtree', checksum: sub, actual: `${sha(other)} (contents not audited)`, path: '/etc' }]);
    expect(rep.objects.files).toBe(0);
  });

  it('refuses an over-cap commit and a garbage summary with clear errors', async () => {
    const r = new MemRepo();
    const meta = r.meta();
    const commit = r.commit(r.tree({ files: [], dirs: [] }), meta);
    r.put(path(commit, 'commit'), new Uint8Array(11 * 1024 * 1024));
    await expect(auditCommit({ url: URL_, ref: 'main', keys: '', fetch: r.fetch })).rejects.toThrow(/exceeds the limit of 10485760/);
    r.put('summary', new Uint8Array([1, 2, 3, 4, 5]));
    await expect(auditCommit({ url: URL_, ref: 'main', keys: '', fetch: r.fetch })).rejects.toThrow(/summary/);
  });
});
