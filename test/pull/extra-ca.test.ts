// NODE_EXTRA_CA_CERTS still works through the CLI launcher, which hands it to the https client
// as XYLEM_EXTRA_CA_CERTS so that Node does not parse the file at every start-up: a pull over
// https from a server whose certificate only that file trusts succeeds, and fails without it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/require-tool.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'tools', 'bin', 'xylem');
const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

describe.skipIf(missing('https pull with an extra CA', { ostree: has('ostree', ['--version']), openssl: has('openssl', ['version']) }))(
  'NODE_EXTRA_CA_CERTS through tools/bin/xylem',
  () => {
    let work = '';
    let server: Server | null = null;
    let url = '';
    let commit = '';
    beforeAll(async () => {
      work = mkdtempSync(join(tmpdir(), 'xylem-extra-ca-'));
      const key = join(work, 'key.pem');
      const cert = join(work, 'ca.pem');
      const o = spawnSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
        { encoding: 'utf8' },
      );
      expect(o.status, o.stderr).toBe(0);
      const repo = join(work, 'served');
      const tree = join(work, 'tree');
      expect(spawnSync('ostree', ['init', `--repo=${repo}`, '--mode=archive']).status).toBe(0);
      spawnSync('mkdir', ['-p', tree]);
      writeFileSync(join(tree, 'hello'), 'hello over https\n');
      const c = spawnSync('ostree', ['commit', `--repo=${repo}`, '-b', 'main', `--tree=dir=${tree}`], { encoding: 'utf8' });
      expect(c.status, c.stderr).toBe(0);
      commit = c.stdout.trim();
      // a static file server for the archive repo, on a port the system picks
      server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
        const rel = normalize(decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname));
        const file = join(repo, rel);
        if (!file.startsWith(repo + '/')) {
          res.writeHead(403).end();
          return;
        }
        try {
          if (!statSync(file).isFile()) throw new Error('not a file');
          res.writeHead(200).end(readFileSync(file));
        } catch {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      if (work) rmSync(work, { recursive: true, force: true });
    });

    /** Runs the launcher asynchronously (the server lives in this process). */
    function xylem(args: string[], env: Record<string, string | undefined>): Promise<{ status: number | null; stdout: string; stderr: string }> {
      return new Promise((resolve) => {
        import('node:child_process').then(({ spawn }) => {
          const p = spawn(BIN, args, { env: { ...process.env, ...env } as NodeJS.ProcessEnv });
          let stdout = '';
          let stderr = '';
          p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          p.on('close', (status) => resolve({ status, stdout, stderr }));
        });
      });
    }

    it('pulls when NODE_EXTRA_CA_CERTS names the CA, and refuses the server without it', async () => {
      for (const [name, ca] of [
        ['with', join(work, 'ca.pem')],
        ['without', undefined],
      ] as const) {
        const repo = join(work, `client-${name}`);
        const env = { NODE_EXTRA_CA_CERTS: ca, XYLEM_EXTRA_CA_CERTS: undefined };
        expect((await xylem([`--repo=${repo}`, 'init', '--mode=archive'], env)).status).toBe(0);
        expect((await xylem([`--repo=${repo}`, 'remote', 'add', '--no-gpg-verify', 'o', url], env)).status).toBe(0);
        const pull = await xylem([`--repo=${repo}`, 'pull', 'o', 'main'], env);
        if (ca) {
          expect(pull.status, pull.stderr).toBe(0);
          expect((await xylem([`--repo=${repo}`, 'rev-parse', 'main'], env)).stdout.trim()).toBe(commit);
        } else {
          expect(pull.status, 'pulled from a server no CA vouches for').not.toBe(0);
          expect(pull.stderr).toMatch(/certificate|self.signed|SELF_SIGNED/i);
        }
      }
    }, 60_000);
  },
);
