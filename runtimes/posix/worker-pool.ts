// The Host's WorkerPool over node:worker_threads (Node, Bun, Deno's node compatibility): deflate,
// inflate and SHA-256 on other threads with node:zlib and node:crypto, as fflate's async API and
// libostree's worker threads take compression off the thread that schedules I/O. The workers run
// runtimes/posix/worker-script.ts. Threads start on first use (one per core but the main thread's,
// at least one); a worker with no job is unref'd, so an idle pool never keeps the process alive,
// while one with a job keeps it alive until the answer arrives. What the pool holds is bounded: a
// few jobs per worker and a cap on the bytes copied into jobs in flight; other calls wait in FIFO
// order holding only a reference to their caller's buffer.

import type * as WT from 'node:worker_threads';
import type { WorkerPool } from '../../src/host.ts';
import { CorruptionError, XylemError } from '../../src/util/errors.ts';
import { lazyBuiltin } from './builtin.ts';
import { WORKER_SOURCE } from './worker-script.ts';

const workerThreads = lazyBuiltin<typeof WT>('node:worker_threads');

type Op = 'deflate' | 'inflate' | 'sha256';

interface Job {
  id: number;
  op: Op;
  data: Uint8Array;
  level: number;
  max: number;
  resolve(out: Uint8Array): void;
  reject(e: Error): void;
}

interface Reply {
  id: number;
  ok: boolean;
  buf?: ArrayBuffer;
  kind?: string;
  message?: string;
}

interface Slot {
  worker: WT.Worker;
  jobs: Map<number, Job>;
  bytes: number;
  /** Stops the worker after idleMs without a job (unref'd: never keeps the process alive). */
  idleTimer: ReturnType<typeof setTimeout> | null;
}

export interface WorkerPoolOptions {
  /** Worker threads at most (default: cores - 1, at least 1; capped at 64). */
  size?: number;
  /** Jobs handed to one worker at once (default 2: one runs while the next is posted). */
  jobsPerWorker?: number;
  /** Input bytes copied into jobs in flight at most (default 32 MiB); one bigger job still runs alone. */
  maxInFlightBytes?: number;
  /** Sets the pool's warmupBytes (see WorkerPool; default: the engine's 16 MiB). */
  warmupBytes?: number;
  /** A worker without a job for this long is stopped (default 5000 ms); the next job starts one again. */
  idleMs?: number;
}

/** Largest input a job accepts (the biggest object a caller may hand over whole). */
const MAX_JOB_BYTES = 1 << 30;

function copyOf(data: Uint8Array): ArrayBuffer {
  const c = new Uint8Array(data.byteLength);
  c.set(data);
  return c.buffer;
}

/** A pool of `node:worker_threads` workers implementing the Host's WorkerPool. */
export function createThreadWorkerPool(cores: number, opts: WorkerPoolOptions = {}): WorkerPool {
  if (!Number.isInteger(cores) || cores < 1) throw new RangeError(`createThreadWorkerPool: cores must be a positive integer, got ${cores}`);
  const size = opts.size ?? Math.max(1, cores - 1);
  if (!Number.isInteger(size) || size < 1 || size > 64) throw new RangeError(`createThreadWorkerPool: size must be in 1..64, got ${size}`);
  const perWorker = opts.jobsPerWorker ?? 2;
  if (!Number.isInteger(perWorker) || perWorker < 1 || perWorker > 64) throw new RangeError(`createThreadWorkerPool: jobsPerWorker must be in 1..64`);
  const maxBytes = opts.maxInFlightBytes ?? 32 << 20;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`createThreadWorkerPool: invalid maxInFlightBytes ${maxBytes}`);
  const idleMs = opts.idleMs ?? 5000;
  if (!Number.isSafeInteger(idleMs) || idleMs < 0) throw new RangeError(`createThreadWorkerPool: invalid idleMs ${idleMs}`);

  const slots: Slot[] = [];
  const waiting: Job[] = [];
  let waitHead = 0;
  let inFlightBytes = 0;
  let nextId = 1;

  function failSlot(slot: Slot, why: string): void {
    clearIdle(slot);
    const i = slots.indexOf(slot);
    if (i >= 0) slots.splice(i, 1);
    for (const job of slot.jobs.values()) job.reject(new XylemError(`worker pool: ${why}`, 'EWORKER'));
    inFlightBytes -= slot.bytes;
    slot.jobs.clear();
    slot.bytes = 0;
    void slot.worker.terminate().catch(() => {});
    pump();
  }

  function spawn(): Slot {
    const { Worker } = workerThreads();
    // A small young generation: the job buffers a worker drops are freed by frequent scavenges
    // instead of piling up until a major GC (RSS of the whole process is what the bench checks).
    const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'xylem-pool', resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 128 } });
    worker.unref();
    const slot: Slot = { worker, jobs: new Map(), bytes: 0, idleTimer: null };
    worker.on('message', (r: Reply) => {
      const job = slot.jobs.get(r.id);
      if (!job) return;
      slot.jobs.delete(r.id);
      slot.bytes -= job.data.byteLength;
      inFlightBytes -= job.data.byteLength;
      if (slot.jobs.size === 0) {
        worker.unref();
        armIdle(slot);
      }
      if (r.ok && r.buf instanceof ArrayBuffer) job.resolve(new Uint8Array(r.buf));
      else if (r.kind === 'corrupt' || r.kind === 'limit') job.reject(new CorruptionError(String(r.message)));
      else job.reject(new XylemError(`worker pool: ${String(r.message ?? 'bad reply')}`, 'EWORKER'));
      pump();
    });
    worker.on('error', (e: Error) => failSlot(slot, `worker failed: ${e.message}`));
    worker.on('exit', (code: number) => {
      if (slots.includes(slot)) failSlot(slot, `worker exited with code ${code}`);
    });
    slots.push(slot);
    return slot;
  }

  function clearIdle(slot: Slot): void {
    if (slot.idleTimer !== null) clearTimeout(slot.idleTimer);
    slot.idleTimer = null;
  }

  function armIdle(slot: Slot): void {
    clearIdle(slot);
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = null;
      if (slot.jobs.size !== 0) return;
      const i = slots.indexOf(slot);
      if (i >= 0) slots.splice(i, 1);
      void slot.worker.terminate().catch(() => 0);
    }, idleMs);
    (slot.idleTimer as { unref?: () => void }).unref?.();
  }

  /** The least busy worker with room for a job, starting one while fewer than `size` run. */
  function freeSlot(): Slot | null {
    let best: Slot | null = null;
    for (const s of slots) if (s.jobs.size < perWorker && (best === null || s.jobs.size < best.jobs.size)) best = s;
    if (best !== null && best.jobs.size === 0) return best;
    if (slots.length < size) return spawn();
    return best;
  }

  function pump(): void {
    while (waitHead < waiting.length) {
      const job = waiting[waitHead]!;
      if (inFlightBytes > 0 && inFlightBytes + job.data.byteLength > maxBytes) break;
      const slot = freeSlot();
      if (slot === null) break;
      waiting[waitHead++] = undefined as unknown as Job;
      dispatch(slot, job);
    }
    if (waitHead > 1024 && waitHead * 2 > waiting.length) {
      waiting.splice(0, waitHead);
      waitHead = 0;
    }
  }

  function dispatch(slot: Slot, job: Job): void {
    let buf: ArrayBuffer;
    try {
      buf = copyOf(job.data); // the caller keeps its buffer (it may be pooled)
    } catch (e) {
      job.reject(e as Error);
      return;
    }
    if (slot.jobs.size === 0) {
      clearIdle(slot);
      slot.worker.ref();
    }
    slot.jobs.set(job.id, job);
    slot.bytes += job.data.byteLength;
    inFlightBytes += job.data.byteLength;
    slot.worker.postMessage({ id: job.id, op: job.op, buf, level: job.level, max: job.max }, [buf]);
  }

  function submit(op: Op, data: Uint8Array, level: number, max: number): Promise<Uint8Array> {
    if (!(data instanceof Uint8Array)) return Promise.reject(new TypeError(`worker pool ${op}: data must be a Uint8Array`));
    if (data.byteLength > MAX_JOB_BYTES) return Promise.reject(new RangeError(`worker pool ${op}: ${data.byteLength} bytes is over the ${MAX_JOB_BYTES}-byte job limit`));
    return new Promise<Uint8Array>((resolve, reject) => {
      waiting.push({ id: nextId++, op, data, level, max, resolve, reject });
      pump();
    });
  }

  const pool: WorkerPool = {
    name: 'worker_threads',
    size,
    deflateName: 'node:zlib',
    deflateRaw(data: Uint8Array, level: number): Promise<Uint8Array> {
      if (!Number.isInteger(level) || level < -1 || level > 9) return Promise.reject(new RangeError(`deflateRaw: level must be an integer in -1..9, got ${level}`));
      return submit('deflate', data, level, 0);
    },
    inflateRaw(data: Uint8Array, maxOutput: number): Promise<Uint8Array> {
      if (!Number.isSafeInteger(maxOutput) || maxOutput < 0 || maxOutput > MAX_JOB_BYTES * 4)
        return Promise.reject(new RangeError(`inflateRaw: maxOutput must be an integer in 0..${MAX_JOB_BYTES * 4}, got ${maxOutput}`));
      return submit('inflate', data, 0, maxOutput);
    },
    sha256(data: Uint8Array): Promise<Uint8Array> {
      return submit('sha256', data, 0, 0);
    },
    async close(): Promise<void> {
      const all = slots.splice(0, slots.length);
      for (const s of all) {
        clearIdle(s);
        for (const job of s.jobs.values()) job.reject(new XylemError('worker pool: closed', 'EWORKER'));
        inFlightBytes -= s.bytes;
      }
      for (let i = waitHead; i < waiting.length; i++) waiting[i]!.reject(new XylemError('worker pool: closed', 'EWORKER'));
      waiting.length = 0;
      waitHead = 0;
      await Promise.all(all.map((s) => s.worker.terminate().catch(() => 0)));
    },
  };
  if (opts.warmupBytes !== undefined) {
    if (!Number.isSafeInteger(opts.warmupBytes) || opts.warmupBytes < 0) throw new RangeError(`createThreadWorkerPool: invalid warmupBytes ${opts.warmupBytes}`);
    return { ...pool, warmupBytes: opts.warmupBytes };
  }
  return pool;
}
