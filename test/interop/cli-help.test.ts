// Help and usage errors of both CLIs: every command and subcommand answers -h/--help before doing
// anything (no repo created, no commit made, nothing pruned), with a usage line naming the program
// and an option table in which every option has a description; usage lines match the real ostree's;
// unknown options and missing arguments exit 1 with the usage on stderr; external commands run.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOT, TempDir, buildCli, describeInterop, disposeCli, ok, ostree, xylem, type RunResult } from '../helpers/interop.ts';

let tmp: TempDir;
let cli: string;
let rpmCli: string;

/** Runs a built CLI with extra environment. */
function runWith(bundle: string, args: string[], cwd: string, env: Record<string, string> = {}): RunResult {
  const base = { ...process.env };
  delete base.OSTREE_REPO;
  delete base.XYLEM_PROGRAM_NAME;
  const r = spawnSync(process.execPath, [bundle, ...args], { encoding: 'utf8', cwd, env: { ...base, ...env } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The subcommand names a help text lists (GLib's "Builtin [\"GROUP\" ]Commands:" section). */
function builtins(help: string): string[] {
  const m = /^Builtin (?:"[^"]*" )?Commands:\n((?:  .*\n)*)/m.exec(help);
  return m ? m[1]!.split('\n').filter((l) => l.trim()).map((l) => l.trim().split(/\s+/)[0]!) : [];
}

/** Checks one help text; returns the option rows of its "Application Options" section. */
function checkHelp(help: string, words: string): string[] {
  expect(help.startsWith(`Usage:\n  ${words} [OPTION…]`), `usage line of "${words}":\n${help}`).toBe(true);
  expect(help).toContain('Help Options:\n  -h, --help');
  const m = /^Application Options:\n((?:  .*\n)*)/m.exec(help);
  const rows = m ? m[1]!.split('\n').filter((l) => l.trim()) : [];
  for (const row of rows) expect(row, `"${words}": option without a description`).toMatch(/^  -\S.*?\S {2,}\S/);
  return rows;
}

/** Walks every command and subcommand of a CLI through --help, as ostree's test-help.sh does. */
function walk(bundle: string, prog: string, path: string[], cwd: string, seen: string[]): void {
  const r = runWith(bundle, [...path, '--help'], cwd);
  const words = [prog, ...path].join(' ');
  expect(r.stderr, `${words} --help`).toBe('');
  expect(r.status, `${words} --help`).toBe(0);
  checkHelp(r.stdout, words);
  seen.push(words);
  const subs = builtins(r.stdout);
  if (path.length > 0 && subs.length > 0) {
    const none = runWith(bundle, path, cwd);
    expect(none.status).toBe(1);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^Usage:/);
    expect(none.stderr).toContain(`error: No "${path.join(' ')}" subcommand specified`);
    const bad = runWith(bundle, [...path, 'no-such-subcommand'], cwd);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`error: Unknown "${path.join(' ')}" subcommand 'no-such-subcommand'`);
  }
  for (const s of subs) walk(bundle, prog, [...path, s], cwd, seen);
}

describeInterop('CLI help and usage errors', () => {
  beforeAll(() => {
    tmp = new TempDir('xylem-help-');
    cli = buildCli();
    const dir = mkdtempSync(join(ROOT, 'tmp', 'help-rpm-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const b = spawnSync(process.execPath, [join(ROOT, 'tools', 'build-cli.mjs'), '--entry', 'tools/rpm-xylem/main.ts', '--outdir', dir, '--name', 'rpm-xylem'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    if (b.status !== 0) throw new Error(`building rpm-xylem failed:\n${b.stderr}`);
    rpmCli = join(dir, 'rpm-xylem.mjs');
  }, 120_000);
  afterAll(() => {
    tmp?.cleanup();
    disposeCli();
  });

  it('every xylem command and subcommand answers --help, with described options, and changes nothing', () => {
    const cwd = tmp.join('walk');
    mkdirSync(cwd);
    const seen: string[] = [];
    walk(cli, 'xylem', [], cwd, seen);
    // the 24 commands, remote's 11, static-delta's 8 and admin's 16 subcommands, and more
    expect(seen.length).toBeGreaterThan(60);
    for (const w of ['xylem commit', 'xylem remote add', 'xylem static-delta generate', 'xylem admin deploy', 'xylem admin kargs edit-in-place']) {
      expect(seen).toContain(w);
    }
    expect(readdirSync(cwd)).toEqual([]);
  }, 300_000);

  it('every rpm-xylem command answers --help', () => {
    const seen: string[] = [];
    walk(rpmCli, 'rpm-xylem', [], tmp.path, seen);
    expect(seen).toEqual(expect.arrayContaining(['rpm-xylem upgrade', 'rpm-xylem rebase', 'rpm-xylem kargs', 'rpm-xylem rollback']));
  }, 120_000);

  it('--help comes before the work: init, commit and prune do nothing', () => {
    const cwd = tmp.join('before');
    mkdirSync(cwd);
    expect(runWith(cli, ['init', '--help'], cwd).status).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
    ok(xylem(['init', '--repo=repo', '--mode=archive'], cwd));
    mkdirSync(join(cwd, 'tree'));
    writeFileSync(join(cwd, 'tree', 'f'), 'x');
    const c = runWith(cli, ['--repo=repo', 'commit', '-b', 'x', '--help', 'tree'], cwd);
    expect(c.status).toBe(0);
    expect(c.stdout).toMatch(/^Usage:\n  xylem commit \[OPTION…\] \[PATH\]\n/);
    expect(xylem(['--repo=repo', 'refs'], cwd).stdout).toBe('');
    const commit = ok(xylem(['--repo=repo', 'commit', '-b', 'x', '--orphan', 'tree'], cwd)).trim();
    ok(xylem(['--repo=repo', 'refs', '--delete', 'x'], cwd));
    expect(runWith(cli, ['prune', '--repo=repo', '--refs-only', '-h'], cwd).status).toBe(0);
    expect(ok(xylem(['--repo=repo', 'show', commit], cwd))).toContain(`commit ${commit}`);
  });

  it('the usage line names the program: ostree under the test shim', () => {
    const r = runWith(cli, ['remote', 'add', '--help'], tmp.path, { XYLEM_PROGRAM_NAME: 'ostree' });
    expect(r.stdout.split('\n')[1]).toBe('  ostree remote add [OPTION…] NAME [metalink=|mirrorlist=]URL [BRANCH...]');
  });

  it('usage lines and subcommand lists match the real ostree', () => {
    const top = ok(ostree(['--help']));
    const ours = ok(runWith(cli, ['--help'], tmp.path, { XYLEM_PROGRAM_NAME: 'ostree' }));
    // ostree's optional commands that xylem does not have (export needs libarchive, the p2p ones)
    const missing = builtins(top).filter((c) => !builtins(ours).includes(c));
    expect(missing.sort()).toEqual(['create-usb', 'export', 'find-remotes']);
    for (const path of [...builtins(top).filter((c) => !missing.includes(c) && c !== 'admin' && c !== 'static-delta'), 'remote add', 'remote delete', 'remote gpg-import']) {
      const words = path.split(' ');
      // GLib names the program as it was run (/usr/bin/ostree)
      const theirs = ok(ostree([...words, '--help'])).split('\n')[1]!.replace(/^ {2}\S*\//, '  ');
      const mine = ok(runWith(cli, [...words, '--help'], tmp.path, { XYLEM_PROGRAM_NAME: 'ostree' })).split('\n')[1];
      expect(mine, path).toBe(theirs);
    }
    expect(builtins(ok(runWith(cli, ['remote', '--help'], tmp.path)))).toEqual(builtins(ok(ostree(['remote', '--help']))));
  });

  it('unknown options and missing arguments exit 1 with the usage on stderr', () => {
    for (const [args, error] of [
      [['init', '--frobnicate'], 'error: Unknown option --frobnicate'],
      [['commit', '--branch'], 'error: Missing argument for --branch'],
      [['rev-parse', '--repo=nowhere-at-all', '-Z'], 'error: Unknown option -Z'],
      [['checkout', '--repo=.'], 'error: '],
    ] as Array<[string[], string]>) {
      const r = runWith(cli, args, tmp.path);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(new RegExp(`^Usage:\\n  xylem ${args[0]} `));
      expect(r.stderr).toContain(error);
    }
    // the real ostree: also exit 1 and the same error lines
    expect(ostree(['init', '--frobnicate']).status).toBe(1);
    expect(ostree(['init', '--frobnicate']).stderr).toContain('error: Unknown option --frobnicate');
    expect(ostree(['commit', '--branch']).stderr).toContain('error: Missing argument for --branch');
    const r = runWith(rpmCli, ['upgrade', '--frobnicate'], tmp.path);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^Usage:\n {2}rpm-xylem upgrade \[OPTION…\]/);
  });

  it('runs external commands xylem-FOO (ostree-FOO under the shim) from PATH', () => {
    const bin = tmp.join('bin');
    mkdirSync(bin);
    for (const name of ['xylem-hello', 'ostree-hello']) {
      writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $# $1 $HELLO_FLAG"\nexit 7\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const env = { PATH: `${bin}:${process.env.PATH}`, HELLO_FLAG: 'set' };
    const a = runWith(cli, ['hello', 'one', 'two'], tmp.path, env);
    expect([a.status, a.stdout]).toEqual([7, 'xylem-hello 2 one set\n']);
    const b = runWith(cli, ['hello', 'x'], tmp.path, { ...env, XYLEM_PROGRAM_NAME: 'ostree' });
    expect([b.status, b.stdout]).toEqual([7, 'ostree-hello 1 x set\n']);
    const c = runWith(cli, ['no-such-command'], tmp.path, env);
    expect(c.status).toBe(1);
    expect(c.stderr).toContain("error: Unknown command 'no-such-command'");
  });

  it('--version prints xylem first, then the libostree block the suite reads', () => {
    const v = ok(runWith(cli, ['--version'], tmp.path));
    expect(v).toMatch(/^xylem:\n Version: '\d+\.\d+\.\d+'\nlibostree:\n Version: '2022\.7'\n Features:\n/);
    const py = spawnSync('python3', ['-c', 'import sys, yaml; d = yaml.safe_load(sys.stdin); print(d["libostree"]["Version"], "gpgme" in d["libostree"]["Features"])'], {
      input: v,
      encoding: 'utf8',
    });
    expect(py.stdout).toBe('2022.7 True\n');
  });
});
