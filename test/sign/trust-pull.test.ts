// Commit trust edge cases from the upstream suite (test-commit-sign, test-admin-gpg), each run by
// the real ostree and by xylem on twin repos: a corrupt .commitmeta with gpg-verify=false,
// signatures added after a first pull, pull-local --gpg-verify=true, and the GPG lines of
// `admin status`. Summary cases are in trust-summary.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OSTREE, TempDir, buildCli, disposeCli } from '../helpers/interop.ts';
import { runAsync } from '../pull/helpers.ts';
import { startTrivialHttpd, type RunningHttpd } from '../../tools/httpd/server.ts';
import { CAN_RUN, KEY1, SUITE_GPGHOME, copyGpgHome, killAgent } from './helpers.ts';

type Tool = 'ostree' | 'xylem';
const TOOLS: Tool[] = ['ostree', 'xylem'];

if (!CAN_RUN && process.env.CI === 'true') throw new Error('trust-pull: the real ostree, gpg and the ostree-tests GnuPG keys are required (CI=true)');
if (!CAN_RUN) console.warn('\n!!! trust-pull: SKIPPED — needs the real ostree, gpg and the ostree-tests keys !!!\n');

describe.skipIf(!CAN_RUN)('commit trust edge cases, ostree vs xylem', () => {
  let tmp: TempDir;
  let home: string;
  let httpd: RunningHttpd;
  /** OSTREE_GPG_HOME as libtest sets it: the suite's trusted keyring directory. */
  let trusted: string;

  async function exec(t: Tool, args: string[], env: Record<string, string> = {}) {
    const cmd = t === 'ostree' ? OSTREE! : process.execPath;
    const argv = t === 'ostree' ? args : [buildCli(), ...args];
    return runAsync(cmd, argv, { env: { TZ: 'UTC', OSTREE_GPG_HOME: trusted, ...env } });
  }
  /** (Repos and remotes are set up by the real ostree for both tools: it starts faster.) */
  async function must(t: Tool, args: string[], env: Record<string, string> = {}): Promise<string> {
    const r = await exec(t, args, env);
    if (r.status !== 0) throw new Error(`${t} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
    return r.stdout;
  }
  /** A fresh archive server repo under the HTTP root, with one commit of a small tree. */
  async function serverRepo(name: string, commitArgs: string[] = []): Promise<{ path: string; url: string; csum: string }> {
    const path = tmp.join('www', name);
    await must('ostree', [`--repo=${path}`, 'init', '--mode=archive']);
    const tree = tmp.join(`tree-${name}`);
    mkdirSync(join(tree, 'usr/lib/modules/5.0'), { recursive: true });
    writeFileSync(join(tree, 'usr/lib/modules/5.0/vmlinuz'), 'a kernel\n');
    writeFileSync(join(tree, 'usr/lib/modules/5.0/initramfs.img'), 'an initramfs\n');
    mkdirSync(join(tree, 'usr/etc'), { recursive: true });
    writeFileSync(join(tree, 'usr/etc/os-release'), 'ID=testos\n');
    const csum = (await must('ostree', [`--repo=${path}`, 'commit', '-b', 'main', '-s', 'one', `--tree=dir=${tree}`, ...commitArgs])).trim();
    return { path, url: `${httpd.url}/${name}`, csum };
  }
  const signArgs = (): string[] => [`--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`];

  beforeAll(async () => {
    tmp = new TempDir('xylem-trust-');
    home = copyGpgHome(tmp.join('gpghome'));
    trusted = join(SUITE_GPGHOME, 'trusted');
    mkdirSync(tmp.join('www'));
    httpd = await startTrivialHttpd({ root: tmp.join('www'), port: 0, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await httpd?.close();
    disposeCli();
    if (home) killAgent(home);
    tmp?.cleanup();
  });

  it('pulls through a corrupt .commitmeta with gpg-verify=false; refuses it with gpg-verify=true', async () => {
    const srv = await serverRepo('corrupt', signArgs());
    writeFileSync(join(srv.path, 'objects', srv.csum.slice(0, 2), `${srv.csum.slice(2)}.commitmeta`), 'borkborkbork\n');
    for (const t of TOOLS) {
      const off = tmp.join(`corrupt-off-${t}`);
      await must('ostree', [`--repo=${off}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${off}`, 'remote', 'add', '--set=gpg-verify=false', 'origin', srv.url]);
      const r = await exec(t, [`--repo=${off}`, 'pull', 'origin', 'main']);
      expect(r.status, `${t}: ${r.stderr}`).toBe(0);
      expect((await must(t, [`--repo=${off}`, 'rev-parse', 'origin:main'])).trim()).toBe(srv.csum);
      const on = tmp.join(`corrupt-on-${t}`);
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
      const repo = tmp.join(`later-${t}`);
      await must('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${repo}`, 'remote', 'add', '--set=gpg-verify=false', 'origin', srv.url]);
      await must(t, [`--repo=${repo}`, 'pull', 'origin', 'main']);
      expect(await must(t, [`--repo=${repo}`, 'show', 'origin:main'])).not.toMatch(/Found.*signature/);
    }
    await must('ostree', [`--repo=${srv.path}`, 'gpg-sign', `--gpg-homedir=${home}`, 'main', KEY1]);
    for (const t of TOOLS) {
      const repo = tmp.join(`later-${t}`);
      await must(t, [`--repo=${repo}`, 'pull', 'origin', 'main']);
      expect(await must(t, [`--repo=${repo}`, 'show', 'origin:main']), t).toContain('Found 1 signature');
    }
  }, 120_000);

  it('pull-local takes --gpg-verify=true (GLib ignores a flag value) and enforces it', async () => {
    const signed = await serverRepo('local-signed', signArgs());
    const unsigned = await serverRepo('local-unsigned');
    for (const t of TOOLS) {
      const repo = tmp.join(`pl-${t}`);
      await must('ostree', [`--repo=${repo}`, 'init', '--mode=archive']);
      await must('ostree', [`--repo=${repo}`, 'remote', 'add', `--gpg-import=${join(SUITE_GPGHOME, 'key1.asc')}`, 'testos', signed.url]);
      const okRun = await exec(t, [`--repo=${repo}`, 'pull-local', '--gpg-verify=true', '--remote=testos', signed.path, 'main'], { OSTREE_GPG_HOME: tmp.join('none') });
      expect(okRun.status, `${t}: ${okRun.stderr}`).toBe(0);
      const bad = await exec(t, [`--repo=${repo}`, 'pull-local', '--gpg-verify=true', '--remote=testos', unsigned.path, 'main']);
      expect(bad.status, t).not.toBe(0);
      expect(bad.stderr, t).toContain(`Commit ${unsigned.csum}: GPG verification enabled, but no signatures found`);
    }
  }, 120_000);

  it('admin status prints the GPG lines of a deployment whose remote verifies GPG (and --verify)', async () => {
    const srv = await serverRepo('admin', signArgs());
    const sysroot = tmp.join('sysroot');
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
    const noKey = { ...env, OSTREE_GPG_HOME: tmp.join('none') };
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
