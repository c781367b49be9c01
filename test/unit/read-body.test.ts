// readBodyCapped: the one capped body reader used by remote summaries, the browser audit and the
// delta service's origin. A lying or missing Content-Length must not get past the cap.
import { describe, expect, it } from 'vitest';
import { readBodyCapped, type BodyOverCap } from '../../src/util/read-body.ts';

function streamOf(chunks: Uint8Array[], pulled: { n: number; cancelled: boolean }): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < chunks.length) {
        pulled.n++;
        c.enqueue(chunks[i++]!);
      } else c.close();
    },
    cancel() {
      pulled.cancelled = true;
    },
  });
}

const over = (o: BodyOverCap): Error => new Error(o.kind === 'declared' ? `declared ${o.declared}` : `sent ${o.sent}`);

describe('readBodyCapped', () => {
  it('joins a chunked body of exactly the cap', async () => {
    const st = { n: 0, cancelled: false };
    const res = new Response(streamOf([new Uint8Array([1, 2]), new Uint8Array([3]), new Uint8Array([4, 5])], st));
    expect(Array.from(await readBodyCapped(res, 5, over))).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses a declared length over the cap before reading anything', async () => {
    const st = { n: 0, cancelled: false };
    const res = new Response(streamOf([new Uint8Array(10)], st), { headers: { 'content-length': '10' } });
    await expect(readBodyCapped(res, 9, over)).rejects.toThrow('declared 10');
    expect(st.n).toBe(0);
    expect(st.cancelled).toBe(true);
  });

  it('stops reading a body that lies about (or omits) its length as soon as it passes the cap', async () => {
    const st = { n: 0, cancelled: false };
    const chunks = Array.from({ length: 100 }, () => new Uint8Array(4));
    const res = new Response(streamOf(chunks, st), { headers: { 'content-length': '4' } });
    await expect(readBodyCapped(res, 10, over)).rejects.toThrow('sent 12');
    expect(st.n).toBeLessThanOrEqual(4);
    expect(st.cancelled).toBe(true);
  });

  it('reads an empty body and rejects an invalid cap', async () => {
    expect((await readBodyCapped(new Response(null), 0, over)).length).toBe(0);
    await expect(readBodyCapped(new Response(null), -1, over)).rejects.toThrow(RangeError);
  });
});
