// Regenerates the fuzzing seed corpus under fixtures/fuzz/<target>/ from artefacts the REAL ostree
// makes (commits, dirtrees, dirmetas, detached metadata, archive file headers, bare-user
// `user.ostreemeta` xattrs, a summary, static delta superblocks and their xz parts, repo config
// and deployment .origin key files), plus the file-header test vectors of the format reference
// and bsdiff patches between real file versions (made by the WASM core's bsdiff).
// Usage: npx tsx test/fuzz/make-corpus.ts   (needs ostree, xz, setfattr/getfattr; root for bare)

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadCoreSync } from '../../core-wasm/index.ts';
import { pseudoRandom } from '../helpers/pseudo-random.ts';
import { ROOT } from '../helpers/interop.ts';

const OUT = join(ROOT, 'fixtures/fuzz');
// Deployments stay mutable (no immutable bit) so the temp folder can be removed.
process.env.OSTREE_SYSROOT_DEBUG = 'mutable-deployments';
const run = (cmd: string, args: string[], input?: Buffer): Buffer => execFileSync(cmd, args, { input, maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'pipe'] });
const ost = (...a: string[]): string => run('ostree', a).toString().trim();

function put(target: string, name: string, data: Uint8Array): void {
  mkdirSync(join(OUT, target), { recursive: true });
  writeFileSync(join(OUT, target, name), data);
}

function write(root: string, rel: string, data: string | Uint8Array, mode?: number): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), data, mode !== undefined ? { mode } : {});
}

/** A small OS-like tree; v2 changes a few files (one big enough for bsdiff). */
function makeTree(dir: string, v: number): void {
  write(dir, 'usr/lib/modules/5.0/vmlinuz', v === 1 ? 'kernel one\n' : 'kernel two\n');
  write(dir, 'usr/lib/modules/5.0/initramfs.img', 'initramfs\n');
  write(dir, 'usr/etc/os-release', `NAME=Fuzz\nID=fuzz\nPRETTY_NAME="Fuzz ${v}"\nVERSION=${v}\n`);
  write(dir, 'usr/bin/tool', pseudoRandom(7, 3000), 0o755);
  const big = pseudoRandom(11, 48 * 1024);
  if (v === 2) for (let i = 0; i < big.length; i += 1500) big[i] ^= 0x33;
  write(dir, 'usr/share/big.bin', big);
  write(dir, 'usr/share/doc/readme', `read me v${v}\n`);
  if (v === 2) write(dir, 'usr/share/doc/new', 'new file\n');
  write(dir, 'usr/share/private', 'secret\n', 0o600);
  mkdirSync(join(dir, 'usr/share/empty'), { recursive: true });
  symlinkSync('tool', join(dir, 'usr/bin/tool-link'));
  execFileSync('setfattr', ['-n', 'user.fuzz', '-v', 'value', join(dir, 'usr/share/doc/readme')]);
  for (const d of ['sysroot', 'boot', 'var', 'proc', 'dev', 'run', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  for (const [l, t] of [['bin', 'usr/bin'], ['lib', 'usr/lib'], ['ostree', 'sysroot/ostree']] as const) symlinkSync(t, join(dir, l));
}

function objectsOf(repo: string, ext: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(repo, 'objects'))) for (const f of readdirSync(join(repo, 'objects', d))) if (f.endsWith(`.${ext}`)) out.push(join(repo, 'objects', d, f));
  return out.sort();
}

const short = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 12);

function main(): void {
  const tmp = mkdtempSync(join(tmpdir(), 'xylem-corpus-'));
  try {
    rmSync(OUT, { recursive: true, force: true });
    const t1 = join(tmp, 't1');
    const t2 = join(tmp, 't2');
    makeTree(t1, 1);
    makeTree(t2, 2);
    const repo = join(tmp, 'repo');
    ost(`--repo=${repo}`, 'init', '--mode=archive');
    const ts = '--timestamp=2024-01-01T00:00:00Z';
    const v1 = ost(`--repo=${repo}`, 'commit', '-b', 'os/main', '-s', 'one', '-m', 'body one', ts, '--add-metadata-string=version=1', `--tree=dir=${t1}`);
    const v2 = ost(`--repo=${repo}`, 'commit', '-b', 'os/main', '-s', 'two', ts, '--add-metadata-string=version=2', '--add-detached-metadata-string=note=detached', `--tree=dir=${t2}`);
    ost(`--repo=${repo}`, 'commit', '-b', 'other', '-s', 'other', ts, `--tree=dir=${t1}`);
    ost(`--repo=${repo}`, 'static-delta', 'generate', `--from=${v1}`, `--to=${v2}`);
    ost(`--repo=${repo}`, 'static-delta', 'generate', '--empty', `--to=${v1}`);
    const inline = join(tmp, 'inline-delta');
    ost(`--repo=${repo}`, 'static-delta', 'generate', '--inline', `--from=${v1}`, `--to=${v2}`, `--filename=${inline}`);
    ost(`--repo=${repo}`, 'summary', '-u', '--add-metadata=fuzz=\'yes\'');
    ost(`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', '--set=branches=os/main;other', 'origin', 'https://example.com/repo');

    // gvariant + objects: metadata objects by type (the extension names the GVariant type).
    for (const ext of ['commit', 'dirtree', 'dirmeta', 'commitmeta']) {
      for (const f of objectsOf(repo, ext).slice(0, 6)) {
        const b = readFileSync(f);
        put('objects', `${short(b)}.${ext}`, b);
        put('gvariant', `${short(b)}.${ext}`, b);
      }
    }
    // Archive headers: the first bytes of small .filez objects (header + a little deflate).
    for (const f of objectsOf(repo, 'filez').filter((p) => statSync(p).size < 4096).slice(0, 6)) {
      const b = readFileSync(f);
      put('objects', `${short(b)}.filez`, b);
    }
    // File stream headers: the verified vectors T3-T6 of the format reference (§2.5).
    const vectors = [
      '00000012 00000000 00000000 00000000 000081a4 00000000 00 11 68656c6c6f0a',
      '00000012 00000000 00000000 00000000 000081a4 00000000 00 11',
      '0000001b 00000000 00000000 00000000 0000a1ff 00000000 68656c6c6f2e74787400 1a',
      '00000020 00000000 00000000 00000000 00008180 00000000 00 757365722e666f6f00 626172 09 0d 11',
      '00000012 00000000 000003e8 000003e8 000081ed 00000000 00 11 23212f62696e2f73680a',
    ].map((v) => v.replace(/ /g, ''));
    vectors.forEach((hex, i) => put('objects', `vector-t${i + 3}.file-header`, Buffer.from(hex, 'hex')));
    // bare-user `user.ostreemeta` values, read back from a real bare-user repo.
    const bu = join(tmp, 'bare-user');
    ost(`--repo=${bu}`, 'init', '--mode=bare-user');
    ost(`--repo=${bu}`, 'pull-local', repo, v2);
    for (const f of objectsOf(bu, 'file').slice(0, 6)) {
      const line = /user\.ostreemeta=0x([0-9a-f]+)/.exec(run('getfattr', ['-e', 'hex', '-n', 'user.ostreemeta', f]).toString());
      if (!line) throw new Error(`${f}: no user.ostreemeta`);
      const b = Buffer.from(line[1]!, 'hex');
      put('objects', `${short(b)}.ostreemeta`, b);
      put('gvariant', `${short(b)}.ostreemeta`, b);
    }

    // summary
    const summary = readFileSync(join(repo, 'summary'));
    put('summary', 'summary', summary);
    put('gvariant', `${short(summary)}.summary`, summary);

    // delta superblocks and parts (xz-compressed by ostree); the xz streams on their own.
    const deltas: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk(join(d, e.name)) : deltas.push(join(d, e.name)));
    };
    walk(join(repo, 'deltas'));
    deltas.push(inline); // --inline --filename: one superblock file with its parts inside
    for (const f of deltas) {
      const b = readFileSync(f);
      if (f.endsWith('superblock') || f === inline) {
        put('superblock', `${short(b)}.superblock`, b);
        put('gvariant', `${short(b)}.superblock`, b);
      } else {
        put('delta-part', `${short(b)}.part`, b);
        if (b[0] === 0x78) put('xz', `${short(b)}.xz`, b.subarray(1));
      }
    }
    for (const [name, data] of [['text', Buffer.from('hello xz\n'.repeat(50))], ['random', pseudoRandom(3, 2000)], ['empty', Buffer.alloc(0)]] as const) {
      put('xz', `${name}.xz`, run('xz', ['-c', '--check=crc64'], data));
    }
    put('xz', 'text-crc32.xz', run('xz', ['-c', '--check=crc32', '-1'], Buffer.from('crc32 check\n'.repeat(10))));

    // bspatch: [u32 newSize LE][u32 oldLen LE][old][patch] between real file versions.
    const core = loadCoreSync();
    const pairs: Array<[string, string]> = [['usr/share/big.bin', 'usr/share/big.bin'], ['usr/share/doc/readme', 'usr/share/doc/readme'], ['usr/bin/tool', 'usr/share/big.bin']];
    for (const [a, b] of pairs) {
      const oldB = readFileSync(join(t1, a)).subarray(0, 8192);
      const newB = readFileSync(join(t2, b)).subarray(0, 8192);
      const patch = core.bsdiff(oldB, newB);
      const head = Buffer.alloc(8);
      head.writeUInt32LE(newB.length, 0);
      head.writeUInt32LE(oldB.length, 4);
      const comp = Buffer.concat([head, oldB, patch]);
      put('bspatch', `${short(comp)}.bspatch`, comp);
    }

    // key files: repo config (with a remote), a deployment .origin written by ostree admin.
    put('keyfile', 'repo-config', readFileSync(join(repo, 'config')));
    const sys = join(tmp, 'sysroot');
    mkdirSync(sys);
    ost('admin', 'init-fs', sys);
    ost('admin', `--sysroot=${sys}`, 'os-init', 'fuzzos');
    ost(`--repo=${sys}/ostree/repo`, 'pull-local', repo, v1);
    ost(`--repo=${sys}/ostree/repo`, 'refs', '--create', 'os/main', v1);
    ost(`--repo=${sys}/ostree/repo`, 'remote', 'add', '--no-gpg-verify', 'fuzzremote', 'https://example.com/x');
    run('ostree', ['admin', `--sysroot=${sys}`, 'deploy', '--os=fuzzos', '--karg=root=LABEL=x', '--karg=quiet', 'os/main']);
    const depDir = join(sys, 'ostree/deploy/fuzzos/deploy');
    for (const f of readdirSync(depDir)) if (f.endsWith('.origin')) put('keyfile', 'deployment.origin', readFileSync(join(depDir, f)));
    put('keyfile', 'sysroot-repo-config', readFileSync(join(sys, 'ostree/repo/config')));
    if (existsSync(join(t1, 'usr/etc/os-release'))) put('keyfile', 'groupless', readFileSync(join(t1, 'usr/etc/os-release')));
    process.stdout.write(`corpus written under ${OUT}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
