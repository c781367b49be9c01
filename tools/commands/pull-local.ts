// `xylem pull-local SRC_REPO [REFS…]`: copy commits from another local repository.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { Repo } from '../../src/repo/repo.ts';
import { pullLocal } from '../../src/pull/pull-local.ts';
import { pull } from '../../src/pull/pull.ts';
import { listLocalRefs } from '../../src/repo/refs.ts';
import { formatSize } from '../../src/pull/progress.ts';

export const command: Command = {
  name: 'pull-local',
  summary: 'Copy data from SRC_REPO',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'commit-metadata-only', kind: 'flag' },
      { name: 'remote', kind: 'string' },
      { name: 'disable-fsync', kind: 'flag' },
      { name: 'per-object-fsync', kind: 'flag' },
      { name: 'untrusted', kind: 'flag' },
      { name: 'bareuseronly-files', kind: 'flag' },
      { name: 'require-static-deltas', kind: 'flag' },
      { name: 'gpg-verify', kind: 'flag' },
      { name: 'gpg-verify-summary', kind: 'flag' },
      { name: 'disable-verify-bindings', kind: 'flag' },
      { name: 'depth', kind: 'string' },
    ]);
    const [srcPath, ...refs] = p.positionals;
    if (!srcPath) throw new UsageError('DESTINATION must be specified');
    const repo = await ctx.openRepo();
    if (p.flag('disable-fsync')) repo.config.set('core', 'fsync', 'false');
    const src = await Repo.open(ctx.host, srcPath);
    const depth = p.value('depth');
    const remoteName = p.value('remote') ?? null;
    if (p.flag('require-static-deltas')) {
      // As ostree: deltas are only used through the "remote" code path, so the source is pulled
      // as a file:// URL (its summary or delta indexes advertise the deltas).
      const abs = srcPath.startsWith('/') ? srcPath : `${process.cwd().replace(/\/$/, '')}/${srcPath}`;
      const url = `file://${abs.split('/').map(encodeURIComponent).join('/')}`;
      let pullRefs = refs;
      if (pullRefs.length === 0) pullRefs = (await listLocalRefs(src)).map((e) => e.ref);
      const result = await pull(repo, url, {
        refs: pullRefs,
        depth: depth === undefined ? 0 : Number(depth),
        commitMetadataOnly: p.flag('commit-metadata-only'),
        bareuseronlyFiles: p.flag('bareuseronly-files'),
        untrusted: p.flag('untrusted'),
        requireStaticDeltas: true,
        disableVerifyBindings: p.flag('disable-verify-bindings'),
        gpgVerify: p.flag('gpg-verify'),
        gpgVerifySummary: p.flag('gpg-verify-summary'),
        ...(remoteName ? { overrideRemoteName: remoteName } : {}),
      });
      if (result.status) ctx.out(`${result.status}\n`);
      return 0;
    }
    const stats = await pullLocal(repo, src, refs, {
      depth: depth === undefined ? 0 : Number(depth),
      commitMetadataOnly: p.flag('commit-metadata-only'),
      remote: remoteName,
      bareuseronlyFiles: p.flag('bareuseronly-files'),
      untrusted: p.flag('untrusted'),
      gpgVerify: p.flag('gpg-verify'),
      gpgVerifySummary: p.flag('gpg-verify-summary'),
    });
    ctx.out(`${stats.metadataImported} metadata, ${stats.contentImported} content objects imported; ${formatSize(stats.contentBytesWritten)} content written\n`);
    return 0;
  },
};
