// The public API's own pieces (src/index.ts): the convenience calls commitDirectory, deploy,
// rollback and generateEd25519KeyPair, and the helpers that moved to src/util/ (writeFileAtomic,
// formatSize). commitDirectory is checked against `ostree commit` (same tree and timestamp, same
// checksum); the rest against known values and the arguments they must refuse.

import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import * as api from '../../src/index.ts';
import { Repo, commitDirectory, deploy, formatSize, generateEd25519KeyPair, getSigner, rollback, signCommit, verifyCommit, writeFileAtomic } from '../../src/index.ts';
import { createMemoryHost } from '../../runtimes/memory/index.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { describeInterop, ostree, ok, TempDir } from '../helpers/interop.ts';
import { utf8 } from '../../src/util/bytes.ts';

describe('public API surface', () => {
  it('exports the calls the README promises', () => {
    for (const name of ['Repo', 'commitDirectory', 'checkout', 'pull', 'addRemote', 'signCommit', 'verifyCommit', 'generateDelta', 'applyDeltaOffline', 'Sysroot', 'deploy', 'upgrade', 'rollback', 'auditCommit', 'formatSize', 'writeFileAtomic'])
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
  });
});

describe('formatSize (g_format_size)', () => {
  it('formats numbers and bigints alike', () => {
    expect([0, 1, 999, 1000, 740_200, 1_500_000_000].map((n) => formatSize(n))).toEqual(['0 bytes', '1 byte', '999 bytes', '1.0\u00a0kB', '740.2\u00a0kB', '1.5\u00a0GB']);
    expect(formatSize(1n)).toBe('1 byte');
    expect(formatSize(15_200_000n)).toBe('15.2\u00a0MB');
    expect(() => formatSize(Number.NaN)).toThrow(TypeError);
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file whole and leaves no temp file', async () => {
    const host = createMemoryHost();
    await host.fs.mkdir('/d', { recursive: true });
    await writeFileAtomic(host.fs, '/d/f', utf8('one'));
    await writeFileAtomic(host.fs, '/d/f', utf8('two'), { mode: 0o600 });
    expect(new TextDecoder().decode(await host.fs.readFile('/d/f'))).toBe('two');
    expect((await host.fs.lstat('/d/f'))!.mode & 0o777).toBe(0o600);
    expect((await host.fs.readdir('/d')).map((e) => e.name)).toEqual(['f']);
  });
  it('refuses bad arguments and cleans up after a failed rename', async () => {
    const host = createMemoryHost();
    await expect(writeFileAtomic(host.fs, '', utf8('x'))).rejects.toThrow(TypeError);
    await expect(writeFileAtomic(host.fs, '/f', 'x' as unknown as Uint8Array)).rejects.toThrow(/data must be a Uint8Array/);
    await host.fs.mkdir('/d/sub', { recursive: true });
    await expect(writeFileAtomic(host.fs, '/d/sub', utf8('x'))).rejects.toThrow();
    expect((await host.fs.readdir('/d')).map((e) => e.name)).toEqual(['sub']);
  });
});

describe('commitDirectory arguments', () => {
  it('refuses what it cannot commit, naming it', async () => {
    const host = createMemoryHost();
    const repo = await Repo.init(host, '/repo', { mode: 'archive' });
    await host.fs.mkdir('/tree', { recursive: true });
    await host.fs.writeFile('/file', utf8('x'));
    await expect(commitDirectory(null as unknown as Repo, '/tree', { branch: 'a' })).rejects.toThrow(/a Repo is required/);
    await expect(commitDirectory(repo, '', { branch: 'a' })).rejects.toThrow(/directory path is required/);
    await expect(commitDirectory(repo, '/tree', {} as { branch: string })).rejects.toThrow(/branch must be a string/);
    await expect(commitDirectory(repo, '/tree', { branch: 'has space' })).rejects.toThrow(/Invalid refspec/);
    await expect(commitDirectory(repo, '/missing', { branch: 'a' })).rejects.toThrow(/\/missing: No such file or directory/);
    await expect(commitDirectory(repo, '/file', { branch: 'a' })).rejects.toThrow(/\/file: not a directory/);
    await expect(commitDirectory(repo, '/tree', { branch: 'a', timestamp: 1.5 })).rejects.toThrow(/whole seconds/);
    expect(await api.listAllRefs(repo)).toEqual([]);
    // nothing staged is left behind
    expect((await host.fs.readdir('/repo/tmp')).filter((e) => e.name.startsWith('staging-'))).toEqual([]);
  });
  it('chains commits on the branch', async () => {
    const host = createMemoryHost();
    const repo = await Repo.init(host, '/repo', { mode: 'bare-user-only' });
    await host.fs.mkdir('/tree', { recursive: true });
    await host.fs.writeFile('/tree/a', utf8('1'));
    const one = await commitDirectory(repo, '/tree', { branch: 'os/x', subject: 'one', timestamp: 1_700_000_000 });
    await host.fs.writeFile('/tree/a', utf8('2'));
    const two = await commitDirectory(repo, '/tree', { branch: 'os/x', subject: 'two', timestamp: 1_700_000_001n });
    expect(one.parent).toBeNull();
    expect(two.parent).toBe(one.checksum);
    expect(await api.resolveRev(repo, 'os/x')).toBe(two.checksum);
    expect((await repo.loadCommit(two.checksum)).subject).toBe('two');
  });
});

describe('sysroot and signing conveniences', () => {
  it('deploy and rollback validate their arguments', async () => {
    await expect(deploy(null as never, 'x')).rejects.toThrow(/a Sysroot is required/);
    await expect(rollback({} as never)).rejects.toThrow(/a Sysroot is required/);
  });
  it('an ed25519 key pair from a seed is libsodium-shaped and signs what verifies', async () => {
    const seed = new Uint8Array(32).fill(7);
    const k = await generateEd25519KeyPair(seed);
    expect(k.secretKey.length).toBe(64);
    expect(k.secretKey.subarray(0, 32)).toEqual(seed);
    expect(k.secretKey.subarray(32)).toEqual(k.publicKey);
    expect(atob(k.publicKeyBase64).length).toBe(32);
    await expect(generateEd25519KeyPair(new Uint8Array(31))).rejects.toThrow(/seed must be 32 bytes/);
    const host = createMemoryHost();
    const repo = await Repo.init(host, '/repo', { mode: 'archive' });
    await host.fs.mkdir('/tree', { recursive: true });
    const { checksum } = await commitDirectory(repo, '/tree', { branch: 'b', timestamp: 0 });
    const signer = await getSigner('ed25519', host);
    signer.setSecretKey(k.secretKeyBase64);
    signer.addPublicKey(k.publicKeyBase64);
    await signCommit(signer, repo, checksum);
    expect(await verifyCommit(signer, repo, checksum)).toMatch(/Signature verified successfully/);
    const other = await getSigner('ed25519', host);
    other.addPublicKey((await generateEd25519KeyPair(new Uint8Array(32).fill(8))).publicKey);
    await expect(verifyCommit(other, repo, checksum)).rejects.toThrow();
  });
});

describe('pull (the public one) applies the remote\'s signature policy', () => {
  const tmp = new TempDir('xylem-api-pull-');
  afterAll(() => tmp.cleanup());
  it('refuses an unsigned commit from a gpg-verify remote, and pulls it when the remote does not ask', async () => {
    const host = createNodeHost();
    mkdirSync(tmp.join('tree'));
    writeFileSync(tmp.join('tree/file'), 'content\n');
    const server = await Repo.init(host, tmp.join('server'), { mode: 'archive' });
    const { checksum } = await commitDirectory(server, tmp.join('tree'), { branch: 'os/x', timestamp: 0 });
    const client = await Repo.init(host, tmp.join('client'), { mode: 'archive' });
    await api.addRemote(client, 'signed', `file://${tmp.join('server')}`, { options: { 'gpg-verify': 'true' } });
    await api.addRemote(client, 'plain', `file://${tmp.join('server')}`, { options: { 'gpg-verify': 'false' } });
    await expect(api.pull(client, 'signed', { refs: ['os/x'] })).rejects.toThrow(/GPG|signature/i);
    expect(await api.resolveRev(client, 'signed:os/x', true)).toBeNull();
    const r = await api.pull(client, 'plain', { refs: ['os/x'] });
    expect(r.refs.map((x) => x.checksum)).toEqual([checksum]);
    expect(await api.resolveRev(client, 'plain:os/x')).toBe(checksum);
    await expect(api.pull(client, '', {})).rejects.toThrow('REMOTE must be specified');
  });
  it('checks ed25519 signatures when the remote says sign-verify', async () => {
    const host = createNodeHost();
    const keys = await generateEd25519KeyPair(new Uint8Array(32).fill(3));
    mkdirSync(tmp.join('tree2'));
    writeFileSync(tmp.join('tree2/file'), 'signed content\n');
    const server = await Repo.init(host, tmp.join('server2'), { mode: 'archive' });
    const unsigned = await commitDirectory(server, tmp.join('tree2'), { branch: 'unsigned', timestamp: 0 });
    const signed = await commitDirectory(server, tmp.join('tree2'), { branch: 'signed', timestamp: 1 });
    const signer = await getSigner('ed25519', host);
    signer.setSecretKey(keys.secretKey);
    await signCommit(signer, server, signed.checksum);
    const client = await Repo.init(host, tmp.join('client2'), { mode: 'archive' });
    await api.addRemote(client, 'origin', `file://${tmp.join('server2')}`, {
      options: { 'gpg-verify': 'false', 'sign-verify': 'ed25519', 'verification-ed25519-key': keys.publicKeyBase64 },
    });
    await expect(api.pull(client, 'origin', { refs: ['unsigned'] })).rejects.toThrow(/Can't verify commit without detached metadata/);
    expect(await api.resolveRev(client, 'origin:unsigned', true)).toBeNull();
    const r = await api.pull(client, 'origin', { refs: ['signed'] });
    expect(r.refs.map((x) => x.checksum)).toEqual([signed.checksum]);
    expect(unsigned.checksum).not.toBe(signed.checksum);
  });
});

describeInterop('commitDirectory against ostree commit', () => {
  const tmp = new TempDir('xylem-api-');
  afterAll(() => tmp.cleanup());
  it('makes the commit `ostree commit -b` makes from the same tree and timestamp', async () => {
    const tree = tmp.join('tree');
    mkdirSync(`${tree}/usr/bin`, { recursive: true });
    writeFileSync(`${tree}/usr/bin/tool`, '#!/bin/sh\necho tool\n', { mode: 0o755 });
    writeFileSync(`${tree}/usr/data`, 'data\n'.repeat(1000), { mode: 0o644 });
    symlinkSync('bin/tool', `${tree}/usr/link`);
    ok(ostree([`--repo=${tmp.join('theirs')}`, 'init', '--mode=archive']));
    const theirs = ok(ostree([`--repo=${tmp.join('theirs')}`, 'commit', '-b', 'os/stable', '-s', 'v1', '--timestamp=2024-01-01 00:00:00 +0000', tree])).trim();
    const repo = await Repo.init(createNodeHost(), tmp.join('ours'), { mode: 'archive' });
    const ours = await commitDirectory(repo, tree, { branch: 'os/stable', subject: 'v1', timestamp: 1_704_067_200n });
    expect(ours.checksum).toBe(theirs);
    expect(readdirSync(tmp.join('ours/refs/heads/os'))).toEqual(['stable']);
    expect(ok(ostree([`--repo=${tmp.join('ours')}`, 'fsck']))).toContain('no errors found');
  });
});
