// The design card's dependency rule, checked on the sources: core-wasm ← src ← runtimes ← tools.
// src/ never imports node:* (it reaches the world only through src/host.ts), and no layer imports
// a layer above it.

import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'build' || name === 'assembly') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

const LAYERS = ['core-wasm', 'src', 'runtimes', 'tools'];

function layerOf(path: string): number {
  const top = relative(ROOT, path).split('/')[0]!;
  return LAYERS.indexOf(top);
}

describe('layering', () => {
  it('src/ never imports node:* or runtime-specific modules', () => {
    const bad: string[] = [];
    for (const f of sources(join(ROOT, 'src'))) {
      for (const spec of importsOf(f)) {
        if (spec.startsWith('node:') || spec === 'fs' || spec === 'path' || spec === 'child_process' || spec.startsWith('bun:'))
          bad.push(`${relative(ROOT, f)} imports ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('dependencies point one way: core-wasm ← src ← runtimes ← tools', () => {
    const bad: string[] = [];
    for (const layer of LAYERS) {
      for (const f of sources(join(ROOT, layer))) {
        const mine = layerOf(f);
        for (const spec of importsOf(f)) {
          if (!spec.startsWith('.')) continue;
          const target = resolve(dirname(f), spec);
          const theirs = layerOf(target);
          if (theirs > mine) bad.push(`${relative(ROOT, f)} (${LAYERS[mine]}) imports ${relative(ROOT, target)} (${LAYERS[theirs]})`);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('the check itself sees imports (guards against a regex that matches nothing)', () => {
    const f = join(ROOT, 'src/repo/repo.ts');
    expect(importsOf(f)).toContain('../format/objects.ts');
  });
});
