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
// guest; any deviation fails the run (exit 1). XYLEM_BOOT_DRY_RUN=1 stops before the first boot.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, logger, osTree, preflight, workFolder } from './lib/host.mjs';
import { makeImage, makeSysroot, serveRepo, signedRepo, signingKey } from './lib/machine.mjs';
import { imageReader } from './lib/image.mjs';
import { probeReport, qemuArgs } from './lib/guest.mjs';

const { t0, log, fail } = logger('boot-test');
preflight(['qemu-system-x86_64', 'mmdebstrap', 'mkfs.ext4', 'debugfs', 'gpg'], fail);
const bunExe = join(ROOT, 'node_modules/bun/bin/bun.exe');
if (!existsSync(bunExe)) fail('bun is missing (npm ci installs it)');

// ---- 1. the OS tree (cached) ----
log('OS tree: build-os.sh');
const tree = osTree();
const kver = readFileSync(join(dirname(tree), 'kver'), 'utf8').trim();
log(`OS tree ${tree} (kernel ${kver})`);
const work = workFolder('xylem-boot-', 'boot-test');

// ---- 2. signed commits (the OS tree + an overlay each, lib/machine.mjs) in an archive repo served on 127.0.0.1 ----
const key = signingKey(work, 'Xylem Boot Test <boot@xylem.invalid>', fail);
const { repo, commit } = signedRepo(work, tree, key, 'boot test', log);
const { httpd, port } = await serveRepo(work, repo, fail);
log(`serving ${repo} on 127.0.0.1:${port} (the guest sees it as 10.0.2.2:${port})`);

const A = commit('A', '1');

// ---- 3. the sysroot, by xylem; the updater (Node, Bun, the bundles) in the stateroot's /var ----
const sysroot = makeSysroot(work, { port, key, bun: bunExe, log });
const B = commit('B', '2');

// ---- 4. the disk image: mkfs.ext4 -d, nothing mounted ----
const disk = join(work, 'disk.img');
log('mkfs.ext4 -d: the sysroot becomes a disk image');
makeImage(sysroot, disk);

// ---- 5. reading the image's boot entries as a BLS boot loader would ----
const image = imageReader(disk);
function bootEntries() {
  try {
    return image.bootEntries();
  } catch (e) {
    return fail(e.message);
  }
}
function entryDeployment(entry) {
  try {
    return image.entryDeployment(entry);
  } catch (e) {
    return fail(e.message);
  }
}

// XYLEM_BOOT_DRY_RUN=1: everything up to the first boot (the image and the boot loader's choice), no qemu.
if (process.env.XYLEM_BOOT_DRY_RUN === '1') {
  const { loader, entries } = bootEntries();
  const kernel = join(work, 'vmlinuz');
  const initrd = join(work, 'initramfs');
  image.dumpBootFiles(entries[0], kernel, initrd);
  log(`dry run: ${loader} has ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}; the first boots ${entryDeployment(entries[0])} (A is ${A}.0); kernel ${readFileSync(kernel).length} bytes, initramfs ${readFileSync(initrd).length} bytes`);
  log(`dry run: qemu-system-x86_64 ${qemuArgs({ kernel, initrd, append: `${entries[0].options} xylem.ci=upgrade-node`, disk, consoleLog: 'console.log', probeLog: 'probe.log' }).join(' ')}`);
  httpd.kill();
  process.exit(entryDeployment(entries[0]) === `${A}.0` ? 0 : 1);
}

// ---- 6. booting ----
let accel = null; // decided by the first boot
const bootTimes = [];
function runQemu(entry, extra, timeoutMs, useKvm) {
  const kernel = join(work, 'vmlinuz');
  const initrd = join(work, 'initramfs');
  image.dumpBootFiles(entry, kernel, initrd);
  const consoleLog = join(work, 'console.log');
  const probeLog = join(work, 'probe.log');
  rmSync(consoleLog, { force: true });
  rmSync(probeLog, { force: true });
  const args = qemuArgs({ kernel, initrd, append: `${entry.options} ${extra}`, disk, consoleLog, probeLog, kvm: useKvm });
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
  const { begin, complete, body: report, field } = probeReport(r.probe);
  if (expectFailure) {
    if (begin !== -1) fail(`${label}: the broken deployment booted to multi-user (probe ran)`);
    const why = /Attempted to kill init|Kernel panic[^\n]*/.exec(r.console)?.[0] ?? (r.timedOut ? 'timeout' : 'no probe');
    log(`${label}: did not come up, as expected (${why}) after ${r.seconds.toFixed(0)} s [${accel}]`);
    return null;
  }
  if (!complete) {
    process.stderr.write(r.console.slice(-6000));
    fail(`${label}: no complete probe report after ${r.seconds.toFixed(0)} s${r.timedOut ? ' (timed out)' : ''}`);
  }
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
