#!/usr/bin/env node
// `npm run power-loss`: power cuts of a real machine in the middle of an upgrade (issue 14, "power
// loss, not only process death"). Same machine as `npm run boot-test` (the cached Debian OS tree of
// build-os.sh, committed as A and B by xylem, a sysroot made by `xylem admin init-fs / os-init /
// deploy`, an ext4 image made with `mkfs.ext4 -d`, kernel/initramfs/options from the BLS entry a
// boot loader would pick). For each seeded point, on a fresh copy of that image:
//   cut boot   — A boots; the guest starts `rpm-xylem upgrade` (pull of B + stage). Phase `stage`:
//                qemu is SIGKILLed a seeded time after the guest says it starts the upgrade.
//                Phase `finalize`: the upgrade finishes, the guest powers off, and qemu is killed a
//                seeded time after systemd starts stopping xylem-finalize-staged.service (the /etc
//                merge, the new boot entries and the swap).
//   check boot — from whatever entry the boot loader now picks: the guest must come up in a complete
//                deployment (A.0, or B after a finished finalization), with the version its commit
//                carries; the real `ostree admin status` and `ostree fsck` accept the sysroot; a
//                re-run of the upgrade succeeds (B staged, or already booted). After its clean
//                shutdown, `e2fsck -fn` finds the image's file system clean.
//
// What "power loss" means here: the disk is a raw file attached with cache=writeback (the guest sees
// a volatile write cache and issues flushes, as on real hardware). SIGKILL of qemu loses everything
// the guest had not yet submitted to its disk — its page cache, ext4's uncommitted journal, the
// writes in flight inside qemu — while every write qemu had completed into the image file stays
// (the host does not crash, so the host page cache reaches the file). So the cut is a machine
// losing power with a disk whose cache survives it; it does NOT model a drive that drops or
// reorders acknowledged-but-unflushed writes (cache=unsafe would not change that: flushes are what
// it skips, and the host keeps the data anyway). That stronger model would need a write log
// replayed up to each flush (dm-log-writes or qemu's blkdebug), which touches host devices: not done.
//
// Env: XYLEM_POWER_POINTS (default 4), XYLEM_POWER_SEED (default 20261207), XYLEM_POWER_PHASES
// (default "stage,finalize", alternating), XYLEM_POWER_STAGE_WINDOW / _FINALIZE_WINDOW (seconds
// the seeded delay is drawn from; defaults 120 and 30: under TCG on this 2-core host the pull + stage
// took 70–130 s, the finalization 17 s (150 s when the host was overloaded)), XYLEM_BOOT_WORK (temp folder parent),
// XYLEM_BOOT_KEEP=1, XYLEM_POWER_FIRST=K (run points K… of the seed: a campaign in slices). Prints one line per point: `point N phase delay=…s cut=yes|no booted <csum>.<serial> ok`.
// Exit 1 when any point fails its checks. XYLEM_BOOT_DRY_RUN=1 stops before the first boot.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../crash/proc.mjs';
import { logger, osTree, preflight, sh, workFolder } from './lib/host.mjs';
import { makeImage, makeSysroot, serveRepo, signedRepo, signingKey } from './lib/machine.mjs';
import { imageReader } from './lib/image.mjs';
import { probeReport, qemuArgs } from './lib/guest.mjs';

const { t0, log, fail } = logger('power-loss');
const POINTS = Number(process.env.XYLEM_POWER_POINTS ?? 4);
const SEED = Number(process.env.XYLEM_POWER_SEED ?? 20261207);
const FIRST = Number(process.env.XYLEM_POWER_FIRST ?? 0);
const PHASES = (process.env.XYLEM_POWER_PHASES ?? 'stage,finalize').split(',');
const WINDOW = { stage: Number(process.env.XYLEM_POWER_STAGE_WINDOW ?? 120), finalize: Number(process.env.XYLEM_POWER_FINALIZE_WINDOW ?? 30) };
if (!Number.isInteger(POINTS) || POINTS < 1 || POINTS > 1000) throw new Error('XYLEM_POWER_POINTS must be 1..1000');
if (!Number.isInteger(FIRST) || FIRST < 0) throw new Error('XYLEM_POWER_FIRST must be a non-negative integer');
for (const p of PHASES) if (!(p in WINDOW)) throw new Error(`XYLEM_POWER_PHASES: unknown phase ${p} (stage, finalize)`);

preflight(['qemu-system-x86_64', 'mmdebstrap', 'mkfs.ext4', 'debugfs', 'e2fsck', 'gpg'], fail);

// ---- the machine: OS tree, signed commits A and B, a sysroot deployed with A, its disk image ----
const tree = osTree();
log(`OS tree ${tree}`);
const work = workFolder('xylem-power-', 'power-loss');
const key = signingKey(work, 'Xylem Power Test <power@xylem.invalid>', fail);
const { repo, commit } = signedRepo(work, tree, key, 'power test', log);
const { httpd, port } = await serveRepo(work, repo, fail);

const A = commit('A', '1');
const sysroot = makeSysroot(work, { port, key });
// B differs from A by more than a version file: a few MB of new objects, so the pull takes a while
const B = commit('B', '2', { blobs: true });
const VERSION = { [A]: '1', [B]: '2' };

const pristine = join(work, 'pristine.img');
makeImage(sysroot, pristine);
const disk = join(work, 'disk.img');

// ---- the boot loader's choice (as in run.mjs: highest BLS version first) ----
// catastrophic mode (lib/image.mjs): right after a cut the image still needs journal recovery.
const image = imageReader(disk, { catastrophic: true });
function chosenEntry() {
  try {
    const { loader, entries } = image.bootEntries();
    const entry = entries[0];
    if (!entry) return { error: `no boot entry in /boot/${loader}/entries` };
    return { entry, deployment: image.entryDeployment(entry), count: entries.length };
  } catch (e) {
    return { error: e.message };
  }
}

// a campaign stopped by a signal takes its running qemu with it
let current = null;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { current?.kill('SIGKILL'); httpd.kill(); process.exit(130); });

// ---- one boot; `cut` = { phase, delay } kills qemu that long after the phase's marker ----
const STAGE_MARK = 'mark upgrade-start';
const STAGE_DONE = 'mark upgrade-done';
// systemd's console status lines (systemd.show_status=1, status_unit_format=name: unit names only,
// so an 80-column console does not truncate them; the name comes wrapped in a bold escape)
const FINALIZE_MARK = /Stopping (?:\x1b\[[0-9;]*m)?xylem-finalize-staged\.service/;
const FINALIZE_DONE = /Stopped (?:\x1b\[[0-9;]*m)?xylem-finalize-staged\.service/;
function runQemu(entry, step, cut, timeoutMs) {
  const kernel = join(work, 'vmlinuz');
  const initrd = join(work, 'initramfs');
  image.dumpBootFiles(entry, kernel, initrd);
  const consoleLog = join(work, 'console.log');
  const probeLog = join(work, 'probe.log');
  rmSync(consoleLog, { force: true });
  rmSync(probeLog, { force: true });
  const append = `${entry.options} xylem.ci=${step} panic=5 ${cut?.phase === 'finalize' ? 'systemd.show_status=1 systemd.status_unit_format=name' : 'systemd.show_status=0'}`;
  const args = qemuArgs({ kernel, initrd, append, disk, consoleLog, probeLog, cache: 'writeback' });
  const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  return new Promise((done) => {
    const started = Date.now();
    // qemu itself, not a wrapper: the SIGKILL must reach the process that holds the disk
    const q = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    current = q;
    let stderr = '';
    q.stderr.on('data', (d) => (stderr += d));
    let exited = false;
    let timedOut = false;
    let killedAt = null; // seconds after the marker when the cut happened
    let markAt = null;
    let doneAt = null; // when the phase's work was seen complete (calibrates the windows)
    const timer = setTimeout(() => { timedOut = true; q.kill('SIGKILL'); }, timeoutMs);
    const poll = cut && setInterval(() => {
      if (exited || killedAt !== null) return;
      if (markAt === null) {
        const seen = cut.phase === 'stage' ? read(probeLog).includes(STAGE_MARK) : FINALIZE_MARK.test(read(consoleLog));
        if (seen) markAt = Date.now();
      }
      if (markAt !== null && doneAt === null) {
        const finished = cut.phase === 'stage' ? read(probeLog).includes(STAGE_DONE) : FINALIZE_DONE.test(read(consoleLog));
        if (finished) doneAt = Date.now();
      }
      if (markAt !== null && Date.now() - markAt >= cut.delay * 1000) {
        killedAt = (Date.now() - markAt) / 1000;
        q.kill('SIGKILL');
      }
    }, 50);
    q.on('exit', () => {
      exited = true;
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      done({ seconds: (Date.now() - started) / 1000, timedOut, killedAt, markSeen: markAt !== null, phaseSeconds: markAt !== null && doneAt !== null ? (doneAt - markAt) / 1000 : null, console: read(consoleLog), probe: read(probeLog), stderr });
    });
  });
}

// XYLEM_BOOT_DRY_RUN=1: the machine and the fresh image's boot loader choice, no qemu.
if (process.env.XYLEM_BOOT_DRY_RUN === '1') {
  sh('cp', ['--sparse=always', pristine, disk]);
  const c = chosenEntry();
  log(`dry run: the fresh image boots ${c.error ?? c.deployment} (A is ${A}.0); ${c.count ?? 0} entr${c.count === 1 ? 'y' : 'ies'}`);
  httpd.kill();
  process.exit(c.deployment === `${A}.0` ? 0 : 1);
}

// ---- the campaign ----
const rnd = rng(SEED); // mulberry32: the campaign's seeded delays
const results = [];
log(`${POINTS} point(s), seed ${SEED}, phases ${PHASES.join(',')}, windows stage ${WINDOW.stage} s / finalize ${WINDOW.finalize} s; A=${A.slice(0, 12)} B=${B.slice(0, 12)}`);
try {
  // point i always gets the i-th draw of the seed, so a campaign can be run in slices
  for (let i = 0; i < FIRST; i++) rnd();
  for (let i = FIRST; i < FIRST + POINTS; i++) {
    const phase = PHASES[i % PHASES.length];
    const delay = Math.round(rnd() * WINDOW[phase] * 10) / 10;
    const problems = [];
    sh('cp', ['--sparse=always', pristine, disk]);
    // 1. the cut boot
    const c1 = chosenEntry();
    if (c1.error || c1.deployment !== `${A}.0`) fail(`point ${i}: the fresh image does not boot A (${c1.error ?? c1.deployment})`);
    const r1 = await runQemu(c1.entry, `power-${phase}`, { phase, delay }, 15 * 60_000);
    const rep1 = probeReport(r1.probe);
    const cutDone = r1.killedAt !== null;
    const stagedBefore = rep1.body.some((l) => l === 'mark upgrade-done');
    const upgradeRc = rep1.body.find((l) => l.startsWith('rc upgrade-node '));
    let where;
    if (!cutDone) where = r1.timedOut ? 'timed out' : 'machine powered off before the cut';
    else if (phase === 'stage') where = stagedBefore ? 'after staging (in the poweroff/finalization)' : 'during pull/stage';
    else where = FINALIZE_DONE.test(r1.console) ? 'after finalization (later in the shutdown)' : 'during finalization';
    if (!r1.markSeen) problems.push(`the ${phase} marker never appeared (boot ${r1.seconds.toFixed(0)} s${r1.timedOut ? ', timed out' : ''})`);
    if (upgradeRc && !upgradeRc.endsWith(' 0')) problems.push(`the upgrade in the cut boot failed before the cut: ${upgradeRc}`);
    writeFileSync(join(work, `console-${i}-cut.log`), r1.console);
    writeFileSync(join(work, `probe-${i}-cut.log`), r1.probe);
    log(`point ${i} (${phase}, delay ${delay} s): cut ${cutDone ? `at +${r1.killedAt.toFixed(1)} s` : 'not made'} — ${where}; boot took ${r1.seconds.toFixed(0)} s; the ${phase} work took ${r1.phaseSeconds === null ? '?' : `${r1.phaseSeconds.toFixed(1)} s`} when seen complete`);
    // 2. the check boot, from whatever the boot loader picks now
    const c2 = chosenEntry();
    let booted = 'none';
    if (c2.error) problems.push(`after the cut: ${c2.error}`);
    else {
      if (c2.deployment !== `${A}.0` && !c2.deployment.startsWith(`${B}.`)) problems.push(`the boot loader picks ${c2.deployment}: neither A nor B`);
      const r2 = await runQemu(c2.entry, 'power-check', null, 15 * 60_000);
      writeFileSync(join(work, `console-${i}-check.log`), r2.console);
      writeFileSync(join(work, `probe-${i}-check.log`), r2.probe);
      const rep2 = probeReport(r2.probe);
      const field = rep2.field;
      if (!rep2.complete) problems.push(`the check boot gave no complete report after ${r2.seconds.toFixed(0)} s${r2.timedOut ? ' (timed out)' : ''}: ${r2.console.slice(-1500)}`);
      booted = field('booted').split(' ')[0] || 'unknown';
      const csum = booted.split('.')[0];
      if (booted !== c2.deployment) problems.push(`booted ${booted}, but the boot loader's entry names ${c2.deployment}`);
      if (!(csum in VERSION)) problems.push(`booted ${booted}: neither A nor B`);
      else if (field('version') !== VERSION[csum]) problems.push(`booted ${booted} but /usr/lib/xylem-ci/version says ${field('version')}: an incomplete deployment`);
      if (field('ostree-booted') !== 'yes') problems.push('/run/ostree-booted missing');
      for (const label of ['ostree-status', 'ostree-fsck', 'upgrade-again', 'status-after']) {
        const l = rep2.body.find((x) => x.startsWith(`rc ${label} `));
        if (!l) problems.push(`no result for ${label}`);
        else if (!l.endsWith(' 0')) problems.push(`${l}: ${rep2.body.filter((x) => x.startsWith(`${label}| `)).slice(-8).join(' / ')}`);
      }
      // after the re-run B is staged (listed by the real ostree), unless the machine already runs B
      const statusAfter = rep2.body.filter((x) => x.startsWith('status-after| ')).join('\n');
      if (csum === A && !statusAfter.includes(B)) problems.push(`after the re-run, ostree admin status does not list B: ${statusAfter}`);
      const took = rep2.body.filter((x) => x.startsWith('took ')).map((x) => x.slice(5)).join(', ');
      log(`point ${i}: check boot ${r2.seconds.toFixed(0)} s (${took}), booted ${booted} (${csum === A ? 'A' : csum === B ? 'B' : '?'}), fsck ${rep2.body.find((x) => x.startsWith('rc ostree-fsck ')) ?? 'n/a'}`);
      try {
        sh('e2fsck', ['-fn', disk]);
      } catch (e) {
        problems.push(`e2fsck -fn after the clean shutdown: ${String(e.stdout ?? e).slice(-800)}`);
      }
    }
    const ok = problems.length === 0;
    const which = booted.startsWith(A) ? 'A' : booted.startsWith(B) ? 'B' : '?';
    console.log(`point ${i} ${phase} delay=${delay}s cut=${cutDone ? 'yes' : 'no'} (${where}) booted ${booted} [${which}] ${ok ? 'ok' : 'FAILED'}`);
    for (const p of problems) console.log(`  problem: ${p}`);
    results.push({ i, phase, delay, cut: cutDone, where, booted: which, ok });
  }
} finally {
  httpd.kill();
}
const cuts = results.filter((r) => r.cut).length;
const failed = results.filter((r) => !r.ok);
log(`${results.length} point(s): ${cuts} real cuts (${results.filter((r) => r.cut && r.phase === 'stage').length} stage, ${results.filter((r) => r.cut && r.phase === 'finalize').length} finalize); came up in A ${results.filter((r) => r.booted === 'A').length}, in B ${results.filter((r) => r.booted === 'B').length}; ${failed.length} failed; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(failed.length ? 1 : 0);
