// `xylem show`, `xylem log`: print commits as ostree does.

import type { Command, CliContext } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { ObjectType, COMMIT_TYPE, contentChecksumInput, metadataLookup, type Commit } from '../../src/format/objects.ts';
import { decode, encode, print, type GVValue } from '../../src/format/gvariant.ts';
import { toHex } from '../../src/util/bytes.ts';
import type { Repo } from '../../src/repo/repo.ts';
import { NotFoundError, XylemError } from '../../src/util/errors.ts';
import { verifyCommitGpg, GpgError } from '../../src/sign/repo-sign.ts';

/** ostree show's signature report: verified with --gpg-verify-remote's keys, or every remote's. */
async function printGpgSignatures(ctx: CliContext, repo: Repo, csum: string, remote?: string, homedir?: string): Promise<void> {
  const opts: { remote?: string; keyringDir?: string } = {};
  if (remote !== undefined) opts.remote = remote;
  else if (homedir !== undefined) opts.keyringDir = homedir;
  let result;
  try {
    result = await verifyCommitGpg(repo, csum, opts);
  } catch (e) {
    if (e instanceof GpgError && e.gpgCode === 'NO_SIGNATURE') return;
    throw e;
  }
  const n = result.countAll();
  let text = `Found ${n} signature${n === 1 ? '' : 's'}:\n`;
  for (let i = 0; i < n; i++) text += '\n' + result.describe(i, '  ');
  ctx.out(text);
}

function formatDate(ts: bigint): string {
  const d = new Date(Number(ts) * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** The text block `ostree show`/`ostree log` print for one commit. */
export function formatCommit(repo: Repo, checksum: string, c: Commit): string {
  let s = `commit ${checksum}\n`;
  if (c.parent) s += `Parent:  ${c.parent}\n`;
  s += `ContentChecksum:  ${toHex(repo.sha256(contentChecksumInput(c)))}\n`;
  s += `Date:  ${formatDate(c.timestamp)}\n`;
  const version = metadataLookup(c.metadata, 'version');
  if (version && version.type === 's') s += `Version: ${version.value as string}\n`;
  // As ostree: an empty subject prints "(no subject)" right under the header lines.
  s += c.subject ? `\n    ${c.subject}\n\n` : '(no subject)\n\n';
  if (c.body) {
    for (const line of c.body.split('\n')) s += `    ${line}\n`;
    s += '\n';
  }
  return s;
}

/**
 * ostree show prints metadata values "converted from big endian" unless -B: g_variant_byteswap,
 * i.e. the serialized value read back in the other byte order.
 */
function byteswapped(type: string, value: GVValue): GVValue {
  return decode(type, encode(type, value), { bigEndian: true });
}

async function printMetadataKey(ctx: CliContext, repo: Repo, csum: string, key: string, detached: boolean, swap: boolean): Promise<number> {
  let md;
  if (detached) {
    md = (await repo.loadCommitMeta(csum)) ?? [];
  } else md = (await repo.loadCommit(csum)).metadata;
  const v = metadataLookup(md, key);
  if (!v) throw new XylemError(`No such metadata key '${key}'`);
  ctx.out(print(v.type, swap ? byteswapped(v.type, v.value) : v.value, { annotate: true }) + '\n');
  return 0;
}

export const showCommand: Command = {
  name: 'show',
  summary: 'Output a metadata object',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'print-metadata-key', kind: 'string', arg: 'KEY', description: 'Print the value of this metadata key' },
      { name: 'print-detached-metadata-key', kind: 'string', arg: 'KEY', description: 'Print the value of this detached metadata key' },
      { name: 'raw', kind: 'flag', description: 'Print the raw variant data' },
      { name: 'print-related', kind: 'flag', description: 'Print the related refs' },
      { name: 'print-sizes', kind: 'flag', description: 'Print the object sizes of the commit' },
      { name: 'gpg-homedir', kind: 'string', arg: 'HOMEDIR', description: 'GnuPG home folder to find keyrings in' },
      { name: 'gpg-verify-remote', kind: 'string', arg: 'REMOTE', description: 'Verify signatures with this remote\'s keys' },
      { name: 'no-byteswap', short: 'B', kind: 'flag', description: 'Do not byte-swap' },
    ]);
    const rev = p.positionals[0];
    if (!rev) throw new UsageError('An object argument is required');
    const repo = await ctx.openRepo();
    const csum = (await resolveRev(repo, rev))!;
    const key = p.value('print-metadata-key');
    if (key !== undefined) return printMetadataKey(ctx, repo, csum, key, false, !p.flag('no-byteswap'));
    const dkey = p.value('print-detached-metadata-key');
    if (dkey !== undefined) return printMetadataKey(ctx, repo, csum, dkey, true, !p.flag('no-byteswap'));
    if (p.flag('print-related')) {
      const c = await repo.loadCommit(csum);
      for (const [name, cs] of c.related) ctx.out(`${name} ${cs}\n`);
      return 0;
    }
    let bytes: Uint8Array;
    try {
      bytes = await repo.loadMetadataBytes(ObjectType.Commit, csum);
    } catch (e) {
      if (e instanceof NotFoundError) throw new XylemError(`No such metadata object ${csum}.commit`);
      throw e;
    }
    if (p.flag('raw')) {
      ctx.out(`commit ${csum}\n`);
      ctx.out(print(COMMIT_TYPE, decode(COMMIT_TYPE, bytes, { context: `${csum}.commit`, bigEndian: true }), { annotate: true }) + '\n');
    } else ctx.out(formatCommit(repo, csum, await repo.loadCommit(csum)));
    await printGpgSignatures(ctx, repo, csum, p.value('gpg-verify-remote'), p.value('gpg-homedir'));
    return 0;
  },
};

export const logCommand: Command = {
  name: 'log',
  summary: 'Show log starting at commit or ref',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'raw', kind: 'flag', description: 'Print the raw variant data' }]);
    const rev = p.positionals[0];
    if (!rev) throw new UsageError('A rev argument is required');
    const repo = await ctx.openRepo();
    let csum: string | null = (await resolveRev(repo, rev))!;
    while (csum) {
      if (!(await repo.hasObject(csum, ObjectType.Commit))) {
        ctx.out(`<< History beyond this commit not fetched >>\n`);
        break;
      }
      const c = await repo.loadCommit(csum);
      ctx.out(formatCommit(repo, csum, c));
      csum = c.parent;
    }
    return 0;
  },
};
