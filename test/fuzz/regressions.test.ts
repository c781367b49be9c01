// Every input the fuzzers (parsers.test.ts, and the crash campaign's hunts) ever found breaking a
// parser is kept under fixtures/fuzz/regressions/<target>/ and replayed here: each must now be
// parsed or refused with the project's error class, within the harness's time limit. The file's
// extension carries the seed type it descends from (e.g. `.commit` for the objects target).
// regressions/known-bugs/<target>/ holds inputs that still break code this project's helper may
// not change (see rpm-targets.ts: treefileCase); they replay as expected failures (`it.fails`), so
// the day the bug is fixed the test turns red and the input moves up to regressions/<target>/.

import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUZZ_DIR, loadCorpus, runOne } from './harness.ts';
import { TARGETS } from './targets.ts';
import { treefileCase } from './rpm-targets.ts';
import { XylemError } from '../../src/util/errors.ts';

const REG = join(FUZZ_DIR, 'regressions');

describe('fuzz regressions', () => {
  it('every regression input belongs to a known target', () => {
    const dirs = existsSync(REG) ? readdirSync(REG).filter((d) => d !== 'known-bugs') : [];
    expect(dirs.filter((d) => !TARGETS.some((t) => t.name === d))).toEqual([]);
  });
  for (const t of TARGETS) {
    const inputs = loadCorpus(t.name, join(REG, t.name));
    if (inputs.length === 0) continue;
    it(`${t.name}: ${inputs.length} past crash input(s) are parsed or refused with XylemError`, async () => {
      const problems: string[] = [];
      for (const s of inputs) {
        const t0 = performance.now();
        const p = await runOne(t, s.data, s.name);
        const ms = performance.now() - t0;
        if (p) problems.push(`${s.name}: ${p}`);
        else if (ms > 5000) problems.push(`${s.name}: took ${ms.toFixed(0)} ms`);
      }
      expect(problems).toEqual([]);
    });
  }

  // known bugs: the raw input must be refused with XylemError; today it is not (expected failure)
  const KNOWN: Record<string, (input: Uint8Array, seedName: string) => Promise<void>> = {
    treefile: (input, seedName) => treefileCase(input, seedName, false),
  };
  for (const [name, run] of Object.entries(KNOWN)) {
    for (const s of loadCorpus(name, join(REG, 'known-bugs', name))) {
      it.fails(`known bug, ${name}: ${s.name} is refused with XylemError (fails until src/compose/treefile.ts refuses non-UTF-8 text and NUL in include paths with a XylemError)`, async () => {
        const e = await run(s.data, s.name).then(() => null, (err: unknown) => err);
        expect(e === null || e instanceof XylemError, String(e)).toBe(true);
      });
    }
  }
});
