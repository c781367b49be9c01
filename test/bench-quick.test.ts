// Keeps the benchmark from rotting: runs `BENCH_QUICK=1 RUNS=1 tools/bench/run.sh` (a ~4 MB
// generated tree) and checks that it completes and prints one row per hot path with a real-ostree
// time and a xylem/ostree ratio (a number, or FAIL while xylem cannot do that command yet).
// Where xylem succeeds, its result (commit checksum, checkout manifest, pulled repo) must equal
// ostree's. The HTTP pull rows also note each client's request count from the shared server's log,
// and delta-generate each CLI's delta size. Every row where xylem succeeds must also peak under
// 100 MiB of resident memory (GNU time's figure; a bare Node process is ~40-45 MiB), the
// from-scratch delta included (its LZMA2 encoder's match finder alone is 20 MiB; ostree's own
// generation peaks at ~127 MiB there).
// The package rows (compose of the demo package set vs dnf + ostree commit) must install the same
// packages as dnf; the layering rows (rpm-xylem install / upgrade re-layering vs ostree admin deploy) must
// run and report their reference time.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROWS = [
  'startup-version-x20',
  'startup-version-x20-bun',
  'startup-rev-parse-x20',
  'startup-rev-parse-x20-bun',
  'commit-archive',
  'commit-bare-user',
  'commit-incremental-archive',
  'checkout-hardlink',
  'checkout-copy-bare-user',
  'checkout-archive',
  'fsck-archive',
  'fsck-bare-user',
  'pull-http-full',
  'pull-http-incremental',
  'pull-local',
  'delta-generate',
  'delta-apply-offline',
  'delta-generate-empty',
];
// notes column (ostree/xylem): a number for ostree, a number or "-" (failed) for xylem
const NOTES: Record<string, RegExp> = {
  'pull-http-full': /^req=\d+\/(\d+|-)$/,
  'pull-http-incremental': /^req=\d+\/(\d+|-)$/,
  'delta-generate': /^delta_bytes=\d+\/(\d+|-)$/,
  'delta-generate-empty': /^delta_bytes=\d+\/(\d+|-)$/,
};
const FLOORS = ['cp-a', 'cp-al', 'sha256sum'];
/**
 * The package half's paired rows (tools/bench/pkg-rows.sh: a xylem command vs a reference command,
 * dnf + ostree commit, in the ostree columns) on the demo package set; their fingerprint is the
 * installed package list as Debian's rpm reads it, so "yes" means the same transaction as dnf's.
 */
const PKG_ROWS: Record<string, RegExp> = {
  'compose-full': /^ref=dnf-install\+ostree-commit$/,
  'compose-recompose': new RegExp(`^ref=dnf-upgrade\\+ostree-commit,vs_full=(\\d+(?:\\.\\d+)?|-)$`),
  'layer-install': /^ref=ostree-admin-deploy$/,
  'layer-relayer-10': /^ref=ostree-admin-deploy$/,
};
/** The paired rows without a package-list fingerprint (layering vs a plain deploy of the base). */
const PKG_UNCHECKED = new Set(['layer-install', 'layer-relayer-10']);
/** Peak RSS (MiB) of a compose of the demo set (20 packages, ~9 MB of RPMs). */
const PKG_MAX_RSS_MIB = 256;
/** Peak RSS (MiB) every xylem row must stay under on the quick tree (issue 13). */
const MAX_RSS_MIB = 100;
const haveOstree = spawnSync('ostree', ['--version']).status === 0;
const NUM = String.raw`\d+(?:\.\d+)?`;

describe.skipIf(!haveOstree && process.env.CI !== 'true')('tools/bench/run.sh (BENCH_QUICK=1)', () => {
  it('measures every hot path against the real ostree', () => {
    const r = spawnSync('bash', [join(ROOT, 'tools', 'bench', 'run.sh')], {
      cwd: ROOT,
      env: { ...process.env, BENCH_QUICK: '1', RUNS: '1', BENCH_TIMEOUT: '120' },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out).toBe(0);
    const notes: string[] = [];
    for (const row of ROWS) {
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${row} `));
      expect(line, `no row for ${row}:\n${out}`).toBeDefined();
      // ROW ostree_s rss xylem_s rss ratio FLOOR floor_s xylem/floor same-output notes
      const f = line!.trim().split(/\s+/);
      expect(f, line).toHaveLength(11);
      expect(f[10], `notes of ${row}`).toMatch(NOTES[row] ?? /^-$/);
      const req = /^req=(\d+)\/(\d+)$/.exec(f[10]);
      if (req) expect(Number(req[2]), `${row}: xylem made more HTTP requests than ostree`).toBeLessThanOrEqual(Number(req[1]));
      expect(f[1], `ostree time of ${row}`).toMatch(new RegExp(`^${NUM}$`));
      expect(f[2], `ostree peak RSS of ${row}`).toMatch(/^\d+$/);
      expect(f[5], `xylem/ostree ratio of ${row}`).toMatch(new RegExp(`^(${NUM}|inf|FAIL)$`));
      if (f[5] === 'FAIL') notes.push(`${row}: xylem failed`);
      else {
        expect(f[3], `xylem time of ${row}`).toMatch(new RegExp(`^${NUM}$`));
        expect(f[4], `xylem peak RSS of ${row}`).toMatch(/^\d+$/);
        expect(Number(f[4]), `${row}: xylem peak RSS (MiB) on the quick tree`).toBeLessThan(MAX_RSS_MIB);
      }
      expect(f[9], `${row}: xylem's result differs from ostree's\n${out}`).not.toBe('NO');
    }
    for (const [row, notesRe] of Object.entries(PKG_ROWS)) {
      const line = r.stdout.split('\n').find((l) => l.startsWith(`${row} `));
      expect(line, `no row for ${row}:\n${out}`).toBeDefined();
      const f = line!.trim().split(/\s+/);
      expect(f, line).toHaveLength(11);
      expect(f[1], `reference time of ${row}`).toMatch(new RegExp(`^${NUM}$`));
      expect(f[5], `xylem/reference ratio of ${row}`).toMatch(new RegExp(`^(${NUM}|inf|FAIL)$`));
      expect(f[10], `notes of ${row}`).toMatch(notesRe);
      if (f[5] === 'FAIL') notes.push(`${row}: xylem failed`);
      else {
        expect(Number(f[4]), `${row}: xylem peak RSS (MiB)`).toBeLessThan(PKG_MAX_RSS_MIB);
        if (PKG_UNCHECKED.has(row)) expect(f[9], row).toBe('-');
        else expect(f[9], `${row}: xylem installed other packages than dnf\n${out}`).toBe('yes');
      }
    }
    for (const floor of FLOORS) {
      expect(r.stdout, `floor ${floor}`).toMatch(new RegExp(`^floor ${floor} +${NUM} s`, 'm'));
    }
    if (notes.length > 0) console.warn(`bench-quick: ${notes.join('; ')}`);
  }, 900_000);
});
