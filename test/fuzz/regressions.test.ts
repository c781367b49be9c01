// Every input the fuzzers (parsers.test.ts, and the crash campaign's hunts) ever found breaking a
// parser is kept under fixtures/fuzz/regressions/<target>/ and replayed here: each must now be
// parsed or refused with the project's error class, within the harness's time limit. The file's
// extension carries the seed type it descends from (e.g. `.commit` for the objects target).

import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUZZ_DIR, loadCorpus, runOne } from './harness.ts';
import { TARGETS } from './targets.ts';

const REG = join(FUZZ_DIR, 'regressions');

describe('fuzz regressions', () => {
  it('every regression input belongs to a known target', () => {
    const dirs = existsSync(REG) ? readdirSync(REG) : [];
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
});
