// The host side shared by the real-machine tests (tools/boot-test/run.mjs, `npm run boot-test`, and
// power-loss.mjs, `npm run power-loss`): logging, running host commands, the preflight checks, the
// cached Debian OS tree (build-os.sh) and a work folder that is cleaned at exit.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(HERE, '../..');
export const XYLEM_BIN = join(ROOT, 'tools/bin/xylem');
export const OS = 'debian';
export const REF = 'debian/test';

/** `log(msg)` and `fail(msg)` (exit 1) writing `name [Ns]: …` to stderr, N counted from now. */
export function logger(name) {
  const t0 = Date.now();
  return {
    t0,
    log: (msg) => process.stderr.write(`${name} [${((Date.now() - t0) / 1000).toFixed(0)}s]: ${msg}\n`),
    fail: (msg) => {
      process.stderr.write(`${name}: FAILED: ${msg}\n`);
      process.exit(1);
    },
  };
}

/** Runs a host command; its stdout (throws on a non-zero exit). */
export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...opts });
}

/** The bundled xylem CLI (tools/bin/xylem). */
export function xylem(args, opts = {}) {
  return sh(XYLEM_BIN, args, opts);
}

/** Fails unless every host tool is installed and the CLI bundles are built. */
export function preflight(tools, fail) {
  for (const tool of tools) {
    try {
      sh('sh', ['-c', `command -v ${tool}`]);
    } catch {
      fail(`${tool} is missing (tools/setup.sh installs it)`);
    }
  }
  for (const f of ['dist/xylem.mjs', 'dist/rpm-xylem/rpm-xylem.mjs']) if (!existsSync(join(ROOT, f))) fail(`${f} is missing: run npm run build first`);
}

/** The cached Debian OS tree (build-os.sh builds it once per machine): its path. */
export function osTree() {
  return sh('bash', [join(HERE, 'build-os.sh')], { stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/**
 * A fresh work folder under $XYLEM_BOOT_WORK (or the temp dir), removed at exit unless
 * XYLEM_BOOT_KEEP=1 (then its path is printed). The gpg-agent of its gnupg/ is stopped first.
 */
export function workFolder(prefix, name) {
  const work = mkdtempSync(join(process.env.XYLEM_BOOT_WORK ?? tmpdir(), prefix));
  const keep = process.env.XYLEM_BOOT_KEEP === '1';
  process.on('exit', () => {
    try {
      if (existsSync(join(work, 'gnupg'))) sh('gpgconf', ['--homedir', join(work, 'gnupg'), '--kill', 'gpg-agent']);
    } catch {}
    if (keep) return void process.stderr.write(`${name}: work folder kept: ${work}\n`);
    // a run that stopped between deploy and mkfs leaves immutable deployment roots behind
    try {
      sh('sh', ['-c', `chattr -i "$1"/sysroot/ostree/deploy/*/deploy/* 2>/dev/null; true`, 'sh', work]);
    } catch {}
    rmSync(work, { recursive: true, force: true });
  });
  return work;
}
