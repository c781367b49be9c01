// The rpmdb engine is runtime-neutral: with the in-memory host (no node:* anywhere) and SQLite's
// wasm handed in through Host.wasm, it writes the same database bytes as on the posix host, and
// rpm reads them; Installtid keys follow the chosen byte order; without Host.wasm it refuses
// with ENOSYS.

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { createMemoryHost } from '../../runtimes/memory/index.ts';
import { missing } from '../helpers/require-tool.ts';
import { buildRpm, HAVE_RPMBUILD } from '../helpers/rpmbuild.ts';
import { writeTreeRpmdbFromPackages } from '../../src/rpmdb/layout.ts';
import { readRpmdb, writeRpmdb } from '../../src/rpmdb/rpmdb.ts';
import { rpmQuery } from './fixtures.ts';

describe('rpmdb without SQLite', () => {
  // First in this file: the sql.js module is loaded once per process.
  it('refuses with ENOSYS when the host supplies no Host.wasm.sqlJs', async () => {
    const host = createMemoryHost();
    await host.fs.mkdir('/root');
    await expect(writeTreeRpmdbFromPackages(host, '/root', [])).rejects.toMatchObject({ code: 'ENOSYS' });
  });
});

describe.skipIf(missing('rpmdb on the memory host', { rpmbuild: HAVE_RPMBUILD }))('rpmdb on the in-memory host', () => {
  it('writes the same bytes as the posix host, readable by rpm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-mem-rpms-'));
    const pkgs = [
      buildRpm({ name: 'solo', version: '3', release: '2', requires: ['(a or b)'], files: [{ path: '/usr/bin/solo', content: 'x' }] }, dir),
    ].map((f) => new Uint8Array(readFileSync(f)));
    const wasmPath = createRequire(import.meta.url).resolve('sql.js/dist/sql-wasm.wasm');
    const mem = createMemoryHost();
    mem.wasm = { sqlJs: async () => new Uint8Array(readFileSync(wasmPath)) };
    await mem.fs.mkdir('/root');
    const opts = { installTime: 1_600_000_000 };
    const memDb = await writeTreeRpmdbFromPackages(mem, '/root', pkgs, opts);
    const posixRoot = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-mem-posix-'));
    const posixDb = await writeTreeRpmdbFromPackages(createNodeHost(), posixRoot, pkgs, opts);
    const memBytes = await mem.fs.readFile(memDb);
    expect(Buffer.from(memBytes).equals(readFileSync(posixDb))).toBe(true);
    expect(await mem.fs.readlink('/root/var/lib/rpm')).toBe('../../usr/share/rpm');
    expect((await readRpmdb(mem, memDb)).map((p) => p.header.string(1000))).toEqual(['solo']);
    const out = mkdtempSync(join(tmpdir(), 'xylem-rpmdb-mem-out-'));
    mkdirSync(join(out, 'db'));
    writeFileSync(join(out, 'db/rpmdb.sqlite'), memBytes);
    expect(rpmQuery(join(out, 'db'), ['-q', '--whatrequires', 'b']).out.trim()).toBe('solo-3-2.noarch');
    // Installtid keys are the tid in the reading machine's byte order (this one is little-endian).
    const tidHex = (1_600_000_000).toString(16).padStart(8, '0');
    const keyOf = (file: string): string => execFileSync('sqlite3', [file, 'SELECT hex(key) FROM Installtid'], { encoding: 'utf8' }).trim().toLowerCase();
    expect(keyOf(join(out, 'db/rpmdb.sqlite'))).toBe(Buffer.from(tidHex, 'hex').reverse().toString('hex'));
    const big = join(out, 'big.sqlite');
    await writeRpmdb(createNodeHost(), big, (await readRpmdb(mem, memDb)).map((p) => p.blob), { littleEndian: false });
    expect(keyOf(big)).toBe(tidHex);
  });
});
