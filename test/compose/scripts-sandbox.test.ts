// The posix host's script sandbox (runtimes/posix/sandbox.ts) against the real kernel and
// bubblewrap: the root becomes /, /var is read-only, the network is gone, the environment and
// capabilities are rpm-ostree's, hardlinked files are copied up instead of changed, a script
// wiping `/` only empties the root, and timeouts and output caps hold. The shell inside the tiny
// roots is Debian's static busybox (busybox-static, tools/setup.sh).

import { createServer } from 'node:http';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createBwrapSandbox, SCRIPT_CAPABILITIES } from '../../runtimes/posix/sandbox.ts';
import type { SandboxRequest } from '../../src/host.ts';
import { missing } from '../helpers/require-tool.ts';
import { HAVE_BUSYBOX_STATIC, HAVE_BWRAP, HAVE_ROFILES, IS_ROOT, makeBusyboxRoot, tempDir } from '../helpers/script-root.ts';

const sandbox = createBwrapSandbox(process.env);
const enc = new TextEncoder();
const dec = new TextDecoder();
const cleanups: string[] = [];
afterAll(() => {
  for (const d of cleanups) rmSync(d, { recursive: true, force: true });
});

function freshRoot(): { root: string; cache: string; base: string } {
  const base = tempDir('sbx');
  cleanups.push(base);
  const root = join(base, 'root');
  const cache = join(base, 'cache');
  mkdirSync(root);
  makeBusyboxRoot(root, cache);
  return { root, cache, base };
}

async function sh(root: string, script: string, extra: Partial<SandboxRequest> = {}) {
  const r = await sandbox.run({
    root,
    argv: ['/bin/sh', '/proc/self/fd/5', '1'],
    script: enc.encode(script),
    env: { PATH: '/usr/sbin:/usr/bin', LANG: 'C', SYSTEMD_OFFLINE: '1' },
    mutability: 'copyup',
    timeoutMs: 20_000,
    maxOutputBytes: 1 << 20,
    ...extra,
  });
  return { ...r, text: dec.decode(r.output) };
}

describe.skipIf(missing('script sandbox', { bwrap: HAVE_BWRAP, 'rofiles-fuse + /dev/fuse': HAVE_ROFILES, 'busybox-static': HAVE_BUSYBOX_STATIC, root: IS_ROOT }))('bwrap script sandbox', () => {
  it('runs the script from fd 5 with $1, sees only the root, and the fixed environment', async () => {
    const { root } = freshRoot();
    writeFileSync(join(root, 'etc/marker'), 'in-root\n');
    const r = await sh(root, 'echo "arg=$1 zero=$0"; cat /etc/marker; ls /; env | sort; test -f /run/ostree-booted && echo booted');
    expect(r.exitCode).toBe(0);
    const lines = r.text.split('\n');
    expect(lines[0]).toBe('arg=1 zero=/proc/self/fd/5');
    expect(lines).toContain('in-root');
    // The root's usr/etc/var plus the sandbox's own dev/proc/run/sys/tmp and the /usr links.
    const top = lines.slice(2, lines.indexOf('LANG=C'));
    expect(top.sort()).toEqual(['bin', 'dev', 'etc', 'lib', 'proc', 'run', 'sbin', 'sys', 'tmp', 'usr', 'var']);
    const env = lines.filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=')[0]);
    // busybox sh adds PWD and SHLVL itself; nothing of the test runner's environment leaks in.
    expect(env.filter((k) => !['PWD', 'SHLVL', 'OLDPWD'].includes(k!)).sort()).toEqual(['LANG', 'PATH', 'SYSTEMD_OFFLINE']);
    expect(lines).toContain('booted');
  });

  it("keeps exactly rpm-ostree's capability set", async () => {
    const { root } = freshRoot();
    const r = await sh(root, 'grep CapEff /proc/self/status');
    const eff = BigInt('0x' + r.text.trim().split(/\s+/)[1]);
    const numbers: Record<string, number> = { cap_chown: 0, cap_dac_override: 1, cap_fowner: 3, cap_fsetid: 4, cap_kill: 5, cap_setgid: 6, cap_setuid: 7, cap_setpcap: 8, cap_sys_chroot: 18, cap_setfcap: 31 };
    const want = SCRIPT_CAPABILITIES.reduce((m, c) => m | (1n << BigInt(numbers[c]!)), 0n);
    expect(eff).toBe(want);
  });

  it('/var is read-only, /var/tmp and /tmp are writable scratch, /usr/share/rpm is masked', async () => {
    const { root } = freshRoot();
    mkdirSync(join(root, 'usr/share/rpm'), { recursive: true });
    writeFileSync(join(root, 'usr/share/rpm/rpmdb.sqlite'), 'db');
    const r = await sh(root, 'touch /var/lib/x 2>&1 || echo var-ro; touch /var/tmp/t && echo vartmp-ok; touch /tmp/t && echo tmp-ok; ls -A /usr/share/rpm | wc -l');
    expect(r.text).toMatch(/Read-only file system/);
    expect(r.text).toContain('var-ro');
    expect(r.text).toContain('vartmp-ok');
    expect(r.text).toContain('tmp-ok');
    expect(r.text.trim().split('\n').pop()).toBe('0');
    expect(existsSync(join(root, 'var/lib/x'))).toBe(false);
    expect(readdirSync(join(root, 'var/tmp'))).toEqual([]);
  });

  it('a write to a hardlinked file gets its own copy: the other link (the package cache) is unchanged', async () => {
    const { root, cache } = freshRoot();
    writeFileSync(join(cache, 'conf'), 'original\n');
    linkSync(join(cache, 'conf'), join(root, 'etc/conf'));
    linkSync(join(cache, 'busybox'), join(root, 'usr/bin/other-link'));
    const r = await sh(root, 'echo changed >> /etc/conf; echo x >> /usr/bin/other-link; cat /etc/conf');
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(cache, 'conf'), 'utf8')).toBe('original\n');
    expect(readFileSync(join(root, 'etc/conf'), 'utf8')).toBe('original\nchanged\n');
    expect(statSync(join(root, 'etc/conf')).ino).not.toBe(statSync(join(cache, 'conf')).ino);
    expect(statSync(join(cache, 'busybox')).size).toBe(statSync(join(root, 'usr/bin/busybox')).size);
    expect(statSync(join(cache, 'busybox')).nlink).toBe(2); // cache + root/usr/bin/busybox
  });

  it('rm -rf --no-preserve-root / empties only the root: a canary beside it and the host survive', async () => {
    const { root, base } = freshRoot();
    writeFileSync(join(base, 'canary'), 'alive');
    const hostCanary = join(tempDir('canary'), 'host-canary');
    cleanups.push(hostCanary.replace(/\/host-canary$/, ''));
    writeFileSync(hostCanary, 'alive');
    const hostEtc = readdirSync('/etc').length;
    // GNU rm's form first; busybox rm (this root's) has no --no-preserve-root and removes / anyway.
    const r = await sh(root, `rm -rf --no-preserve-root / 2>/dev/null || rm -rf / 2>/dev/null; rm -rf ${hostCanary} ${join(base, 'canary')} 2>/dev/null; echo done`);
    expect(r.text).toContain('done');
    expect(readFileSync(join(base, 'canary'), 'utf8')).toBe('alive');
    expect(readFileSync(hostCanary, 'utf8')).toBe('alive');
    expect(readdirSync('/etc').length).toBe(hostEtc);
    // Inside the root, /usr and /etc lost every file (through rofiles-fuse), /var was read-only.
    const files = (d: string): string[] => readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => e.name);
    expect(files(join(root, 'usr'))).toEqual([]);
    expect(files(join(root, 'etc'))).toEqual([]);
    expect(existsSync(join(root, 'var/lib'))).toBe(true);
    expect(statSync(join(base, 'cache/busybox')).size).toBeGreaterThan(0);
  });

  it('has no network: a server on the host loopback is unreachable', async () => {
    const { root } = freshRoot();
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end('reached');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      // Control: the same request from the host reaches the server.
      const ok = await fetch(`http://127.0.0.1:${port}/`).then((x) => x.text());
      expect(ok).toBe('reached');
      const r = await sh(root, `wget -q -T 3 -O - http://127.0.0.1:${port}/ || exit 7`);
      expect(r.exitCode).toBe(7);
      expect(r.text).not.toContain('reached');
      expect(hits).toBe(1);
    } finally {
      server.close();
    }
  });

  it('streams stdin, kills at the timeout, and caps the output', async () => {
    const { root } = freshRoot();
    async function* lines() {
      for (let i = 0; i < 2000; i++) yield enc.encode(`/usr/lib/file-${i}\n`);
    }
    const r = await sh(root, 'wc -l', { stdin: lines() });
    expect(r.text.trim()).toBe('2000');
    const t0 = Date.now();
    const slow = await sh(root, 'echo started; sleep 30', { timeoutMs: 1500 });
    expect(slow.timedOut).toBe(true);
    expect(slow.exitCode).toBe(null);
    expect(slow.text).toContain('started');
    expect(Date.now() - t0).toBeLessThan(15_000);
    async function* broken() {
      yield enc.encode('/usr/lib/first\n');
      throw new Error('walk failed');
    }
    await expect(sh(root, 'cat > /dev/null; sleep 5', { stdin: broken() })).rejects.toThrow('walk failed');
    const loud = await sh(root, 'yes | head -c 200000', { maxOutputBytes: 1000 });
    expect(loud.output.length).toBe(1000);
    expect(loud.outputTruncated).toBe(true);
  });

  it('read-only mutability: /usr and /etc cannot be written', async () => {
    const { root } = freshRoot();
    const r = await sh(root, 'touch /etc/new 2>&1; touch /usr/new 2>&1; true', { mutability: 'readonly' });
    expect(r.text.match(/Read-only file system/g)?.length).toBe(2);
    expect(existsSync(join(root, 'etc/new'))).toBe(false);
    expect(lstatSync(join(root, 'bin')).isSymbolicLink()).toBe(true);
  });

  it('a session keeps one copy-up set-up across runs and releases its mounts on close', async () => {
    const { root, cache } = freshRoot();
    writeFileSync(join(cache, 'shared'), 'cache\n');
    linkSync(join(cache, 'shared'), join(root, 'etc/shared'));
    const fuseMounts = (): number => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes('xylem-sandbox-')).length;
    const before = fuseMounts();
    const session = await sandbox.open!(root, 'copyup');
    const req = (script: string): SandboxRequest => ({ root, argv: ['/bin/sh', '/proc/self/fd/5'], script: enc.encode(script), env: { PATH: '/usr/bin' }, mutability: 'copyup', timeoutMs: 20_000, maxOutputBytes: 1 << 16 });
    try {
      expect(fuseMounts()).toBe(before + 2); // /usr and /etc
      expect((await session.run(req('echo one >> /etc/shared'))).exitCode).toBe(0);
      const second = await session.run(req('echo two >> /etc/shared; cat /etc/shared'));
      expect(dec.decode(second.output)).toBe('cache\none\ntwo\n');
      await expect(session.run({ ...req('true'), root: '/' })).rejects.toThrow(/its own root/);
    } finally {
      await session.close();
    }
    expect(fuseMounts()).toBe(before);
    expect(readFileSync(join(cache, 'shared'), 'utf8')).toBe('cache\n');
    await expect(session.run(req('true'))).rejects.toThrow(/closed/);
  });

  it('refuses hostile requests', async () => {
    const { root } = freshRoot();
    await expect(sandbox.run({ root, argv: ['/bin/true'], env: {}, mutability: 'copyup', timeoutMs: 1000, maxOutputBytes: 10, binds: [{ source: '/', dest: '/../x' }] })).rejects.toThrow(/without '\.\.'/);
    await expect(sandbox.run({ root, argv: [], env: {}, mutability: 'copyup', timeoutMs: 1000, maxOutputBytes: 10 })).rejects.toThrow(/argv/);
    await expect(sandbox.run({ root, argv: ['/bin/true'], env: { 'A=B': 'x' }, mutability: 'copyup', timeoutMs: 1000, maxOutputBytes: 10 })).rejects.toThrow(/environment/);
  });
});
