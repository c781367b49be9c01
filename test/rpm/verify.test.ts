// verifyRpm against `rpmkeys --checksig -v`: packages built by rpmbuild, signed by `rpmsign
// --addsign` with keys gpg generates in the test (RSA and EdDSA), the public key imported into a
// private rpm --dbpath; unsigned, signed-and-trusted, signed-with-unknown-key, header-tampered and
// payload-tampered packages must get the same per-check lines and summary as rpm's.

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRpm, verifyRpm } from '../../src/rpm/index.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { HAVE_RPMBUILD, hasCommand } from '../helpers/rpmbuild.ts';
import { missing } from '../helpers/require-tool.ts';
import { built, everythingPackage } from './fixtures.ts';

const HAVE_GPG = hasCommand('gpg');
const HAVE_RPMSIGN = hasCommand('rpmsign');

/** rpmkeys -Kv against a private db: the indented lines and the summary. */
function rpmkeys(db: string, file: string): { lines: string[]; summary: string } {
  const r = spawnSync('rpmkeys', ['--dbpath', db, '-Kv', file], { encoding: 'utf8' });
  const all = r.stdout.split('\n').filter((l) => l.startsWith('    '));
  const s = spawnSync('rpmkeys', ['--dbpath', db, '-K', file], { encoding: 'utf8' });
  const summary = s.stdout.trim().slice(file.length + 2);
  return { lines: all, summary };
}

/** verifyRpm, checked to give the same result with the host's native SHA-256 (what compose passes). */
async function ours(file: string, keys: string[]) {
  const open = () => parseRpm(new Uint8Array(readFileSync(file)), basename(file));
  const js = await verifyRpm(open(), { keys });
  const hash = createNodeHost().hash!;
  expect(await verifyRpm(open(), { keys, sha256: () => hash.createSha256() })).toEqual(js);
  return js;
}

describe.skipIf(missing('rpm signature checks', { rpmbuild: HAVE_RPMBUILD, gpg: HAVE_GPG, rpmsign: HAVE_RPMSIGN }))('verifyRpm matches rpmkeys --checksig', () => {
  const work = mkdtempSync(join(tmpdir(), 'xylem-rpm-verify-'));
  const unsigned = built(everythingPackage('w9.gzdio', 'noarch'));

  for (const algo of ['rsa2048', 'ed25519']) {
    describe(algo, () => {
      const dir = join(work, algo);
      const gnupg = join(dir, 'gnupg');
      mkdirSync(gnupg, { recursive: true, mode: 0o700 });
      const env = { ...process.env, GNUPGHOME: gnupg };
      execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', `Xylem ${algo} <${algo}@xylem.invalid>`, algo, 'sign', 'never'], { env, stdio: 'ignore' });
      const armored = execFileSync('gpg', ['--armor', '--export'], { env, encoding: 'utf8' });
      writeFileSync(join(dir, 'key.asc'), armored);
      const db = join(dir, 'db');
      const emptyDb = join(dir, 'emptydb');
      mkdirSync(db);
      mkdirSync(emptyDb);
      execFileSync('rpmkeys', ['--dbpath', db, '--import', join(dir, 'key.asc')]);
      const signed = join(dir, 'signed.rpm');
      copyFileSync(unsigned, signed);
      execFileSync('rpmsign', ['--define', `_gpg_name Xylem ${algo}`, '--define', '__gpg /usr/bin/gpg', '--addsign', signed], { env, stdio: 'ignore' });

      it('a signed package with its key imported: digests signatures OK', async () => {
        const want = rpmkeys(db, signed);
        const got = await ours(signed, [armored]);
        expect(got.lines).toEqual(want.lines);
        expect(got.summary).toBe(want.summary);
        expect(got.summary).toBe('digests signatures OK');
        expect(got.ok && got.signed).toBe(true);
      });

      it('the same package without the key: NOKEY, SIGNATURES NOT OK', async () => {
        const want = rpmkeys(emptyDb, signed);
        const got = await ours(signed, []);
        expect(got.lines).toEqual(want.lines);
        expect(got.summary).toBe(want.summary);
        expect(got.checks.find((c) => c.kind === 'signature')!.status).toBe('NOKEY');
      });

      it('a byte of the main header changed: signature and header digests BAD', async () => {
        const t = join(dir, 'tampered-header.rpm');
        const b = readFileSync(signed);
        const pkg = parseRpm(new Uint8Array(b), 't');
        // flip a byte inside the description string, leaving the structure valid
        const at = pkg.layout.headerStart + Buffer.from(pkg.headerBytes).indexOf('is a package built');
        b[at] ^= 0x20;
        writeFileSync(t, b);
        const want = rpmkeys(db, t);
        const got = await ours(t, [armored]);
        expect(got.lines).toEqual(want.lines);
        expect(got.summary).toBe(want.summary);
        expect(got.summary).toBe('DIGESTS SIGNATURES NOT OK');
      });
    });
  }

  it('an unsigned package: digests OK', async () => {
    const want = rpmkeys(join(work, 'rsa2048', 'db'), unsigned);
    const got = await ours(unsigned, []);
    expect(got.lines).toEqual(want.lines);
    expect(got.summary).toBe(want.summary);
    expect(got.summary).toBe('digests OK');
  });

  it('a byte of the payload changed: payload digest and MD5 BAD', async () => {
    const t = join(work, 'tampered-payload.rpm');
    const b = readFileSync(unsigned);
    b[statSync(unsigned).size - 100] ^= 0x01;
    writeFileSync(t, b);
    const want = rpmkeys(join(work, 'rsa2048', 'db'), t);
    const got = await ours(t, []);
    expect(got.summary).toBe(want.summary);
    // rpm also prints "RSA/DSA signature: NOTFOUND" noise when the payload is bad; every line we print, rpm prints
    for (const l of got.lines) expect(want.lines).toContain(l);
    expect(got.lines.some((l) => l.startsWith('    Payload SHA256 ALT digest: BAD (Expected '))).toBe(true);
    expect(got.lines.some((l) => l.startsWith('    Payload SHA256 digest: BAD (Expected '))).toBe(true);
    expect(got.lines.some((l) => l.startsWith('    MD5 digest: BAD'))).toBe(true);
  });
});
