// `xylem pull-local SRC_REPO [REFS…]`: copy commits from another local repository.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { Repo } from '../../src/repo/repo.ts';
import { pullLocal } from '../../src/pull/pull-local.ts';
import { pull } from '../../src/pull/pull.ts';
import { listLocalRefs } from '../../src/repo/refs.ts';
import { formatSize } from '../../src/util/format-size.ts';

export const command: Command = {
  name: 'pull-local',
  summary: 'Copy data from SRC_REPO',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'commit-metadata-only', kind: 'flag', description: 'Fetch only the commit objects' },
      { name: 'remote', kind: 'string', arg: 'REMOTE', description: 'Store refs as REMOTE:REF and check signatures with this remote\'s keys' },
      { name: 'disable-fsync', kind: 'flag', description: 'Do not fsync writes (fast, unsafe on a crash)' },
      { name: 'per-object-fsync', kind: 'flag', description: 'fsync each object as it is written' },
      { name: 'untrusted', kind: 'flag', description: 'Verify every object of the source repository' },
      { name: 'bareuseronly-files', kind: 'flag', description: 'Refuse files a bare-user-only repo cannot hold (setuid, world-writable)' },
      { name: 'require-static-deltas', kind: 'flag', description: 'Fail unless static deltas cover the pull' },
      { name: 'gpg-verify', kind: 'flag', description: 'Require GPG-signed commits (with --remote\'s keys)' },
      { name: 'gpg-verify-summary', kind: 'flag', description: 'Require a GPG-signed summary (with --remote\'s keys)' },
      { name: 'disable-verify-bindings', kind: 'flag', description: 'Do not check that commits are bound to the requested refs' },
      { name: 'depth', kind: 'string', arg: 'DEPTH', description: 'How many parent commits to fetch too (-1: all)' },
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
