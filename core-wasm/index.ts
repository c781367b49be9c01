// TypeScript facade over the WASM core (core-wasm/assembly): loads the module (embedded bytes,
// caller-supplied bytes, or a precompiled WebAssembly.Module for edge runtimes that refuse to
// compile) and wraps its pointer/length protocol in typed functions: SHA-256 (one-shot,
// streaming, 4-lane SIMD batches), the sorted dirtree table diff, and for static deltas
// bsdiff/bspatch (OSTree's raw stream form) and bupsplit chunking.
// Runtime-neutral: no node:* imports, nothing from src/ (dependency direction is core-wasm <- src).

import { wasmBytes } from './gen/wasm-bytes.ts';

/** One dirtree entry: file entries carry a 32-byte content checksum, subdir entries 64 bytes (tree + meta). */
export interface TreeEntry {
  name: string;
  checksum: Uint8Array;
}

export type TreeDiffKind = 'added' | 'removed' | 'modified';

export interface TreeDiffEntry {
  kind: TreeDiffKind;
  name: string;
  /** Index in table a, or -1 when added. */
  a: number;
  /** Index in table b, or -1 when removed. */
  b: number;
}

/** Incremental SHA-256 (structurally the Sha256 interface of src/host.ts). */
export interface Sha256Stream {
  update(data: Uint8Array): void;
  /** Finishes the hash; the stream cannot be updated afterwards. */
  digest(): Uint8Array;
}

export interface Core {
  /** SHA-256 of `data` (any size). */
  sha256(data: Uint8Array): Uint8Array;
  /** A streaming SHA-256; any number may be alive and interleaved. */
  createSha256(): Sha256Stream;
  /** SHA-256 of each input, four at a time on the SIMD kernel; result i belongs to input i. */
  sha256Many(inputs: readonly Uint8Array[]): Uint8Array[];
  /**
   * Added / removed / modified entries between two dirtree tables, each sorted strictly by name
   * bytes (UTF-8, strcmp order) as OSTree stores them. Results come in name order.
   */
  treeDiff(a: readonly TreeEntry[], b: readonly TreeEntry[]): TreeDiffEntry[];
  /**
   * Applies a bsdiff patch in OSTree's raw stream form (no header) to `old`; the result has exactly
   * `newSize` bytes. Throws on a malformed patch (never reads or writes out of bounds).
   */
  bspatch(old: Uint8Array, patch: Uint8Array, newSize: number): Uint8Array;
  /** A bsdiff patch (raw stream form, as bspatch reads) turning `old` into `new`. */
  bsdiff(old: Uint8Array, new_: Uint8Array): Uint8Array;
  /** bupsplit chunks of `data` (each at most 32 KiB): their lengths and CRC-32s, in order. */
  rollsumChunks(data: Uint8Array): { lengths: Uint32Array; crcs: Uint32Array };
}

/** Structurally the HashProvider interface of src/host.ts. */
export interface WasmHashProvider {
  readonly name: 'wasm';
  createSha256(): Sha256Stream;
  sha256(data: Uint8Array): Uint8Array;
}

/** The raw exports of the module (see core-wasm/assembly/index.ts). */
interface CoreExports {
  memory: WebAssembly.Memory;
  layoutVersion(): number;
  inputPtr(): number;
  inputSize(): number;
  outputPtr(): number;
  contextsPtr(): number;
  contextSize(): number;
  contextCount(): number;
  lanesPtr(): number;
  laneSize(): number;
  arenaEnsure(size: number): number;
  sha256Init(ctx: number): void;
  sha256Update(ctx: number, ptr: number, len: number): void;
  sha256Final(ctx: number, outPtr: number): void;
  sha256Digest(ptr: number, len: number, outPtr: number): void;
  sha256Blocks(statePtr: number, ptr: number, nblocks: number): void;
  sha256StateDigest(statePtr: number, outPtr: number): void;
  sha256x4Init(): void;
  sha256x4Blocks(nblocks: number): void;
  sha256x4LaneState(lane: number, statePtr: number): void;
  sha256x4Digests(outPtr: number): void;
  treeDiff(aPtr: number, aCount: number, bPtr: number, bCount: number, checksumLength: number, outPtr: number): number;
  bspatch(oldPtr: number, oldSize: bigint, patchPtr: number, patchSize: bigint, newPtr: number, newSize: bigint): bigint;
  bsdiff(oldPtr: number, oldSize: number, newPtr: number, newSize: number, iPtr: number, vPtr: number, outPtr: number, outCap: number): number;
  rollsumChunks(ptr: number, len: number, outPtr: number, maxChunks: number): number;
}

const LAYOUT_VERSION = 1;
/** Largest arena request the module accepts (see arenaEnsure in core-wasm/assembly/layout.ts). */
const MAX_ARENA_BYTES = 0x7fff0000;
const EXPORTED_FUNCTIONS: readonly (keyof CoreExports)[] = [
  'layoutVersion', 'inputPtr', 'inputSize', 'outputPtr', 'contextsPtr', 'contextSize', 'contextCount',
  'lanesPtr', 'laneSize', 'arenaEnsure', 'sha256Init', 'sha256Update', 'sha256Final', 'sha256Digest',
  'sha256Blocks', 'sha256StateDigest', 'sha256x4Init', 'sha256x4Blocks', 'sha256x4LaneState',
  'sha256x4Digests', 'treeDiff', 'bspatch', 'bsdiff', 'rollsumChunks',
];
const DIFF_KINDS: readonly (TreeDiffKind | undefined)[] = [undefined, 'added', 'removed', 'modified'];

let embeddedModule: WebAssembly.Module | undefined;

function embedded(): WebAssembly.Module {
  embeddedModule ??= new WebAssembly.Module(wasmBytes() as BufferSource);
  return embeddedModule;
}

function checkSource(source: unknown): void {
  if (source !== undefined && !(source instanceof Uint8Array) && !(source instanceof WebAssembly.Module)) {
    throw new TypeError('loadCore: source must be a Uint8Array, a WebAssembly.Module or undefined');
  }
}

/** Instantiates the core asynchronously (default: the embedded module bytes). */
export async function loadCore(source?: Uint8Array | WebAssembly.Module): Promise<Core> {
  checkSource(source);
  let module: WebAssembly.Module;
  if (source instanceof WebAssembly.Module) module = source;
  else if (source instanceof Uint8Array) module = await WebAssembly.compile(source as BufferSource);
  else module = embeddedModule ??= await WebAssembly.compile(wasmBytes() as BufferSource);
  const instance = await WebAssembly.instantiate(module, {});
  return new WasmCore(instance.exports as unknown as CoreExports);
}

/** Instantiates the core synchronously (for start-up paths that cannot await). */
export function loadCoreSync(source?: Uint8Array | WebAssembly.Module): Core {
  checkSource(source);
  let module: WebAssembly.Module;
  if (source instanceof WebAssembly.Module) module = source;
  else if (source instanceof Uint8Array) module = new WebAssembly.Module(source as BufferSource);
  else module = embedded();
  const instance = new WebAssembly.Instance(module, {});
  return new WasmCore(instance.exports as unknown as CoreExports);
}

/** A HashProvider (src/host.ts shape) backed by the WASM core. */
export function wasmHashProvider(core: Core): WasmHashProvider {
  if (!(core instanceof WasmCore)) throw new TypeError('wasmHashProvider: expected a Core from loadCore()');
  return {
    name: 'wasm',
    createSha256: () => core.createSha256(),
    sha256: (data: Uint8Array) => core.sha256(data),
  };
}

/** The core's batched SHA-256 (4-lane SIMD) as a standalone function. */
export function wasmSimdSha256Many(core: Core): (inputs: readonly Uint8Array[]) => Uint8Array[] {
  if (!(core instanceof WasmCore)) throw new TypeError('wasmSimdSha256Many: expected a Core from loadCore()');
  return (inputs) => core.sha256Many(inputs);
}

function checkBytes(where: string, data: unknown): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) throw new TypeError(`${where}: expected a Uint8Array`);
}

/** Length in bytes of the SHA-256 padded stream for a message of `length` bytes. */
function paddedLength(length: number): number {
  return Math.floor((length + 8) / 64) * 64 + 64;
}

/**
 * Copies bytes [from, from + count) of msg's padded stream (msg, 0x80, zeros, 64-bit big-endian
 * bit length) to dst at `at`.
 */
function copyPadded(msg: Uint8Array, from: number, count: number, dst: Uint8Array, at: number): void {
  const len = msg.length;
  const end = from + count;
  const base = at - from; // dst index of stream position 0
  if (from < len) {
    const stop = Math.min(end, len);
    dst.set(msg.subarray(from, stop), at);
    if (stop === end) return;
    from = stop;
  }
  dst.fill(0, base + from, base + end);
  if (from === len) dst[base + len] = 0x80;
  const lengthAt = paddedLength(len) - 8;
  if (end > lengthAt) {
    const hi = Math.floor(len / 0x20000000);
    const lo = (len % 0x20000000) * 8;
    const bytes = [hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
    for (let k = 0; k < 8; k++) {
      const pos = lengthAt + k;
      if (pos >= from && pos < end) dst[base + pos] = bytes[k];
    }
  }
}

class WasmStream implements Sha256Stream {
  /** Context slot this stream occupies, or -1 when its state lives in `saved` (or is fresh). */
  slot = -1;
  saved: Uint8Array | null = null;
  done = false;

  constructor(private readonly core: WasmCore) {}

  update(data: Uint8Array): void {
    checkBytes('sha256.update', data);
    if (this.done) throw new Error('sha256: update() after digest()');
    this.core.streamUpdate(this, data);
  }

  digest(): Uint8Array {
    if (this.done) throw new Error('sha256: digest() called twice');
    this.done = true;
    return this.core.streamDigest(this);
  }
}

class WasmCore implements Core {
  private readonly x: CoreExports;
  private view: Uint8Array;
  private readonly inputPtr: number;
  private readonly inputSize: number;
  private readonly outputPtr: number;
  private readonly contextsPtr: number;
  private readonly contextSize: number;
  private readonly lanesPtr: number;
  private readonly laneSize: number;
  /** Context reserved for the facade's own one-shot work (never cached). */
  private readonly scratchCtx: number;
  /** Stream occupying each cacheable context slot. */
  private readonly owners: (WasmStream | null)[];
  private nextVictim = 0;
  private readonly encoder = new TextEncoder();

  constructor(exports: CoreExports) {
    for (const name of EXPORTED_FUNCTIONS) {
      if (typeof exports[name] !== 'function') throw new Error(`core-wasm: module lacks export ${name}`);
    }
    if (!(exports.memory instanceof WebAssembly.Memory)) throw new Error('core-wasm: module lacks exported memory');
    if (exports.layoutVersion() !== LAYOUT_VERSION) {
      throw new Error(`core-wasm: layout version ${exports.layoutVersion()}, expected ${LAYOUT_VERSION}`);
    }
    this.x = exports;
    this.view = new Uint8Array(exports.memory.buffer);
    this.inputPtr = exports.inputPtr();
    this.inputSize = exports.inputSize();
    this.outputPtr = exports.outputPtr();
    this.contextsPtr = exports.contextsPtr();
    this.contextSize = exports.contextSize();
    this.lanesPtr = exports.lanesPtr();
    this.laneSize = exports.laneSize();
    const count = exports.contextCount();
    this.scratchCtx = this.contextsPtr + (count - 1) * this.contextSize;
    this.owners = new Array<WasmStream | null>(count - 1).fill(null);
  }

  /** The memory as bytes; re-created whenever memory.grow detached the previous buffer. */
  private mem(): Uint8Array {
    if (this.view.buffer !== this.x.memory.buffer) this.view = new Uint8Array(this.x.memory.buffer);
    return this.view;
  }

  private readDigest(ptr: number): Uint8Array {
    return this.mem().slice(ptr, ptr + 32);
  }

  sha256(data: Uint8Array): Uint8Array {
    checkBytes('sha256', data);
    const x = this.x;
    if (data.length <= this.inputSize) {
      this.mem().set(data, this.inputPtr);
      x.sha256Digest(this.inputPtr, data.length, this.outputPtr);
    } else {
      x.sha256Init(this.scratchCtx);
      this.absorb(this.scratchCtx, data);
      x.sha256Final(this.scratchCtx, this.outputPtr);
    }
    return this.readDigest(this.outputPtr);
  }

  private absorb(ctx: number, data: Uint8Array): void {
    const mem = this.mem();
    for (let off = 0; off < data.length; off += this.inputSize) {
      const n = Math.min(this.inputSize, data.length - off);
      mem.set(data.subarray(off, off + n), this.inputPtr);
      this.x.sha256Update(ctx, this.inputPtr, n);
    }
  }

  createSha256(): Sha256Stream {
    return new WasmStream(this);
  }

  /** Makes `s` resident in a context slot (evicting another stream if needed); returns the context pointer. */
  private acquire(s: WasmStream): number {
    if (s.slot >= 0 && this.owners[s.slot] === s) return this.contextsPtr + s.slot * this.contextSize;
    let slot = this.owners.indexOf(null);
    if (slot < 0) {
      slot = this.nextVictim;
      this.nextVictim = (this.nextVictim + 1) % this.owners.length;
      const victim = this.owners[slot] as WasmStream;
      const at = this.contextsPtr + slot * this.contextSize;
      victim.saved ??= new Uint8Array(this.contextSize);
      victim.saved.set(this.mem().subarray(at, at + this.contextSize));
      victim.slot = -1;
    }
    this.owners[slot] = s;
    s.slot = slot;
    const ctx = this.contextsPtr + slot * this.contextSize;
    if (s.saved) this.mem().set(s.saved, ctx);
    else this.x.sha256Init(ctx);
    return ctx;
  }

  streamUpdate(s: WasmStream, data: Uint8Array): void {
    const ctx = this.acquire(s);
    this.absorb(ctx, data);
  }

  streamDigest(s: WasmStream): Uint8Array {
    const ctx = this.acquire(s);
    this.x.sha256Final(ctx, this.outputPtr);
    this.owners[s.slot] = null;
    s.slot = -1;
    s.saved = null;
    return this.readDigest(this.outputPtr);
  }

  sha256Many(inputs: readonly Uint8Array[]): Uint8Array[] {
    if (!Array.isArray(inputs)) throw new TypeError('sha256Many: expected an array of Uint8Array');
    inputs.forEach((d, i) => checkBytes(`sha256Many: input ${i}`, d));
    const out = new Array<Uint8Array>(inputs.length);
    // Longest first, so each batch of four holds messages of similar length.
    const order = inputs.map((_, i) => i).sort((i, j) => inputs[j].length - inputs[i].length);
    for (let g = 0; g < order.length; g += 4) {
      const batch = order.slice(g, g + 4);
      if (batch.length === 1) out[batch[0]] = this.sha256(inputs[batch[0]]);
      else this.hashBatch(batch.map((i) => inputs[i])).forEach((d, k) => (out[batch[k]] = d));
    }
    return out;
  }

  /** Hashes 2..4 messages on the 4-lane kernel; lanes longer than the shortest finish on the scalar kernel. */
  private hashBatch(msgs: Uint8Array[]): Uint8Array[] {
    const x = this.x;
    const blocks = msgs.map((m) => paddedLength(m.length) / 64);
    const common = Math.min(...blocks);
    const perCall = this.laneSize / 64;
    x.sha256x4Init();
    for (let blk = 0; blk < common; blk += perCall) {
      const n = Math.min(perCall, common - blk);
      const mem = this.mem();
      msgs.forEach((m, lane) => copyPadded(m, blk * 64, n * 64, mem, this.lanesPtr + lane * this.laneSize));
      x.sha256x4Blocks(n);
    }
    x.sha256x4Digests(this.outputPtr);
    const lanes = this.mem().slice(this.outputPtr, this.outputPtr + 128);
    return msgs.map((m, lane) => {
      if (blocks[lane] === common) return lanes.slice(lane * 32, lane * 32 + 32);
      const state = this.scratchCtx;
      x.sha256x4LaneState(lane, state);
      const perInput = this.inputSize / 64;
      for (let blk = common; blk < blocks[lane]; blk += perInput) {
        const n = Math.min(perInput, blocks[lane] - blk);
        copyPadded(m, blk * 64, n * 64, this.mem(), this.inputPtr);
        x.sha256Blocks(state, this.inputPtr, n);
      }
      x.sha256StateDigest(state, this.outputPtr);
      return this.readDigest(this.outputPtr);
    });
  }

  treeDiff(a: readonly TreeEntry[], b: readonly TreeEntry[]): TreeDiffEntry[] {
    if (!Array.isArray(a) || !Array.isArray(b)) throw new TypeError('treeDiff: expected two arrays of entries');
    let checksumLength = -1;
    let bound = 0;
    for (const [table, entries] of [['a', a], ['b', b]] as const) {
      entries.forEach((e, i) => {
        if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !(e.checksum instanceof Uint8Array)) {
          throw new TypeError(`treeDiff: ${table}[${i}] must be { name: string, checksum: Uint8Array }`);
        }
        const len = e.checksum.length;
        if (len !== 32 && len !== 64) throw new Error(`treeDiff: ${table}[${i}] checksum must be 32 or 64 bytes, got ${len}`);
        if (checksumLength !== -1 && len !== checksumLength) {
          throw new Error(`treeDiff: ${table}[${i}] checksum is ${len} bytes, other entries have ${checksumLength}`);
        }
        checksumLength = len;
        bound += 4 + e.name.length * 3 + len;
      });
    }
    if (checksumLength === -1) return [];
    const records = a.length + b.length;
    const size = ((bound + 3) & ~3) + records * 12;
    const base = size > MAX_ARENA_BYTES ? 0 : this.x.arenaEnsure(size);
    if (base === 0) throw new Error(`treeDiff: tables too large (${size} bytes of WASM memory needed)`);
    const mem = this.mem();
    const aPtr = base;
    const bPtr = this.writeTable(mem, aPtr, a);
    const outPtr = (this.writeTable(mem, bPtr, b) + 3) & ~3;
    const count = this.x.treeDiff(aPtr, a.length, bPtr, b.length, checksumLength, outPtr);
    if (count < 0) {
      throw new Error(`treeDiff: table ${count === -1 ? 'a' : 'b'} is not sorted strictly by name bytes (strcmp order, no duplicates)`);
    }
    const rec = new Int32Array(this.mem().buffer, outPtr, count * 3);
    const result = new Array<TreeDiffEntry>(count);
    for (let r = 0; r < count; r++) {
      const kind = DIFF_KINDS[rec[r * 3]];
      const ia = rec[r * 3 + 1];
      const ib = rec[r * 3 + 2];
      if (kind === undefined) throw new Error(`treeDiff: kernel returned invalid record kind ${rec[r * 3]}`);
      result[r] = { kind, name: ia >= 0 ? a[ia].name : b[ib].name, a: ia, b: ib };
    }
    return result;
  }

  bspatch(old: Uint8Array, patch: Uint8Array, newSize: number): Uint8Array {
    checkBytes('bspatch: old', old);
    checkBytes('bspatch: patch', patch);
    if (!Number.isSafeInteger(newSize) || newSize < 0) throw new RangeError(`bspatch: invalid new size ${newSize}`);
    const oldAt = 0;
    const patchAt = align16(old.length);
    const newAt = patchAt + align16(patch.length);
    const base = this.arena(newAt + newSize, 'bspatch');
    const mem = this.mem();
    mem.set(old, base + oldAt);
    mem.set(patch, base + patchAt);
    const r = this.x.bspatch(base + oldAt, BigInt(old.length), base + patchAt, BigInt(patch.length), base + newAt, BigInt(newSize));
    if (r < 0n) throw new Error(`bspatch: ${BSPATCH_ERRORS[Number(-r)] ?? `error ${r}`}`);
    return this.mem().slice(base + newAt, base + newAt + newSize);
  }

  bsdiff(old: Uint8Array, new_: Uint8Array): Uint8Array {
    checkBytes('bsdiff: old', old);
    checkBytes('bsdiff: new', new_);
    const work = 4 * (old.length + 1);
    let cap = new_.length + 24 * (Math.ceil(new_.length / 64) + 64);
    for (;;) {
      const newAt = align16(old.length);
      const iAt = newAt + align16(new_.length);
      const vAt = iAt + align16(work);
      const outAt = vAt + align16(work);
      const base = this.arena(outAt + cap, 'bsdiff');
      const mem = this.mem();
      mem.set(old, base);
      mem.set(new_, base + newAt);
      const n = this.x.bsdiff(base, old.length, base + newAt, new_.length, base + iAt, base + vAt, base + outAt, cap);
      if (n >= 0) return this.mem().slice(base + outAt, base + outAt + n);
      cap *= 2;
    }
  }

  rollsumChunks(data: Uint8Array): { lengths: Uint32Array; crcs: Uint32Array } {
    checkBytes('rollsumChunks', data);
    // every chunk but the last ends at a split point found after at least one byte; bound generously
    const maxChunks = data.length + 1;
    const outAt = align16(data.length);
    const base = this.arena(outAt + maxChunks * 8, 'rollsumChunks');
    this.mem().set(data, base);
    const n = this.x.rollsumChunks(base, data.length, base + outAt, maxChunks);
    if (n < 0) throw new Error('rollsumChunks: kernel ran out of record space');
    const rec = new Uint32Array(this.mem().buffer.slice(base + outAt, base + outAt + n * 8));
    const lengths = new Uint32Array(n);
    const crcs = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      lengths[i] = rec[2 * i];
      crcs[i] = rec[2 * i + 1];
    }
    return { lengths, crcs };
  }

  /** Makes `size` bytes of arena addressable; returns its base pointer. */
  private arena(size: number, where: string): number {
    const base = size > MAX_ARENA_BYTES ? 0 : this.x.arenaEnsure(size);
    if (base === 0) throw new Error(`${where}: input too large (${size} bytes of WASM memory needed)`);
    return base;
  }

  /** Packs entries at `ptr` (u32 LE name length, UTF-8 name, checksum); returns the end pointer. */
  private writeTable(mem: Uint8Array, ptr: number, entries: readonly TreeEntry[]): number {
    for (const e of entries) {
      const { written } = this.encoder.encodeInto(e.name, mem.subarray(ptr + 4));
      mem[ptr] = written & 255;
      mem[ptr + 1] = (written >>> 8) & 255;
      mem[ptr + 2] = (written >>> 16) & 255;
      mem[ptr + 3] = written >>> 24;
      ptr += 4 + written;
      mem.set(e.checksum, ptr);
      ptr += e.checksum.length;
    }
    return ptr;
  }
}

function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}

const BSPATCH_ERRORS: Record<number, string> = {
  1: 'patch is truncated',
  2: 'patch has an invalid control value',
  3: 'patch writes past the end of the new file',
};
