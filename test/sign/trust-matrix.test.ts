// The trust matrix: every entry point that brings a commit into a repo or a sysroot, under every
// signature policy, against every kind of bad (and good) server offer. The expected outcome is a
// rule (a policy accepts a commit only with a valid signature from a key it trusts, and a summary
// only with a valid summary.sig when summary verification is on); the real ostree 2022.7 confirms
// the rule wherever it has the same case (GPG: its Debian build has no ed25519). In every refused
// case the refs, the deployments and the boot entries stay as they were, and xylem's error names
// the commit (or the summary) and the reason.
//
// Offers (each a server repo whose `main` and `next` point at v2, a child of the signed v1):
//   trusted          v2 signed with the trusted GPG key and the trusted ed25519 key
//   unsigned         v2 without signatures
//   untrusted        v2 signed with another GPG key and another ed25519 key
//   copied           v2 whose .commitmeta is v1's (valid signatures, of another commit)
//   tampered-summary v2 signed as trusted, but the summary was changed after it was signed
//   unsigned-delta   v2 unsigned, offered as a static delta v1 → v2

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OSTREE, TempDir, buildCli, describeInterop, disposeCli, type RunResult } from '../helpers/interop.ts';
import { runAsync } from '../pull/helpers.ts';
import { startTrivialHttpd, type RunningHttpd } from '../../tools/httpd/server.ts';
import { buildRpmXylem, disposeRpmXylem } from '../updater/helpers.ts';
import { KEY1, KEY2, copyGpgHome, gpg, killAgent } from './helpers.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { Repo } from '../../src/repo/repo.ts';
import { pull } from '../../src/pull/pull.ts';
import { auditCommit } from '../../src/audit/index.ts';

const OFFERS = ['trusted', 'unsigned', 'untrusted', 'copied', 'tampered-summary', 'unsigned-delta'] as const;
type Offer = (typeof OFFERS)[number];

interface Policy {
  gpg: boolean;
  sign: boolean;
  summary: boolean;
}
const POLICIES: Record<string, Policy> = {
  gpg: { gpg: true, sign: false, summary: false },
  'gpg+summary': { gpg: true, sign: false, summary: true },
  sign: { gpg: false, sign: true, summary: false },
  'sign+summary': { gpg: false, sign: true, summary: true },
  off: { gpg: false, sign: false, summary: false },
};
type PolicyName = keyof typeof POLICIES;

/** The rule: what a policy must accept. */
function accepts(p: Policy, offer: Offer): boolean {
  if (!p.gpg && !p.sign) return true;
  if (offer === 'trusted') return true;
  return offer === 'tampered-summary' && !p.summary;
}

type Tool = 'ostree' | 'xylem';
const OS = 'testos';

describeInterop('trust matrix: entry point × policy × server offer', () => {
  let tmp: TempDir;
  let home: string;
  let httpd: RunningHttpd;
  let cli: string;
  let rpmXylem: string;
  let seed: string;
  let v1: string;
  const v2 = new Map<Offer, string>();
  let key1File: string;
  let edPublic: string;
  /** An empty global keyring dir: only the remotes' own keyrings count. */
  let noGlobalKeys: string;

  const env = (): Record<string, string> => ({ TZ: 'UTC', OSTREE_GPG_HOME: noGlobalKeys, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' });
  const exec = (t: Tool, args: string[]): Promise<RunResult> =>
    t === 'ostree' ? runAsync(OSTREE!, args, { env: env() }) : runAsync(process.execPath, [cli, ...args], { env: env() });
  const must = async (t: Tool | 'rpm-xylem', args: string[]): Promise<string> => {
    const r = t === 'rpm-xylem' ? await rpm(args) : await exec(t, args);
    if (r.status !== 0) throw new Error(`${t} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
    return r.stdout;
  };
  const rpm = (args: string[]): Promise<RunResult> =>
    runAsync(process.execPath, [rpmXylem, ...args], { env: { ...env(), XYLEM_BOOTED: '', XYLEM_PROC_CMDLINE: '' } });

  const edKeys = () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const seedBytes = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
    return { pub: pub.toString('base64'), secret: Buffer.concat([seedBytes, pub]).toString('base64') };
  };

  function makeTree(dir: string, version: string): void {
    mkdirSync(join(dir, 'usr/lib/modules/5.0'), { recursive: true });
    writeFileSync(join(dir, 'usr/lib/modules/5.0/vmlinuz'), 'a kernel\n');
    writeFileSync(join(dir, 'usr/lib/modules/5.0/initramfs.img'), 'an initramfs\n');
    mkdirSync(join(dir, 'usr/etc'), { recursive: true });
    writeFileSync(join(dir, 'usr/etc/os-release'), `ID=${OS}\nPRETTY_NAME="Test OS ${version}"\nVERSION_ID=${version}\n`);
    writeFileSync(join(dir, 'usr/version'), `${version}\n`);
  }

  beforeAll(async () => {
    tmp = new TempDir('xylem-trust-matrix-');
    cli = buildCli();
    rpmXylem = buildRpmXylem();
    home = copyGpgHome(tmp.join('gpghome'));
    noGlobalKeys = tmp.join('no-global-keys');
    mkdirSync(noGlobalKeys);
    key1File = tmp.join('key1.gpg');
    const exported = gpg(home, ['--export', KEY1]);
    expect(exported.status).toBe(0);
    writeFileSync(key1File, gpg(home, ['--armor', '--export', KEY1]).stdout);
    mkdirSync(tmp.join('www'));
    httpd = await startTrivialHttpd({ root: tmp.join('www'), port: 0, host: '127.0.0.1' });

    const trustedEd = edKeys();
    const otherEd = edKeys();
    edPublic = trustedEd.pub;
    const gpgTrusted = [`--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`, `--sign=${trustedEd.secret}`, '--sign-type=ed25519'];
    const gpgOther = [`--gpg-sign=${KEY2}`, `--gpg-homedir=${home}`, `--sign=${otherEd.secret}`, '--sign-type=ed25519'];

    // v1, signed with the trusted keys, in a seed repo every client starts from.
    seed = tmp.join('seed');
    await must('xylem', [`--repo=${seed}`, 'init', '--mode=archive']);
    makeTree(tmp.join('tree-v1'), '1');
    v1 = (await must('xylem', [`--repo=${seed}`, 'commit', '-b', 'main', '-s', 'v1', '--timestamp=2026-01-01T00:00:00Z', `--tree=dir=${tmp.join('tree-v1')}`, ...gpgTrusted])).trim();
    makeTree(tmp.join('tree-v2'), '2');

    await Promise.all(
      OFFERS.map(async (offer) => {
        const repo = tmp.join('www', offer);
        await must('xylem', [`--repo=${repo}`, 'init', '--mode=archive']);
        await must('xylem', [`--repo=${repo}`, 'pull-local', seed, 'main']);
        const signing = offer === 'trusted' || offer === 'tampered-summary' ? gpgTrusted : offer === 'untrusted' ? gpgOther : [];
        const csum = (
          await must('xylem', [`--repo=${repo}`, 'commit', '-b', 'main', '-s', `v2 (${offer})`, '--timestamp=2026-02-01T00:00:00Z', '--bind-ref=next', `--tree=dir=${tmp.join('tree-v2')}`, ...signing])
        ).trim();
        v2.set(offer, csum);
        await must('xylem', [`--repo=${repo}`, 'refs', `--create=next`, csum]);
        if (offer === 'copied') {
          const meta = (c: string) => join(repo, 'objects', c.slice(0, 2), `${c.slice(2)}.commitmeta`);
          copyFileSync(meta(v1), meta(csum));
        }
        if (offer === 'unsigned-delta') await must('xylem', [`--repo=${repo}`, 'static-delta', 'generate', `--from=${v1}`, `--to=${csum}`]);
        await must('xylem', [`--repo=${repo}`, 'summary', '-u', ...gpgTrusted]);
        if (offer === 'tampered-summary') {
          // The summary changes after it was signed: the old summary.sig stays.
          const sig = readFileSync(join(repo, 'summary.sig'));
          await must('xylem', [`--repo=${repo}`, 'summary', '-u', '--add-metadata=tampered=true']);
          writeFileSync(join(repo, 'summary.sig'), sig);
        }
      }),
    );
  }, 240_000);

  afterAll(async () => {
    await httpd?.close();
    disposeCli();
    disposeRpmXylem(rpmXylem);
    if (home) killAgent(home);
    tmp?.cleanup();
  });

  /** `remote add` arguments for a policy (the remote named after the offer). */
  function remoteAdd(repo: string, policy: Policy, offer: Offer): string[] {
    const opts: string[] = [];
    if (policy.gpg) opts.push(`--gpg-import=${key1File}`);
    else opts.push('--no-gpg-verify');
    if (policy.gpg && policy.summary) opts.push('--set=gpg-verify-summary=true');
    if (policy.sign) opts.push('--set=sign-verify=true', `--set=verification-ed25519-key=${edPublic}`);
    if (policy.sign && policy.summary) opts.push('--set=sign-verify-summary=true');
    return [`--repo=${repo}`, 'remote', 'add', ...opts, offer, `${httpd.url}/${offer}`];
  }

  /** Everything a refused update must leave alone. */
  function snapshot(sysroot: string): string {
    const repo = join(sysroot, 'ostree/repo');
    const refs: Record<string, string> = {};
    const remotes = join(repo, 'refs/remotes');
    if (existsSync(remotes))
      for (const r of readdirSync(remotes)) for (const b of readdirSync(join(remotes, r))) refs[`${r}:${b}`] = readFileSync(join(remotes, r, b), 'utf8').trim();
    const deployDir = join(sysroot, 'ostree/deploy', OS, 'deploy');
    const deployments = existsSync(deployDir) ? readdirSync(deployDir).filter((n) => !n.endsWith('.origin')).sort() : [];
    const loader = existsSync(join(sysroot, 'boot/loader')) ? readlinkSync(join(sysroot, 'boot/loader')) : '';
    const entriesDir = join(sysroot, 'boot/loader/entries');
    const entries = existsSync(entriesDir) ? readdirSync(entriesDir).sort().map((n) => `${n}\n${readFileSync(join(entriesDir, n), 'utf8')}`) : [];
    return JSON.stringify({ refs, deployments, loader, entries }, null, 1);
  }

  /** The commit the default (first) deployment runs. */
  function defaultCommit(sysroot: string): string {
    const entries = readdirSync(join(sysroot, 'boot/loader/entries')).sort();
    const top = entries[entries.length - 1]!; // ostree-N-OS.conf: the highest N is the default
    const opts = readFileSync(join(sysroot, 'boot/loader/entries', top), 'utf8');
    const m = /ostree=\/ostree\/boot\.\d\/[^/]+\/[0-9a-f]{64}\/(\d+)/.exec(opts);
    expect(m, `no ostree= karg in ${top}`).not.toBeNull();
    const link = readlinkSync(join(sysroot, opts.match(/ostree=(\S+)/)![1]!));
    return /([0-9a-f]{64})\.\d+$/.exec(link)![1]!;
  }

  /** Asserts the outcome of one update attempt. */
  function judge(what: string, tool: Tool | 'rpm-xylem', r: RunResult, accept: boolean, offer: Offer, before: string, sysroot: string | null): void {
    const label = `${tool} ${what} [${offer}]`;
    if (accept) {
      expect(r.status, `${label} should be accepted:\n${r.stderr}`).toBe(0);
      if (sysroot) expect(defaultCommit(sysroot), `${label}: the new deployment is the default`).toBe(v2.get(offer));
      return;
    }
    expect(r.status, `${label} should be refused:\n${r.stdout}`).not.toBe(0);
    if (sysroot) expect(snapshot(sysroot), `${label}: refs, deployments and boot entries must not move`).toBe(before);
    if (tool === 'ostree') return;
    if (offer === 'tampered-summary') expect(r.stderr, label).toMatch(/summary/i);
    else {
      expect(r.stderr, `${label}: the error names the commit`).toContain(v2.get(offer)!);
      expect(r.stderr, `${label}: the error says why`).toMatch(/signature|GPG|verif/i);
    }
  }

  // Set-up steps run the real ostree whoever is under test (it starts faster); only the entry
  // points being judged run xylem.
  async function newSysroot(name: string, policy: Policy): Promise<string> {
    const sysroot = tmp.join(name);
    mkdirSync(sysroot);
    await must('ostree', ['admin', 'init-fs', sysroot]);
    await must('ostree', ['admin', 'os-init', `--sysroot=${sysroot}`, OS]);
    for (const offer of OFFERS) await must('ostree', remoteAdd(join(sysroot, 'ostree/repo'), policy, offer));
    return sysroot;
  }

  /** The sysroot runs v1 of `offer` (origin offer:main), whatever happened before. */
  async function deployV1(sysroot: string, offer: Offer): Promise<void> {
    await must('ostree', [`--repo=${join(sysroot, 'ostree/repo')}`, 'pull-local', `--remote=${offer}`, seed, 'main']);
    await must('ostree', ['admin', 'deploy', `--sysroot=${sysroot}`, `--os=${OS}`, `${offer}:main`]);
    expect(defaultCommit(sysroot)).toBe(v1);
  }

  // admin switch and admin upgrade, xylem and the real ostree (GPG policies: its build has no ed25519).
  const adminCases: Array<[Tool, PolicyName]> = [
    ['ostree', 'gpg'],
    ['ostree', 'gpg+summary'],
    ['ostree', 'off'],
    ...(Object.keys(POLICIES) as PolicyName[]).map((p): [Tool, PolicyName] => ['xylem', p]),
  ];
  describe.concurrent('admin switch, admin deploy of the pulled ref, admin upgrade', () => {
    for (const [tool, pname] of adminCases) {
      it(`${tool}, policy ${pname}`, async () => {
        const policy = POLICIES[pname]!;
        const sysroot = await newSysroot(`admin-${tool}-${pname}`, policy);
        for (const offer of OFFERS) {
          const accept = accepts(policy, offer);
          await deployV1(sysroot, offer);
          let before = snapshot(sysroot);
          judge('admin switch', tool, await exec(tool, ['admin', 'switch', `--sysroot=${sysroot}`, `--os=${OS}`, `${offer}:next`]), accept, offer, before, sysroot);
          await deployV1(sysroot, offer);
          before = snapshot(sysroot);
          judge('admin upgrade', tool, await exec(tool, ['admin', 'upgrade', `--sysroot=${sysroot}`, `--os=${OS}`]), accept, offer, before, sysroot);
        }
      }, 300_000);
    }
  });

  describe.concurrent('rpm-xylem upgrade, deploy, rebase', () => {
    for (const pname of ['gpg+summary', 'sign', 'off'] as PolicyName[]) {
      it(`policy ${pname}`, async () => {
        const policy = POLICIES[pname]!;
        const sysroot = await newSysroot(`rpm-${pname}`, policy);
        const sys = [`--sysroot=${sysroot}`, `--os=${OS}`];
        for (const offer of OFFERS) {
          const accept = accepts(policy, offer);
          const steps: Array<[string, string[]]> = [
            ['upgrade', ['upgrade', ...sys]],
            ['deploy', ['deploy', v2.get(offer)!, ...sys]],
            ['rebase', ['rebase', `${offer}:next`, ...sys]],
          ];
          for (const [what, args] of steps) {
            await deployV1(sysroot, offer);
            const before = snapshot(sysroot);
            judge(`rpm-xylem ${what}`, 'rpm-xylem', await rpm(args), accept, offer, before, sysroot);
          }
        }
      }, 300_000);
    }
  });

  describe.concurrent('pull: the library call with no options, the CLI, pull-local --gpg-verify', () => {
    for (const pname of Object.keys(POLICIES) as PolicyName[]) {
      it(`policy ${pname}`, async () => {
        const policy = POLICIES[pname]!;
        Object.assign(process.env, env()); // the library reads OSTREE_GPG_HOME from the host's env
        const host = createNodeHost();
        for (const offer of OFFERS) {
          const accept = accepts(policy, offer);
          for (const entry of ['library', 'cli'] as const) {
            const path = tmp.join(`pull-${pname}-${offer}-${entry}`);
            await must('ostree', [`--repo=${path}`, 'init', '--mode=bare-user']);
            await must('ostree', remoteAdd(path, policy, offer));
            await must('ostree', [`--repo=${path}`, 'pull-local', `--remote=${offer}`, seed, 'main']);
            const ref = join(path, 'refs/remotes', offer, 'main');
            let r: RunResult;
            if (entry === 'cli') r = await exec('xylem', [`--repo=${path}`, 'pull', offer, 'main']);
            else {
              const repo = await Repo.open(host, path);
              r = await pull(repo, offer, { refs: ['main'] }).then(
                () => ({ status: 0, stdout: '', stderr: '' }),
                (e: Error) => ({ status: 1, stdout: '', stderr: e.message }),
              );
            }
            judge(`pull (${entry})`, 'xylem', r, accept, offer, '', null);
            expect(readFileSync(ref, 'utf8').trim(), `pull (${entry}) [${offer}]: the ref`).toBe(accept ? v2.get(offer) : v1);
          }
        }
      }, 300_000);
    }

    it('pull-local --remote=R --gpg-verify (and --gpg-verify-summary): xylem as ostree', async () => {
      for (const tool of ['ostree', 'xylem'] as Tool[]) {
        for (const offer of OFFERS) {
          if (offer === 'unsigned-delta') continue; // pull-local copies objects, never deltas
          for (const summary of [false, true]) {
            const path = tmp.join(`pull-local-${tool}-${offer}-${summary}`);
            await must('ostree', [`--repo=${path}`, 'init', '--mode=bare-user']);
            await must('ostree', remoteAdd(path, POLICIES.gpg!, offer));
            const r = await exec(tool, [`--repo=${path}`, 'pull-local', `--remote=${offer}`, '--gpg-verify', ...(summary ? ['--gpg-verify-summary'] : []), tmp.join('www', offer), 'main']);
            const accept = accepts(summary ? POLICIES['gpg+summary']! : POLICIES.gpg!, offer);
            judge(`pull-local${summary ? ' +summary' : ''}`, tool, r, accept, offer, '', null);
            expect(existsSync(join(path, 'refs/remotes', offer, 'main')), `${tool} pull-local [${offer}]: the ref`).toBe(accept);
          }
        }
      }
    }, 300_000);
  });

  it('the browser audit (auditCommit) with the trusted keys accepts only what a policy with summary verification accepts', async () => {
    const armored = readFileSync(key1File, 'utf8');
    for (const keys of [[armored], [edPublic]]) {
      for (const offer of OFFERS) {
        if (offer === 'unsigned-delta') continue; // the audit walks objects, it never reads deltas
        const report = await auditCommit({ url: `${httpd.url}/${offer}`, ref: 'main', keys });
        expect(report.commit).toBe(v2.get(offer));
        expect(report.ok, `audit [${offer}]: ${report.problems.join('; ')}`).toBe(accepts(POLICIES['gpg+summary']!, offer));
      }
    }
  }, 120_000);
});
