// Secret OpenPGP keys for `--gpg-sign`: openpgp.js cannot read GnuPG's private-keys-v1.d store, so
// the CLI asks GnuPG to export the keys (runtime I/O, hence here and not in src/). A GnuPG 1
// secring.gpg in the home directory is the fallback when gpg itself is unavailable.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XylemError } from '../../src/util/errors.ts';

/** Cap on what we accept from gpg. */
const MAX_EXPORT = 64 * 1024 * 1024;

function runGpg(args: string[], env: Record<string, string | undefined>): Promise<{ code: number; out: Uint8Array; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(env.XYLEM_GPG ?? 'gpg', args, { stdio: ['ignore', 'pipe', 'pipe'], env: env as NodeJS.ProcessEnv });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_EXPORT) child.kill();
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out: new Uint8Array(Buffer.concat(out)), err: Buffer.concat(err).toString() }));
  });
}

/**
 * The secret keys named by `keyIds` (binary transferable secret keys), from the GnuPG home `homedir`
 * (default: GnuPG's own default). Keys gpg does not know are simply absent from the result.
 */
export async function exportGpgSecretKeys(
  homedir: string | undefined,
  keyIds: string[],
  env: Record<string, string | undefined>,
): Promise<Uint8Array> {
  const args = ['--batch', '--no-tty', '--yes'];
  if (homedir !== undefined) args.push('--homedir', homedir);
  args.push('--export-secret-keys', ...keyIds);
  try {
    const r = await runGpg(args, env);
    if (r.code !== 0 && r.out.length === 0 && !/nothing exported/.test(r.err))
      throw new XylemError(`GPG: exporting secret keys failed: ${r.err.trim()}`);
    return r.out;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    // no gpg binary: a GnuPG 1 secret keyring is readable directly
    const home = homedir ?? env.GNUPGHOME ?? join(env.HOME ?? '/', '.gnupg');
    try {
      return new Uint8Array(await readFile(join(home, 'secring.gpg')));
    } catch {
      throw new XylemError('GPG: gpg is not installed and no secring.gpg was found');
    }
  }
}
