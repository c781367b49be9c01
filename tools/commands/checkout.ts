// `xylem checkout COMMIT [DEST]`: materialize a commit into a directory (ostree checkout).
// `--from-file FILE` / `--from-stdin` check out many (revision, subpath) pairs into one folder.

import type { CliContext, Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { checkout, type CheckoutOptions, type OverwriteMode } from '../../src/repo/checkout.ts';
import type { Repo } from '../../src/repo/repo.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { basename } from '../../src/util/path.ts';
import { fromUtf8 } from '../../src/util/bytes.ts';
import { XylemError, errnoCode } from '../../src/util/errors.ts';

async function readText(ctx: CliContext, path: string): Promise<string> {
  try {
    return fromUtf8(await ctx.host.fs.readFile(path));
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new XylemError(`openat(${path}): No such file or directory`);
    throw e;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function runOne(repo: Repo, rev: string, dest: string, opts: CheckoutOptions, allowNoent: boolean): Promise<void> {
  try {
    await checkout(repo, rev, dest, opts);
  } catch (e) {
    if (allowNoent && /^No such file or directory/.test(String((e as Error).message))) return;
    throw e;
  }
}

export const command: Command = {
  name: 'checkout',
  summary: 'Check out a commit into a filesystem tree',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'user-mode', short: 'U', kind: 'flag', description: 'Do not change ownership or write extended attributes' },
      { name: 'disable-cache', kind: 'flag', description: 'Do not use the uncompressed object cache' },
      { name: 'subpath', kind: 'string', arg: 'PATH', description: 'Check out only this folder of the tree' },
      { name: 'union', kind: 'flag', description: 'Keep existing folders, overwrite existing files' },
      { name: 'union-add', kind: 'flag', description: 'Keep existing files and folders, only add new ones' },
      { name: 'union-identical', kind: 'flag', description: 'Like --union-add, but fail where a file would change' },
      { name: 'whiteouts', kind: 'flag', description: 'Process Docker-style \'.wh.\' whiteout entries' },
      { name: 'process-whiteouts', kind: 'flag', description: 'Process Docker-style \'.wh.\' whiteout entries' },
      { name: 'process-passthrough-whiteouts', kind: 'flag', description: 'Turn overlayfs whiteouts into 0:0 character devices' },
      { name: 'allow-noent', kind: 'flag', description: 'Do nothing if the path does not exist' },
      { name: 'from-stdin', kind: 'flag', description: 'Read many checkouts from standard input' },
      { name: 'from-file', kind: 'string', arg: 'FILE', description: 'Read many checkouts from FILE' },
      { name: 'require-hardlinks', short: 'H', kind: 'flag', description: 'Fail instead of copying when hardlinking is impossible' },
      { name: 'force-copy', short: 'C', kind: 'flag', description: 'Copy files, never hardlink' },
      // -z: defunct in ostree (zero-sized files are never hardlinked); accepted and ignored.
      { name: 'force-copy-zerosized', short: 'z', kind: 'flag', description: 'Copy empty files instead of hardlinking them' },
      { name: 'bareuseronly-dirs', short: 'M', kind: 'flag', description: 'Drop folder mode bits outside 0775' },
      { name: 'fsync', kind: 'string', arg: 'POLICY', description: 'Whether to fsync writes: true or false' },
      { name: 'skip-list', kind: 'string', arg: 'FILE', description: 'Skip the paths listed in FILE' },
      { name: 'selinux-policy', kind: 'string', arg: 'PATH', description: 'Label files from the SELinux policy of the root filesystem PATH; implies --force-copy' },
      { name: 'selinux-prefix', kind: 'string', arg: 'PREFIX', description: 'Prefix paths by PREFIX when labelling' },
    ]);
    if (p.flag('disable-cache') && p.flag('union')) throw new UsageError('Cannot specify both --disable-cache and --union');
    let overwrite: OverwriteMode = 'none';
    const unions = ['union', 'union-add', 'union-identical'].filter((n) => p.flag(n));
    if (unions.length > 1) throw new UsageError('Cannot specify more than one of --union, --union-add, --union-identical');
    if (p.flag('union')) overwrite = 'union-files';
    else if (p.flag('union-add')) overwrite = 'add-files';
    else if (p.flag('union-identical')) {
      if (!p.flag('require-hardlinks')) throw new UsageError('--union-identical requires --require-hardlinks');
      overwrite = 'union-identical';
    }
    if (p.flag('whiteouts')) throw new XylemError('--whiteouts is not supported by xylem yet');
    const opts: CheckoutOptions = {
      userMode: p.flag('user-mode'),
      requireHardlinks: p.flag('require-hardlinks'),
      forceCopy: p.flag('force-copy'),
      bareuseronlyDirs: p.flag('bareuseronly-dirs'),
      disableCache: p.flag('disable-cache'),
      processPassthroughWhiteouts: p.flag('process-passthrough-whiteouts'),
      overwrite,
    };
    const sub = p.value('subpath');
    if (sub !== undefined) opts.subpath = sub;
    const skipFile = p.value('skip-list');
    if (skipFile !== undefined) opts.skip = new Set((await readText(ctx, skipFile)).split('\n').filter((l) => l !== ''));
    const allowNoent = p.flag('allow-noent');

    const fromFile = p.value('from-file');
    if (fromFile !== undefined || p.flag('from-stdin')) {
      // Many checkouts into one DESTINATION: NUL-separated "REVISION\0SUBPATH\0" pairs, as ostree.
      const dest = p.positionals[0];
      if (!dest) throw new UsageError('COMMIT must be specified');
      const repo = await ctx.openRepo();
      const fields = (fromFile !== undefined ? await readText(ctx, fromFile) : await readStdin()).split('\0');
      for (let i = 0; i + 1 < fields.length && fields[i] !== ''; i += 2) {
        const csum = (await resolveRev(repo, fields[i]!))!;
        try {
          await runOne(repo, csum, dest, { ...opts, subpath: fields[i + 1] || '/' }, allowNoent);
        } catch (e) {
          throw new XylemError(`Processing tree ${csum}: ${(e as Error).message}`);
        }
      }
      return 0;
    }
    const [rev, destArg] = p.positionals;
    if (!rev) throw new UsageError('COMMIT must be specified');
    const repo = await ctx.openRepo();
    await runOne(repo, rev, destArg ?? basename(rev), opts, allowNoent);
    return 0;
  },
};
