// Package descriptions the RPM reader's tests build with rpmbuild: one "everything" package that
// exercises every field the reader exposes (file types, attributes, owners, capabilities, scripts
// incl. Lua, triggers, file triggers, rich/weak deps, epoch, tilde version), built once per payload
// compressor, and a cache so each test file builds each package once.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRpm, type FixturePackage } from '../helpers/rpmbuild.ts';

export const PAYLOADS = ['w9.gzdio', 'w6.xzdio', 'w19.zstdio', 'w9.bzdio'] as const;

/** A package touching every field the reader exposes (`bigLines`: size of its one larger file). */
export function everythingPackage(payload: string, arch = 'x86_64', bigLines = 3000): FixturePackage {
  const big = Array.from({ length: bigLines }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`).join('\n');
  return {
    name: 'everything',
    epoch: 3,
    version: '2.0~rc1',
    release: '7.xy',
    arch,
    payload,
    summary: 'a package with one of everything',
    requires: ['(liba or libb)', 'bash >= 5.0', '/bin/sh', '(foo if bar else baz)'],
    provides: ['everything-api = 2', 'virtual(thing)'],
    conflicts: ['oldthing < 1.0'],
    obsoletes: ['everything-legacy <= 1:1.9'],
    recommends: ['helper'],
    suggests: ['(docs-a or docs-b)'],
    supplements: ['(everything-base and langpack-de)'],
    enhances: ['thing-extras'],
    files: [
      { path: '/usr/bin/everything', content: '#!/bin/sh\necho everything\n', mode: 0o755 },
      { path: '/usr/bin/everything-suid', content: 'suid binary stand-in\n', mode: 0o4755 },
      { path: '/usr/bin/ping-ish', content: 'needs raw sockets\n', mode: 0o755, attr: '%caps(cap_net_raw=ep)' },
      { path: '/usr/lib/everything/data.txt', content: big, mode: 0o644 },
      { path: '/usr/lib/everything/hard-a', content: 'shared content of a hardlink set\n', mode: 0o644 },
      { path: '/usr/lib/everything/hard-b', type: 'hardlink', target: '/usr/lib/everything/hard-a', mode: 0o644 },
      { path: '/usr/lib/everything/hard-c', type: 'hardlink', target: '/usr/lib/everything/hard-a', mode: 0o644 },
      { path: '/usr/lib/everything/empty', content: '', mode: 0o600 },
      { path: '/usr/lib/everything/owned', content: 'owned by others\n', mode: 0o640, user: 'nobody', group: 'daemon' },
      { path: '/usr/lib/everything/sub', type: 'dir', mode: 0o750, user: 'bin', group: 'bin' },
      { path: '/usr/lib/everything/sub/leaf', content: 'leaf\n' },
      { path: '/usr/lib/everything/link', type: 'symlink', target: 'data.txt' },
      { path: '/usr/lib/everything/dangling', type: 'symlink', target: '/nonexistent/target' },
      { path: '/etc/everything.conf', content: 'setting=1\n', attr: '%config(noreplace)' },
      { path: '/etc/everything-plain.conf', content: 'plain=1\n', attr: '%config' },
      { path: '/var/log/everything.log', attr: '%ghost' },
      { path: '/usr/share/doc/everything/README', content: 'read me\n', attr: '%doc' },
      { path: '/usr/share/licenses/everything/COPYING', content: 'MIT\n', attr: '%license' },
      { path: '/usr/share/everything/missing-ok', content: 'may go\n', attr: '%config(missingok)' },
      { path: '/usr/share/locale/de/everything.mo', content: 'de\n', attr: '%lang(de)' },
      { path: '/usr/share/everything/ünïcödé name', content: 'utf-8 path\n' },
    ],
    scripts: {
      pre: 'echo pre $1',
      post: 'echo post $1',
      'preun -p <lua>': 'print("preun " .. arg[2])',
      postun: 'echo postun',
      'pretrans -p <lua>': 'print("pretrans")',
      posttrans: 'echo posttrans',
      verifyscript: 'echo verify',
      'triggerin -- bash, sed >= 4': 'echo trigger on bash or sed',
      'triggerun -- coreutils': 'echo triggerun',
      'triggerpostun -p <lua> -- grep < 3': 'print("tpu")',
      'filetriggerin -- /usr/lib/modules': 'cat > /dev/null',
      'filetriggerun -P 20000 -- /usr/share/fonts /usr/share/X11': 'echo fonts',
      'transfiletriggerin -- /usr/share/glib-2.0/schemas': 'echo schemas',
      'transfiletriggerpostun -P 500 -p <lua> -- /usr/lib/systemd': 'print("ts")',
    },
    changelog: [
      { date: 'Mon Dec 07 2026', author: 'Xylem Tests <tests@xylem.invalid>', text: '- second entry\n- with two lines' },
      { date: 'Sun Nov 01 2026', author: 'Other Person <other@xylem.invalid>', text: '- first entry' },
    ],
  };
}

const cache = new Map<string, string>();
let outDir: string | undefined;

/** Builds (once per test file) a fixture package; returns its path. */
export function built(pkg: FixturePackage): string {
  const key = JSON.stringify(pkg);
  let p = cache.get(key);
  if (!p) {
    outDir ??= mkdtempSync(join(tmpdir(), 'xylem-rpm-test-'));
    p = buildRpm(pkg, join(outDir, String(cache.size)));
    cache.set(key, p);
  }
  return p;
}
