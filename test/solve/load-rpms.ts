// Test-only loader: reads built .rpm files with `rpm -qp --qf` (the oracle reads the headers) and
// adds them to a solver pool, until src/rpmmd feeds the pool from primary.xml.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { Dependency, PackageDependencies } from '../../src/rpm/types.ts';
import type { Pool } from '../../src/solve/pool.ts';

const SECTIONS: [string, string][] = [
  ['provides', 'PROVIDE'],
  ['requires', 'REQUIRE'],
  ['conflicts', 'CONFLICT'],
  ['obsoletes', 'OBSOLETE'],
  ['recommends', 'RECOMMEND'],
  ['suggests', 'SUGGEST'],
  ['supplements', 'SUPPLEMENT'],
  ['enhances', 'ENHANCE'],
];

/** Adds every .rpm in `dir` to `pool` under repo index `repo`; returns name → package id. */
export function loadRpmDir(pool: Pool, repo: number, dir: string): Map<string, number> {
  const files = primaryOrder(dir) ?? readdirSync(dir).filter((f) => f.endsWith('.rpm')).map((f) => join(dir, f)).sort();
  let qf = '@PKG\t%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\n';
  for (const [k, tag] of SECTIONS) qf += `[${k}\t%{${tag}NAME}\t%{${tag}FLAGS}\t%{${tag}VERSION}\n]`;
  qf += '[file\t%{FILENAMES}\n]';
  const out = execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', qf, ...files], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const ids = new Map<string, number>();
  let cur: { nevra: { name: string; epoch: number | null; version: string; release: string; arch: string }; deps: PackageDependencies; files: string[] } | null = null;
  const flush = (): void => {
    if (!cur) return;
    const id = pool.addPackage(cur.nevra, cur.deps, { repo, files: cur.files });
    ids.set(`${cur.nevra.name}-${cur.nevra.version}-${cur.nevra.release}.${cur.nevra.arch}`, id);
    cur = null;
  };
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const f = line.split('\t');
    if (f[0] === '@PKG') {
      flush();
      cur = {
        nevra: { name: f[1]!, epoch: f[2] === '(none)' ? null : Number(f[2]), version: f[3]!, release: f[4]!, arch: f[5]! },
        deps: { provides: [], requires: [], conflicts: [], obsoletes: [], recommends: [], suggests: [], supplements: [], enhances: [] },
        files: [],
      };
      continue;
    }
    if (!cur) continue;
    if (f[0] === 'file') {
      if (f[1] && f[1] !== '(none)') cur.files.push(f[1]);
      continue;
    }
    if (f[1] === '(none)' || !f[1]) continue;
    const d: Dependency = { name: f[1], flags: Number(f[2]), version: f[3] === '(none)' ? '' : (f[3] ?? '') };
    (cur.deps as unknown as Record<string, Dependency[]>)[f[0]!]!.push(d);
  }
  flush();
  return ids;
}

/** The .rpm paths in primary.xml order (libsolv numbers packages in that order), when `dir` is a repo. */
function primaryOrder(dir: string): string[] | null {
  const repomd = join(dir, 'repodata', 'repomd.xml');
  if (!existsSync(repomd)) return null;
  const m = /<data type="primary">[\s\S]*?<location href="([^"]+)"/.exec(readFileSync(repomd, 'utf8'));
  if (!m) return null;
  const xml = gunzipSync(readFileSync(join(dir, m[1]!))).toString('utf8');
  return [...xml.matchAll(/<location href="([^"]+)"/g)].map((x) => join(dir, x[1]!));
}

/** The packages dnf's `--assumeno` transaction table lists, by section, as NEVRA strings. */
export function parseDnfTransaction(stdout: string): { install: string[]; deps: string[]; weak: string[] } {
  const res = { install: [] as string[], deps: [] as string[], weak: [] as string[] };
  let sec: string[] | null = null;
  for (const line of stdout.split('\n')) {
    if (/^Installing:/.test(line)) sec = res.install;
    else if (/^Installing dependencies:/.test(line)) sec = res.deps;
    else if (/^Installing weak dependencies:/.test(line)) sec = res.weak;
    else if (/^[A-Z]/.test(line) || line.startsWith('=')) sec = null;
    else if (sec && line.startsWith(' ')) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 4) sec.push(`${f[0]}-${f[2]}.${f[1]}`);
    }
  }
  for (const k of ['install', 'deps', 'weak'] as const) res[k].sort();
  return res;
}

/** dnf's problem block: the lines after `Error: ` (` Problem…` and `  - …`). */
export function parseDnfProblems(stderr: string): string {
  const lines = stderr.split('\n');
  const i = lines.findIndex((l) => l.startsWith('Error:'));
  if (i < 0) return '';
  return lines
    .slice(i + 1)
    .filter((l) => /^ Problem|^  - /.test(l))
    .join('\n');
}
