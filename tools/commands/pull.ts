// `xylem pull [OPTION…] REMOTE [BRANCH…]` (also `REMOTE:BRANCH`): ostree pull. On a TTY the one-line
// progress is redrawn in place ("Receiving objects: 45% (2345/5120) 3.1 MB/s 15.2 MB"); otherwise only
// the final status line is printed; --json prints NDJSON progress events and a final result.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { pull } from '../../src/pull/pull.ts';
import type { PullOptions } from '../../src/pull/options.ts';
import { formatPullProgressLine, ostreeCounterNames, type PullProgress } from '../../src/pull/progress.ts';
import { Repo } from '../../src/repo/repo.ts';
import { parseRefspec } from '../../src/repo/refs.ts';
import { XylemError } from '../../src/util/errors.ts';
import { getRemoteUrl, remoteCookieHeader, remoteNameIsFile } from '../../src/remote/config.ts';

function intOption(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v.trim())) throw new UsageError(`Cannot parse integer value “${v}” for --${name}`);
  return Number(v);
}

/** Progress with ostree's counter names (for --json). */
function ostreeNamed(p: PullProgress): Record<string, unknown> {
  const out: Record<string, unknown> = { phase: p.phase };
  for (const [k, name] of Object.entries(ostreeCounterNames)) out[name] = p[k as keyof PullProgress];
  return out;
}

export const command: Command = {
  name: 'pull',
  summary: 'Download data from remote repository',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'commit-metadata-only', kind: 'flag', description: 'Fetch only the commit objects' },
      { name: 'cache-dir', kind: 'string', arg: 'DIR', description: 'Folder for cached summaries' },
      { name: 'disable-fsync', kind: 'flag', description: 'Do not fsync writes (fast, unsafe on a crash)' },
      { name: 'per-object-fsync', kind: 'flag', description: 'fsync each object as it is written' },
      { name: 'disable-static-deltas', kind: 'flag', description: 'Fetch objects, never static deltas' },
      { name: 'require-static-deltas', kind: 'flag', description: 'Fail unless static deltas cover the pull' },
      { name: 'disable-retry-on-network-errors', kind: 'flag', description: 'Do not retry after network errors' },
      { name: 'mirror', kind: 'flag', description: 'Write refs as they are on the remote (mirror), and the summary' },
      { name: 'subpath', kind: 'strings', arg: 'PATH', description: 'Only fetch this path of the tree (repeatable)' },
      { name: 'untrusted', kind: 'flag', description: 'Verify every object even from a local source' },
      { name: 'http-trusted', kind: 'flag', description: 'Do not verify objects fetched over HTTP(S) (archive repositories)' },
      { name: 'bareuseronly-files', kind: 'flag', description: 'Refuse files a bare-user-only repo cannot hold (setuid, world-writable)' },
      { name: 'dry-run', kind: 'flag', description: 'Only print what would be fetched' },
      { name: 'depth', kind: 'string', arg: 'DEPTH', description: 'How many parent commits to fetch too (-1: all)' },
      { name: 'url', kind: 'string', arg: 'URL', description: 'Pull from URL instead of the configured one' },
      { name: 'http-header', kind: 'strings', arg: 'NAME=VALUE', description: 'Send this HTTP header (repeatable)' },
      { name: 'update-frequency', kind: 'string', arg: 'MS', description: 'Milliseconds between progress updates' },
      { name: 'network-retries', kind: 'string', arg: 'N', description: 'Times to retry after a network error (default: 5)' },
      { name: 'low-speed-limit-bytes', kind: 'string', arg: 'N', description: 'Abort below this many bytes per second' },
      { name: 'low-speed-time-seconds', kind: 'string', arg: 'N', description: 'for this many seconds' },
      { name: 'max-outstanding-fetcher-requests', kind: 'string', arg: 'N', description: 'Requests kept in flight' },
      { name: 'localcache-repo', short: 'L', kind: 'strings', arg: 'PATH', description: 'Take objects from this local repository first (repeatable)' },
      { name: 'timestamp-check', short: 'T', kind: 'flag', description: 'Refuse commits older than the current ones' },
      { name: 'timestamp-check-from-rev', kind: 'string', arg: 'COMMIT', description: 'Refuse commits older than this commit' },
      { name: 'disable-verify-bindings', kind: 'flag', description: 'Do not check that commits are bound to the requested refs' },
      { name: 'append-user-agent', kind: 'string', arg: 'NAME/VERSION', description: 'Add this to the User-Agent header' },
      { name: 'json', kind: 'flag', description: 'Print progress and the result as JSON lines' },
    ]);
    const repo = await ctx.openRepo();
    const cacheDir = p.value('cache-dir');
    if (cacheDir !== undefined) {
      const st = await ctx.host.fs.stat(cacheDir);
      if (!st || st.kind !== 'dir') throw new XylemError(`opendir(${cacheDir}): ${st ? 'Not a directory' : 'No such file or directory'}`);
    }
    if (p.flag('dry-run') && !p.flag('require-static-deltas')) throw new XylemError('--dry-run requires --require-static-deltas');
    const [first, ...rest] = p.positionals;
    if (!first) throw new UsageError('REMOTE must be specified');
    if (p.flag('disable-fsync')) repo.config.set('core', 'fsync', 'false');
    let remote: string;
    let refs: string[];
    if (first.includes(':') && !first.startsWith('file://')) {
      const spec = parseRefspec(first);
      remote = spec.remote!;
      refs = [spec.ref, ...rest];
    } else {
      remote = first;
      refs = rest;
    }
    const headers: Array<[string, string]> = [];
    for (const kv of p.list('http-header')) {
      const eq = kv.indexOf('=');
      if (eq < 0) throw new XylemError("Missing '=' in --http-header");
      headers.push([kv.slice(0, eq), kv.slice(eq + 1)]);
    }
    // As ostree: the remote's cookie jar (REMOTE.cookies.txt, `remote add-cookie`) goes with the requests.
    if (!remoteNameIsFile(remote)) {
      // (An unknown remote or URL is left for the pull itself to report.)
      const url = p.value('url') ?? (await getRemoteUrl(repo, remote).catch(() => null));
      const cookie = url === null ? null : await remoteCookieHeader(repo, remote, url);
      if (cookie !== null) headers.push(['Cookie', cookie]);
    }
    const localCacheRepos: Repo[] = [];
    for (const path of p.list('localcache-repo')) localCacheRepos.push(await Repo.open(ctx.host, path));
    const json = p.flag('json');
    const tty = ctx.isTTY && !json;
    let drawn = false;
    const lowSpeedTime = intOption(p.value('low-speed-time-seconds'), 'low-speed-time-seconds');
    const lowSpeedLimit = intOption(p.value('low-speed-limit-bytes'), 'low-speed-limit-bytes');
    if (lowSpeedLimit !== undefined && lowSpeedLimit < 0) throw new UsageError(`Invalid value ${lowSpeedLimit} for --low-speed-limit-bytes: must not be negative`);
    const opts: PullOptions = {
      refs,
      depth: intOption(p.value('depth'), 'depth') ?? 0,
      commitMetadataOnly: p.flag('commit-metadata-only'),
      subpaths: p.list('subpath'),
      mirror: p.flag('mirror'),
      dryRun: p.flag('dry-run'),
      overrideUrl: p.value('url'),
      httpHeaders: headers,
      appendUserAgent: p.value('append-user-agent'),
      networkRetries: p.flag('disable-retry-on-network-errors') ? 0 : intOption(p.value('network-retries'), 'network-retries'),
      maxConcurrent: intOption(p.value('max-outstanding-fetcher-requests'), 'max-outstanding-fetcher-requests') || undefined,
      stallTimeoutSeconds: lowSpeedTime && lowSpeedTime > 0 ? lowSpeedTime : undefined,
      lowSpeedLimitBytes: lowSpeedLimit,
      localCacheRepos,
      bareuseronlyFiles: p.flag('bareuseronly-files'),
      requireStaticDeltas: p.flag('require-static-deltas'),
      disableStaticDeltas: p.flag('disable-static-deltas'),
      untrusted: p.flag('untrusted'),
      httpTrusted: p.flag('http-trusted') && !p.flag('untrusted'),
      timestampCheck: p.flag('timestamp-check'),
      timestampCheckFromRev: p.value('timestamp-check-from-rev'),
      disableVerifyBindings: p.flag('disable-verify-bindings'),
      cacheDir,
      updateFrequencyMs: intOption(p.value('update-frequency'), 'update-frequency'),
      onProgress: (pr) => {
        if (json) ctx.out(JSON.stringify({ event: 'progress', ...ostreeNamed(pr as PullProgress) }) + '\n');
        else if (tty && pr.phase !== 'done') {
          ctx.out(`\r\x1b[K${formatPullProgressLine(pr as PullProgress, Date.now())}`);
          drawn = true;
        }
      },
    };
    let result;
    try {
      result = await pull(repo, remote, opts);
    } finally {
      if (drawn) ctx.out('\r\x1b[K');
    }
    if (json) {
      ctx.out(JSON.stringify({ event: 'done', status: result.status, refs: result.refs, stats: result.stats, dryRun: result.dryRun }) + '\n');
    } else if (result.dryRun) {
      ctx.out(`${result.status}\n`);
    } else if (result.status) {
      ctx.out(`${result.status}\n`);
    }
    return 0;
  },
};
