#!/usr/bin/env node
// The main job: a demo of Xylem's repository cycle in a throw-away folder — make a tree, commit two
// versions, diff them, check one out, fsck, and let the real `ostree` read what xylem wrote.
// Run with `npm run demo` (builds first). Exits non-zero if any step fails.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, readFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'xylem.mjs');
const work = mkdtempSync(join(tmpdir(), 'xylem-demo-'));
const repo = join(work, 'repo');

function step(title) {
  process.stdout.write(`\n== ${title}\n`);
}
function xylem(...args) {
  process.stdout.write(`$ xylem ${args.join(' ')}\n`);
  const out = execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  process.stdout.write(out);
  return out.trim();
}

try {
  step('Make a tree');
  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  mkdirSync(join(tree, 'usr/etc'), { recursive: true });
  writeFileSync(join(tree, 'usr/bin/hello'), '#!/bin/sh\necho hello v1\n');
  chmodSync(join(tree, 'usr/bin/hello'), 0o755);
  writeFileSync(join(tree, 'usr/etc/os-release'), 'NAME=Demo\nVERSION=1\n');
  symlinkSync('usr/bin', join(tree, 'bin'));
  process.stdout.write(`tree at ${tree}\n`);

  step('Create an archive repository and commit version 1');
  xylem('init', `--repo=${repo}`, '--mode=archive');
  const v1 = xylem('commit', `--repo=${repo}`, '-b', 'demo/stable', '-s', 'Version 1', '--add-metadata-string=version=1', `--tree=dir=${tree}`);

  step('Change the tree and commit version 2');
  writeFileSync(join(tree, 'usr/bin/hello'), '#!/bin/sh\necho hello v2\n');
  writeFileSync(join(tree, 'usr/etc/motd'), 'Welcome to version 2\n');
  rmSync(join(tree, 'usr/etc/os-release'));
  const v2 = xylem('commit', `--repo=${repo}`, '-b', 'demo/stable', '-s', 'Version 2', '--add-metadata-string=version=2', `--tree=dir=${tree}`);

  step('History and contents');
  xylem('log', `--repo=${repo}`, 'demo/stable');
  xylem('ls', `--repo=${repo}`, '-R', 'demo/stable');

  step('Diff version 1 → version 2');
  xylem('diff', `--repo=${repo}`, v1, v2);

  step('Check out version 2 and verify it');
  const co = join(work, 'checkout');
  xylem('checkout', `--repo=${repo}`, '-U', 'demo/stable', co);
  const hello = readFileSync(join(co, 'usr/bin/hello'), 'utf8');
  if (!hello.includes('v2')) throw new Error('checkout does not contain version 2');
  process.stdout.write(`checked out usr/bin/hello: ${hello.split('\n')[1]}\n`);

  step('fsck');
  xylem('fsck', `--repo=${repo}`);

  step('The real ostree reads what xylem wrote');
  const real = spawnSync('ostree', ['fsck', `--repo=${repo}`], { encoding: 'utf8' });
  if (real.error) process.stdout.write('(ostree is not installed: skipped)\n');
  else {
    process.stdout.write(real.stdout + real.stderr);
    if (real.status !== 0) throw new Error('ostree fsck rejected the repository');
    const rp = spawnSync('ostree', ['rev-parse', `--repo=${repo}`, 'demo/stable'], { encoding: 'utf8' });
    if (rp.stdout.trim() !== v2) throw new Error('ostree sees a different head');
    process.stdout.write(`ostree rev-parse demo/stable = ${rp.stdout.trim()} (same as xylem)\n`);
  }
  process.stdout.write('\nDemo completed.\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
