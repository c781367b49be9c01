#!/usr/bin/env node
// `npm run boot-test`: a real machine deployed, upgraded and rolled back by Xylem (issue 14).
// Builds (or reuses) a small Debian OS tree (build-os.sh), commits it with xylem (GPG-signed, into
// an archive repo served on 127.0.0.1), creates a sysroot with `xylem admin init-fs / os-init /
// deploy` in a folder, turns it into an ext4 image without mounting (mkfs.ext4 -d) and boots it in
// qemu (KVM when it really works, else TCG), always taking kernel, initramfs and options from the
// BLS entry a BLS boot loader would pick — so the entries xylem wrote are what boots. Inside the
// guest the updater runs under Node and Bun (tools/boot-test/guest/probe.sh); the guest's
// shutdown runs Xylem's own finalization unit (tools/systemd/). Sequence:
//   1 boots A, stages B (Node), changes /etc after staging      → 2 boots B with the /etc change
//   2 rolls back (Bun)                                           → 3 boots A
//   3 stages C, whose init fails                                 → 4 fails to start
//   5 the previous entry chosen by hand                          → boots A; /var and /etc intact
// Each boot prints `booted <checksum>.<serial> cmdline=<guest's /proc/cmdline>` as read inside the
// guest; any deviation fails the run (exit 1).

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const xylemBin = join(root, 'tools/bin/xylem');
const OS = 'debian';
const REF = 'debian/test';
const t0 = Date.now();

function log(msg) {
  process.stderr.write(`boot-test [${((Date.now() - t0) / 1000).toFixed(0)}s]: ${msg}\n`);
}
function fail(msg) {
  process.stderr.write(`boot-test: FAILED: ${msg}\n`);
  process.exit(1);
}
function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...opts });
}
function xylem(args, opts = {}) {
  return sh(xylemBin, args, opts);
}

for (const tool of ['qemu-system-x86_64', 'mmdebstrap', 'mkfs.ext4', 'debugfs', 'gpg']) {
  try {
    sh('sh', ['-c', `command -v ${tool}`]);
  } catch {
    fail(`${tool} is missing (tools/setup.sh installs it)`);
  }
}
for (const f of ['dist/xylem.mjs', 'dist/rpm-xylem/rpm-xylem.mjs']) if (!existsSync(join(root, f))) fail(`${f} is missing: run npm run build first`);
const bunExe = join(root, 'node_modules/bun/bin/bun.exe');
if (!existsSync(bunExe)) fail('bun is missing (npm ci installs it)');

// ---- 1. the OS tree (cached) ----
log('OS tree: build-os.sh');
const tree = sh('bash', [join(here, 'build-os.sh')], { stdio: ['ignore', 'pipe', 'inherit'] }).trim();
const kver = readFileSync(join(dirname(tree), 'kver'), 'utf8').trim();
log(`OS tree ${tree} (kernel ${kver})`);

const work = mkdtempSync(join(process.env.XYLEM_BOOT_WORK ?? tmpdir(), 'xylem-boot-'));
const keep = process.env.XYLEM_BOOT_KEEP === '1';
process.on('exit', () => {
  if (!keep) {
    // a run that stopped between deploy and mkfs leaves immutable deployment roots behind
    try {
      sh('sh', ['-c', `chattr -i "$1"/sysroot/ostree/deploy/*/deploy/* 2>/dev/null; true`, 'sh', work]);
    } catch {}
    rmSync(work, { recursive: true, force: true });
  }
  else process.stderr.write(`boot-test: work folder kept: ${work}\n`);
});

// ---- 2. overlays: what each commit adds to the OS tree ----
function overlay(name, version, { brokenInit = false } = {}) {
  const o = join(work, `overlay-${name}`);
  const units = join(o, 'usr/lib/systemd/system');
  const wants = join(o, 'usr/etc/systemd/system/multi-user.target.wants');
  mkdirSync(units, { recursive: true });
  mkdirSync(wants, { recursive: true });
  mkdirSync(join(o, 'usr/libexec/xylem-ci'), { recursive: true });
  mkdirSync(join(o, 'usr/lib/xylem-ci'), { recursive: true });
  mkdirSync(join(o, 'usr/bin'), { recursive: true });
  for (const u of ['xylem-finalize-staged.path', 'xylem-finalize-staged.service', 'xylem-boot-complete.service'])
    copyFileSync(join(root, 'tools/systemd', u), join(units, u));
  copyFileSync(join(here, 'guest/xylem-ci-probe.service'), join(units, 'xylem-ci-probe.service'));
  copyFileSync(join(here, 'guest/probe.sh'), join(o, 'usr/libexec/xylem-ci/probe.sh'));
  copyFileSync(join(here, 'guest/xylem'), join(o, 'usr/bin/xylem'));
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
  return o;
}

// ---- 3. signed commits in an archive repo served on 127.0.0.1 ----
const gpgHome = join(work, 'gnupg');
mkdirSync(gpgHome, { mode: 0o700 });
sh('gpg', ['--homedir', gpgHome, '--batch', '--passphrase', '', '--quick-gen-key', 'Xylem Boot Test <boot@xylem.invalid>', 'ed25519', 'sign', 'never']);
const keyId = sh('gpg', ['--homedir', gpgHome, '--list-keys', '--with-colons']).split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9];
if (!keyId) fail('no GPG key generated');
writeFileSync(join(work, 'key.asc'), sh('gpg', ['--homedir', gpgHome, '--armor', '--export', keyId]));

const repo = join(work, 'repo');
xylem(['init', `--repo=${repo}`, '--mode=archive']);
function commit(name, version, opts) {
  const t = Date.now();
  const csum = xylem([
    'commit', `--repo=${repo}`, `--branch=${REF}`, `--subject=boot test ${name}`,
    `--add-metadata-string=version=${version}`, `--tree=dir=${tree}`, `--tree=dir=${overlay(name, version, opts)}`,
    `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`,
  ]).trim();
  xylem(['summary', '-u', `--repo=${repo}`, `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`]);
  log(`committed ${name} (version ${version}): ${csum} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return csum;
}

// xylem's own trivial-httpd, as a separate process (this script blocks while the CLI pulls)
const portFile = join(work, 'httpd.port');
const httpd = spawn(xylemBin, ['trivial-httpd', `--port-file=${portFile}`, `--log-file=${join(work, 'httpd.log')}`, repo], { stdio: 'ignore' });
process.on('exit', () => httpd.kill());
for (let i = 0; i < 200 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 100));
if (!existsSync(portFile)) fail('trivial-httpd did not start');
const port = Number(readFileSync(portFile, 'utf8').trim());
log(`serving ${repo} on 127.0.0.1:${port} (the guest sees it as 10.0.2.2:${port})`);

const A = commit('A', '1');

// ---- 4. the sysroot, by xylem ----
const sysroot = join(work, 'sysroot');
mkdirSync(sysroot);
xylem(['admin', 'init-fs', sysroot]);
xylem(['admin', 'os-init', `--sysroot=${sysroot}`, OS]);
const sysrepo = join(sysroot, 'ostree/repo');
xylem(['config', `--repo=${sysrepo}`, 'set', 'sysroot.bootloader', 'none']);
xylem(['remote', 'add', `--repo=${sysrepo}`, `--gpg-import=${join(work, 'key.asc')}`, 'ci', `http://127.0.0.1:${port}`]);
log('pulling A into the sysroot repo over HTTP');
xylem(['pull', `--repo=${sysrepo}`, 'ci', REF]);
xylem(['config', `--repo=${sysrepo}`, 'set', 'remote "ci".url', `http://10.0.2.2:${port}`]);
xylem(['admin', 'deploy', `--sysroot=${sysroot}`, `--os=${OS}`, '--karg=root=LABEL=xylem-root', '--karg=rw', '--karg=console=ttyS0', `ci:${REF}`]);
// the updater: Node, Bun and the bundles, in the stateroot's /var (kept across deployments)
const xv = join(sysroot, `ostree/deploy/${OS}/var/lib/xylem`);
mkdirSync(join(xv, 'dist'), { recursive: true });
copyFileSync(process.execPath, join(xv, 'node'));
copyFileSync(bunExe, join(xv, 'bun'));
sh('chmod', ['0755', join(xv, 'node'), join(xv, 'bun')]);
for (const d of ['xylem.mjs', 'chunks', 'rpm-xylem']) cpSync(join(root, 'dist', d), join(xv, 'dist', d), { recursive: true, filter: (s) => !s.endsWith('.map') });
// the machine's state before the first boot: the deployments' roots lose the immutable bit in the image anyway
const B = commit('B', '2');

const disk = join(work, 'disk.img');
log('mkfs.ext4 -d: the sysroot becomes a disk image');
sh('mkfs.ext4', ['-q', '-F', '-L', 'xylem-root', '-d', sysroot, disk, '4G']);
// the deployment roots carry the immutable bit (as ostree's); the image does not keep it
sh('sh', ['-c', `chattr -i "$1"/ostree/deploy/*/deploy/* 2>/dev/null; true`, 'sh', sysroot]);
rmSync(sysroot, { recursive: true, force: true });

// ---- 5. reading the image's boot entries as a BLS boot loader would ----
function debugfs(req) {
  return sh('debugfs', ['-R', req, disk], { stdio: ['ignore', 'pipe', 'ignore'] });
}
function bootEntries() {
  const loader = /Fast link dest: "([^"]+)"/.exec(debugfs('stat /boot/loader'))?.[1];
  if (!loader) fail('the image has no /boot/loader link');
  const names = debugfs(`ls -p /boot/${loader}/entries`).split('\n').map((l) => l.split('/')[5]).filter((n) => n && n.endsWith('.conf'));
  const entries = names.map((n) => {
    const text = debugfs(`cat /boot/${loader}/entries/${n}`);
    const kv = Object.fromEntries(text.split('\n').filter((l) => l.trim()).map((l) => { const i = l.indexOf(' '); return [l.slice(0, i), l.slice(i + 1).trim()]; }));
    return { name: n, ...kv };
  });
  // systemd-boot / BLS: highest version first (entries without sort-key, ordered by version)
  entries.sort((a, b) => Number(b.version) - Number(a.version));
  return { loader, entries };
}

/** The deployment an entry boots: its ostree= karg's symlinks, followed inside the image. */
function entryDeployment(entry) {
  const karg = /(?:^| )ostree=(\S+)/.exec(entry.options)?.[1];
  const m = karg && /^\/ostree\/(boot\.[01])\/(.+)$/.exec(karg);
  if (!m) fail(`entry ${entry.name}: no ostree=/ostree/boot.N/... karg`);
  // short targets live in the inode ("Fast link dest"), longer ones in a block that `cat` prints
  const linkDest = (p) => /Fast link dest: "([^"]+)"/.exec(debugfs(`stat ${p}`))?.[1] ?? (debugfs(`cat ${p}`).trim() || undefined);
  const bootN = linkDest(`/ostree/${m[1]}`);
  const target = bootN && linkDest(`/ostree/${bootN}/${m[2]}`);
  return target?.split('/').pop() ?? fail(`entry ${entry.name}: ${karg} does not resolve in the image`);
}

// ---- 6. booting ----
let accel = null; // decided by the first boot
const bootTimes = [];
function runQemu(entry, extra, timeoutMs, useKvm) {
  const kernel = join(work, 'vmlinuz');
  const initrd = join(work, 'initramfs');
  debugfs(`dump /boot${entry.linux} ${kernel}`);
  debugfs(`dump /boot${entry.initrd} ${initrd}`);
  const consoleLog = join(work, 'console.log');
  const probeLog = join(work, 'probe.log');
  rmSync(consoleLog, { force: true });
  rmSync(probeLog, { force: true });
  const args = [
    ...(useKvm ? ['-enable-kvm', '-cpu', 'host'] : []),
    ...(useKvm ? [] : ['-cpu', 'max']), '-machine', 'q35', '-m', '1536', '-smp', useKvm ? '1' : '2', '-nodefaults', '-display', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', initrd, '-append', `${entry.options} ${extra}`,
    '-drive', `file=${disk},format=raw,if=virtio`,
    '-serial', `file:${consoleLog}`, '-serial', `file:${probeLog}`,
    '-nic', 'user,model=virtio-net-pci',
  ];
  return new Promise((resolvePromise) => {
    const started = Date.now();
    const q = spawn('nice', ['-n', '10', 'qemu-system-x86_64', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    q.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; q.kill('SIGKILL'); }, timeoutMs);
    let kvmCheck = null;
    if (useKvm) {
      kvmCheck = setTimeout(() => {
        const c = existsSync(consoleLog) ? readFileSync(consoleLog, 'utf8') : '';
        if (!c.includes('Linux version')) { timedOut = true; q.kill('SIGKILL'); }
      }, 25_000);
    }
    q.on('exit', () => {
      clearTimeout(timer);
      if (kvmCheck) clearTimeout(kvmCheck);
      const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
      resolvePromise({ seconds: (Date.now() - started) / 1000, timedOut, console: read(consoleLog), probe: read(probeLog), stderr });
    });
  });
}

async function boot(label, { rank = 0, step = 'none', expect, expectFailure = false, expectTarget }) {
  const { entries } = bootEntries();
  const entry = entries[rank];
  if (!entry) fail(`${label}: no boot entry at rank ${rank} (entries: ${entries.map((e) => e.name).join(', ')})`);
  const target = entryDeployment(entry);
  log(`${label}: boot entry ${entry.name} -> ${target} (${entries.length} entries; rank ${rank}), step ${step}`);
  if (expectTarget && target !== expectTarget) fail(`${label}: the boot loader's choice is ${target}, expected ${expectTarget}`);
  if (expect && target !== expect.deployment) fail(`${label}: the boot loader's choice is ${target}, expected ${expect.deployment}`);
  const extra = `xylem.ci=${step} panic=5 systemd.show_status=0`;
  let r;
  if (accel === null) {
    if (existsSync('/dev/kvm') && process.env.XYLEM_BOOT_KVM !== '0') {
      r = await runQemu(entry, extra, 600_000, true);
      if (r.console.includes('Linux version') && !r.timedOut) accel = 'kvm';
      else log('KVM did not boot a kernel (nested /dev/kvm, booting.md §1): software emulation (TCG) from now on');
    }
    if (accel === null) accel = 'tcg';
    if (accel === 'tcg') r = await runQemu(entry, extra, 900_000, false);
  } else r = await runQemu(entry, extra, (expectFailure ? 0.4 : 1) * (accel === 'kvm' ? 600_000 : 900_000), accel === 'kvm');
  writeFileSync(join(work, `console-${label}.log`), r.console);
  writeFileSync(join(work, `probe-${label}.log`), r.probe);
  bootTimes.push(`${label} ${r.seconds.toFixed(0)} s`);
  const lines = r.probe.split(/\r?\n/);
  const begin = lines.indexOf('XYLEM-CI-BEGIN');
  const end = lines.indexOf('XYLEM-CI-END');
  if (expectFailure) {
    if (begin !== -1) fail(`${label}: the broken deployment booted to multi-user (probe ran)`);
    const why = /Attempted to kill init|Kernel panic[^\n]*/.exec(r.console)?.[0] ?? (r.timedOut ? 'timeout' : 'no probe');
    log(`${label}: did not come up, as expected (${why}) after ${r.seconds.toFixed(0)} s [${accel}]`);
    return null;
  }
  if (begin === -1 || end === -1) {
    process.stderr.write(r.console.slice(-6000));
    fail(`${label}: no complete probe report after ${r.seconds.toFixed(0)} s${r.timedOut ? ' (timed out)' : ''}`);
  }
  const report = lines.slice(begin + 1, end);
  const field = (k) => report.find((l) => l.startsWith(k + ' '))?.slice(k.length + 1) ?? '';
  const bootedLine = report.find((l) => l.startsWith('booted '));
  console.log(bootedLine);
  log(`${label}: up and reported in ${r.seconds.toFixed(0)} s [${accel}]`);
  for (const l of report) if (/^(rc |version |etc-marker |var-boots |failed-units |ostree-booted )/.test(l)) log(`  ${l}`);
  const booted = field('booted').split(' ')[0];
  if (booted !== expect.deployment) {
    process.stderr.write(report.join('\n') + '\n');
    fail(`${label}: booted ${booted}, expected ${expect.deployment}`);
  }
  if (!field('booted').includes(`cmdline=${entry.options}`)) fail(`${label}: the guest's command line does not start with the BLS entry's options`);
  for (const l of report.filter((x) => x.startsWith('rc '))) {
    if (!l.endsWith(' 0')) {
      process.stderr.write(report.join('\n') + '\n');
      fail(`${label}: ${l}`);
    }
  }
  if (expect.version && field('version') !== expect.version) fail(`${label}: version ${field('version')}, expected ${expect.version}`);
  if (expect.varBoots && field('var-boots') !== String(expect.varBoots)) fail(`${label}: /var holds ${field('var-boots')} boots, expected ${expect.varBoots}`);
  if (expect.etcMarker !== undefined && !field('etc-marker').startsWith(expect.etcMarker)) fail(`${label}: /etc marker "${field('etc-marker')}", expected "${expect.etcMarker}…"`);
  if (field('ostree-booted') !== 'yes') fail(`${label}: /run/ostree-booted missing`);
  return { report, field };
}

try {
  const b1 = await boot('boot1', { step: 'upgrade-node', expect: { deployment: `${A}.0`, version: '1', varBoots: 1, etcMarker: 'none' } });
  // rpm-ostree's `status -v` shows the staged deployment first, marked `Staged: yes`
  if (!b1.report.some((l) => /^staged-bun\| +Staged: yes/.test(l))) fail('boot1: status under Bun after staging shows no staged deployment');
  const b2 = await boot('boot2', { step: 'rollback-bun', expect: { deployment: `${B}.0`, version: '2', varBoots: 2, etcMarker: `written-after-staging-in-${A}.0` } });
  void b2;
  const C = commit('C', '3', { brokenInit: true });
  await boot('boot3', { step: 'upgrade-node', expect: { deployment: `${A}.0`, version: '1', varBoots: 3 } });
  await boot('boot4', { expectFailure: true, expectTarget: `${C}.0` });
  await boot('boot5', { rank: 1, expect: { deployment: `${A}.0`, version: '1', varBoots: 4, etcMarker: `written-after-staging-in-${A}.0` } });
  log(`all boots as expected (${accel}); boot times: ${bootTimes.join(', ')}; total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
} finally {
  httpd.kill();
}
