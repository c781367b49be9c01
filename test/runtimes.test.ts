// Runs the per-runtime smoke suite (test/runtimes/smoke.mjs) under Node, Bun and Deno through
// tools/run-runtime-smoke.sh. With CI=true a missing runtime is a failure.

import { expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { resolve, dirname } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');

it('the smoke suite passes under Node, Bun and Deno', () => {
  const r = spawnSync('bash', ['tools/run-runtime-smoke.sh'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) console.error(r.stdout + r.stderr);
  expect(r.status).toBe(0);
  expect(r.stdout + r.stderr).toMatch(/node/i);
}, 320_000);
