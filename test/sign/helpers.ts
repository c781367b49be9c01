// Shared setup for the signature tests: a private copy of the upstream suite's GnuPG home (its three
// test keys), commands run with a chosen OSTREE_GPG_HOME, and reading signatures out of
// detached metadata with GLib (python3-gi) as the oracle.

import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { OSTREE, buildCli } from '../helpers/interop.ts';

export const SUITE_DIR = '/usr/libexec/installed-tests/libostree';
export const SUITE_GPGHOME = join(SUITE_DIR, 'gpghome');
export const KEY1 = '7FCA23D8472CDAFA';
export const KEY1_FPR = '5E65DE75AB1C501862D476347FCA23D8472CDAFA';
export const KEY2 = 'D8228CFECA950D41';
export const KEY3 = '0D15FAE7DF444D67';

export const HAVE_GPG = spawnSync('sh', ['-c', 'command -v gpg'], { encoding: 'utf8' }).status === 0;
export const HAVE_SUITE_KEYS = existsSync(join(SUITE_GPGHOME, 'secring.gpg'));
export const HAVE_GLIB = spawnSync('/usr/bin/python3', ['-c', 'from gi.repository import GLib'], { encoding: 'utf8' }).status === 0;
export const CAN_RUN = !!OSTREE && HAVE_GPG && HAVE_SUITE_KEYS;
/** What the signing tests need, for missing() in test/helpers/require-tool.ts. */
export const SIGN_TOOLS: Record<string, boolean> = {
  'the real ostree': !!OSTREE,
  gpg: HAVE_GPG,
  'the ostree-tests GPG keys': HAVE_SUITE_KEYS,
};

export interface Out {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with extra environment (OSTREE_GPG_HOME …), TZ fixed to UTC. */
export function runEnv(cmd: string, args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Out {
  const e: Record<string, string | undefined> = { ...process.env, TZ: 'UTC', ...env };
  delete e.OSTREE_REPO;
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete e[k];
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: e as NodeJS.ProcessEnv, cwd, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function must(r: Out, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

export function ostreeEnv(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Out {
  return runEnv(OSTREE!, args, env, cwd);
}

export function xylemEnv(args: string[], env: Record<string, string | undefined> = {}, cwd?: string): Out {
  return runEnv(process.execPath, [buildCli(), ...args], env, cwd);
}

/** A writable copy of the suite's GnuPG home (gpg refuses group/world-readable homes). */
export function copyGpgHome(dest: string): string {
  cpSync(SUITE_GPGHOME, dest, { recursive: true });
  chmodSync(dest, 0o700);
  return dest;
}

export function gpg(home: string, args: string[], input?: string): Out {
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], { encoding: 'utf8', input });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function gpgBinary(home: string, args: string[]): Buffer {
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], { maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Stops the gpg-agent a test started in `home`. */
export function killAgent(home: string): void {
  spawnSync('gpg-connect-agent', ['--homedir', home, 'killagent', '/bye'], { encoding: 'utf8' });
}

/** GLib's view of an a{sv} file: its keys in order and each value's type string. */
export function glibDictShape(file: string): Array<[string, string, number]> {
  const py = `
import sys, json
from gi.repository import GLib
d = open(sys.argv[1], 'rb').read()
v = GLib.Variant.new_from_bytes(GLib.VariantType('a{sv}'), GLib.Bytes.new(d), False)
assert v.is_normal_form()
out = []
for i in range(v.n_children()):
    e = v.get_child_value(i)
    val = e.get_child_value(1).get_variant()
    out.append([e.get_child_value(0).get_string(), val.get_type_string(), val.n_children() if val.is_container() else 0])
print(json.dumps(out))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}
