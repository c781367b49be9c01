// A PackageResolver for tests until src/rpmmd and src/solve land: every package of a fixture folder
// (newest of each name), checksummed like createrepo_c (sha256 of the file), with the repo's
// timestamp taken from its repomd.xml.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PackageResolver, Resolution } from '../../src/compose/compose.ts';
import { rpmvercmp } from '../../src/solve/version.ts';
import { createNodeHost } from '../../runtimes/node/index.ts';
import { openRpmFile } from '../../src/compose/open.ts';

const host = createNodeHost();

export function staticResolver(dirs: Record<string, string>, only?: string[]): PackageResolver {
  return {
    async resolve(): Promise<Resolution> {
      const repos = Object.entries(dirs).map(([id, dir]) => {
        const repomd = readFileSync(join(dir, 'repodata/repomd.xml'), 'utf8');
        return { id, timestamp: BigInt(/<timestamp>(\d+)<\/timestamp>/.exec(repomd)![1]!) };
      });
      const best = new Map<string, Resolution['packages'][number]>();
      for (const [id, dir] of Object.entries(dirs))
        for (const f of readdirSync(dir).filter((x) => x.endsWith('.rpm')).sort()) {
          const path = join(dir, f);
          const pkg = await openRpmFile(host.fs, path);
          await pkg.close();
          if (only && !only.includes(pkg.nevra.name)) continue;
          const prev = best.get(pkg.nevra.name);
          if (prev && rpmvercmp(`${prev.nevra.version}-${prev.nevra.release}`, `${pkg.nevra.version}-${pkg.nevra.release}`) >= 0) continue;
          best.set(pkg.nevra.name, { nevra: pkg.nevra, repoId: id, checksum: `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`, open: () => openRpmFile(host.fs, path) });
        }
      return { repos, packages: [...best.values()].sort((a, b) => (a.nevra.name === 'filesystem' ? -1 : b.nevra.name === 'filesystem' ? 1 : a.nevra.name < b.nevra.name ? -1 : 1)) };
    },
  };
}
