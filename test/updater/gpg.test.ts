// GPG on a host following a gpg-verify=true remote: rpm-xylem's upgrade pulls only commits signed
// by an imported key (policy enforced by the pull library), and `status` and `upgrade --check`
// print rpm-ostree's GPGSignature line, the fingerprint checked against `ostree show --gpg-verify-remote` (oracle).

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ok, ostree } from '../helpers/interop.ts';
import { CAN_RUN, KEY1, KEY1_FPR, KEY2, SUITE_GPGHOME, copyGpgHome, gpg, killAgent } from '../sign/helpers.ts';
import { Fixture, REF, buildRpmXylem, cli, disposeRpmXylem, type Result } from './helpers.ts';

function describeGpg(name: string, fn: () => void): void {
  if (CAN_RUN) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`${name}: ostree, gpg and the ostree-tests keys are required (CI=true)`);
    });
    return;
  }
  console.warn(`\n!!! ${name}: SKIPPED — needs ostree, gpg and the ostree-tests GPG keys !!!\n`);
  describe.skip(name, fn);
}

/** A key's full fingerprint, as gpg reports it (the oracle). */
function fingerprint(home: string, keyId: string): string {
  const r = gpg(home, ['--with-colons', '--fingerprint', keyId]);
  const m = /^fpr:+([0-9A-F]{40}):/m.exec(r.stdout);
  if (!m) throw new Error(`gpg knows no fingerprint for ${keyId}: ${r.stderr}`);
  return m[1]!;
}

describeGpg('rpm-xylem: signed commits and the GPGSignature line', () => {
  vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });
  const fx = new Fixture();
  let bin: string;
  let home: string;
  let c1: string;
  const x = (args: string[]): Promise<Result> => cli(bin, [...args, `--sysroot=${fx.sys}`], { XYLEM_BOOTED: '', XYLEM_PROC_CMDLINE: '' });

  beforeAll(async () => {
    bin = buildRpmXylem();
    home = copyGpgHome(fx.tmp.join('gpghome'));
    fx.commitArgs = [`--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`];
    fx.remoteArgs = [`--gpg-import=${join(SUITE_GPGHOME, 'key1.asc')}`];
    c1 = await fx.setup();
  });
  afterAll(async () => {
    if (home) killAgent(home);
    disposeRpmXylem(bin);
    await fx.dispose();
  });

  it('status shows the valid signature of the deployed commit', async () => {
    const oracle = ok(ostree([`--repo=${fx.sys}/ostree/repo`, 'show', `--gpg-verify-remote=testos`, c1]));
    expect(oracle).toContain(KEY1_FPR.slice(-16));
    const r = await x(['status']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').slice(2, 6)).toEqual([
      `  testos:${REF}`,
      `                  Version: 1.0 (${fx.isoTime(c1)})`,
      `                   Commit: ${c1}`,
      `             GPGSignature: Valid signature by ${KEY1_FPR}`,
    ]);
    const j = JSON.parse((await x(['status', '--json'])).stdout);
    expect(j.deployments[0]['gpg-enabled']).toBe(true);
    expect(j.deployments[0].signatures).toEqual([expect.objectContaining({ valid: true, fingerprint: KEY1_FPR })]);
  });

  it('upgrade refuses a commit signed by a key the remote does not trust, and takes a trusted one', async () => {
    fx.commitArgs = [`--gpg-sign=${KEY2}`, `--gpg-homedir=${home}`];
    const c2 = fx.commit(REF, '2.0', { 'usr/share/two': '2\n' });
    const check2 = await x(['upgrade', '--check']);
    expect(check2.stdout.split('\n')).toEqual([
      'AvailableUpdate:',
      `        Version: 2.0 (${fx.isoTime(c2)})`,
      `         Commit: ${c2}`,
      `   GPGSignature: Can't check signature: public key ${fingerprint(home, KEY2)} not found`,
      '',
    ]);
    const bad = await x(['upgrade']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^error: Commit [0-9a-f]{64}: Signature made .* using RSA key ID ${KEY2}\\nCan't check signature: public key not found\\n$`));
    expect(fx.adminOrder()).toEqual([`${c1}.0`]);
    fx.commitArgs = [`--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`];
    const c3 = fx.commit(REF, '3.0', { 'usr/share/three': '3\n' });
    expect((await x(['upgrade', '--check'])).stdout).toContain(`\n   GPGSignature: Valid signature by ${KEY1_FPR}\n`);
    const good = await x(['upgrade']);
    expect(good.status, good.stderr).toBe(0);
    expect(fx.adminOrder()).toEqual([`${c3}.0`, `${c1}.0`]);
    fx.fsck();
  });
});
