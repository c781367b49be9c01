// Which OpenPGP keys libostree trusts when it verifies a signature (_ostree_repo_gpg_prepare_verifier):
// for a remote, its keyring REMOTE.trustedkeys.gpg (repo dir, remotes.d, then parent repos) plus
// every `gpgkeypath=` file or directory; for "all remotes" every *.gpg file in the repo dir; the
// global trusted.gpg.d directory (env OSTREE_GPG_HOME overrides) when no remote keyring was found;
// plus an optional keyring directory (--gpg-homedir) and extra keyring file.

import type { Repo } from '../repo/repo.ts';
import { getRemoteInherited, openParentRepo, remotesConfigDir } from './config.ts';
import { joinPath } from '../util/path.ts';
import { XylemError, errnoCode } from '../util/errors.ts';
import { readGpgKeyring, type GpgKeyring } from '../crypto/gpg.ts';
import { readFileOptional } from '../util/read-optional.ts';

/** libostree's DATADIR/ostree/trusted.gpg.d/ on a /usr prefix. */
export const DEFAULT_GLOBAL_KEYRING_DIR = '/usr/share/ostree/trusted.gpg.d/';

export interface KeyringSources {
  /** A remote's name: its keyring and gpgkeypath. */
  remote?: string;
  /** The keyrings of every remote (*.gpg in the repo dir), as `ostree show` without --gpg-verify-remote. */
  allRemotes?: boolean;
  /** A directory of *.gpg keyrings to add (ostree --gpg-homedir). */
  keyringDir?: string;
  /** One more keyring file. */
  extraKeyring?: string;
  /** Global keyring directory; default: env OSTREE_GPG_HOME, else DEFAULT_GLOBAL_KEYRING_DIR. */
  globalKeyringDir?: string;
}

async function listDir(repo: Repo, dir: string): Promise<Array<{ name: string; kind: string }>> {
  try {
    return await repo.fs.readdir(dir);
  } catch (e) {
    const code = errnoCode(e);
    const why = code === 'ENOENT' ? 'No such file or directory' : code === 'ENOTDIR' ? 'Not a directory' : (e as Error).message;
    throw new XylemError(`opendir(${dir}): ${why}`, code);
  }
}

/** _ostree_gpg_verifier_add_keyring_dir_at: regular *.gpg files except trustdb.gpg and secring.gpg. */
async function keyringDirData(repo: Repo, dir: string): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const entries = (await listDir(repo, dir)).filter((e) => e.kind === 'file').map((e) => e.name).sort();
  for (const name of entries) {
    if (!name.endsWith('.gpg') || name === 'trustdb.gpg' || name === 'secring.gpg') continue;
    out.push(await repo.fs.readFile(joinPath(dir, name)));
  }
  return out;
}

/** find_keyring: the remote's keyring in the repo, its remotes dir, or a parent repo. */
async function findRemoteKeyring(repo: Repo, keyring: string): Promise<Uint8Array | null> {
  for (let r: Repo | null = repo; r !== null; r = await openParentRepo(r)) {
    const own = await readFileOptional(r.fs, joinPath(r.path, keyring));
    if (own) return own;
    const dir = await remotesConfigDir(r);
    if (dir !== null) {
      const inDir = await readFileOptional(r.fs, joinPath(dir, keyring));
      if (inDir) return inDir;
    }
  }
  return null;
}

/** ot_keyfile_get_string_list_with_separator_choice(";,"): one separator kind per value. */
export function splitKeyPathList(raw: string): string[] {
  const hasSemi = raw.includes(';');
  const hasComma = raw.includes(',');
  if (hasSemi && hasComma) throw new XylemError('key value list contains more than one separator');
  const sep = hasComma ? ',' : ';';
  const parts = raw.split(sep);
  if (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** _ostree_gpg_verifier_add_keyfile_path: a directory adds its regular files, anything else is a key file. */
async function keyfilePathData(repo: Repo, path: string): Promise<Uint8Array[]> {
  const st = path === '' ? null : await repo.fs.stat(path);
  if (st === null) throw new XylemError(`opendir(${path}): No such file or directory`, 'ENOENT');
  if (st.kind !== 'dir') {
    const data = await readFileOptional(repo.fs, path);
    if (data === null) throw new XylemError(`opendir(${path}): No such file or directory`, 'ENOENT');
    return [data];
  }
  const out: Uint8Array[] = [];
  const names = (await listDir(repo, path)).filter((e) => e.kind === 'file').map((e) => e.name).sort();
  for (const name of names) out.push(await repo.fs.readFile(joinPath(path, name)));
  return out;
}

/** The raw key material libostree's verifier would load for these sources, in its order. */
export async function collectKeyringData(repo: Repo, src: KeyringSources): Promise<Uint8Array[]> {
  const data: Uint8Array[] = [];
  let addGlobal = true;
  if (src.allRemotes) {
    data.push(...(await keyringDirData(repo, repo.path)));
  } else if (src.remote !== undefined) {
    const remote = await getRemoteInherited(repo, src.remote);
    const own = await findRemoteKeyring(repo, remote.keyring);
    if (own) {
      data.push(own);
      addGlobal = false;
    }
    const raw = remote.options.get(remote.group, 'gpgkeypath');
    if (raw !== undefined) {
      for (const p of splitKeyPathList(raw)) data.push(...(await keyfilePathData(repo, p)));
    }
  }
  if (addGlobal) {
    const dir = src.globalKeyringDir ?? repo.host.env?.OSTREE_GPG_HOME ?? DEFAULT_GLOBAL_KEYRING_DIR;
    if ((await repo.fs.stat(dir))?.kind === 'dir') {
      try {
        data.push(...(await keyringDirData(repo, dir)));
      } catch (e) {
        throw new XylemError(`Reading keyring directory '${dir}': ${(e as Error).message}`);
      }
    }
  }
  if (src.keyringDir !== undefined) data.push(...(await keyringDirData(repo, src.keyringDir)));
  if (src.extraKeyring !== undefined) {
    const extra = await readFileOptional(repo.fs, src.extraKeyring);
    if (extra) data.push(extra);
  }
  return data;
}

/** The keyring libostree would verify with for these sources. */
export async function loadVerifierKeyring(repo: Repo, src: KeyringSources): Promise<GpgKeyring> {
  if (src === null || typeof src !== 'object') throw new TypeError('loadVerifierKeyring: sources must be an object');
  return readGpgKeyring(await collectKeyringData(repo, src));
}
