// Pull-time signature policy: verifyCommitSignatures / verifySummarySignatures reading remotes set
// up by the real ostree (`remote add --gpg-import`, --set=gpgkeypath=…, sign-verify), on commits and
// summaries signed by the real ostree, with libostree's error texts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TempDir } from '../helpers/interop.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { ObjectType } from '../../src/format/objects.ts';
import { verifyCommitSignatures, verifySummarySignatures } from '../../src/remote/policy.ts';
import { GpgError } from '../../src/crypto/gpg.ts';
import { missing } from '../helpers/require-tool.ts';
import { SIGN_TOOLS, KEY1, SUITE_DIR, copyGpgHome, killAgent, must, ostreeEnv } from './helpers.ts';

const FIXTURE = join(SUITE_DIR, 'pre-signed-pull-data.tar.gz');
const FIXTURE_PUBKEY = '45yzbkuEok0lLabxzdAHWUDSMZgYfxU40sN+LMfYHVA=';

describe.skipIf(missing('pull signature policy', SIGN_TOOLS))('pull signature policy', () => {
  let tmp: TempDir;
  let home: string;
  let server: string;
  let client: Repo;
  let csum: string;
  let commitBytes: Uint8Array;
  let commitmeta: Uint8Array;
  const env: Record<string, string | undefined> = {};

  beforeAll(async () => {
    tmp = new TempDir('xylem-policy-');
    home = copyGpgHome(tmp.join('gpghome'));
    env.OSTREE_GPG_HOME = tmp.join('no-global-keys');
    server = tmp.join('server');
    must(ostreeEnv([`--repo=${server}`, 'init', '--mode=archive']), 'init');
    csum = must(
      ostreeEnv([`--repo=${server}`, 'commit', '-b', 'main', `--tree=dir=${tmp.path}/gpghome/revocations`, '-s', 's', `--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`]),
      'commit',
    ).trim();
    must(ostreeEnv([`--repo=${server}`, 'summary', '-u', `--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`]), 'summary');
    const obj = (ext: string) => join(server, 'objects', csum.slice(0, 2), `${csum.slice(2)}.${ext}`);
    commitBytes = new Uint8Array(readFileSync(obj('commit')));
    commitmeta = new Uint8Array(readFileSync(obj('commitmeta')));
    const c = tmp.join('client');
    must(ostreeEnv([`--repo=${c}`, 'init', '--mode=archive']), 'init');
    const url = `file://${server}`;
    const add = (args: string[]) => must(ostreeEnv([`--repo=${c}`, 'remote', 'add', ...args]), `remote add ${args.join(' ')}`);
    add([`--gpg-import=${home}/key1.asc`, 'r1', url]);
    add([`--gpg-import=${home}/key2.asc`, 'r2', url]);
    add([`--set=gpgkeypath=${home}/key2.asc,${home}/key1.asc`, 'kp', url]);
    add([`--set=gpgkeypath=${home}/INVALIDKEYPATH.asc`, 'kpbad', url]);
    add([`--set=gpgkeypath=${home}/key1.asc,${home}/key2.asc;${home}/key3.asc`, 'kpmixed', url]);
    add(['--set=gpg-verify=false', 'nogpg', url]);
    add([`--gpg-import=${home}/key1.asc`, '--set=gpg-verify-summary=true', 'sum', url]);
    add(['--set=gpg-verify=false', '--set=sign-verify=ed25519', `--set=verification-ed25519-key=${FIXTURE_PUBKEY}`, 'ed', url]);
    add(['--set=gpg-verify=false', '--set=sign-verify=ed25519', 'ednokeys', url]);
    client = await Repo.open({ ...createNodeHost(), env }, c);
  }, 120_000);

  afterAll(() => {
    if (home) killAgent(home);
    tmp?.cleanup();
  });

  it('accepts a commit signed by a key in the remote keyring (or gpgkeypath)', async () => {
    for (const r of ['r1', 'kp']) {
      const v = await verifyCommitSignatures(client, r, csum, commitBytes, commitmeta);
      expect(v.verified).toBe(true);
      expect(v.gpg!.countValid()).toBe(1);
      expect(v.gpg!.signatures[0]!.fingerprint.endsWith(KEY1)).toBe(true);
    }
  });

  it('refuses other keys, missing or corrupt signatures with ostree\'s messages', async () => {
    const err = await verifyCommitSignatures(client, 'r2', csum, commitBytes, commitmeta).catch((e) => e);
    expect(err).toBeInstanceOf(GpgError);
    expect(err.gpgCode).toBe('MISSING_KEY');
    expect(err.message).toMatch(new RegExp(`^Commit ${csum}: Signature made .* using RSA key ID ${KEY1}\nCan't check signature: public key not found$`));
    const none = `Commit ${csum}: GPG verification enabled, but no signatures found (use gpg-verify=false in remote config to disable)`;
    await expect(verifyCommitSignatures(client, 'r1', csum, commitBytes, null)).rejects.toThrow(none);
    await expect(verifyCommitSignatures(client, 'r1', csum, commitBytes, new TextEncoder().encode('borkborkbork\n'))).rejects.toThrow(none);
    const forged = commitBytes.slice();
    forged[forged.length - 1]! ^= 1;
    await expect(verifyCommitSignatures(client, 'r1', csum, forged, commitmeta)).rejects.toThrow('BAD signature from "Ostree Tester <test@test.com>"');
    await expect(verifyCommitSignatures(client, 'kpbad', csum, commitBytes, commitmeta)).rejects.toThrow(/INVALIDKEYPATH.*No such file or directory/);
    await expect(verifyCommitSignatures(client, 'kpmixed', csum, commitBytes, commitmeta)).rejects.toThrow('key value list contains more than one separator');
    await expect(verifyCommitSignatures(client, 'nosuch', csum, commitBytes, commitmeta)).rejects.toThrow('Remote "nosuch" not found');
  });

  it('skips GPG when the remote says gpg-verify=false', async () => {
    const v = await verifyCommitSignatures(client, 'nogpg', csum, commitBytes, null);
    expect(v).toEqual({ verified: false, gpg: null, signapi: null });
  });

  it('summary: gpg-verify-summary requires a valid summary.sig', async () => {
    const summary = new Uint8Array(readFileSync(join(server, 'summary')));
    const sig = new Uint8Array(readFileSync(join(server, 'summary.sig')));
    expect((await verifySummarySignatures(client, 'sum', summary, sig)).verified).toBe(true);
    await expect(verifySummarySignatures(client, 'sum', summary, null)).rejects.toThrow(
      'GPG verification enabled, but no summary.sig found (use gpg-verify-summary=false in remote config to disable)',
    );
    const other = summary.slice();
    other[0]! ^= 1;
    await expect(verifySummarySignatures(client, 'sum', other, sig)).rejects.toThrow('BAD signature');
    expect((await verifySummarySignatures(client, 'r1', summary, null)).verified).toBe(false);
  });

  it.skipIf(missing('ed25519 fixture', { [FIXTURE]: existsSync(FIXTURE) }))('sign-verify=ed25519 with verification-ed25519-key checks the fixture commit', async () => {
    const fx = tmp.join('fixture');
    mkdirSync(fx);
    expect(spawnSync('tar', ['xzf', FIXTURE, '-C', fx]).status).toBe(0);
    const fxRepo = await Repo.open(createNodeHost(), join(fx, 'repo'));
    const fcsum = readFileSync(join(fx, 'repo', 'refs', 'heads', 'testref'), 'utf8').trim();
    const bytes = await fxRepo.loadMetadataBytes(ObjectType.Commit, fcsum);
    const meta = await fxRepo.loadMetadataBytes(ObjectType.CommitMeta, fcsum);
    const v = await verifyCommitSignatures(client, 'ed', fcsum, bytes, meta);
    expect(v.signapi).toMatch(/^ed25519: Signature verified successfully with key '[0-9a-f]{64}'$/);
    expect(v.gpg).toBeNull();
    await expect(verifyCommitSignatures(client, 'ednokeys', fcsum, bytes, meta)).rejects.toThrow('No keys found for required signapi type ed25519');
    await expect(verifyCommitSignatures(client, 'ed', csum, commitBytes, commitmeta)).rejects.toThrow("Can't verify commit: No signatures found");
  });
});
