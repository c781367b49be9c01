// `xylem diff [REV_OR_DIR] REV_OR_DIR`: compare two commits or a commit and a directory (ostree diff).

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { diffTrees, formatDiff, type DiffSide } from '../../src/repo/diff.ts';
import { resolveRev } from '../../src/repo/refs.ts';
import { traverseCommit, ObjectSet } from '../../src/repo/traverse.ts';
import { formatSize } from '../../src/util/format-size.ts';
import type { Repo } from '../../src/repo/repo.ts';
import { XylemError } from '../../src/util/errors.ts';

async function side(repo: Repo, arg: string): Promise<DiffSide> {
  // As ostree: an argument starting with '/' or './' is a directory, anything else a revision.
  if (arg.startsWith('/') || arg.startsWith('./')) return { kind: 'dir', path: arg };
  return { kind: 'commit', checksum: (await resolveRev(repo, arg))! };
}

function parseId(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new XylemError(`Cannot parse integer value “${text}” for --${what}`);
  return Number(text);
}

async function printStats(repo: Repo, revA: string, revB: string, out: (t: string) => void): Promise<void> {
  const a = (await resolveRev(repo, revA))!;
  const b = (await resolveRev(repo, revB))!;
  const ra = new ObjectSet();
  const rb = new ObjectSet();
  await traverseCommit(repo, a, ra, { depth: 0 });
  await traverseCommit(repo, b, rb, { depth: 0 });
  out(`[A] Object Count: ${ra.size}\n`);
  out(`[B] Object Count: ${rb.size}\n`);
  let common = 0;
  let total = 0;
  for (const { checksum, type } of ra.entries()) {
    if (!rb.has(checksum, type)) continue;
    common++;
    const st = await repo.fs.lstat(repo.objectPath(checksum, type));
    if (st) total += st.size;
  }
  out(`Common Object Count: ${common}\n`);
  out(`Common Object Size: ${formatSize(total)}\n`);
}

export const command: Command = {
  name: 'diff',
  summary: 'Compare a directory against a revision',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'stats', kind: 'flag', description: 'Print the number of changed files' },
      { name: 'fs-diff', kind: 'flag', description: 'Print the file system differences' },
      { name: 'no-xattrs', kind: 'flag', description: 'Ignore extended attributes' },
      { name: 'owner-uid', kind: 'string', arg: 'UID', description: 'Compare as if every file had this user id' },
      { name: 'owner-gid', kind: 'string', arg: 'GID', description: 'Compare as if every file had this group id' },
    ]);
    if (p.positionals.length < 1) throw new UsageError('REV must be specified');
    const repo = await ctx.openRepo();
    let src: string;
    let target: string;
    if (p.positionals.length === 1) {
      src = `${p.positionals[0]}^`;
      target = p.positionals[0]!;
    } else {
      src = p.positionals[0]!;
      target = p.positionals[1]!;
    }
    const stats = p.flag('stats');
    const fsDiff = p.flag('fs-diff') || !stats;
    if (fsDiff) {
      const a = await side(repo, src);
      const b = await side(repo, target);
      const result = await diffTrees(repo, a, b, {
        noXattrs: p.flag('no-xattrs'),
        ownerUid: parseId(p.value('owner-uid'), 'owner-uid'),
        ownerGid: parseId(p.value('owner-gid'), 'owner-gid'),
        // Loaded on demand: the WASM module is not needed by any other command's start-up.
        core: a.kind === 'commit' && b.kind === 'commit' ? (await import('../../core-wasm/index.ts')).loadCoreSync() : undefined,
      });
      ctx.out(formatDiff(result, a, b));
    }
    if (stats) await printStats(repo, src, target, ctx.out);
    return 0;
  },
};
