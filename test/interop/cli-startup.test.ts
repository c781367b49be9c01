// Guards the CLI's start-up cost (ostree's test suite and scripts run it thousands of times; the
// timings themselves are in `npm run bench`, rows startup-*): the statically loaded part of the
// bundle stays within a budget; `--version` and a small `rev-parse` start no process but node (no
// helper, no lock daemon) and take no lock; from the ESM bundle `rev-parse` reads no chunk holding
// openpgp, xz, the sysroot, pull, delta or serverless code; the launcher starts commands from the
// V8 start-up snapshot (tools/build-snapshot.mjs) only while it is fresh.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/require-tool.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'tools', 'bin', 'xylem');
/** Budget for what `xylem --version` loads (today about 11 KiB in 3 files). */
const START_KIB = 24;
const START_FILES = 4;
const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const HAVE_STRACE = has('strace', ['-V']);
const HAVE_OSTREE = has('ostree', ['--version']);

let work = '';
let outdir = '';
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'xylem-startup-'));
  outdir = join(work, 'dist');
});
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('start-up bundle', () => {
  it(`loads at most ${START_KIB} KiB in ${START_FILES} files before a command runs, openpgp never`, () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'tools', 'build-cli.mjs'), '--outdir', outdir], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const m = /loaded at start-up (\d+) KiB in (\d+) file\(s\)/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1]), r.stdout).toBeLessThanOrEqual(START_KIB);
    expect(Number(m![2]), r.stdout).toBeLessThanOrEqual(START_FILES);
  }, 120_000);
});

/** Runs the launcher under strace; returns the trace lines and the command's stdout. */
function traced(args: string[], env: Record<string, string> = {}, bin = BIN): { trace: string[]; stdout: string; status: number | null } {
  const log = join(work, `trace-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('strace', ['-f', '-qq', '-o', log, '-e', 'trace=execve,fork,vfork,clone,clone3,openat,flock,fcntl', bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const trace = readFileSync(log, 'utf8').split('\n');
  return { trace, stdout: r.stdout, status: r.status };
}

/** Processes created: successful execve calls, and forks (clone without CLONE_THREAD). */
function processes(trace: string[]): { execs: string[]; forks: string[] } {
  const execs = trace.filter((l) => /execve\(/.test(l) && /= 0$/.test(l)).map((l) => /execve\("([^"]+)"/.exec(l)![1]!);
  const forks = trace.filter((l) => /\b(v?fork|clone3?)\(/.test(l) && !/CLONE_THREAD/.test(l) && !/resumed>/.test(l));
  return { execs, forks };
}

describe.skipIf(missing('start-up trace of the CLI', { strace: HAVE_STRACE }))('xylem start-up under strace', () => {
  it('--version starts only node, through the launcher, with the CA bundle deferred', () => {
    const t = traced(['--version'], { NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem' });
    expect(t.status).toBe(0);
    expect(t.stdout.startsWith("xylem:\n Version: '")).toBe(true);
    const { execs, forks } = processes(t.trace);
    expect(execs.map((e) => e.split('/').pop())).toEqual(['xylem', 'node']);
    expect(forks, 'a process was forked').toEqual([]);
    // nothing but node's own files and the entry's few chunks are opened
    const chunks = t.trace.filter((l) => /openat\(.*\/dist\/(chunks\/)?[^"/]+\.mjs"/.test(l) && !/ENOENT/.test(l));
    expect(chunks.length, chunks.join('\n')).toBeLessThanOrEqual(START_FILES);
    // node did not read the CA file at start-up (the launcher handed it on for lazy loading)
    expect(t.trace.filter((l) => l.includes('/nonexistent/ca.pem'))).toEqual([]);
  });

  describe.skipIf(missing('rev-parse start-up against a real repo', { ostree: HAVE_OSTREE }))('rev-parse', () => {
    it('starts no helper process, takes no lock and loads no heavy chunk', () => {
      const repo = join(work, 'repo');
      const tree = join(work, 'tree');
      expect(spawnSync('ostree', ['init', `--repo=${repo}`, '--mode=archive']).status).toBe(0);
      expect(spawnSync('mkdir', ['-p', tree]).status).toBe(0);
      const c = spawnSync('ostree', ['commit', `--repo=${repo}`, '-b', 'main', '--tree=dir=' + tree], { encoding: 'utf8' });
      expect(c.status, c.stderr).toBe(0);
      // the ESM bundle (the path without a snapshot): which chunks it reads
      const t = traced([`--repo=${repo}`, 'rev-parse', 'main'], { XYLEM_SNAPSHOT: '0' });
      expect(t.status).toBe(0);
      expect(t.stdout).toBe(c.stdout);
      const { execs, forks } = processes(t.trace);
      expect(execs.map((e) => e.split('/').pop())).toEqual(['xylem', 'node']);
      expect(forks, 'a process was forked').toEqual([]);
      expect(t.trace.filter((l) => /\.lock"|F_OFD_SETLK|F_SETLK|flock\(/.test(l)), 'a lock was taken').toEqual([]);
      const opened = [
        ...new Set(
          t.trace
            .map((l) => /openat\([^"]*"([^"]*\/dist\/chunks\/[^"/]+\.mjs)"/.exec(l)?.[1])
            .filter((f): f is string => f !== undefined && !f.endsWith('package.json')),
        ),
      ];
      expect(opened.length).toBeGreaterThan(0);
      for (const f of opened) {
        const src = readFileSync(resolve(f), 'utf8');
        // esbuild marks each bundled source with a "// path" comment line
        const heavy = src.match(/^\/\/ .*(node_modules\/(openpgp|xz-decompress)\/|src\/(sysroot|delta|pull)\/|runtimes\/serverless\/).*$/m);
        expect(heavy?.[0], `${f} is loaded by rev-parse`).toBeUndefined();
      }
    });
  });
});

const SNAP = join(ROOT, 'dist', 'snapshot');
describe.skipIf(missing('the CLI start-up snapshot (npm run build makes it)', { 'dist/snapshot/xylem.blob': existsSync(join(SNAP, 'xylem.blob')), strace: HAVE_STRACE }))(
  'start-up snapshot',
  () => {
    /** A copy of the launcher and dist/ (bundle copied, chunks and snapshot linked) whose mtimes the test may change. */
    function sandbox(): string {
      const top = mkdtempSync(join(work, 'sandbox-'));
      mkdirSync(join(top, 'tools', 'bin'), { recursive: true });
      mkdirSync(join(top, 'dist', 'snapshot'), { recursive: true });
      copyFileSync(BIN, join(top, 'tools', 'bin', 'xylem'));
      copyFileSync(join(ROOT, 'dist', 'xylem.mjs'), join(top, 'dist', 'xylem.mjs'));
      symlinkSync(join(ROOT, 'dist', 'chunks'), join(top, 'dist', 'chunks'));
      cpSync(join(SNAP, 'xylem.blob'), join(top, 'dist', 'snapshot', 'xylem.blob'), { preserveTimestamps: true });
      symlinkSync(join(SNAP, 'node'), join(top, 'dist', 'snapshot', 'node'));
      // the bundle is older than the snapshot, as after `npm run build`
      const made = statSync(join(SNAP, 'xylem.blob')).mtimeMs;
      utimesSync(join(top, 'dist', 'xylem.mjs'), new Date(made - 60_000), new Date(made - 60_000));
      return top;
    }
    const snapshotNode = (trace: string[]): boolean =>
      processes(trace).execs.some((e) => e.endsWith('/dist/snapshot/node')) && trace.some((l) => l.includes('execve(') && l.includes('--snapshot-blob'));

    it('runs commands from the snapshot, with the same output, and --version from the bundle', () => {
      const top = sandbox();
      const bin = join(top, 'tools', 'bin', 'xylem');
      const repo = join(work, 'snaprepo');
      expect(spawnSync('ostree', ['init', `--repo=${repo}`, '--mode=archive']).status).toBe(0);
      const want = spawnSync('ostree', ['refs', `--repo=${repo}`], { encoding: 'utf8' });
      const t = traced(['refs', `--repo=${repo}`], {}, bin);
      expect(t.status).toBe(0);
      expect(t.stdout).toBe(want.stdout);
      expect(snapshotNode(t.trace), 'the snapshot was not used').toBe(true);
      expect(processes(t.trace).execs.length, 'processes started').toBe(2);
      expect(processes(t.trace).forks, 'a process was forked').toEqual([]);
      expect(t.trace.filter((l) => /openat\(.*\/dist\/chunks\//.test(l)), 'chunks read despite the snapshot').toEqual([]);
      // arguments reach the CLI, not node: an option node also knows
      const v = traced(['--version'], {}, bin);
      expect(v.stdout.startsWith('xylem:')).toBe(true);
      expect(snapshotNode(v.trace)).toBe(false);
      const u = spawnSync(bin, ['refs', '--version', `--repo=${repo}`], { encoding: 'utf8' });
      expect(u.stdout.startsWith('xylem:') || u.status !== 0, u.stdout + u.stderr).toBe(true);
      expect(u.stdout).not.toMatch(/^v\d+\.\d+\.\d+/);
    });

    it('is not used when older than the bundle, or when XYLEM_SNAPSHOT=0', () => {
      const top = sandbox();
      const bin = join(top, 'tools', 'bin', 'xylem');
      const off = traced(['rev-parse', '--help'], { XYLEM_SNAPSHOT: '0' }, bin);
      expect(off.status).toBe(0);
      expect(snapshotNode(off.trace)).toBe(false);
      const made = statSync(join(SNAP, 'xylem.blob')).mtimeMs;
      utimesSync(join(top, 'dist', 'xylem.mjs'), new Date(made + 60_000), new Date(made + 60_000));
      const stale = traced(['rev-parse', '--help'], {}, bin);
      expect(stale.status).toBe(0);
      expect(stale.stdout).toMatch(/rev-parse/);
      expect(snapshotNode(stale.trace), 'a stale snapshot was used').toBe(false);
    });
  },
);
