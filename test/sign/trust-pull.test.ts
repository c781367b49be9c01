// Commit trust edge cases from the upstream suite (test-commit-sign, test-admin-gpg), each run by
// the real ostree and by xylem on twin repos: a corrupt .commitmeta with gpg-verify=false,
// signatures added after a first pull, pull-local --gpg-verify=true, and the GPG lines of
// `admin status`. Summary cases are in trust-summary.test.ts.

import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CAN_RUN, KEY1, SUITE_GPGHOME } from './helpers.ts';
import { TOOLS, trustFixture } from './trust-fixture.ts';

if (!CAN_RUN && process.env.CI === 'true') throw new Error('trust-pull: the real ostree, gpg and the ostree-tests GnuPG keys are required (CI=true)');
if (!CAN_RUN) console.warn('\n!!! trust-pull: SKIPPED — needs the real ostree, gpg and the ostree-tests keys !!!\n');

describe.skipIf(!CAN_RUN)('commit trust edge cases, ostree vs xylem', () => {
  const fx = trustFixture();
  const { exec, must, serverRepo, signArgs } = fx;

  it('pulls through a corrupt .commitmeta with gpg-verify=false; refuses it with gpg-verify=true', async () => {
    const srv = await serverRepo('corrupt', signArgs());
    writeFileSync(join(srv.path, 'objects', srv.csum.slice(0, 2), `${srv.csum.slice(2)}.commitmeta`), 'borkborkbork\n');
    for (const t of TOOLS) {
      const off = fx.tmp.join(`corrupt-off-${t}`);
      await must('ostree', [`--repo=${off}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${off}`, 'remote', 'add', '--set=gpg-verify=false', 'origin', srv.url]);
      const r = await exec(t, [`--repo=${off}`, 'pull', 'origin', 'main']);
      expect(r.status, `${t}: ${r.stderr}`).toBe(0);
      expect((await must(t, [`--repo=${off}`, 'rev-parse', 'origin:main'])).trim()).toBe(srv.csum);
      const on = fx.tmp.join(`corrupt-on-${t}`);
      await must('ostree', [`--repo=${on}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${on}`, 'remote', 'add', 'origin', srv.url]);
      const bad = await exec(t, [`--repo=${on}`, 'pull', 'origin', 'main']);
      expect(bad.status, t).not.toBe(0);
      expect(bad.stderr, t).toContain(`Commit ${srv.csum}: GPG verification enabled, but no signatures found`);
    }
  }, 120_000);

  it('re-fetches detached metadata of a stored commit, so a later signature arrives with gpg-verify=false', async () => {
    const srv = await serverRepo('later');
    for (const t of TOOLS) {
      const repo = fx.tmp.join(`later-${t}`);
      await must('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${repo}`, 'remote', 'add', '--set=gpg-verify=false', 'origin', srv.url]);
      await must(t, [`--repo=${repo}`, 'pull', 'origin', 'main']);
      expect(await must(t, [`--repo=${repo}`, 'show', 'origin:main'])).not.toMatch(/Found.*signature/);
    }
    await must('ostree', [`--repo=${srv.path}`, 'gpg-sign', `--gpg-homedir=${fx.home}`, 'main', KEY1]);
    for (const t of TOOLS) {
      const repo = fx.tmp.join(`later-${t}`);
      await must(t, [`--repo=${repo}`, 'pull', 'origin', 'main']);
      expect(await must(t, [`--repo=${repo}`, 'show', 'origin:main']), t).toContain('Found 1 signature');
    }
  }, 120_000);

  it('pull-local takes --gpg-verify=true (GLib ignores a flag value) and enforces it', async () => {
    const signed = await serverRepo('local-signed', signArgs());
    // (metadata of its own: not the signed commit's twin when both are made within one second)
    const unsigned = await serverRepo('local-unsigned', ['--add-metadata-string=kind=unsigned']);
    for (const t of TOOLS) {
      const repo = fx.tmp.join(`pl-${t}`);
      await must('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${repo}`, 'remote', 'add', `--gpg-import=${join(SUITE_GPGHOME, 'key1.asc')}`, 'testos', signed.url]);
      const okRun = await exec(t, [`--repo=${repo}`, 'pull-local', '--gpg-verify=true', '--remote=testos', signed.path, 'main'], { OSTREE_GPG_HOME: fx.tmp.join('none') });
      expect(okRun.status, `${t}: ${okRun.stderr}`).toBe(0);
      const bad = await exec(t, [`--repo=${repo}`, 'pull-local', '--gpg-verify=true', '--remote=testos', unsigned.path, 'main']);
      expect(bad.status, t).not.toBe(0);
      expect(bad.stderr, t).toContain(`Commit ${unsigned.csum}: GPG verification enabled, but no signatures found`);
    }
  }, 120_000);

  it('admin status prints the GPG lines of a deployment whose remote verifies GPG (and --verify)', async () => {
    const srv = await serverRepo('admin', signArgs());
    const sysroot = fx.tmp.join('sysroot');
    mkdirSync(sysroot);
    // ostree would chattr +i the deployment root (we are root): keep it removable.
    const env = { OSTREE_SYSROOT: sysroot, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' };
    await must('ostree', ['admin', 'init-fs', sysroot]);
    await must('ostree', ['admin', 'os-init', 'testos'], env);
    await must('ostree', [`--repo=${sysroot}/ostree/repo`, 'remote', 'add', 'testos', srv.url]);
    await must('ostree', [`--repo=${sysroot}/ostree/repo`, 'pull-local', '--remote=testos', srv.path, 'main']);
    await must('ostree', ['admin', 'deploy', '--os=testos', 'testos:main'], env);
    const status: Record<string, string[]> = {};
    for (const t of TOOLS) status[t] = [await must(t, ['admin', 'status'], env), await must(t, ['admin', 'status', '--verify'], env)];
    expect(status.xylem).toEqual(status.ostree);
    expect(status.ostree![0]).toMatch(/\n {4}GPG: Signature made .* using RSA key ID 7FCA23D8472CDAFA\n {4}GPG: Good signature from "Ostree Tester <test@test.com>"\n/);
    expect(status.ostree![1]).toContain('\nGPG: Good signature from');
    // Without the key: the plain status still lists the signature, --verify fails with the report.
    const noKey = { ...env, OSTREE_GPG_HOME: fx.tmp.join('none') };
    const plain: Record<string, string> = {};
    const errs: Record<string, string> = {};
    for (const t of TOOLS) {
      plain[t] = await must(t, ['admin', 'status'], noKey);
      const r = await exec(t, ['admin', 'status', '--verify'], noKey);
      expect(r.status, t).not.toBe(0);
      errs[t] = r.stderr;
    }
    expect(plain.xylem).toEqual(plain.ostree);
    expect(plain.ostree).toContain("GPG: Can't check signature: public key not found");
    expect(errs.xylem).toEqual(errs.ostree);
    expect(errs.ostree).toContain("Can't check signature: public key not found");
  }, 120_000);
});
