// `xylem static-delta list|show|delete|generate|apply-offline|verify|indexes|reindex` (ostree
// static-delta): manage, create and apply static deltas. The engine is in src/delta/.

import type { CliContext, Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand, pickSubcommand, type SubcommandRow } from '../cli/common.ts';
import type { OptionSpec } from '../cli/options.ts';
import { XylemError, errnoCode } from '../../src/util/errors.ts';
import type { GVVariant } from '../../src/format/gvariant.ts';
import { getSigner, type Signer } from '../../src/crypto/signer.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { deltaNameString, deltaRelDir, parseDeltaName, type DeltaName } from '../../src/delta/paths.ts';
import { joinPath } from '../../src/util/path.ts';

const SUBCOMMANDS: SubcommandRow[] = [
  ['list', 'List static delta files', ''],
  ['show', 'Dump information on a delta', 'DELTA'],
  ['delete', 'Remove a delta', 'DELTA'],
  ['generate', 'Generate static delta files', '[TO]'],
  ['apply-offline', 'Apply static delta file', 'STATIC-DELTA-FILE [KEY-ID…]'],
  ['verify', 'Verify static delta signatures', 'STATIC-DELTA [KEY-ID…]'],
  ['indexes', 'List static delta indexes', ''],
  ['reindex', 'Regenerate static delta indexes', ''],
];

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
    const p = parseCommand(ctx, argv, [{ name: 'to', kind: 'string', arg: 'REV', description: 'New commit' }]);
    const repo = await ctx.openRepo();
    const to = p.value('to');
    const { reindexDeltas } = await import('../../src/delta/manage.ts');
    await reindexDeltas(repo, to === undefined ? undefined : (await resolveRev(repo, to))!);
    return 0;
  },

  async 'apply-offline'(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'sign-type', kind: 'string', arg: 'NAME', description: 'Signature scheme (default: ed25519)' },
      { name: 'keys-file', kind: 'string', arg: 'FILE', description: 'Read keys, one per line, from FILE' },
      { name: 'keys-dir', kind: 'string', arg: 'DIR', description: 'Read trusted keys from the files of DIR' },
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
    if (!verify && repo.config.getBoolean('core', 'sign-verify-deltas') === true)
      throw new XylemError('Key is mandatory to check delta signature');
    await applyDeltaOffline(repo, path, verify ? { verifySignature: verify } : {});
    return 0;
  },

  async verify(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'sign-type', kind: 'string', arg: 'NAME', description: 'Signature scheme (default: ed25519)' },
      { name: 'keys-file', kind: 'string', arg: 'FILE', description: 'Read keys, one per line, from FILE' },
      { name: 'keys-dir', kind: 'string', arg: 'DIR', description: 'Read trusted keys from the files of DIR' },
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
    const p = parseCommand(ctx, argv, [
      { name: 'from', kind: 'string', arg: 'REV', description: 'Old commit (default: TO\'s parent)' },
      { name: 'empty', kind: 'flag', description: 'Make a delta from nothing to TO' },
      { name: 'inline', kind: 'flag', description: 'Put the parts inside the superblock' },
      { name: 'to', kind: 'string', arg: 'REV', description: 'New commit' },
      { name: 'disable-bsdiff', kind: 'flag', description: 'Never use bsdiff' },
      { name: 'if-not-exists', short: 'n', kind: 'flag', description: 'Do nothing if the delta exists' },
      { name: 'set-endianness', kind: 'string', arg: 'ENDIAN', description: 'Write in this byte order: l or B' },
      { name: 'swap-endianness', kind: 'flag', description: 'Write in the other byte order' },
      { name: 'min-fallback-size', kind: 'string', arg: 'MB', description: 'Store objects bigger than this many MB whole' },
      { name: 'max-bsdiff-size', kind: 'string', arg: 'MB', description: 'Use bsdiff only on files up to this many MB' },
      { name: 'max-chunk-size', kind: 'string', arg: 'MB', description: 'Parts hold up to this many MB' },
      { name: 'filename', kind: 'string', arg: 'FILE', description: 'Write the delta to this file' },
      { name: 'sign', kind: 'strings', arg: 'KEY', description: 'Sign the delta with this secret key (repeatable)' },
      { name: 'sign-type', kind: 'string', arg: 'NAME', description: 'Signature scheme (default: ed25519)' },
      { name: 'keys-file', kind: 'string', arg: 'FILE', description: 'Read keys, one per line, from FILE' },
    ]);
    const repo = await ctx.openRepo();
    // As ostree: the TO revision may also be given as the first argument.
    const toArg = p.value('to') ?? p.positionals[0];
    if (toArg === undefined) throw new UsageError('TO revision must be specified');
    const fromArg = p.value('from');
    if (p.flag('empty') && fromArg !== undefined) throw new UsageError('Cannot specify both --empty and --from=REV');
    const to = (await resolveRev(repo, toArg))!;
    let from: string | null = null;
    if (fromArg !== undefined) from = (await resolveRev(repo, fromArg))!;
    else if (!p.flag('empty')) {
      const parent = (await repo.loadCommit(to)).parent;
      if (!parent) throw new XylemError(`Commit ${to} has no parent; use --empty for a from-scratch delta`);
      from = parent;
    }
    const megabytes = (name: string, dflt: number): number => {
      const v = p.value(name);
      if (v === undefined) return dflt * 1000 * 1000;
      if (!/^\d+$/.test(v)) throw new UsageError(`Invalid --${name} '${v}'`);
      return Number(v) * 1000 * 1000;
    };
    const name: DeltaName = { from, to };
    const filename = p.value('filename');
    if (p.flag('if-not-exists') && filename === undefined) {
      if (await repo.fs.lstat(joinPath(repo.path, deltaRelDir(from, to), 'superblock'))) {
        ctx.out(`Delta ${deltaNameString(name)} already exists.\n`);
        return 0;
      }
    }
    const setE = p.value('set-endianness');
    if (setE !== undefined && setE !== 'l' && setE !== 'B') throw new UsageError("Invalid endianness, must be 'l' or 'B'");
    const endianness = setE === 'B' || (setE === undefined && p.flag('swap-endianness')) ? 'big' : 'little';
    const signKeys = p.list('sign');
    const signers = [];
    if (signKeys.length > 0 || p.value('keys-file') !== undefined) {
      const { getSigner } = await import('../../src/crypto/signer.ts');
      const keys = [...signKeys];
      const kf = p.value('keys-file');
      if (kf !== undefined) {
        const { fromUtf8Lossy } = await import('../../src/util/bytes.ts');
        keys.push(...fromUtf8Lossy(await ctx.host.fs.readFile(kf)).split('\n').filter((l) => l !== ''));
      }
      for (const k of keys) {
        const s = await getSigner(p.value('sign-type') ?? 'ed25519', { fs: ctx.host.fs, env: ctx.env });
        s.setSecretKey(k);
        signers.push(s);
      }
    }
    const { generateDelta } = await import('../../src/delta/generate.ts');
    const { defaultXzEncoder } = await import('../../src/delta/xz-encoder.ts');
    await generateDelta(repo, {
      from,
      to,
      inline: p.flag('inline'),
      minFallbackSize: megabytes('min-fallback-size', 4),
      maxBsdiffSize: megabytes('max-bsdiff-size', 128),
      maxChunkSize: megabytes('max-chunk-size', 32),
      disableBsdiff: p.flag('disable-bsdiff'),
      endianness,
      xz: await defaultXzEncoder(),
      signers,
      ...(filename !== undefined ? { filename } : {}),
      log: (line, stream) => (stream === 'out' ? ctx.out(`${line}\n`) : ctx.err(`${line}\n`)),
    });
    return 0;
  },
};

export const command: Command = {
  name: 'static-delta',
  summary: 'Static delta related commands',
  async run(ctx, argv) {
    const picked = pickSubcommand(ctx, argv, SUBCOMMANDS);
    return run[picked.name]!(ctx, picked.argv);
  },
};

export type { OptionSpec };
