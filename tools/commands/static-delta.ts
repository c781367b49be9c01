// `xylem static-delta list|show|delete|generate|apply-offline|verify|indexes|reindex` (ostree
// static-delta): manage, create and apply static deltas. The engine is in src/delta/.

import type { CliContext, Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import type { OptionSpec } from '../cli/options.ts';
import { XylemError, errnoCode } from '../../src/util/errors.ts';
import type { GVVariant } from '../../src/format/gvariant.ts';
import { getSigner, type Signer } from '../../src/sign/signer.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { deltaNameString, deltaRelDir, parseDeltaName, type DeltaName } from '../../src/delta/paths.ts';
import { joinPath } from '../../src/util/path.ts';

const SUBCOMMANDS: Array<[string, string]> = [
  ['list', 'List static delta files'],
  ['show', 'Dump information on a delta'],
  ['delete', 'Remove a delta'],
  ['generate', 'Generate static delta files'],
  ['apply-offline', 'Apply static delta file'],
  ['verify', 'Verify static delta signatures'],
  ['indexes', 'List static delta indexes'],
  ['reindex', 'Regenerate static delta indexes'],
];

function usage(): string {
  let s = 'Usage:\n  ostree static-delta [OPTION…] COMMAND\n\nBuiltin "static-delta" Commands:\n';
  for (const [n, d] of SUBCOMMANDS) s += `  ${n.padEnd(17)}${d}\n`;
  return s;
}

/** Signatures of type `signer` from a signed superblock's a{sv}. */
function signaturesOf(signer: Signer, sigs: Array<[string, GVVariant]>): Uint8Array[] | null {
  const v = sigs.find(([k]) => k === signer.metadataKey)?.[1];
  if (!v || v.type !== 'aay') return null;
  return v.value as Uint8Array[];
}

/** A delta name as given on the command line: hex FROM-TO / TO, or revs (show accepts refs). */
async function resolveDeltaName(ctx: CliContext, s: string): Promise<DeltaName> {
  try {
    return parseDeltaName(s);
  } catch {
    throw new XylemError(`Invalid rev ${s}`);
  }
}

async function signerFor(ctx: CliContext, type: string | undefined, keys: string[]): Promise<Signer> {
  const signer = await getSigner(type ?? 'ed25519', { fs: ctx.host.fs, env: ctx.env });
  let n = 0;
  for (const k of keys) {
    if (n++ === 0) signer.setPublicKey(k);
    else signer.addPublicKey(k);
  }
  return signer;
}

const run: Record<string, (ctx: CliContext, argv: string[]) => Promise<number>> = {
  async list(ctx, argv) {
    parseCommand(ctx, argv, []);
    const repo = await ctx.openRepo();
    const { listDeltas } = await import('../../src/delta/manage.ts');
    const deltas = await listDeltas(repo);
    if (deltas.length === 0) ctx.out('No static deltas\n');
    for (const d of deltas) ctx.out(`${deltaNameString(d)}\n`);
    return 0;
  },

  async show(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    if (p.positionals.length < 1) throw new UsageError('DELTA must be specified');
    const repo = await ctx.openRepo();
    const name = await resolveDeltaName(ctx, p.positionals[0]!);
    const { showDelta } = await import('../../src/delta/show.ts');
    ctx.out(await showDelta(repo, name));
    return 0;
  },

  async delete(ctx, argv) {
    const p = parseCommand(ctx, argv, []);
    if (p.positionals.length < 1) throw new UsageError('DELTA must be specified');
    const repo = await ctx.openRepo();
    const { deleteDelta } = await import('../../src/delta/manage.ts');
    await deleteDelta(repo, await resolveDeltaName(ctx, p.positionals[0]!));
    return 0;
  },

  async indexes(ctx, argv) {
    parseCommand(ctx, argv, []);
    const repo = await ctx.openRepo();
    const { listDeltaIndexes } = await import('../../src/delta/manage.ts');
    for (const t of await listDeltaIndexes(repo)) ctx.out(`${t}\n`);
    return 0;
  },

  async reindex(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'to', kind: 'string' }]);
    const repo = await ctx.openRepo();
    const to = p.value('to');
    const { reindexDeltas } = await import('../../src/delta/manage.ts');
    await reindexDeltas(repo, to === undefined ? undefined : (await resolveRev(repo, to))!);
    return 0;
  },

  async 'apply-offline'(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'sign-type', kind: 'string' },
      { name: 'keys-file', kind: 'string' },
      { name: 'keys-dir', kind: 'string' },
    ]);
    if (p.positionals.length < 1) throw new UsageError('PATH must be specified');
    const repo = await ctx.openRepo();
    const [path, ...keys] = p.positionals as [string, ...string[]];
    const { applyDeltaOffline } = await import('../../src/delta/apply.ts');
    const keysFile = p.value('keys-file');
    const keysDir = p.value('keys-dir');
    let verify;
    if (keys.length > 0 || keysFile !== undefined || keysDir !== undefined) {
      const signer = await signerFor(ctx, p.value('sign-type'), keys);
      if (keysFile !== undefined || keysDir !== undefined)
        await signer.loadPublicKeys({ ...(keysFile !== undefined ? { filename: keysFile } : {}), ...(keysDir !== undefined ? { basedir: keysDir } : {}) });
      verify = async (bytes: Uint8Array, sigs: Array<[string, GVVariant]>) => {
        await signer.verify(bytes, signaturesOf(signer, sigs));
      };
    }
    await applyDeltaOffline(repo, path, verify ? { verifySignature: verify } : {});
    return 0;
  },

  async verify(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'sign-type', kind: 'string' },
      { name: 'keys-file', kind: 'string' },
      { name: 'keys-dir', kind: 'string' },
    ]);
    if (p.positionals.length < 1) throw new UsageError('DELTA must be specified');
    const repo = await ctx.openRepo();
    const [nameArg, ...keys] = p.positionals as [string, ...string[]];
    const name = await resolveDeltaName(ctx, nameArg);
    const { loadSuperblock } = await import('../../src/delta/apply.ts');
    try {
      let signer: Signer;
      try {
        signer = await signerFor(ctx, p.value('sign-type'), keys);
      } catch (e) {
        ctx.out('Sign-type not supported\n');
        throw e;
      }
      const keysFile = p.value('keys-file');
      const keysDir = p.value('keys-dir');
      if (keysFile !== undefined || keysDir !== undefined || keys.length === 0)
        await signer.loadPublicKeys({ ...(keysFile !== undefined ? { filename: keysFile } : {}), ...(keysDir !== undefined ? { basedir: keysDir } : {}) });
      const file = joinPath(repo.path, deltaRelDir(name.from, name.to), 'superblock');
      let data: Uint8Array;
      try {
        data = await repo.fs.readFile(file);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') throw new XylemError(`Can't find delta ${deltaNameString(name)}`);
        throw e;
      }
      const { isSignedSuperblock } = await import('../../src/delta/superblock.ts');
      if (!isSignedSuperblock(data)) throw new XylemError('no signatures in static-delta');
      await loadSuperblock(data, async (bytes, sigs) => {
        await signer.verify(bytes, signaturesOf(signer, sigs));
      });
    } catch (e) {
      if (!(e instanceof XylemError && e.message === 'Requested signature type is not implemented')) ctx.out('Verification fails\n');
      throw e;
    }
    ctx.out('Verification OK\n');
    return 0;
  },

  async generate(ctx, argv) {
    void argv;
    throw new XylemError('static-delta generate: not implemented yet');
  },
};

export const command: Command = {
  name: 'static-delta',
  summary: 'Static delta related commands',
  async run(ctx, argv) {
    const first = argv.find((a) => !a.startsWith('-'));
    if (first === undefined) {
      if (argv.includes('-h') || argv.includes('--help')) {
        ctx.out(usage());
        return 0;
      }
      ctx.err(usage());
      throw new UsageError('No "static-delta" subcommand specified');
    }
    const sub = run[first];
    if (!sub) {
      ctx.err(usage());
      throw new UsageError(`Unknown "static-delta" subcommand '${first}'`);
    }
    const i = argv.indexOf(first);
    return sub(ctx, [...argv.slice(0, i), ...argv.slice(i + 1)]);
  },
};

export type { OptionSpec };
