// Reading an HTTP response body with a size cap, for every client of untrusted servers (remote
// summaries, the browser audit, the delta service's origin). The declared Content-Length is
// checked before anything is read, and the stream is cancelled as soon as it passes the cap, so
// a hostile or broken server can never make us allocate more than `maxBytes`.

import { concatBytes } from './bytes.ts';

/** Why a body was refused: its declared length, or the bytes actually sent, passed the cap. */
export type BodyOverCap = { kind: 'declared'; declared: number } | { kind: 'sent'; sent: number };

/**
 * Reads `res`'s whole body, at most `maxBytes`. When the body is too large, the stream is
 * cancelled and the error made by `tooLarge` is thrown (so each caller keeps its own wording and
 * error type).
 */
export async function readBodyCapped(
  res: Response,
  maxBytes: number,
  tooLarge: (over: BodyOverCap) => Error,
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`readBodyCapped: invalid limit ${maxBytes}`);
  const header = res.headers.get('content-length');
  if (header !== null && /^\d+$/.test(header.trim()) && Number(header) > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge({ kind: 'declared', declared: Number(header) });
  }
  if (!res.body) {
    const buf = new Uint8Array(await res.arrayBuffer());
    if (buf.length > maxBytes) throw tooLarge({ kind: 'sent', sent: buf.length });
    return buf;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge({ kind: 'sent', sent: total });
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
}
