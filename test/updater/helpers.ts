// Plumbing for the rpm-xylem tests: a private build of the rpm-xylem bundle, a throw-away OS
// repository served over HTTP on 127.0.0.1 (a port the OS picks) by a server that counts the
// object bytes it sends, and a sysroot made and deployed by the real `ostree admin` (the oracle).
// CLI calls are asynchronous: the server lives in this process and must keep answering.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { ROOT, TempDir, ok, ostree, run } from '../helpers/interop.ts';
import { expect } from 'vitest';

export const REF = 'testos/stable';
/** ostree sets the immutable bit on deployments unless told not to; the tests delete them. */
export const ENV = { OSTREE_SYSROOT_DEBUG: 'mutable-deployments' };
process.env.OSTREE_SYSROOT_DEBUG = ENV.OSTREE_SYSROOT_DEBUG;

export interface Result {
  status: number;
  stdout: string;
  stderr: string;
}

/** Builds rpm-xylem into a private folder under tmp/ (removed at exit). */
export function buildRpmXylem(): string {
  mkdirSync(join(ROOT, 'tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, 'tmp', 'rpm-xylem-cli-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [join(ROOT, 'tools/build-cli.mjs'), '--entry', join(ROOT, 'tools/rpm-xylem/main.ts'), '--outdir', dir, '--name', 'rpm-xylem'], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  if (r.status !== 0) throw new Error(`building rpm-xylem failed:\n${r.stdout}${r.stderr}`);
  return join(dir, 'rpm-xylem.mjs');
}

/** Removes a bundle built by buildRpmXylem (call from afterAll; the exit hook is a fallback). */
export function disposeRpmXylem(bin: string | undefined): void {
  if (bin) rmSync(dirname(bin), { recursive: true, force: true });
}

/** Starts rpm-xylem; resolves when it exits. */
export function startCli(cli: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Result>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ status: code ?? (signal ? 128 : -1), stdout, stderr }));
  });
  return { child, done };
}

export function cli(path: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return startCli(path, args, env).done;
}

/** Serves `dir` read-only on 127.0.0.1; counts bytes of successful /objects/ responses. */
export class RepoServer {
  readonly server: Server;
  objectBytes = 0;
  objectRequests: string[] = [];
  url = '';
  constructor(readonly dir: string) {
    this.server = createServer((req, res) => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      const file = normalize(join(dir, path));
      if (!file.startsWith(dir + '/') || path.includes('\0')) {
        res.writeHead(403).end();
        return;
      }
      let size: number;
      try {
        const st = statSync(file);
        if (!st.isFile()) throw new Error('not a file');
        size = st.size;
      } catch {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-length': String(size) });
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      if (path.startsWith('/objects/')) {
        this.objectBytes += size;
        this.objectRequests.push(path);
      }
      createReadStream(file).pipe(res);
    });
    this.server.unref();
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }
  resetCounters(): void {
    this.objectBytes = 0;
    this.objectRequests = [];
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** An OS tree, its archive repo on the "server" and a sysroot following it over HTTP. */
export class Fixture {
  readonly tmp = new TempDir('xylem-rpm-xylem-');
  readonly os = this.tmp.join('os');
  readonly srv = this.tmp.join('srv');
  readonly sys = this.tmp.join('sys');
  server!: RepoServer;
  /** Extra `ostree commit` arguments (e.g. --gpg-sign) and `remote add` options of the sysroot. */
  commitArgs: string[] = [];
  remoteArgs: string[] = ['--set=gpg-verify=false'];

  async setup(): Promise<string> {
    run('ostree', [`--repo=${this.srv}`, 'init', '--mode=archive']);
    mkdirSync(join(this.os, 'usr/lib/modules/6.1'), { recursive: true });
    mkdirSync(join(this.os, 'usr/etc'), { recursive: true });
    mkdirSync(join(this.os, 'usr/bin'), { recursive: true });
    symlinkSync('usr/bin', join(this.os, 'bin'));
    this.write({
      'usr/lib/modules/6.1/vmlinuz': 'kernel 1\n',
      'usr/lib/modules/6.1/initramfs.img': 'initramfs\n',
      'usr/etc/os-release': 'NAME=TestOS\nPRETTY_NAME="TestOS"\n',
      'usr/etc/motd': 'hello\n',
      'usr/bin/sh': 'a shell\n',
    });
    const c1 = this.commit(REF, '1.0', {});
    this.server = new RepoServer(this.srv);
    const url = await this.server.start();
    mkdirSync(this.sys);
    run('ostree', ['admin', 'init-fs', this.sys]);
    run('ostree', ['admin', `--sysroot=${this.sys}`, 'os-init', 'testos']);
    run('ostree', [`--repo=${this.sys}/ostree/repo`, 'remote', 'add', ...this.remoteArgs, 'testos', url, REF]);
    // ostree pull is synchronous here: run it in a child so that this process keeps serving.
    await this.ostreeAsync([`--repo=${this.sys}/ostree/repo`, 'pull', 'testos', REF]);
    run('ostree', ['admin', `--sysroot=${this.sys}`, 'deploy', '--os=testos', '--karg=root=LABEL=rootfs', `testos:${REF}`]);
    return c1;
  }

  write(files: Record<string, string>): void {
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(join(this.os, rel, '..'), { recursive: true });
      writeFileSync(join(this.os, rel), content);
    }
  }

  /** Commits the OS tree (after writing `files`) on the server and updates its summary. */
  commit(branch: string, version: string, files: Record<string, string>): string {
    this.write(files);
    const c = run('ostree', [`--repo=${this.srv}`, 'commit', ...this.commitArgs, '--bootable', `--add-metadata-string=version=${version}`, '-b', branch, `--tree=dir=${this.os}`]);
    run('ostree', [`--repo=${this.srv}`, 'summary', '-u']);
    return c;
  }

  /** The real ostree, without blocking this process's event loop. */
  async ostreeAsync(args: string[]): Promise<Result> {
    const child = spawn('ostree', args, { env: { ...process.env, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
    if (status !== 0) throw new Error(`ostree ${args.join(' ')} exited ${status}: ${stderr}`);
    return { status, stdout, stderr };
  }

  /** `ostree admin status` entries in order: "CSUM.SERIAL". */
  adminOrder(): string[] {
    const out = ok(ostree(['admin', `--sysroot=${this.sys}`, 'status']), 'ostree admin status');
    return [...out.matchAll(/^[* ] testos ([0-9a-f]{64}\.\d+)/gm)].map((m) => m[1]!);
  }

  /** Commit timestamp as rpm-ostree prints it (from `ostree log`). */
  isoTime(csum: string): string {
    const out = ok(ostree([`--repo=${this.srv}`, 'log', csum]), 'ostree log');
    const m = /^Date:\s+(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) \+0000$/m.exec(out);
    if (!m) throw new Error(`no Date in ostree log ${csum}`);
    return `${m[1]}T${m[2]}Z`;
  }

  /** ostree fsck of the sysroot repo must report no errors. */
  fsck(): void {
    const r = ostree([`--repo=${this.sys}/ostree/repo`, 'fsck']);
    if (r.status !== 0 || /error|corrupt/i.test(r.stderr)) throw new Error(`ostree fsck failed (${r.status}):\n${r.stdout}${r.stderr}`);
  }

  async dispose(): Promise<void> {
    await this.server?.stop();
    spawnSync('chattr', ['-R', '-i', this.sys], { stdio: 'ignore' });
    this.tmp.cleanup();
  }
}

/**
 * rpm-xylem commands on `fx`'s sysroot, with the booted deployment `booted()` names: `x` runs,
 * `must` runs and returns stdout (throws on failure), `json` reads `status --json`, `sameOrder`
 * asserts that rpm-xylem lists the deployments in the order of `ostree admin status` (the oracle).
 */
export function sysrootCli(fx: Fixture, bin: () => string, booted: () => string) {
  const x = (args: string[], env: Record<string, string> = {}): Promise<Result> =>
    cli(bin(), [...args, `--sysroot=${fx.sys}`], { XYLEM_BOOTED: booted(), XYLEM_PROC_CMDLINE: '', ...env });
  const must = async (args: string[], env: Record<string, string> = {}): Promise<string> => {
    const r = await x(args, env);
    if (r.status !== 0) throw new Error(`rpm-xylem ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const json = async () =>
    JSON.parse(await must(['status', '--json'])) as { deployments: Array<Record<string, unknown>>; transaction: unknown };
  const sameOrder = async (): Promise<string[]> => {
    const ids = (await json()).deployments.map((d) => `${d.checksum}.${d.serial}`);
    expect(ids).toEqual(fx.adminOrder());
    return ids;
  };
  return { x, must, json, sameOrder };
}

