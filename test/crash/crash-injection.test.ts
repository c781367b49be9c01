// The posix host's fault injection (runtimes/posix/crash.ts): XYLEM_CRASH_COUNT counts exactly the
// mutating file-system operations (reads are not counted), XYLEM_CRASH_AT=N SIGKILLs the process
// right before the Nth one (earlier ones done, later ones not), and N:SEED first writes a
// seeded prefix of the write it stops in (a torn file). Without either variable nothing changes.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/interop.ts';
import { crashPlanFromEnv } from '../../runtimes/posix/crash.ts';

const CHILD = join(ROOT, 'test/crash/crash-child.ts');

function runChild(dir: string, env: Record<string, string>) {
  const e: Record<string, string | undefined> = { ...process.env, ...env };
  if (!('XYLEM_CRASH_AT' in env)) delete e.XYLEM_CRASH_AT;
  if (!('XYLEM_CRASH_COUNT' in env)) delete e.XYLEM_CRASH_COUNT;
  return spawnSync(process.execPath, ['--import', 'tsx', CHILD, dir], { encoding: 'utf8', env: e, cwd: ROOT });
}

describe('crash injection in the posix host', () => {
  let dir: string | null = null;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });

  it('parses N and N:SEED, refuses anything else, and is off when unset', () => {
    expect(crashPlanFromEnv({})).toBeNull();
    expect(crashPlanFromEnv({ XYLEM_CRASH_AT: '' })).toBeNull();
    expect(crashPlanFromEnv({ XYLEM_CRASH_AT: '7' })).toEqual({ killAt: 7, seed: null, countFile: null });
    expect(crashPlanFromEnv({ XYLEM_CRASH_AT: '7:42', XYLEM_CRASH_COUNT: '/x' })).toEqual({ killAt: 7, seed: 42, countFile: '/x' });
    expect(crashPlanFromEnv({ XYLEM_CRASH_COUNT: '/x' })).toEqual({ killAt: 0, seed: null, countFile: '/x' });
    for (const bad of ['-1', 'x', '1:', '1:2:3', ' 1', '1e3']) expect(() => crashPlanFromEnv({ XYLEM_CRASH_AT: bad }), bad).toThrow(/XYLEM_CRASH_AT/);
  });

  it('counts the mutating operations of a run', () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-crashinj-'));
    const r = runChild(dir, { XYLEM_CRASH_COUNT: join(dir, 'count') });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('done\n');
    expect(readFileSync(join(dir, 'count'), 'utf8')).toBe('6\n');
    expect(readFileSync(join(dir, 'd/g')).length).toBe(2000);
  });

  it('SIGKILLs right before op N: the earlier ones happened, op N did not', () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-crashinj-'));
    const r = runChild(dir, { XYLEM_CRASH_AT: '4' });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('');
    expect(statSync(join(dir, 'd/f')).size).toBe(1000); // the first chunk only
    const second = mkdtempSync(join(dir, 'b'));
    const r2 = runChild(second, { XYLEM_CRASH_AT: '6' });
    expect(r2.signal).toBe('SIGKILL');
    expect(statSync(join(second, 'd/f')).size).toBe(2000); // written and synced, never renamed
    expect(existsSync(join(second, 'd/g'))).toBe(false);
  });

  it('N:SEED tears the write it stops in, the same way for the same seed', () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-crashinj-'));
    const sizes: number[] = [];
    for (const sub of ['a', 'b', 'c']) {
      const d = join(dir, sub);
      mkdirSync(d);
      const r = runChild(d, { XYLEM_CRASH_AT: sub === 'c' ? '3:99' : '3:12345' });
      expect(r.signal).toBe('SIGKILL');
      sizes.push(statSync(join(d, 'd/f')).size);
    }
    expect(sizes[0]).toBe(sizes[1]);
    expect(sizes[0]).toBeGreaterThan(0);
    expect(sizes[0]).toBeLessThan(1000);
    expect(sizes[2]).toBeLessThan(1000);
    expect(existsSync(join(dir, 'a/d/g'))).toBe(false);
  });
});
