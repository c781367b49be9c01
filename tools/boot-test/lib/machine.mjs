// The machine the real-boot tests run (run.mjs and power-loss.mjs): overlays that add Xylem's
// systemd units and the guest probe to the cached OS tree, GPG-signed commits into an archive repo
// served on 127.0.0.1 by xylem's trivial-httpd, a sysroot made by `xylem admin init-fs / os-init /
// deploy` with the updater (Node, optionally Bun, and the bundles) in the stateroot's /var, and the
// ext4 image made from it without mounting (mkfs.ext4 -d).

import { spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HERE, OS, REF, ROOT, XYLEM_BIN, sh, xylem } from './host.mjs';

/**
 * What commit `name` (version `version`) adds to the OS tree, in `work/overlay-NAME`: Xylem's units
 * (ostree's masked), the probe service, the guest's `xylem` wrapper, /usr/lib/xylem-ci/version.
 * `brokenInit`: a /usr/lib/systemd/systemd that exits at once (the kernel panics). `blobs`: 4 MB of
 * new files, so a pull of this commit takes a while.
 */
export function overlay(work, name, version, { brokenInit = false, blobs = false } = {}) {
  const o = join(work, `overlay-${name}`);
  const units = join(o, 'usr/lib/systemd/system');
  const wants = join(o, 'usr/etc/systemd/system/multi-user.target.wants');
  for (const d of [units, wants, join(o, 'usr/libexec/xylem-ci'), join(o, 'usr/lib/xylem-ci'), join(o, 'usr/bin')]) mkdirSync(d, { recursive: true });
  for (const u of ['xylem-finalize-staged.path', 'xylem-finalize-staged.service', 'xylem-boot-complete.service'])
    copyFileSync(join(ROOT, 'tools/systemd', u), join(units, u));
  copyFileSync(join(HERE, 'guest/xylem-ci-probe.service'), join(units, 'xylem-ci-probe.service'));
  copyFileSync(join(HERE, 'guest/probe.sh'), join(o, 'usr/libexec/xylem-ci/probe.sh'));
  copyFileSync(join(HERE, 'guest/xylem'), join(o, 'usr/bin/xylem'));
  sh('chmod', ['0755', join(o, 'usr/libexec/xylem-ci/probe.sh'), join(o, 'usr/bin/xylem')]);
  for (const u of ['xylem-finalize-staged.path', 'xylem-boot-complete.service', 'xylem-ci-probe.service'])
    sh('ln', ['-sf', `/usr/lib/systemd/system/${u}`, join(wants, u)]);
  // Xylem finalizes, not ostree: Debian's ostree-boot units are masked (the generator still wants them)
  for (const u of ['ostree-finalize-staged.path', 'ostree-finalize-staged.service', 'ostree-finalize-staged-hold.service', 'ostree-boot-complete.service'])
    sh('ln', ['-sf', '/dev/null', join(o, 'usr/etc/systemd/system', u)]);
  writeFileSync(join(o, 'usr/lib/xylem-ci/version'), `${version}\n`);
  if (brokenInit) {
    // a deployment whose init fails: PID 1 exits at once, the kernel panics (panic=5 reboots it)
    mkdirSync(join(o, 'usr/lib/systemd'), { recursive: true });
    writeFileSync(join(o, 'usr/lib/systemd/systemd'), '#!/bin/sh\necho "xylem boot test: this init fails on purpose" >&2\nexit 1\n', { mode: 0o755 });
  }
  if (blobs) {
    mkdirSync(join(o, 'usr/share/xylem-ci'), { recursive: true });
    for (let i = 0; i < 64; i++) writeFileSync(join(o, `usr/share/xylem-ci/blob-${i}`), Buffer.alloc(64 << 10, `${i}-${version}-`));
  }
  return o;
}

/** A fresh ed25519 signing key in `work/gnupg` for `uid`; its public half in `work/key.asc`. */
export function signingKey(work, uid, fail) {
  const gpgHome = join(work, 'gnupg');
  mkdirSync(gpgHome, { mode: 0o700 });
  sh('gpg', ['--homedir', gpgHome, '--batch', '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
  const keyId = sh('gpg', ['--homedir', gpgHome, '--list-keys', '--with-colons']).split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9];
  if (!keyId) fail('no GPG key generated');
  writeFileSync(join(work, 'key.asc'), sh('gpg', ['--homedir', gpgHome, '--armor', '--export', keyId]));
  return { gpgHome, keyId, publicKey: join(work, 'key.asc') };
}

/**
 * An archive repo `work/repo` and `commit(name, version, overlayOpts)`: the OS tree plus its overlay,
 * committed on REF with subject `${subject} NAME`, signed, the summary updated; returns the checksum.
 */
export function signedRepo(work, tree, key, subject, log) {
  const repo = join(work, 'repo');
  xylem(['init', `--repo=${repo}`, '--mode=archive']);
  const commit = (name, version, opts) => {
    const t = Date.now();
    const csum = xylem([
      'commit', `--repo=${repo}`, `--branch=${REF}`, `--subject=${subject} ${name}`, `--add-metadata-string=version=${version}`,
      `--tree=dir=${tree}`, `--tree=dir=${overlay(work, name, version, opts)}`, `--gpg-sign=${key.keyId}`, `--gpg-homedir=${key.gpgHome}`,
    ]).trim();
    xylem(['summary', '-u', `--repo=${repo}`, `--gpg-sign=${key.keyId}`, `--gpg-homedir=${key.gpgHome}`]);
    log(`committed ${name} (version ${version}): ${csum} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    return csum;
  };
  return { repo, commit };
}

/** xylem's trivial-httpd serving `repo` on 127.0.0.1 as a separate process (the CLI blocks while it pulls). */
export async function serveRepo(work, repo, fail) {
  const portFile = join(work, 'httpd.port');
  const httpd = spawn(XYLEM_BIN, ['trivial-httpd', `--port-file=${portFile}`, `--log-file=${join(work, 'httpd.log')}`, repo], { stdio: 'ignore' });
  process.on('exit', () => httpd.kill());
  for (let i = 0; i < 200 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(portFile)) fail('trivial-httpd did not start');
  return { httpd, port: Number(readFileSync(portFile, 'utf8').trim()) };
}

/**
 * `work/sysroot` made by xylem: remote `ci` (the signing key imported) pulled over HTTP, its URL
 * then set to what the guest sees (10.0.2.2), REF deployed with the test's kernel arguments, and the
 * updater in the stateroot's /var/lib/xylem (node, `bun` when given, the dist bundles).
 */
export function makeSysroot(work, { port, key, bun = null, log = () => undefined }) {
  const sysroot = join(work, 'sysroot');
  mkdirSync(sysroot);
  xylem(['admin', 'init-fs', sysroot]);
  xylem(['admin', 'os-init', `--sysroot=${sysroot}`, OS]);
  const sysrepo = join(sysroot, 'ostree/repo');
  xylem(['config', `--repo=${sysrepo}`, 'set', 'sysroot.bootloader', 'none']);
  xylem(['remote', 'add', `--repo=${sysrepo}`, `--gpg-import=${key.publicKey}`, 'ci', `http://127.0.0.1:${port}`]);
  log('pulling into the sysroot repo over HTTP');
  xylem(['pull', `--repo=${sysrepo}`, 'ci', REF]);
  xylem(['config', `--repo=${sysrepo}`, 'set', 'remote "ci".url', `http://10.0.2.2:${port}`]);
  xylem(['admin', 'deploy', `--sysroot=${sysroot}`, `--os=${OS}`, '--karg=root=LABEL=xylem-root', '--karg=rw', '--karg=console=ttyS0', `ci:${REF}`]);
  const xv = join(sysroot, `ostree/deploy/${OS}/var/lib/xylem`);
  mkdirSync(join(xv, 'dist'), { recursive: true });
  copyFileSync(process.execPath, join(xv, 'node'));
  if (bun) copyFileSync(bun, join(xv, 'bun'));
  sh('chmod', ['0755', join(xv, 'node'), ...(bun ? [join(xv, 'bun')] : [])]);
  for (const d of ['xylem.mjs', 'chunks', 'rpm-xylem']) cpSync(join(ROOT, 'dist', d), join(xv, 'dist', d), { recursive: true, filter: (s) => !s.endsWith('.map') });
  return sysroot;
}

/** The sysroot becomes the ext4 image `img` (label xylem-root, 4G sparse); the folder is removed. */
export function makeImage(sysroot, img) {
  sh('mkfs.ext4', ['-q', '-F', '-L', 'xylem-root', '-d', sysroot, img, '4G']);
  // the deployment roots carry the immutable bit (as ostree's); the image does not keep it
  sh('sh', ['-c', `chattr -i "$1"/ostree/deploy/*/deploy/* 2>/dev/null; true`, 'sh', sysroot]);
  rmSync(sysroot, { recursive: true, force: true });
}
