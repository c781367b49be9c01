// A small seeded mutation fuzzer for the parsers (issue 14, "proof under faults"): inputs start
// from the corpus under fixtures/fuzz/<target>/ (real ostree artefacts, see make-corpus.ts), are
// mutated 1–4 times each (bit flips, interesting bytes and integers with a bias to the end where
// GVariant keeps its framing offsets, range deletes, inserts, duplicates, truncation, splices with
// other inputs), and run through the target. A case may succeed or throw the project's error
// class (XylemError); anything else, a case slower than `caseMs` (a hang) or the process growing
// by more than `growthBytes` (an unbounded allocation) is a failure. With `coverage`, node's
// precise block coverage (inspector Profiler) keeps every input that reached new blocks of src/ or
// core-wasm/ as a further seed: coverage-guided, still deterministic for a given seed.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';
import { XylemError } from '../../src/util/errors.ts';
import { ROOT } from '../helpers/interop.ts';
import { concatBytes } from '../../src/util/bytes.ts';

export const FUZZ_DIR = join(ROOT, 'fixtures/fuzz');

export interface FuzzTarget {
  /** Corpus folder name under fixtures/fuzz/. */
  name: string;
  /** Runs one input; `seedName` is the corpus file the input descends from (its extension may pick the type). */
  run(input: Uint8Array, seedName: string): unknown;
  /** Errors besides XylemError that are a controlled refusal (e.g. the WASM core's own). */
  accept?(e: unknown): boolean;
  /** Extra tokens worth inserting (text formats). */
  tokens?: string[];
}

export interface Seed {
  name: string;
  data: Uint8Array;
}

export interface FuzzFailure {
  seedName: string;
  iteration: number;
  input: Uint8Array;
  error: string;
}

export interface FuzzReport {
  cases: number;
  kept: number;
  /** The inputs kept for reaching new blocks (with the seed they descend from). */
  keptInputs: Seed[];
  blocks: number;
  slowestMs: number;
  failures: FuzzFailure[];
}

/** The corpus of a target: every file of fixtures/fuzz/<name>/, sorted by name. */
export function loadCorpus(name: string, dir = join(FUZZ_DIR, name)): Seed[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.'))
    .sort()
    .map((f) => ({ name: f, data: new Uint8Array(readFileSync(join(dir, f))) }));
}

/** xorshift32. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const INTERESTING8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x3f];
const INTERESTING32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe];

/** One mutated copy of `d`. */
function mutate(d: Uint8Array, rnd: () => number, others: Seed[], tokens: Uint8Array[]): Uint8Array {
  let b: Uint8Array = new Uint8Array(d);
  const steps = 1 + (rnd() % 4);
  const pos = (len: number): number => {
    if (len === 0) return 0;
    // Half the time near the end: GVariant framing offsets and sizes live there.
    return rnd() % 2 === 0 ? Math.max(0, len - 1 - (rnd() % Math.min(len, 24))) : rnd() % len;
  };
  for (let s = 0; s < steps; s++) {
    const op = rnd() % 10;
    if (op === 0 && b.length > 0) {
      const i = pos(b.length);
      b[i] = b[i]! ^ (1 << (rnd() % 8));
    } else if (op === 1 && b.length > 0) {
      b[pos(b.length)] = INTERESTING8[rnd() % INTERESTING8.length]!;
    } else if (op === 2 && b.length >= 4) {
      const i = Math.min(pos(b.length), b.length - 4);
      const v = rnd() % 3 === 0 ? b.length + (rnd() % 3) - 1 : INTERESTING32[rnd() % INTERESTING32.length]!;
      new DataView(b.buffer, b.byteOffset).setUint32(i, v >>> 0, rnd() % 2 === 0);
    } else if (op === 3 && b.length > 1) {
      const i = rnd() % b.length;
      const n = 1 + (rnd() % Math.min(64, b.length - i));
      b = concat(b.subarray(0, i), b.subarray(i + n));
    } else if (op === 4) {
      const i = pos(b.length + 1);
      const ins = new Uint8Array(1 + (rnd() % 16));
      for (let k = 0; k < ins.length; k++) ins[k] = rnd() & 0xff;
      b = concat(b.subarray(0, i), ins, b.subarray(i));
    } else if (op === 5 && b.length > 1) {
      const i = rnd() % b.length;
      const n = 1 + (rnd() % Math.min(256, b.length - i));
      const at = rnd() % (b.length + 1);
      b = concat(b.subarray(0, at), b.subarray(i, i + n), b.subarray(at));
    } else if (op === 6 && b.length > 0) {
      b = b.slice(0, rnd() % b.length);
    } else if (op === 7 && others.length > 0) {
      const o = others[rnd() % others.length]!.data;
      const cut = rnd() % (b.length + 1);
      const from = rnd() % (o.length + 1);
      b = concat(b.subarray(0, cut), o.subarray(from));
    } else if (op === 8 && tokens.length > 0) {
      const t = tokens[rnd() % tokens.length]!;
      const i = rnd() % (b.length + 1);
      b = concat(b.subarray(0, i), t, b.subarray(i));
    } else if (b.length > 0) {
      // A run of equal bytes (long zero runs stress padding and size checks).
      const i = rnd() % b.length;
      b.fill(rnd() % 2 ? 0 : 0xff, i, Math.min(b.length, i + 1 + (rnd() % 32)));
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

/** Block coverage of the engine's scripts through the inspector: which blocks ran since the last call. */
class Coverage {
  private readonly seen = new Set<string>();
  private constructor(private readonly session: Session) {}

  static async start(): Promise<Coverage> {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    return new Coverage(session);
  }

  /** Number of blocks seen for the first time since the last call. */
  async fresh(): Promise<number> {
    const { result } = await this.session.post('Profiler.takePreciseCoverage');
    let n = 0;
    for (const script of result) {
      if (!/\/(src|core-wasm)\//.test(script.url) || script.url.includes('node_modules')) continue;
      for (const fn of script.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const key = `${script.url}:${r.startOffset}:${r.endOffset}`;
          if (!this.seen.has(key)) {
            this.seen.add(key);
            n++;
          }
        }
      }
    }
    return n;
  }

  get blocks(): number {
    return this.seen.size;
  }

  async stop(): Promise<void> {
    await this.session.post('Profiler.stopPreciseCoverage');
    await this.session.post('Profiler.disable');
    this.session.disconnect();
  }
}

/** The outcome of one input: null when it passed (success or a typed refusal), else the problem. */
export async function runOne(target: FuzzTarget, input: Uint8Array, seedName: string): Promise<string | null> {
  try {
    await target.run(input, seedName);
    return null;
  } catch (e) {
    if (e instanceof XylemError) return null;
    if (target.accept?.(e)) return null;
    const err = e as Error;
    return `${err?.constructor?.name ?? typeof e}: ${err?.message ?? String(e)}\n${(err?.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  }
}

export interface FuzzOptions {
  seed: number;
  iterations: number;
  caseMs?: number;
  growthBytes?: number;
  coverage?: boolean;
}

/** Fuzzes `target` from its corpus; see the header for what counts as a failure. */
export async function fuzz(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzReport> {
  const corpus = loadCorpus(target.name);
  if (corpus.length === 0) throw new Error(`fuzz ${target.name}: no corpus under ${join(FUZZ_DIR, target.name)}`);
  const caseMs = opts.caseMs ?? 5000;
  const growth = opts.growthBytes ?? 512 << 20;
  const rnd = xorshift(opts.seed);
  const tokens = (target.tokens ?? []).map((t) => new TextEncoder().encode(t));
  const pool: Seed[] = [...corpus];
  const failures: FuzzFailure[] = [];
  const cov = opts.coverage ? await Coverage.start() : null;
  const rss0 = process.memoryUsage.rss();
  let slowest = 0;
  const keptInputs: Seed[] = [];
  try {
    // The seeds themselves first: they must pass too.
    if (cov) await cov.fresh();
    for (const s of corpus) {
      const problem = await runOne(target, s.data, s.name);
      if (problem) failures.push({ seedName: s.name, iteration: -1, input: s.data, error: problem });
    }
    if (cov) await cov.fresh();
    for (let i = 0; i < opts.iterations; i++) {
      const parent = pool[rnd() % pool.length]!;
      const input = mutate(parent.data, rnd, pool, tokens);
      const t0 = performance.now();
      const problem = await runOne(target, input, parent.name);
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (problem) failures.push({ seedName: parent.name, iteration: i, input, error: problem });
      else if (ms > caseMs) failures.push({ seedName: parent.name, iteration: i, input, error: `took ${ms.toFixed(0)} ms (limit ${caseMs}): a hang` });
      if (process.memoryUsage.rss() - rss0 > growth) {
        failures.push({ seedName: parent.name, iteration: i, input, error: `the process grew by more than ${growth} bytes` });
        break;
      }
      if (cov && !problem && (await cov.fresh()) > 0) {
        pool.push({ name: parent.name, data: input });
        keptInputs.push({ name: parent.name, data: input });
      }
      if (failures.length >= 5) break;
    }
  } finally {
    await cov?.stop();
  }
  return { cases: opts.iterations, kept: keptInputs.length, keptInputs, blocks: cov?.blocks ?? 0, slowestMs: slowest, failures };
}
