// Big content objects (≥ STREAM_MIN_SIZE) are inflated chunk by chunk straight into the staged
// file of a bare-user repo: the pulled tree must be what ostree committed (ostree fsck and
// `ostree ls`/`cat` agree), and a corrupted big object must fail the pull with ostree's
// "Corrupted file object" error, leave no ref and no object behind.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TempDir, describeInterop, ok, ostree, ostreeFsck } from '../helpers/interop.ts';
import { countingServer, type CountingServer } from './helpers.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { addRemote } from '../../src/remote/config.ts';
import { pull } from '../../src/pull/pull.ts';
import { STREAM_MIN_SIZE } from '../../src/pull/content.ts';

const host = createNodeHost();

describeInterop('pull of big objects (streamed inflate)', () => {
  let tmp: TempDir;
  let srv: string;
  let server: CountingServer;
  let bigCsum: string;
  const big = new Uint8Array(STREAM_MIN_SIZE + 1234567);
  // Incompressible: its .filez is over STREAM_MIN_SIZE too, so it is streamed from the partial file.
  const random = randomBytes(STREAM_MIN_SIZE + 99999);
  let randomCsum: string;

  beforeAll(async () => {
    tmp = new TempDir('xylem-pull-big-');
    // Compressible but not trivial: a repeating pseudo-random pattern.
    let x = 12345;
    for (let i = 0; i < big.length; i++) {
      if (i % 4096 === 0) x = (x * 1103515245 + 12345) >>> 0;
      big[i] = (x >>> (i % 24)) & 0x3f;
    }
    const tree = tmp.join('tree');
    mkdirSync(join(tree, 'd'), { recursive: true });
    writeFileSync(join(tree, 'd/big'), big);
    writeFileSync(join(tree, 'small'), 'small\n');
    writeFileSync(join(tree, 'd/random'), random);
    srv = tmp.join('srv');
    ok(ostree(['init', `--repo=${srv}`, '--mode=archive']));
    ok(ostree([`--repo=${srv}`, 'commit', '-b', 'main', '-s', 'big', `--tree=dir=${tree}`]));
    bigCsum = ok(ostree([`--repo=${srv}`, 'ls', '-C', 'main', '/d/big'])).trim().split(/\s+/)[4]!;
    randomCsum = ok(ostree([`--repo=${srv}`, 'ls', '-C', 'main', '/d/random'])).trim().split(/\s+/)[4]!;
    server = await countingServer(srv);
  }, 120_000);
  afterAll(async () => {
    await server?.close();
    tmp?.cleanup();
  }, 60_000);

  it('a big object arrives intact in a bare-user repo', async () => {
    const repo = await Repo.init(host, tmp.join('dest'), { mode: 'bare-user' });
    await addRemote(repo, 'origin', server.url, { options: [['gpg-verify', 'false']] });
    await pull(repo, 'origin', { refs: ['main'] });
    ostreeFsck(repo.path);
    expect(ok(ostree([`--repo=${repo.path}`, 'ls', '-R', '-C', 'origin:main']))).toBe(ok(ostree([`--repo=${srv}`, 'ls', '-R', '-C', 'main'])));
    const obj = join(repo.path, 'objects', bigCsum.slice(0, 2), `${bigCsum.slice(2)}.file`);
    expect(Buffer.compare(readFileSync(obj), Buffer.from(big))).toBe(0);
    const robj = join(repo.path, 'objects', randomCsum.slice(0, 2), `${randomCsum.slice(2)}.file`);
    expect(Buffer.compare(readFileSync(robj), random)).toBe(0);
    expect(readFileSync(join(srv, 'objects', randomCsum.slice(0, 2), `${randomCsum.slice(2)}.filez`)).length).toBeGreaterThan(STREAM_MIN_SIZE);
    // The partial download was removed once written.
    expect(existsSync(join(repo.path, 'tmp/xylem-pull-partial', `${randomCsum}.filez`))).toBe(false);
  }, 120_000);

  it('a corrupted big object fails the pull and leaves nothing behind', async () => {
    const bad = tmp.join('srv-bad');
    ok(ostree(['init', `--repo=${bad}`, '--mode=archive']));
    ok(ostree([`--repo=${bad}`, 'pull-local', srv, 'main']));
    const filez = join(bad, 'objects', bigCsum.slice(0, 2), `${bigCsum.slice(2)}.filez`);
    // Swap in the object of different content of the same size: inflates fine, wrong checksum.
    const other = tmp.join('other');
    mkdirSync(other);
    const alt = Buffer.from(big);
    alt[alt.length - 1] ^= 1;
    writeFileSync(join(other, 'big'), alt);
    const o = tmp.join('srv-other');
    ok(ostree(['init', `--repo=${o}`, '--mode=archive']));
    ok(ostree([`--repo=${o}`, 'commit', '-b', 'x', `--tree=dir=${other}`]));
    const altCsum = ok(ostree([`--repo=${o}`, 'ls', '-C', 'x', '/big'])).trim().split(/\s+/)[4]!;
    writeFileSync(filez, readFileSync(join(o, 'objects', altCsum.slice(0, 2), `${altCsum.slice(2)}.filez`)));
    const badServer = await countingServer(bad);
    try {
      const repo = await Repo.init(host, tmp.join('dest-bad'), { mode: 'bare-user' });
      await addRemote(repo, 'origin', badServer.url, { options: [['gpg-verify', 'false']] });
      await expect(pull(repo, 'origin', { refs: ['main'] })).rejects.toThrow(
        new RegExp(`Corrupted file object; checksum expected='${bigCsum}' actual='${altCsum}'`),
      );
      expect(existsSync(join(repo.path, 'refs/remotes/origin/main'))).toBe(false);
      expect(existsSync(join(repo.path, 'objects', bigCsum.slice(0, 2), `${bigCsum.slice(2)}.file`))).toBe(false);
    } finally {
      await badServer.close();
    }
  }, 120_000);
});
