// A file over 64 MiB (real pseudo-random content with a hole), both ways, in archive and
// bare-user: the same content checksum and commit from both tools, `ostree fsck` accepts xylem's
// objects, and each tool checks out the other's commit byte for byte.

import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TempDir, buildCli, describeInterop, disposeCli, initRepo, ostreeFsck, run, type Mode } from '../helpers/interop.ts';
import { BIG_FILE_SIZE, writeBigFile } from '../helpers/tricky-tree.ts';

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

describeInterop('interop: a file over 64 MiB', () => {
  vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });
  let tmp: TempDir;
  let tree: string;
  let want: string;

  beforeAll(async () => {
    buildCli();
    tmp = new TempDir();
    tree = tmp.join('tree');
    mkdirSync(`${tree}/big`, { recursive: true });
    writeBigFile(`${tree}/big/huge.bin`);
    want = await sha256File(`${tree}/big/huge.bin`);
  });
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  for (const mode of ['archive', 'bare-user'] as Mode[]) {
    describe(mode, () => {
      it('same commit from both tools; ostree fsck clean; each checks out the other', async () => {
        const x = initRepo('xylem', tmp.join(`x-${mode}`), mode);
        const o = initRepo('ostree', tmp.join(`o-${mode}`), mode);
        const args = ['commit', '-b', 'big', '--timestamp=2023-03-03T03:03:03Z', tree];
        const xc = run('xylem', [`--repo=${x}`, ...args]);
        const oc = run('ostree', [`--repo=${o}`, ...args]);
        expect(xc).toBe(oc);
        ostreeFsck(x);
        const xo = tmp.join(`co-x-of-o-${mode}`);
        const ox = tmp.join(`co-o-of-x-${mode}`);
        const flags = mode === 'bare-user' ? ['-U'] : [];
        run('xylem', [`--repo=${o}`, 'checkout', ...flags, 'big', xo]);
        run('ostree', [`--repo=${x}`, 'checkout', ...flags, 'big', ox]);
        for (const d of [xo, ox]) {
          expect(statSync(`${d}/big/huge.bin`).size).toBe(BIG_FILE_SIZE);
          expect(await sha256File(`${d}/big/huge.bin`), d).toBe(want);
        }
        // ls shows the same size and checksum.
        expect(run('xylem', [`--repo=${x}`, 'ls', '-C', 'big', '/big/huge.bin'])).toBe(run('ostree', [`--repo=${o}`, 'ls', '-C', 'big', '/big/huge.bin']));
      });
    });
  }
});
