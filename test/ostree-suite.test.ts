// Runs the upstream OSTree test suite (Debian package ostree-tests) against the xylem CLI, for the
// tests listed in tools/ostree-tests/expected.txt: one vitest case per test file. The tests run
// once, two at a time, through tools/ostree-tests/run.sh (which puts tools/ostree-shim first on
// PATH); each case then checks its own row of the results. A self-check runs one suite test with
// the real ostree through the same runner, so a broken runner cannot pass silently.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNNER = join(ROOT, 'tools', 'ostree-tests', 'run.sh');
const RESULTS = join(ROOT, 'tmp', 'ostree-tests');
const PER_TEST_TIMEOUT_S = 600;

interface Row {
  verdict: string;
  line: string;
}

function suiteInstalled(): boolean {
  const r = spawnSync('dpkg', ['-L', 'ostree-tests'], { encoding: 'utf8' });
  return r.status === 0 && /\/libtest\.sh$/m.test(r.stdout);
}

/** expected.txt's tests; `maySkip` when the line gives a reason (`may-skip: …`) for a whole-test skip. */
function expectedTests(): Array<{ name: string; maySkip: boolean }> {
  const text = readFileSync(join(ROOT, 'tools', 'ostree-tests', 'expected.txt'), 'utf8');
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [first, ...rest] = l.split(/\s+/);
      const name = first!.endsWith('.sh') || first!.endsWith('.py') || first!.endsWith('.js') ? first! : `${first}.sh`;
      return { name, maySkip: /^may-skip:\s*\S/.test(rest.join(' ')) };
    });
}

function runSuite(args: string[], outdir: string, env: Record<string, string> = {}): { status: number | null; output: string; rows: Map<string, Row> } {
  const r = spawnSync('bash', [RUNNER, '-o', outdir, '-t', String(PER_TEST_TIMEOUT_S), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const rows = new Map<string, Row>();
  const summary = join(outdir, 'summary.txt');
  if (existsSync(summary)) {
    for (const line of readFileSync(summary, 'utf8').split('\n')) {
      const m = /^[* ](\S+)\s+(PASS|FAIL|SKIP|TIMEOUT)\b/.exec(line);
      if (m) rows.set(m[1], { verdict: m[2], line });
    }
  }
  return { status: r.status, output, rows };
}

const installed = suiteInstalled();
const inCI = process.env.CI === 'true';

if (!installed) {
  if (inCI) {
    it('ostree-tests is installed (required in CI)', () => {
      expect.fail('the Debian package ostree-tests is not installed; .ci/run must install it (tools/setup.sh)');
    });
  } else {
    console.warn(
      '\n*** SKIPPING the upstream OSTree suite: the Debian package ostree-tests is not installed ' +
        '(run: bash tools/setup.sh) ***\n',
    );
    it.skip('upstream OSTree suite (ostree-tests not installed)', () => {});
  }
} else {
  describe('runner self-check with the real ostree', () => {
    it('test-commit-timestamp.sh passes with /usr/bin/ostree', () => {
      const r = runSuite(['--real', 'test-commit-timestamp.sh'], join(RESULTS, 'self-check-real'));
      expect(r.status, r.output).toBe(0);
      expect(r.rows.get('test-commit-timestamp.sh')?.verdict, r.output).toBe('PASS');
      expect(r.output).toMatch(/mode=real \(\/usr\/bin\/ostree\)/);
    }, 120_000);

    it('a listed test that skips itself fails the run unless expected.txt says why it may skip', () => {
      // test-export.sh skips as a whole (`1..0 #SKIP`) when `ostree --version` lacks libarchive, as xylem's does
      const dir = mkdtempSync(join(tmpdir(), 'xylem-expected-'));
      try {
        const plain = join(dir, 'plain.txt');
        const excused = join(dir, 'excused.txt');
        writeFileSync(plain, 'test-export.sh\n');
        writeFileSync(excused, 'test-export.sh  may-skip: xylem has no libarchive feature\n');
        const a = runSuite([], join(RESULTS, 'self-check-skip'), { OSTREE_TESTS_EXPECTED: plain });
        expect(a.rows.get('test-export.sh')?.verdict, a.output).toBe('SKIP');
        expect(a.status, a.output).toBe(1);
        const b = runSuite([], join(RESULTS, 'self-check-may-skip'), { OSTREE_TESTS_EXPECTED: excused });
        expect(b.rows.get('test-export.sh')?.line, b.output).toContain('may skip: xylem has no libarchive feature');
        expect(b.status, b.output).toBe(0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });

  const tests = expectedTests();
  describe.skipIf(tests.length === 0)('upstream OSTree suite through xylem (tools/ostree-tests/expected.txt)', () => {
    let run: ReturnType<typeof runSuite>;
    beforeAll(() => {
      expect(existsSync(join(ROOT, 'dist', 'xylem.mjs')), 'dist/xylem.mjs missing: npm run build:cli').toBe(true);
      run = runSuite(['-j', '2', ...tests.map((t) => t.name)], join(RESULTS, 'vitest'));
      console.log(run.output);
    }, (tests.length * PER_TEST_TIMEOUT_S * 1000) / 2 + 60_000);

    for (const { name, maySkip } of tests) {
      it(name, () => {
        const row = run.rows.get(name);
        expect(row, `no result for ${name}; runner output:\n${run.output}`).toBeDefined();
        expect(maySkip ? ['PASS', 'SKIP'] : ['PASS'], `${row?.line}\n(TAP and stderr in tmp/ostree-tests/vitest/${name}.{tap,err})`).toContain(
          row?.verdict,
        );
      });
    }
  });
}
