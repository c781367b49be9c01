// Fixture for the audit tests: archive repositories written by the real `ostree` (a few files,
// a symlink, nested dirs, a file big enough to be streamed), GPG-signed with a key made by
// `gpg --batch` in a temporary GNUPGHOME, summary signed too; plus two damaged copies (one
// flipped byte in one .filez; the commitmeta of another commit), served with a node:http server
// together with the built audit page.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';

export const HAVE_OSTREE = spawnSync('sh', ['-c', 'command -v ostree'], { encoding: 'utf8' }).status === 0;
export const HAVE_GPG = spawnSync('sh', ['-c', 'command -v gpg'], { encoding: 'utf8' }).status === 0;

export const SIGNER_NAME = 'Xylem Audit Test';
export const SIGNER_EMAIL = 'audit@example.org';

export interface Fixture {
  root: string;
  gnupghome: string;
  /** Armored public key of the signing key. */
  publicKey: string;
  /** Its fingerprint (upper-case hex). */
  fingerprint: string;
  /** main's commit in every repo. */
  commit: string;
  /** The file whose .filez is flipped in the `flipped` repo, and its path. */
  flippedObject: string;
  flippedPath: string;
  /** Objects on disk of the clean repo (= everything main's tree holds). */
  counts: { dirtrees: number; dirmetas: number; files: number };
  /** Repos: clean, flipped, forged (below root/repos/). */
  repoDir(name: 'clean' | 'flipped' | 'forged'): string;
  cleanup(): void;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A deterministic pseudo-random (incompressible: deflate stores it) buffer. */
function noise(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function countObjects(repo: string): { dirtrees: number; dirmetas: number; files: number } {
  const c = { dirtrees: 0, dirmetas: 0, files: 0 };
  const objs = join(repo, 'objects');
  for (const d of readdirSync(objs)) {
    for (const f of readdirSync(join(objs, d))) {
      if (f.endsWith('.dirtree')) c.dirtrees++;
      else if (f.endsWith('.dirmeta')) c.dirmetas++;
      else if (f.endsWith('.filez')) c.files++;
    }
  }
  return c;
}

export function buildFixture(): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'xylem-audit-'));
  const gnupghome = join(root, 'gnupg');
  mkdirSync(gnupghome, { mode: 0o700 });
  chmodSync(gnupghome, 0o700);
  const genv = { GNUPGHOME: gnupghome };
  run('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', `${SIGNER_NAME} <${SIGNER_EMAIL}>`, 'ed25519', 'sign', 'never'], genv);
  const colons = run('gpg', ['--batch', '--with-colons', '--list-keys', SIGNER_EMAIL], genv);
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(colons)![1]!;
  const publicKey = run('gpg', ['--batch', '--armor', '--export', fingerprint], genv);

  // The tree.
  const tree = join(root, 'tree');
  mkdirSync(join(tree, 'usr/share/doc'), { recursive: true });
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'hello.txt'), 'hello\n');
  writeFileSync(join(tree, 'empty'), '');
  writeFileSync(join(tree, 'etc/random.bin'), noise(1000, 7));
  writeFileSync(join(tree, 'usr/share/doc/big.bin'), noise(600 * 1024, 11));
  writeFileSync(join(tree, 'usr/share/doc/README'), 'read me\n'.repeat(50));
  writeFileSync(join(tree, 'usr/share/doc/copy.txt'), 'hello\n'); // same object as /hello.txt
  symlinkSync('hello.txt', join(tree, 'link'));

  const repo = join(root, 'repos', 'clean');
  mkdirSync(repo, { recursive: true });
  run('ostree', ['init', '--mode=archive', `--repo=${repo}`]);
  const commit = run('ostree', ['commit', `--repo=${repo}`, '-b', 'main', '-s', 'Audit fixture', '--body', 'for the browser audit',
    '--add-metadata-string=version=1.2.3', '--timestamp=2024-05-01 12:00:00 +0000', `--tree=dir=${tree}`]).trim();
  run('ostree', ['gpg-sign', `--repo=${repo}`, `--gpg-homedir=${gnupghome}`, commit, fingerprint]);
  run('ostree', ['summary', '-u', `--repo=${repo}`, `--gpg-homedir=${gnupghome}`, `--gpg-sign=${fingerprint}`]);
  const counts = countObjects(repo);

  // One flipped byte (the last, inside a stored deflate block) in /etc/random.bin's .filez.
  const ls = run('ostree', ['ls', `--repo=${repo}`, '-C', commit, '/etc/random.bin']);
  const flippedObject = /\b([0-9a-f]{64})\b/.exec(ls)![1]!;
  const flipped = join(root, 'repos', 'flipped');
  cpSync(repo, flipped, { recursive: true });
  const filez = join(flipped, 'objects', flippedObject.slice(0, 2), `${flippedObject.slice(2)}.filez`);
  const bytes = readFileSync(filez);
  bytes[bytes.length - 1] ^= 0x01;
  writeFileSync(filez, bytes);

  // main carries the (genuine) signature of another commit.
  const forged = join(root, 'repos', 'forged');
  cpSync(repo, forged, { recursive: true });
  writeFileSync(join(tree, 'hello.txt'), 'other\n');
  const other = run('ostree', ['commit', `--repo=${forged}`, '-b', 'other', '-s', 'Other', `--tree=dir=${tree}`]).trim();
  run('ostree', ['gpg-sign', `--repo=${forged}`, `--gpg-homedir=${gnupghome}`, other, fingerprint]);
  const meta = (c: string, r: string) => join(r, 'objects', c.slice(0, 2), `${c.slice(2)}.commitmeta`);
  cpSync(meta(other, forged), meta(commit, forged));
  run('ostree', ['summary', '-u', `--repo=${forged}`, `--gpg-homedir=${gnupghome}`, `--gpg-sign=${fingerprint}`]);
  spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, ...genv } });

  return {
    root,
    gnupghome,
    publicKey,
    fingerprint,
    commit,
    flippedObject,
    flippedPath: '/etc/random.bin',
    counts,
    repoDir: (name) => join(root, 'repos', name),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.wasm': 'application/wasm' };

/** Serves `/repos/*` from the fixture and everything else from `pageDir`, on 127.0.0.1 (port chosen by the OS). */
export async function serve(fixtureRoot: string, pageDir: string): Promise<{ server: Server; origin: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const rel = normalize(path).replace(/^(\.\.[/\\])+/, '');
    const base = rel.startsWith('/repos/') ? fixtureRoot : pageDir;
    let file = resolve(join(base, rel));
    if (!file.startsWith(resolve(base))) {
      res.writeHead(403).end();
      return;
    }
    if (rel === '/' || rel === '') file = join(pageDir, 'index.html');
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length, 'Access-Control-Allow-Origin': '*' });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (typeof addr !== 'object' || addr === null) throw new Error('no server address');
  return { server, origin: `http://127.0.0.1:${addr.port}`, requests };
}
