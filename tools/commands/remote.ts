// `xylem remote add|delete|list|show-url|refs|summary|gpg-import|gpg-list-keys|add-cookie|delete-cookie|list-cookies`:
// manage remotes (ostree remote).

import type { CliContext, Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand, pickSubcommand, type SubcommandRow } from '../cli/common.ts';
import type { Parsed } from '../cli/options.ts';
import type { Repo } from '../../src/repo/repo.ts';
import {
  addRemote,
  addRemoteCookie,
  deleteRemoteCookie,
  formatRemoteCookies,
  listRemoteCookies,
  deleteRemote,
  getRemoteUrl,
  listRemotes,
  listRemoteSummaryRefs,
  openSysrootRepo,
  type RemoteOptionValue,
} from '../../src/remote/config.ts';
import { checkRemoteSummary, fetchVerifiedRemoteSummary, formatGpgVerifyReport } from '../../src/remote/summary.ts';
import { importRemoteGpgKeys, listRemoteGpgKeys, type GpgSubkeyInfo } from '../../src/remote/gpg-keyring.ts';
import { XylemError, errnoCode } from '../../src/util/errors.ts';

interface Sub {
  name: string;
  summary: string;
  run(ctx: CliContext, argv: string[]): Promise<number>;
}

/** Signature types libostree knows (ostree_sign_get_by_name). */
const SIGN_TYPES = ['ed25519', 'dummy'];

/** Opens --sysroot's repo when given, else the --repo one (remote add/delete accept both). */
async function openTarget(ctx: CliContext, p: Parsed): Promise<Repo> {
  const sysroot = p.value('sysroot');
  if (sysroot !== undefined) return openSysrootRepo(ctx.host, sysroot);
  return ctx.openRepo();
}

async function readInputFile(ctx: CliContext, path: string): Promise<Uint8Array> {
  try {
    return await ctx.host.fs.readFile(path);
  } catch (e) {
    const why = errnoCode(e) === 'ENOENT' ? 'No such file or directory' : (e as Error).message;
    throw new XylemError(`Error opening file ${path}: ${why}`);
  }
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of process.stdin) chunks.push(c as Uint8Array);
  return new Uint8Array(Buffer.concat(chunks));
}

function importedLine(n: number, name: string): string {
  return `Imported ${n} GPG key${n === 1 ? '' : 's'} to remote "${name}"\n`;
}

/** `--sign-verify=KEYTYPE=[inline|file]:DATA` → [option key, value, sign type name]. */
function parseVerifySpec(spec: string): [string, string, string] {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new XylemError(`Failed to parse KEYTYPE=[inline|file]:DATA in ${spec}`);
  const type = spec.slice(0, eq);
  if (!SIGN_TYPES.includes(type)) throw new XylemError('Requested signature type is not implemented');
  const rest = spec.slice(eq + 1);
  const colon = rest.indexOf(':');
  const ref = colon < 0 ? rest : rest.slice(0, colon);
  if (ref !== 'inline' && ref !== 'file') throw new XylemError(`Invalid key reference ${ref}, expected inline|file`);
  if (colon < 0) throw new XylemError(`Failed to parse KEYTYPE=[inline|file]:DATA in ${spec}`);
  return [`verification-${type}-${ref === 'inline' ? 'key' : 'file'}`, rest.slice(colon + 1), type];
}

const add: Sub = {
  name: 'add',
  summary: 'Add a remote repository',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'set', kind: 'strings', arg: 'KEY=VALUE', description: 'Set this option in the remote\'s section (repeatable)' },
      { name: 'no-gpg-verify', kind: 'flag', description: 'Do not require GPG signatures' },
      { name: 'no-sign-verify', kind: 'flag', description: 'Do not require signatures' },
      { name: 'sign-verify', kind: 'strings', arg: 'TYPE=[inline|file]:VALUE', description: 'Verify signatures of this type, keys inline or from a file' },
      { name: 'if-not-exists', kind: 'flag', description: 'Do nothing if the remote exists' },
      { name: 'force', kind: 'flag', description: 'Replace the remote if it exists' },
      { name: 'gpg-import', kind: 'string', arg: 'FILE', description: 'Import GnuPG keys from FILE' },
      { name: 'custom-backend', kind: 'string', arg: 'NAME', description: 'Give the remote to this custom backend' },
      { name: 'contenturl', kind: 'string', arg: 'URL', description: 'Fetch content from this URL' },
      { name: 'collection-id', kind: 'string', arg: 'COLLECTION-ID', description: 'Collection ID of the remote' },
    ]);
    const repo = await openTarget(ctx, p);
    const customBackend = p.value('custom-backend');
    const [name, url = null, ...branches] = p.positionals;
    if (customBackend !== undefined) {
      if (name === undefined) throw new UsageError('NAME must be specified');
    } else if (name === undefined || url === null) throw new UsageError('NAME and URL must be specified');
    if (p.flag('if-not-exists') && p.flag('force')) throw new UsageError('Can only specify one of --if-not-exists and --force');

    const options: Array<[string, RemoteOptionValue]> = [];
    const contenturl = p.value('contenturl');
    if (contenturl !== undefined) options.push(['contenturl', contenturl]);
    if (customBackend !== undefined) options.push(['custom-backend', customBackend]);
    for (const kv of p.list('set')) {
      const eq = kv.indexOf('=');
      if (eq < 0) throw new XylemError("Missing '=' in KEY=VALUE for --set");
      options.push([kv.slice(0, eq), kv.slice(eq + 1)]);
    }
    // No signature verification implies no GPG verification either.
    if (p.flag('no-gpg-verify') || p.flag('no-sign-verify')) options.push(['gpg-verify', false]);
    const specs = p.list('sign-verify');
    if (p.flag('no-sign-verify')) {
      if (specs.length > 0) throw new XylemError('Cannot specify both --sign-verify and --no-sign-verify');
      options.push(['sign-verify', false]);
    }
    const signTypes: string[] = [];
    for (const spec of specs) {
      const [key, value, type] = parseVerifySpec(spec);
      options.push([key, value]);
      signTypes.push(type);
    }
    if (signTypes.length > 0) options.push(['sign-verify', signTypes.join(',')]);
    const collectionId = p.value('collection-id');
    await addRemote(repo, name, url, {
      options,
      branches,
      ifNotExists: p.flag('if-not-exists'),
      force: p.flag('force'),
      ...(collectionId !== undefined ? { collectionId } : {}),
    });

    const keyFile = p.value('gpg-import');
    if (keyFile !== undefined) {
      const n = await importRemoteGpgKeys(repo, name, await readInputFile(ctx, keyFile));
      ctx.out(importedLine(n, name));
    }
    return 0;
  },
};

const del: Sub = {
  name: 'delete',
  summary: 'Delete a remote repository',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'if-exists', kind: 'flag', description: 'Do nothing if the remote does not exist' }]);
    const repo = await openTarget(ctx, p);
    const name = p.positionals[0];
    if (name === undefined) throw new UsageError('NAME must be specified');
    await deleteRemote(repo, name, { ifExists: p.flag('if-exists') });
    return 0;
  },
};

const showUrl: Sub = {
  name: 'show-url',
  summary: 'Show remote repository URL',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    const repo = await ctx.openRepo();
    const name = p.positionals[0];
    if (name === undefined) throw new UsageError('NAME must be specified');
    ctx.out(`${await getRemoteUrl(repo, name)}\n`);
    return 0;
  },
};

const utf8Length = (s: string): number => new TextEncoder().encode(s).length;

const list: Sub = {
  name: 'list',
  summary: 'List remote repository names',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'show-urls', short: 'u', kind: 'flag', description: 'Print the URLs too' }]);
    const repo = await ctx.openRepo();
    const names = await listRemotes(repo);
    if (!p.flag('show-urls')) {
      for (const n of names) ctx.out(`${n}\n`);
      return 0;
    }
    // printf("%-*s") pads by bytes.
    const width = Math.max(0, ...names.map(utf8Length));
    for (const n of names) {
      const url = await getRemoteUrl(repo, n);
      ctx.out(`${n}${' '.repeat(width - utf8Length(n))}  ${url}\n`);
    }
    return 0;
  },
};

const gpgImport: Sub = {
  name: 'gpg-import',
  summary: 'Import GPG keys',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'keyring', short: 'k', kind: 'strings', arg: 'FILE', description: 'Import keys from this keyring (repeatable)' },
      { name: 'stdin', kind: 'flag', description: 'Import keys from standard input' },
    ]);
    const repo = await ctx.openRepo();
    const [name, ...keyIds] = p.positionals;
    if (name === undefined) throw new UsageError('NAME must be specified');
    const keyrings = p.list('keyring');
    if (p.flag('stdin') && keyrings.length > 0) throw new UsageError('--keyring and --stdin are mutually exclusive');
    let source: Uint8Array | null;
    if (p.flag('stdin')) source = await readStdin();
    else if (keyrings.length > 0) {
      const parts: Uint8Array[] = [];
      for (const k of keyrings) parts.push(await readInputFile(ctx, k));
      source = new Uint8Array(Buffer.concat(parts));
    } else source = null;
    const n = await importRemoteGpgKeys(repo, name, source, keyIds.length > 0 ? keyIds : null);
    ctx.out(importedLine(n, name));
    return 0;
  },
};

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** g_date_time_format(local, "%c") in the C locale: "%a %b %e %H:%M:%S %Y". */
function formatLocal(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

/** ot_dump_gpg_key's lines for one key or subkey. */
function subkeyLines(k: GpgSubkeyInfo, primary: boolean): string {
  const ind = primary ? '  ' : '    ';
  let s = `${primary ? 'Key' : '  Subkey'}: ${k.fingerprint}${k.revoked ? ' (revoked)' : ''}${k.invalid ? ' (invalid)' : ''}\n`;
  s += `${ind}Created: ${formatLocal(k.created)}\n`;
  if (k.expires > 0) s += `${ind}${k.expired ? 'Expired' : 'Expires'}: ${formatLocal(k.expires)}\n`;
  return s;
}

const gpgListKeys: Sub = {
  name: 'gpg-list-keys',
  summary: 'Show remote GPG keys',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    const repo = await ctx.openRepo();
    const name = p.positionals[0] ?? null;
    const dir = ctx.env.OSTREE_GPG_HOME;
    const keys = await listRemoteGpgKeys(repo, name, dir !== undefined ? { globalKeyringDir: dir } : {});
    for (const key of keys) {
      let s = subkeyLines(key.subkeys[0]!, true);
      for (const u of key.uids) {
        s += `  UID: ${u.uid}${u.revoked ? ' (revoked)' : ''}${u.invalid ? ' (invalid)' : ''}\n`;
        s += `  Advanced update URL: ${u.advancedUrl ?? ''}\n  Direct update URL: ${u.directUrl ?? ''}\n`;
      }
      for (const sk of key.subkeys.slice(1)) s += subkeyLines(sk, false);
      ctx.out(s);
    }
    return 0;
  },
};

const refs: Sub = {
  name: 'refs',
  summary: 'List remote refs',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'cache-dir', kind: 'string', arg: 'DIR', description: 'Folder for cached summaries' }]);
    const repo = await ctx.openRepo();
    const name = p.positionals[0];
    if (name === undefined) throw new UsageError('NAME must be specified');
    const verify = async (r: string, s: Uint8Array | null, sig: Uint8Array | null) => void (await checkRemoteSummary(repo, r, s, sig));
    for (const ref of (await listRemoteSummaryRefs(repo, name, undefined, verify)).keys()) ctx.out(`${name}:${ref}\n`);
    return 0;
  },
};

const summary: Sub = {
  name: 'summary',
  summary: 'Show remote summary',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'cache-dir', kind: 'string', arg: 'DIR', description: 'Folder for cached summaries' },
      { name: 'raw', kind: 'flag', description: 'Print the raw summary data' },
    ]);
    const repo = await ctx.openRepo();
    const name = p.positionals[0];
    if (name === undefined) throw new UsageError('NAME must be specified');
    const fetched = await fetchVerifiedRemoteSummary(repo, name);
    if (fetched.summary === null) throw new XylemError('Remote server has no summary file');
    const { formatSummaryRaw, formatSummaryView } = await import('../../src/maintenance/summary.ts');
    ctx.out(p.flag('raw') ? formatSummaryRaw(fetched.summary) : formatSummaryView(fetched.summary));
    // As ostree: the GPG report (not for --raw) when gpg-verify-summary made it check signatures.
    if (!p.flag('raw') && fetched.verification?.gpg) ctx.out(`\n${formatGpgVerifyReport(fetched.verification)}`);
    return 0;
  },
};

const addCookie: Sub = {
  name: 'add-cookie',
  summary: 'Add a cookie to remote',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    const repo = await ctx.openRepo();
    const [name, domain, path, cookie, value] = p.positionals;
    if (value === undefined) throw new UsageError('NAME, DOMAIN, PATH, COOKIE_NAME and VALUE must be specified');
    await addRemoteCookie(repo, name!, domain!, path!, cookie!, value);
    return 0;
  },
};

const deleteCookie: Sub = {
  name: 'delete-cookie',
  summary: 'Remove one cookie from remote',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    const repo = await ctx.openRepo();
    const [name, domain, path, cookie] = p.positionals;
    if (cookie === undefined) throw new UsageError('NAME, DOMAIN, PATH and COOKIE_NAME must be specified');
    if (!(await deleteRemoteCookie(repo, name!, domain!, path!, cookie))) throw new XylemError('Cookie not found in jar');
    return 0;
  },
};

const listCookies: Sub = {
  name: 'list-cookies',
  summary: 'Show remote repository cookies',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    const repo = await ctx.openRepo();
    const name = p.positionals[0];
    if (name === undefined) throw new UsageError('NAME must be specified');
    ctx.out(formatRemoteCookies(await listRemoteCookies(repo, name)));
    return 0;
  },
};

const SUBCOMMANDS: Sub[] = [add, del, showUrl, list, gpgImport, gpgListKeys, addCookie, deleteCookie, listCookies, refs, summary];

/** The subcommand table as ostree lists it in `ostree remote --help`, with each usage's parameters. */
const HELP_ROWS: SubcommandRow[] = [
  ['add', 'Add a remote repository', 'NAME [metalink=|mirrorlist=]URL [BRANCH...]'],
  ['delete', 'Delete a remote repository', 'NAME'],
  ['show-url', 'Show remote repository URL', 'NAME'],
  ['list', 'List remote repository names', ''],
  ['gpg-import', 'Import GPG keys', 'NAME [KEY-ID...]'],
  ['gpg-list-keys', 'Show remote GPG keys', 'NAME'],
  ['add-cookie', 'Add a cookie to remote', 'NAME DOMAIN PATH COOKIE_NAME VALUE'],
  ['delete-cookie', 'Remove one cookie from remote', 'NAME DOMAIN PATH COOKIE_NAME'],
  ['list-cookies', 'Show remote repository cookies', 'NAME'],
  ['refs', 'List remote refs', 'NAME'],
  ['summary', 'Show remote summary', 'NAME'],
];

export const command: Command = {
  name: 'remote',
  summary: 'Remote commands that may involve internet access',
  async run(ctx, argv) {
    // ostree takes the first non-option argument (before `--`) as the subcommand.
    const picked = pickSubcommand(ctx, argv, HELP_ROWS);
    const sub = SUBCOMMANDS.find((s) => s.name === picked.name);
    if (!sub) throw new XylemError(`"remote ${picked.name}" is not supported by xylem yet`);
    const rest = picked.argv;
    return sub.run(ctx, rest);
  },
};
