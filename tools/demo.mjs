#!/usr/bin/env node
// The main job: a demo of Xylem's whole update cycle in a throw-away folder — make an OS tree,
// commit two versions, diff them, check one out, fsck (and let the real `ostree` read what xylem
// wrote), then serve the repo on 127.0.0.1, deploy version 1 into a fresh sysroot over HTTP,
// change /etc, upgrade to version 2, roll back, and clean up. As with ostree's defaults, the
// commits and the summary are GPG-signed (a throw-away key) and the client's remote verifies them;
// an unsigned commit pushed to the server is refused by `admin upgrade`. Then a composed OS
// (tools/demo-compose.mjs): real Debian binaries repackaged as RPMs, served as rpm-md on 127.0.0.1,
// `rpm-xylem compose tree` into the same repo, deployed, re-composed after one package changed
// (importing only it), `rpm-xylem db diff`, upgraded, and the deployment's rpmdb read by Debian's rpm.
// Run with `npm run demo` (builds first; deploying needs root, as ostree's does). Exits non-zero
// if any step fails.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, readFileSync, chmodSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { composedOs } from './demo-compose.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'xylem.mjs');
const work = mkdtempSync(join(tmpdir(), 'xylem-demo-'));
const repo = join(work, 'repo');

function step(title) {
  process.stdout.write(`\n== ${title}\n`);
}
function xylem(...args) {
  process.stdout.write(`$ xylem ${args.join(' ')}\n`);
  const out = execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  process.stdout.write(out);
  return out.trim();
}

/** A throw-away GnuPG home with one signing key (no passphrase); returns its fingerprint. */
function makeSigningKey(home) {
  mkdirSync(home, { mode: 0o700 });
  const gpg = (...args) => execFileSync('gpg', ['--homedir', home, '--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  gpg('--quick-gen-key', 'Xylem Demo <demo@example.invalid>', 'ed25519', 'sign', 'never');
  const fpr = gpg('--with-colons', '--list-secret-keys').split('\n').find((l) => l.startsWith('fpr:')).split(':')[9];
  writeFileSync(join(work, 'demo-key.asc'), gpg('--armor', '--export', fpr));
  return fpr;
}

async function updateCycle(repo, v1, v2, sign, tree) {
  if (process.getuid?.() !== 0) {
    process.stdout.write('\n(deployments need root, as with ostree: skipping the sysroot part)\n');
    return;
  }
  step('Serve the repository on 127.0.0.1');
  const portFile = join(work, 'httpd-port');
  const httpd = spawn(process.execPath, [CLI, 'trivial-httpd', '-p', portFile, repo], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
    const port = readFileSync(portFile, 'utf8').trim();
    const url = `http://127.0.0.1:${port}`;
    process.stdout.write(`serving ${repo} at ${url}\n`);

    step('A fresh sysroot; deploy version 1 pulled over HTTP');
    const sysroot = join(work, 'sysroot');
    mkdirSync(sysroot);
    const env = { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' };
    const x = (...args) => {
      process.stdout.write(`$ xylem ${args.join(' ')}\n`);
      const out = execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
      process.stdout.write(out);
      return out.trim();
    };
    x('admin', 'init-fs', sysroot);
    x('admin', `--sysroot=${sysroot}`, 'os-init', 'demo');
    // ostree's defaults: gpg-verify=true; the remote trusts the demo key only.
    x('remote', `--repo=${sysroot}/ostree/repo`, 'add', `--gpg-import=${join(work, 'demo-key.asc')}`, 'origin', url);
    x('pull', `--repo=${sysroot}/ostree/repo`, 'origin', `demo/stable@${v1}`);
    x('admin', `--sysroot=${sysroot}`, 'deploy', '--os=demo', '--karg=root=LABEL=demo', 'origin:demo/stable');
    x('admin', `--sysroot=${sysroot}`, 'status');

    step('The admin changes /etc and writes to /var');
    const deployDir = join(sysroot, 'ostree/deploy/demo/deploy');
    const first = readdirSync(deployDir).find((n) => !n.endsWith('.origin'));
    writeFileSync(join(deployDir, first, 'etc/demo.conf'), 'setting=local\n');
    writeFileSync(join(sysroot, 'ostree/deploy/demo/var/data'), 'kept across upgrades\n');

    step('Upgrade to version 2 (pulled over HTTP); /etc changes are merged');
    x('admin', `--sysroot=${sysroot}`, 'upgrade', '--os=demo');
    x('admin', `--sysroot=${sysroot}`, 'status');
    const current = readdirSync(deployDir).filter((n) => !n.endsWith('.origin')).find((n) => n.startsWith(v2));
    if (!current) throw new Error('version 2 is not deployed');
    const conf = readFileSync(join(deployDir, current, 'etc/demo.conf'), 'utf8');
    if (conf !== 'setting=local\n') throw new Error('the /etc change was not carried over');
    process.stdout.write(`etc/demo.conf in version 2: ${conf}`);
    process.stdout.write(`boot entries: ${readdirSync(join(sysroot, 'boot/loader/entries')).join(', ')}\n`);

    step('Roll back: make version 1 the default again');
    x('admin', `--sysroot=${sysroot}`, 'set-default', '1');
    x('admin', `--sysroot=${sysroot}`, 'status');

    step('An unsigned commit on the server is refused; nothing moves');
    writeFileSync(join(tree, 'usr/bin/hello'), '#!/bin/sh\necho hello from an intruder\n');
    const v3 = xylem('commit', `--repo=${repo}`, '-b', 'demo/stable', '-s', 'Unsigned', `--tree=dir=${tree}`);
    xylem('summary', `--repo=${repo}`, '-u', ...sign);
    const before = readdirSync(deployDir).sort().join(' ');
    process.stdout.write(`$ xylem admin --sysroot=${sysroot} upgrade --os=demo\n`);
    const refused = spawnSync(process.execPath, [CLI, 'admin', `--sysroot=${sysroot}`, 'upgrade', '--os=demo'], { encoding: 'utf8', env });
    process.stdout.write(refused.stdout + refused.stderr);
    if (refused.status === 0) throw new Error('an unsigned commit was deployed');
    if (!refused.stderr.includes(v3)) throw new Error('the refusal does not name the unsigned commit');
    if (readdirSync(deployDir).sort().join(' ') !== before) throw new Error('the deployments changed after a refused upgrade');
    process.stdout.write('(refused, as it must be: the deployments are unchanged)\n');

    step('The real ostree reads the sysroot xylem wrote');
    const st = spawnSync('ostree', ['admin', `--sysroot=${sysroot}`, 'status'], { encoding: 'utf8' });
    if (st.error) process.stdout.write('(ostree is not installed: skipped)\n');
    else {
      process.stdout.write(st.stdout + st.stderr);
      if (st.status !== 0) throw new Error('ostree admin status failed on the sysroot xylem wrote');
    }

    step('Clean up the unused deployment');
    x('admin', `--sysroot=${sysroot}`, 'undeploy', '1');
    x('admin', `--sysroot=${sysroot}`, 'cleanup');
    x('admin', `--sysroot=${sysroot}`, 'status');

    await composedOs({ root: ROOT, work, repo, sign, x, sysroot });
  } finally {
    httpd.kill();
  }
}

try {
  step('Make a tree');
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  mkdirSync(join(tree, 'usr/etc'), { recursive: true });
  // A kernel and initramfs where ostree looks for them, so the tree is bootable.
  mkdirSync(join(tree, 'usr/lib/modules/6.1.0-demo'), { recursive: true });
  writeFileSync(join(tree, 'usr/lib/modules/6.1.0-demo/vmlinuz'), 'demo kernel\n');
  writeFileSync(join(tree, 'usr/lib/modules/6.1.0-demo/initramfs.img'), 'demo initramfs\n');
  writeFileSync(join(tree, 'usr/bin/hello'), '#!/bin/sh\necho hello v1\n');
  chmodSync(join(tree, 'usr/bin/hello'), 0o755);
  writeFileSync(join(tree, 'usr/etc/os-release'), 'NAME=Demo\nPRETTY_NAME="Xylem Demo"\nVERSION=1\n');
  writeFileSync(join(tree, 'usr/etc/demo.conf'), 'setting=default\n');
  symlinkSync('usr/bin', join(tree, 'bin'));
  process.stdout.write(`tree at ${tree}\n`);

  step('A signing key (GnuPG), as a distributor has');
  const home = join(work, 'gnupg');
  const fpr = makeSigningKey(home);
  const sign = [`--gpg-sign=${fpr}`, `--gpg-homedir=${home}`];
  process.stdout.write(`key ${fpr}\n`);

  step('Create an archive repository and commit version 1 (signed)');
  xylem('init', `--repo=${repo}`, '--mode=archive');
  const v1 = xylem('commit', `--repo=${repo}`, '-b', 'demo/stable', '-s', 'Version 1', '--add-metadata-string=version=1', `--tree=dir=${tree}`, ...sign);

  step('Change the tree and commit version 2');
  writeFileSync(join(tree, 'usr/bin/hello'), '#!/bin/sh\necho hello v2\n');
  writeFileSync(join(tree, 'usr/etc/motd'), 'Welcome to version 2\n');
  writeFileSync(join(tree, 'usr/etc/os-release'), 'NAME=Demo\nPRETTY_NAME="Xylem Demo"\nVERSION=2\n');
  const v2 = xylem('commit', `--repo=${repo}`, '-b', 'demo/stable', '-s', 'Version 2', '--add-metadata-string=version=2', `--tree=dir=${tree}`, ...sign);
  xylem('summary', `--repo=${repo}`, '-u', ...sign);

  step('History and contents');
  xylem('log', `--repo=${repo}`, 'demo/stable');
  xylem('ls', `--repo=${repo}`, '-R', 'demo/stable');

  step('Diff version 1 → version 2');
  xylem('diff', `--repo=${repo}`, v1, v2);

  step('Check out version 2 and verify it');
  const co = join(work, 'checkout');
  xylem('checkout', `--repo=${repo}`, '-U', 'demo/stable', co);
  const hello = readFileSync(join(co, 'usr/bin/hello'), 'utf8');
  if (!hello.includes('v2')) throw new Error('checkout does not contain version 2');
  process.stdout.write(`checked out usr/bin/hello: ${hello.split('\n')[1]}\n`);

  step('fsck');
  xylem('fsck', `--repo=${repo}`);

  step('The real ostree reads what xylem wrote');
  const real = spawnSync('ostree', ['fsck', `--repo=${repo}`], { encoding: 'utf8' });
  if (real.error) process.stdout.write('(ostree is not installed: skipped)\n');
  else {
    process.stdout.write(real.stdout + real.stderr);
    if (real.status !== 0) throw new Error('ostree fsck rejected the repository');
    const rp = spawnSync('ostree', ['rev-parse', `--repo=${repo}`, 'demo/stable'], { encoding: 'utf8' });
    if (rp.stdout.trim() !== v2) throw new Error('ostree sees a different head');
    process.stdout.write(`ostree rev-parse demo/stable = ${rp.stdout.trim()} (same as xylem)\n`);
  }
  await updateCycle(repo, v1, v2, sign, tree);
  if (process.getuid?.() !== 0) await composedOs({ root: ROOT, work, repo, sign, x: xylem, sysroot: null });
  process.stdout.write('\nDemo completed.\n');
} finally {
  spawnSync('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'all']);
  rmSync(work, { recursive: true, force: true });
}
