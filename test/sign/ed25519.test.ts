// ed25519 and dummy signature engines: RFC 8032 vectors, node:crypto as an independent Ed25519
// oracle, the upstream suite's pre-signed-pull-data fixture (a commit signed by ostree's libsodium
// engine), key files / key dirs / revoked keys, and the dummy engine's environment gate.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify, createPublicKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TempDir } from '../helpers/interop.ts';
import { missing } from '../helpers/require-tool.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { ObjectType } from '../../src/format/objects.ts';
import {
  Ed25519Signer, ed25519Sign, ed25519Verify, lenientBase64Decode, parseEd25519PublicKey, parseEd25519SecretKey,
} from '../../src/crypto/ed25519.ts';
import { DummySigner } from '../../src/crypto/dummy.ts';
import { getSigner } from '../../src/crypto/signer.ts';
import { signCommit, verifyCommit } from '../../src/sign/repo-sign.ts';
import { fromHex, toBase64, toHex, utf8 } from '../../src/util/bytes.ts';
import { SUITE_DIR } from './helpers.ts';

const FIXTURE = join(SUITE_DIR, 'pre-signed-pull-data.tar.gz');
const NO_FIXTURE = missing('ed25519: the upstream pre-signed fixture', { [FIXTURE]: existsSync(FIXTURE) });
/** The public key test-pre-signed-pull.sh trusts for the fixture. */
const FIXTURE_PUBKEY = '45yzbkuEok0lLabxzdAHWUDSMZgYfxU40sN+LMfYHVA=';

/** A node:crypto key pair in ostree's layout: public 32 bytes, secret seed ‖ public. */
function nodeKeyPair(): { pub: Uint8Array; secret: Uint8Array; privateKey: ReturnType<typeof generateKeyPairSync>['privateKey'] } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32));
  const seed = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32));
  const secret = new Uint8Array(64);
  secret.set(seed, 0);
  secret.set(pub, 32);
  return { pub, secret, privateKey };
}

function nodePublicKey(pub: Uint8Array) {
  return createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), pub]), format: 'der', type: 'spki' });
}

describe('ed25519 primitives', () => {
  it('RFC 8032 test 1 (empty message)', async () => {
    const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const pub = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const sig = await ed25519Sign(new Uint8Array(0), new Uint8Array([...seed, ...pub]));
    expect(toHex(sig)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(await ed25519Verify(sig, new Uint8Array(0), pub)).toBe(true);
    expect(await ed25519Verify(sig, new Uint8Array([0]), pub)).toBe(false);
  });

  it('agrees with node:crypto both ways (signatures are deterministic)', async () => {
    for (let i = 0; i < 8; i++) {
      const { pub, secret, privateKey } = nodeKeyPair();
      const msg = utf8(`message ${i} `.repeat(i * 37));
      const ours = await ed25519Sign(msg, secret);
      const theirs = new Uint8Array(nodeSign(null, msg, privateKey));
      expect(toHex(ours)).toBe(toHex(theirs));
      expect(nodeVerify(null, msg, nodePublicKey(pub), ours)).toBe(true);
      const tampered = theirs.slice();
      tampered[5]! ^= 1;
      expect(await ed25519Verify(tampered, msg, pub)).toBe(false);
    }
  });

  it('parses keys as ostree: base64 with g_base64_decode leniency, exact sizes', () => {
    const { pub, secret } = nodeKeyPair();
    expect(parseEd25519PublicKey(toBase64(pub))).toEqual(pub);
    expect(parseEd25519PublicKey(`${toBase64(pub)}\r`)).toEqual(pub);
    expect(parseEd25519SecretKey(toBase64(secret))).toEqual(secret);
    expect(() => parseEd25519PublicKey(toBase64(secret))).toThrow('Incorrect ed25519 public key');
    expect(() => parseEd25519SecretKey(toBase64(pub))).toThrow('Incorrect ed25519 secret key');
    expect(lenientBase64Decode('aGk=')).toEqual(utf8('hi'));
    expect(lenientBase64Decode('a G\nk')).toEqual(utf8('hi'));
  });
});

describe('signature engines on a repository', () => {
  let tmp: TempDir;
  let repo: Repo;
  let csum: string;
  const host = { ...createNodeHost(), env: { OSTREE_DUMMY_SIGN_ENABLED: '1' } as Record<string, string | undefined> };

  beforeAll(async () => {
    tmp = new TempDir('xylem-ed25519-');
    if (NO_FIXTURE) return; // its tests are skipped (or, under CI=true, failed by missing())
    const r = spawnSync('tar', ['xzf', FIXTURE, '-C', tmp.path]);
    if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
    repo = await Repo.open(host, tmp.join('repo'));
    csum = readFileSync(tmp.join('repo', 'refs', 'heads', 'testref'), 'utf8').trim();
  });
  afterAll(() => tmp?.cleanup());

  it.skipIf(NO_FIXTURE)('verifies the upstream pre-signed fixture and rejects other keys with ostree\'s message', async () => {
    const s = new Ed25519Signer({ fs: host.fs });
    s.setPublicKey(FIXTURE_PUBKEY);
    const hex = toHex(parseEd25519PublicKey(FIXTURE_PUBKEY));
    expect(await verifyCommit(s, repo, csum)).toBe(`ed25519: Signature verified successfully with key '${hex}'`);
    const wrong = nodeKeyPair().pub;
    s.setPublicKey(wrong);
    await expect(verifyCommit(s, repo, csum)).rejects.toThrow(`ed25519: Signature couldn't be verified with: key '${toHex(wrong)}'`);
    // the fixture's stored signatures are plain RFC 8032 signatures over the commit bytes
    const md = await repo.loadCommitMeta(csum);
    const sigs = md!.find(([k]) => k === 'ostree.sign.ed25519')![1].value as Uint8Array[];
    const commitBytes = readFileSync(repo.objectPath(csum, ObjectType.Commit));
    expect(sigs.some((sg) => nodeVerify(null, commitBytes, nodePublicKey(parseEd25519PublicKey(FIXTURE_PUBKEY)), sg))).toBe(true);
  });

  it.skipIf(NO_FIXTURE)('signs, appends next to existing signatures, and loads trusted/revoked key files like ostree', async () => {
    const kp = nodeKeyPair();
    const s = (await getSigner('ed25519', { fs: host.fs })) as Ed25519Signer;
    s.setSecretKey(toBase64(kp.secret));
    await signCommit(s, repo, csum);
    const md = await repo.loadCommitMeta(csum);
    const sigs = md!.find(([k]) => k === 'ostree.sign.ed25519')![1].value as Uint8Array[];
    expect(sigs.length).toBe(2);
    const commitBytes = readFileSync(repo.objectPath(csum, ObjectType.Commit));
    expect(nodeVerify(null, commitBytes, nodePublicKey(kp.pub), sigs[1]!)).toBe(true);

    const base = tmp.join('keys');
    mkdirSync(join(base, 'trusted.ed25519.d'), { recursive: true });
    const many = Array.from({ length: 5 }, () => toBase64(nodeKeyPair().pub));
    writeFileSync(join(base, 'trusted.ed25519.d', 'others'), many.join('\n') + '\n');
    const v = new Ed25519Signer({ fs: host.fs, systemKeyDirs: [base] });
    await v.loadPublicKeys({});
    await expect(verifyCommit(v, repo, csum)).rejects.toThrow("ed25519: Signature couldn't be verified; tried 10 keys");
    writeFileSync(join(base, 'trusted.ed25519.d', 'good'), toBase64(kp.pub) + '\n');
    const v2 = new Ed25519Signer({ fs: host.fs, systemKeyDirs: [base] });
    await v2.loadPublicKeys({});
    expect(await verifyCommit(v2, repo, csum)).toBe(`ed25519: Signature verified successfully with key '${toHex(kp.pub)}'`);
    writeFileSync(join(base, 'revoked.ed25519'), toBase64(kp.pub) + '\n');
    const v3 = new Ed25519Signer({ fs: host.fs });
    await v3.loadPublicKeys({ basedir: base });
    await expect(verifyCommit(v3, repo, csum)).rejects.toThrow("couldn't be verified");
    const v4 = new Ed25519Signer({ fs: host.fs });
    await expect(v4.loadPublicKeys({ filename: base })).rejects.toThrow(`File object '${base}' is not a regular file`);
    writeFileSync(join(base, 'empty'), '');
    await expect(v4.loadPublicKeys({ filename: join(base, 'empty') })).rejects.toThrow('no valid keys in file');
  });

  it.skipIf(NO_FIXTURE)('dummy engine: the key string is the signature, and it needs OSTREE_DUMMY_SIGN_ENABLED=1', async () => {
    const d = new DummySigner({ fs: host.fs, env: host.env });
    d.setSecretKey('dummysign');
    await signCommit(d, repo, csum);
    const md = await repo.loadCommitMeta(csum);
    expect((md!.find(([k]) => k === 'ostree.sign.dummy')![1].value as Uint8Array[]).map((b) => Buffer.from(b).toString())).toEqual(['dummysign']);
    d.setPublicKey('dummysign');
    expect(await verifyCommit(d, repo, csum)).toBe('dummy: Signature verified');
    d.setPublicKey('other');
    await expect(verifyCommit(d, repo, csum)).rejects.toThrow('signature: dummy: incorrect signatures found: 1');
    const off = new DummySigner({ fs: host.fs, env: {} });
    expect(() => off.setSecretKey('x')).toThrow('dummy signature type is only for ostree testing');
    off.setPublicKey('dummysign');
    await expect(verifyCommit(off, repo, csum)).rejects.toThrow('dummy signature type is only for ostree testing');
    await expect(getSigner('rsa', { fs: host.fs })).rejects.toThrow('Requested signature type is not implemented');
  });
});
