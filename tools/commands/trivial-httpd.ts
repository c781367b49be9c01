// `xylem trivial-httpd [OPTION…] [DIR]`: serve DIR (default: the current folder) read-only on
// 127.0.0.1, with ostree-trivial-httpd's options (the upstream test suite starts it with
// --autoexit --daemonize -p PORTFILE --log-file FILE). --cors (xylem's own) lets a page on another
// origin, such as the browser audit page, read the repository.

import { spawn } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as path from 'node:path';
import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { startTrivialHttpd } from '../httpd/server.ts';

const READY = 'xylem-trivial-httpd-ready\n';

function pairs(list: string[], what: string): Array<[string, string]> {
  return list.map((kv) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`Invalid ${what} "${kv}": expected KEY=VALUE`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  });
}

function int(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(v)) throw new UsageError(`Cannot parse integer value “${v}” for --${name}`);
  return Number(v);
}

export const command: Command = {
  name: 'trivial-httpd',
  summary: 'Simple webserver',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [
      { name: 'daemonize', short: 'd', kind: 'flag', description: 'Run in the background' },
      { name: 'autoexit', kind: 'flag', description: 'Exit when the served folder is deleted' },
      { name: 'port', short: 'P', kind: 'string', arg: 'PORT', description: 'Port to listen on (default: any free one)' },
      { name: 'port-file', short: 'p', kind: 'string', arg: 'FILE', description: 'Write the port to FILE' },
      { name: 'force-range-requests', kind: 'flag', description: 'Answer every GET with a partial response' },
      { name: 'require-basic-auth', kind: 'flag', description: 'Require user foouser, password barpw' },
      { name: 'random-500s', kind: 'string', arg: 'PERCENT', description: 'Answer this percentage of requests with 500' },
      { name: 'random-500s-max', kind: 'string', arg: 'N', description: 'At most this many 500 answers' },
      { name: 'random-408s', kind: 'string', arg: 'PERCENT', description: 'Answer this percentage of requests with 408' },
      { name: 'random-408s-max', kind: 'string', arg: 'N', description: 'At most this many 408 answers' },
      { name: 'log-file', kind: 'string', arg: 'FILE', description: 'Log requests to FILE (- for standard output)' },
      { name: 'expected-cookies', kind: 'strings', arg: 'NAME=VALUE', description: 'Require this cookie (repeatable)' },
      { name: 'expected-header', kind: 'strings', arg: 'NAME=VALUE', description: 'Require this header (repeatable)' },
      { name: 'cors', kind: 'flag', description: 'Let pages on any origin read the files (Access-Control-Allow-Origin: *, OPTIONS preflights answered)' },
    ]);
    if (p.flag('help')) {
      ctx.out('Usage:\n  ostree trivial-httpd [OPTION…] [DIR] - Simple webserver\n');
      return 0;
    }
    const dir = path.resolve(p.positionals[0] ?? '.');
    const r500 = int(p.value('random-500s'), 'random-500s', 0);
    if (r500 > 99) throw new UsageError(`Invalid --random-500s=${r500}`);
    const r408 = int(p.value('random-408s'), 'random-408s', 0);
    if (r408 > 99) throw new UsageError(`Invalid --random-408s=${r408}`);
    const logFile = p.value('log-file');
    if (p.flag('daemonize') && logFile === '-') throw new UsageError('Cannot use --log-file=- and --daemonize at the same time');

    if (p.flag('daemonize') && !ctx.env.XYLEM_HTTPD_DAEMON_CHILD) {
      // Re-run ourselves in the background; return once the child says it is listening.
      const args = process.argv.slice(1).filter((a) => a !== '--daemonize' && a !== '-d');
      // Started from the start-up snapshot (tools/build-snapshot.mjs), argv holds no script and the
      // arguments must follow `--`, or node would take them for its own options.
      const sep = (globalThis as { __xylemSnapshot?: boolean }).__xylemSnapshot ? ['--'] : [];
      const child = spawn(process.execPath, [...process.execArgv, ...sep, ...args], {
        detached: true,
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, XYLEM_HTTPD_DAEMON_CHILD: '1' },
      });
      const ok = await new Promise<boolean>((resolve) => {
        let buf = '';
        child.stdout!.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes(READY)) resolve(true);
        });
        child.once('exit', () => resolve(false));
      });
      child.stdout!.destroy();
      child.unref();
      if (!ok) {
        ctx.err('error: trivial-httpd failed to start\n');
        return 1;
      }
      return 0;
    }

    let logStream: nodeFs.WriteStream | null = null;
    if (logFile && logFile !== '-') logStream = nodeFs.createWriteStream(logFile, { flags: 'a' });
    const log = logFile ? (line: string) => (logStream ? logStream.write(`${line}\n`) : ctx.out(`${line}\n`)) : undefined;
    const httpd = await startTrivialHttpd({
      root: dir,
      port: int(p.value('port'), 'port', 0),
      forceRangeRequests: p.flag('force-range-requests'),
      random500sPercent: r500,
      random500sMax: int(p.value('random-500s-max'), 'random-500s-max', 100),
      random408sPercent: r408,
      random408sMax: int(p.value('random-408s-max'), 'random-408s-max', 100),
      requireBasicAuth: p.flag('require-basic-auth'),
      expectedCookies: pairs(p.list('expected-cookies'), 'cookie'),
      expectedHeaders: pairs(p.list('expected-header'), 'header'),
      cors: p.flag('cors'),
      log,
    });
    const portFile = p.value('port-file');
    if (portFile === '-') process.stdout.write(`${httpd.port}\n`);
    else if (portFile) {
      const tmp = `${portFile}.tmp-${process.pid}`;
      nodeFs.writeFileSync(tmp, `${httpd.port}\n`);
      nodeFs.renameSync(tmp, portFile);
    }
    if (ctx.env.XYLEM_HTTPD_DAEMON_CHILD) {
      process.stdout.write(READY);
      // Detach from the parent's pipe; nothing else is written to stdout.
      process.stdout.destroy();
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        void httpd.close().then(resolve);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      if (p.flag('autoexit')) {
        // ostree: exit when the served directory is deleted.
        const t = setInterval(() => {
          if (!nodeFs.existsSync(dir)) {
            clearInterval(t);
            stop();
          }
        }, 500);
      }
    });
    logStream?.end();
    return 0;
  },
};
