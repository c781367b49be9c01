// Shared set-up of the trust edge-case tests (trust-pull, trust-summary): a temp dir, a copy of
// the upstream suite's GnuPG home, a 127.0.0.1 HTTP server over <tmp>/www, and helpers that run
// the real ostree or xylem with the suite's trusted keyring. Call it inside a describe block: it
// registers the beforeAll/afterAll hooks that start and stop everything.

import { afterAll, beforeAll } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OSTREE, TempDir, buildCli, disposeCli } from '../helpers/interop.ts';
import { runAsync } from '../pull/helpers.ts';
import { startTrivialHttpd, type RunningHttpd } from '../../tools/httpd/server.ts';
import { KEY1, SUITE_GPGHOME, copyGpgHome, killAgent } from './helpers.ts';

export type Tool = 'ostree' | 'xylem';
export const TOOLS: Tool[] = ['ostree', 'xylem'];

export interface TrustFixture {
  /** The temp dir (valid inside tests). */
  readonly tmp: TempDir;
  /** The GnuPG home holding the suite's secret keys. */
  readonly home: string;
  exec(t: Tool, args: string[], env?: Record<string, string>): ReturnType<typeof runAsync>;
  /** Runs and returns stdout; throws with stderr on a non-zero exit. */
  must(t: Tool, args: string[], env?: Record<string, string>): Promise<string>;
  /** A fresh archive server repo under the HTTP root, with one commit of a small tree. */
  serverRepo(name: string, commitArgs?: string[]): Promise<{ path: string; url: string; csum: string }>;
  /** ostree commit/summary arguments that sign with the suite's first key. */
  signArgs(): string[];
}

export function trustFixture(): TrustFixture {
  let tmp: TempDir;
  let home: string;
  let httpd: RunningHttpd;
  /** OSTREE_GPG_HOME as libtest sets it: the suite's trusted keyring directory. */
  const trusted = join(SUITE_GPGHOME, 'trusted');

  beforeAll(async () => {
    tmp = new TempDir('xylem-trust-');
    home = copyGpgHome(tmp.join('gpghome'));
    mkdirSync(tmp.join('www'));
    httpd = await startTrivialHttpd({ root: tmp.join('www'), port: 0, host: '127.0.0.1' });
  }, 60_000);

  afterAll(async () => {
    await httpd?.close();
    disposeCli();
    if (home) killAgent(home);
    tmp?.cleanup();
  });

  const fixture: TrustFixture = {
    get tmp() {
      return tmp;
    },
    get home() {
      return home;
    },
    exec(t, args, env = {}) {
      const cmd = t === 'ostree' ? OSTREE! : process.execPath;
      const argv = t === 'ostree' ? args : [buildCli(), ...args];
      return runAsync(cmd, argv, { env: { TZ: 'UTC', OSTREE_GPG_HOME: trusted, ...env } });
    },
    async must(t, args, env = {}) {
      const r = await fixture.exec(t, args, env);
      if (r.status !== 0) throw new Error(`${t} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
      return r.stdout;
    },
    // (Repos and remotes are set up by the real ostree for both tools: it starts faster.)
    async serverRepo(name, commitArgs = []) {
      const path = tmp.join('www', name);
      await fixture.must('ostree', [`--repo=${path}`, 'init', '--mode=archive']);
      const tree = tmp.join(`tree-${name}`);
      mkdirSync(join(tree, 'usr/lib/modules/5.0'), { recursive: true });
      writeFileSync(join(tree, 'usr/lib/modules/5.0/vmlinuz'), 'a kernel\n');
      writeFileSync(join(tree, 'usr/lib/modules/5.0/initramfs.img'), 'an initramfs\n');
      mkdirSync(join(tree, 'usr/etc'), { recursive: true });
      writeFileSync(join(tree, 'usr/etc/os-release'), 'ID=testos\n');
      const csum = (
        await fixture.must('ostree', [`--repo=${path}`, 'commit', '-b', 'main', '-s', 'one', `--tree=dir=${tree}`, ...commitArgs])
      ).trim();
      return { path, url: `${httpd.url}/${name}`, csum };
    },
    signArgs: () => [`--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`],
  };
  return fixture;
}
