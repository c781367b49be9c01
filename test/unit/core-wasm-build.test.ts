// Checks that the committed core-wasm/gen/* matches a fresh, deterministic build of core-wasm/assembly
// (runs asc through tools/build-wasm.mjs --check; takes a few seconds).

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('core-wasm build', () => {
  it('committed core-wasm/gen is what tools/build-wasm.mjs produces from the sources', () => {
    const out = execFileSync(process.execPath, ['tools/build-wasm.mjs', '--check'], { cwd: root, encoding: 'utf8' });
    expect(out).toMatch(/up to date/);
  }, 60_000);
});
