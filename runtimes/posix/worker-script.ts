// The code a pool worker runs (runtimes/posix/worker-pool.ts), kept as source text so the worker
// needs no file of its own: the CLI bundle, the library build and the sources all start it the
// same way (worker_threads' eval). It answers one message per job with node:zlib and node:crypto,
// the very providers the main thread uses (runtimes/posix/deflate.ts, hash.ts), so its output is
// byte-identical to the in-thread path. Plain JavaScript: it is not compiled.
//
// Protocol. In:  { id, op: 'deflate' | 'inflate' | 'sha256', buf: ArrayBuffer (transferred),
//                  level?: number, max?: number }
//           Out: { id, ok: true, buf: ArrayBuffer (transferred) }
//              | { id, ok: false, kind: 'corrupt' | 'limit' | 'error', message: string }

export const WORKER_SOURCE = String.raw`
'use strict';
const load = (n) => (typeof process !== 'undefined' && typeof process.getBuiltinModule === 'function'
  ? process.getBuiltinModule(n) : require(n));
const { parentPort } = load('node:worker_threads');
const zlib = load('node:zlib');
const crypto = load('node:crypto');

// An ArrayBuffer holding exactly the bytes of u (u's own when it spans it whole, else a copy).
function own(u) {
  if (u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && !(u.buffer instanceof SharedArrayBuffer)) return u.buffer;
  const c = new Uint8Array(u.byteLength);
  c.set(u);
  return c.buffer;
}

function run(m) {
  const data = new Uint8Array(m.buf);
  if (m.op === 'deflate') return zlib.deflateRawSync(data, { level: m.level });
  if (m.op === 'sha256') return crypto.createHash('sha256').update(data).digest();
  if (m.op === 'inflate') {
    let out;
    try {
      // zlib refuses maxOutputLength 0: allow one byte and check below.
      out = zlib.inflateRawSync(data, { maxOutputLength: Math.max(1, m.max) });
    } catch (e) {
      if (e && e.code === 'ERR_BUFFER_TOO_LARGE') throw { kind: 'limit', message: 'inflateRaw: output exceeds the limit of ' + m.max + ' bytes' };
      throw { kind: 'corrupt', message: 'inflateRaw: invalid deflate data (' + (e && e.message) + ')' };
    }
    if (out.byteLength > m.max) throw { kind: 'limit', message: 'inflateRaw: output exceeds the limit of ' + m.max + ' bytes' };
    return out;
  }
  throw { kind: 'error', message: 'unknown operation ' + String(m.op) };
}

parentPort.on('message', (m) => {
  let out;
  try {
    out = own(run(m));
  } catch (e) {
    const kind = e && typeof e.kind === 'string' ? e.kind : 'error';
    parentPort.postMessage({ id: m.id, ok: false, kind, message: String((e && e.message) || e) });
    return;
  }
  parentPort.postMessage({ id: m.id, ok: true, buf: out }, [out]);
});
`;
