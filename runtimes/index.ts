// Picks the host adapter for the runtime this code runs in (Bun, Deno, else Node).
// Each adapter is imported on demand so one runtime never loads another's module.

import type { RuntimeHost } from './posix/host.ts';

export type { RuntimeHost, RuntimeName } from './posix/host.ts';

/** Name of the current runtime, from globalThis.Bun / globalThis.Deno. */
export function detectRuntime(): 'bun' | 'deno' | 'node' {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return 'bun';
  if (g.Deno !== undefined) return 'deno';
  return 'node';
}

/** Creates the Host for the current runtime. */
export async function createHost(): Promise<RuntimeHost> {
  switch (detectRuntime()) {
    case 'bun':
      return (await import('./bun/index.ts')).createBunHost();
    case 'deno':
      return (await import('./deno/index.ts')).createDenoHost();
    default:
      return (await import('./node/index.ts')).createNodeHost();
  }
}
