// Tests that need a tool (the real ostree, gpg, GLib through python3-gi, bun/deno, an upstream
// fixture file) ask here instead of returning early: without it they are skipped with a loud
// warning on a developer's machine, and FAIL when CI=true, so a CI image missing a tool can never
// pass silently. Usage:  describe.skipIf(missing('gpg signatures', { gpg: HAVE_GPG }))(…)

import { it } from 'vitest';

export const IN_CI = process.env.CI === 'true';

/**
 * True when a needed tool is absent (the caller skips). Under CI=true it also registers a failing
 * test naming what is missing; elsewhere it prints a warning. Call while tests are collected (at a
 * file's top level or in a describe body), not inside a test.
 */
export function missing(what: string, tools: Record<string, boolean>): boolean {
  const absent = Object.entries(tools)
    .filter(([, present]) => !present)
    .map(([name]) => name);
  if (absent.length === 0) return false;
  const msg = `${what}: needs ${absent.join(', ')}, not found`;
  if (IN_CI) {
    it(`${what} (requires ${absent.join(', ')})`, () => {
      throw new Error(`${msg}; CI=true requires every tool (tools/setup.sh installs them)`);
    });
  } else console.warn(`\n!!! SKIPPED ${msg} (this would fail under CI=true) !!!\n`);
  return true;
}

/**
 * Inside a running test: throws under CI=true when a tool is absent; elsewhere calls `skip` (the
 * test context's skip) with the reason. Returns normally when everything is present.
 */
export function requireInTest(skip: (note?: string) => void, what: string, tools: Record<string, boolean>): void {
  const absent = Object.entries(tools)
    .filter(([, present]) => !present)
    .map(([name]) => name);
  if (absent.length === 0) return;
  const msg = `${what}: needs ${absent.join(', ')}, not found`;
  if (IN_CI) throw new Error(`${msg}; CI=true requires every tool (tools/setup.sh installs them)`);
  skip(msg);
}
