// The trust model of the serverless delta service, checked with the real ostree: an origin whose
// commits and summary are GPG-signed (the ostree test suite's key) is served through workerd; a
// client that verifies commit and summary signatures pulls c1→c2 through a generated delta and
// accepts it (summary and summary.sig pass through untouched; the commit's detached signature
// travels in the superblock). With the summary rewrite switched on and no signing key given to the
// service, the same client refuses the pull — a rewritten summary is not the origin's statement.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeInterop } from '../helpers/interop.ts';
import { CAN_RUN, KEY1, SUITE_GPGHOME, copyGpgHome, killAgent } from '../sign/helpers.ts';
import { buildServerless, makeOrigin, ostree, ostreePullThrough, serveDir, startWorkerd, stats, toolWorks, WORKERD, type Running, type StaticServer } from './helpers.ts';

const ready = toolWorks(WORKERD) && CAN_RUN;
if (!ready) {
  const msg = `!!! serverless/workerd-signed: needs workerd (${WORKERD}), gpg and ostree's test keys: NOT run !!!`;
  if (process.env.CI === 'true') describe('serverless delta service: signed origin', () => it('prerequisites', () => expect.fail(msg)));
  else console.warn(`\n${msg}\n`);
}

(ready ? describeInterop : describe.skip)('serverless delta service: signed origin', () => {
  let dir: string;
  let home: string;
  let origin: { repo: string; c1: string; c2: string };
  let server: StaticServer;
  const workers: Running[] = [];
  const verifying = () => ['--set=gpg-verify=true', '--set=gpg-verify-summary=true', `--gpg-import=${join(SUITE_GPGHOME, 'key1.asc')}`];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xylem-serverless-signed-'));
    home = copyGpgHome(join(dir, 'gpghome'));
    origin = makeOrigin(dir, [`--gpg-sign=${KEY1}`, `--gpg-homedir=${home}`]);
    server = await serveDir(origin.repo);
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await server?.close();
    if (home) killAgent(home);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a client verifying commit and summary signatures pulls through a generated delta', async () => {
    const w = await startWorkerd(buildServerless(), join(dir, 'w1'), { XYLEM_ORIGIN: server.url, XYLEM_DEPTH: '1' });
    workers.push(w);
    const client = await ostreePullThrough(dir, origin.repo, origin.c1, w.url, 'client', verifying());
    expect(ostree([`--repo=${client}`, 'rev-parse', 'svc:main']).trim()).toBe(origin.c2);
    expect(ostree([`--repo=${client}`, 'fsck'])).toContain('no errors found');
    expect((await stats(w.url)).generated).toBe(1);
    // the commit's signature arrived with the delta and verifies
    expect(ostree([`--repo=${client}`, 'show', '--gpg-verify-remote=svc', origin.c2])).toMatch(/Good signature from/);
  });

  it('with the summary rewritten and no service key, the verifying client refuses', async () => {
    const w = await startWorkerd(buildServerless(), join(dir, 'w2'), { XYLEM_ORIGIN: server.url, XYLEM_DEPTH: '1', XYLEM_REWRITE_SUMMARY: 'true' });
    workers.push(w);
    await expect(ostreePullThrough(dir, origin.repo, origin.c1, w.url, 'client2', verifying())).rejects.toThrow(/pull --require-static-deltas svc main failed \(1\): error: .*(summary\.sig|signature)/i);
    expect(ostree([`--repo=${join(dir, 'client2')}`, 'rev-parse', 'svc:main']).trim()).toBe(origin.c1);
  });
});
