// `xylem fsck`: check the repository for consistency (ostree fsck): options, output and exit code.

import type { Command } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { fsckRepo, nonTtyProgress } from '../../src/repo/fsck.ts';

/** A terminal progress bar in the spirit of libglnx's: redrawn in place, finished with a newline. */
function ttyProgress(write: (t: string) => void): (done: number, total: number) => void {
  let lastPct = -1;
  return (done, total) => {
    const pct = Math.floor((done / total) * 100);
    if (pct === lastPct && done !== total) return;
    lastPct = pct;
    const width = 20;
    const filled = Math.round((pct / 100) * width);
    write(`\rfsck objects (${done}/${total}) [${'='.repeat(filled)}${' '.repeat(width - filled)}] ${String(pct).padStart(3)}%`);
    if (done === total) write('\n');
  };
}

export const command: Command = {
  name: 'fsck',
  summary: 'Check the repository for consistency',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'add-tombstones', kind: 'flag', description: 'Add tombstones for missing commits' },
      { name: 'quiet', short: 'q', kind: 'flag', description: 'Print only errors' },
      { name: 'all', short: 'a', kind: 'flag', description: 'Check partial commits too' },
      { name: 'delete', kind: 'flag', description: 'Delete corrupted objects' },
      { name: 'verify-bindings', kind: 'flag', description: 'Check that commits are bound to the refs that name them' },
      { name: 'verify-back-refs', kind: 'flag', description: 'Check that each ref is listed in its commit\'s bindings' },
    ]);
    const repo = await ctx.openRepo();
    await fsckRepo(
      repo,
      {
        quiet: p.flag('quiet'),
        all: p.flag('all'),
        delete: p.flag('delete'),
        addTombstones: p.flag('add-tombstones'),
        verifyBindings: p.flag('verify-bindings'),
        verifyBackRefs: p.flag('verify-back-refs'),
        concurrency: Math.max(16, (repo.host.concurrency ?? 2) * 16),
      },
      { out: ctx.out, err: ctx.err, progress: ctx.isTTY ? ttyProgress(ctx.out) : nonTtyProgress(ctx.out) },
    );
    return 0;
  },
};
