// `xylem pull [OPTION…] REMOTE [BRANCH…]` (also `REMOTE:BRANCH`): ostree pull. On a TTY the one-line
// progress is redrawn in place ("Receiving objects: 45% (2345/5120) 3.1 MB/s 15.2 MB"); otherwise only
// the final status line is printed; --json prints NDJSON progress events and a final result.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { pull, type PullOptions } from '../../src/pull/pull.ts';
import { formatPullProgressLine, ostreeCounterNames, type PullProgress } from '../../src/pull/progress.ts';
import { Repo } from '../../src/repo/repo.ts';
import { parseRefspec } from '../../src/repo/refs.ts';
import { XylemError } from '../../src/util/errors.ts';
import { getRemoteUrl, remoteCookieHeader, remoteGpgVerify, remoteGpgVerifySummary, remoteNameIsFile } from '../../src/remote/config.ts';
import { pullSignatureHooks } from '../../src/remote/policy.ts';

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
      { name: 'commit-metadata-only', kind: 'flag' },
      { name: 'cache-dir', kind: 'string' },
      { name: 'disable-fsync', kind: 'flag' },
      { name: 'per-object-fsync', kind: 'flag' },
      { name: 'disable-static-deltas', kind: 'flag' },
      { name: 'require-static-deltas', kind: 'flag' },
      { name: 'disable-retry-on-network-errors', kind: 'flag' },
      { name: 'mirror', kind: 'flag' },
      { name: 'subpath', kind: 'strings' },
      { name: 'untrusted', kind: 'flag' },
      { name: 'http-trusted', kind: 'flag' },
      { name: 'bareuseronly-files', kind: 'flag' },
      { name: 'dry-run', kind: 'flag' },
      { name: 'depth', kind: 'string' },
      { name: 'url', kind: 'string' },
      { name: 'http-header', kind: 'strings' },
      { name: 'update-frequency', kind: 'string' },
      { name: 'network-retries', kind: 'string' },
      { name: 'low-speed-limit-bytes', kind: 'string' },
      { name: 'low-speed-time-seconds', kind: 'string' },
      { name: 'max-outstanding-fetcher-requests', kind: 'string' },
      { name: 'localcache-repo', short: 'L', kind: 'strings' },
      { name: 'timestamp-check', short: 'T', kind: 'flag' },
      { name: 'timestamp-check-from-rev', kind: 'string' },
      { name: 'disable-verify-bindings', kind: 'flag' },
      { name: 'append-user-agent', kind: 'string' },
      { name: 'json', kind: 'flag' },
    ]);
    if (p.flag('help')) {
      ctx.out('Usage:\n  ostree pull [OPTION…] REMOTE [BRANCH…]\n\nDownload data from remote repository\n');
      return 0;
    }
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
    // Signatures: the signing module's checks, with GPG on as the remote configures it.
    let verifyCommit: PullOptions['verifyCommit'];
    let verifySummary: PullOptions['verifySummary'];
    if (!remoteNameIsFile(remote)) {
      const commitHooks = pullSignatureHooks(repo, { gpgVerify: await remoteGpgVerify(repo, remote) });
      const summaryHooks = pullSignatureHooks(repo, { gpgVerify: await remoteGpgVerifySummary(repo, remote) });
      verifyCommit = (r, c, b, m) => commitHooks.verifyCommit(r, c, b, m);
      verifySummary = (r, s, sig) => summaryHooks.verifySummary(r, s, sig);
    }
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
      verifyCommit,
      verifySummary,
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
