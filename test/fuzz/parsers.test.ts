// Seeded, coverage-guided mutation fuzzing of every parser (test/fuzz/targets.ts) from the corpus
// of real ostree artefacts in fixtures/fuzz/<target>/: a bounded number of cases per target in
// CI (a few seconds each). Only the project's error class may escape (never RangeError,
// TypeError or a plain Error), no case may hang, the process may not balloon. A failure prints
// the seed and iteration; FUZZ_SAVE=1 writes the failing inputs to fixtures/fuzz/regressions/,
// where regressions.test.ts replays them for ever.
// FUZZ_SEED=N, FUZZ_CASES=N (default 1500 per target). FUZZ_COVERAGE=1 turns on coverage guidance
// (node's precise block coverage, ~30 ms a case here: too slow for CI's budget); with
// FUZZ_SAVE_CORPUS=1 the inputs it kept for new blocks join the committed corpus, so CI's plain
// mutation starts from them.

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUZZ_DIR, fuzz } from './harness.ts';
import { TARGETS } from './targets.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const CASES = Number(process.env.FUZZ_CASES ?? 1500);
const COVERAGE = process.env.FUZZ_COVERAGE === '1';

describe('parser fuzzing', () => {
  for (const t of TARGETS) {
    it(`${t.name}: ${CASES} mutated inputs (seed ${SEED}) are parsed or refused with XylemError`, async () => {
      const r = await fuzz(t, { seed: SEED, iterations: CASES, coverage: COVERAGE });
      if (process.env.FUZZ_SAVE === '1') {
        for (const f of r.failures) {
          const dir = join(FUZZ_DIR, 'regressions', t.name);
          mkdirSync(dir, { recursive: true });
          const h = createHash('sha256').update(f.input).digest('hex').slice(0, 16);
          const ext = f.seedName.includes('.') ? f.seedName.slice(f.seedName.lastIndexOf('.')) : '';
          writeFileSync(join(dir, `${h}${ext}`), f.input);
        }
      }
      if (process.env.FUZZ_SAVE_CORPUS === '1') {
        for (const k of r.keptInputs) {
          const h = createHash('sha256').update(k.data).digest('hex').slice(0, 12);
          const ext = k.name.includes('.') ? k.name.slice(k.name.lastIndexOf('.')) : '';
          writeFileSync(join(FUZZ_DIR, t.name, `cov-${h}${ext}`), k.data);
        }
      }
      const report = r.failures.map((f) => `seed ${SEED} iteration ${f.iteration} (from ${f.seedName}, ${f.input.length} bytes): ${f.error}`);
      console.log(`fuzz ${t.name}: ${r.cases} cases, ${r.kept} kept for new coverage (${r.blocks} blocks), slowest ${r.slowestMs.toFixed(1)} ms`);
      expect(report).toEqual([]);
    }, COVERAGE ? 1_800_000 : 120_000);
  }
});
