// The crash campaign's package fixtures, built once per run by the oracles (rpmbuild, createrepo_c)
// from the same package descriptions test/layer/layer-cli.test.ts layers (test/helpers/layer-fixture.ts):
// the base's treefiles, an rpm-md repo `fx` with the base's packages (liba in 1.0 and 2.0, so the base can be re-composed
// for an upgrade) and libvirt + libvirt-libs to layer, and a local iptables 1.1 for `override replace`.
// Run by tools/crash/layer-fixture.mjs under tsx: `layer-rpms.ts WEBDIR LOCALDIR`; prints JSON.

import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BASESH, DOCKER, FILESYSTEM, IPTABLES, LIBA, LIBVIRT, LIBVIRT_LIBS, baseTreefile } from '../../test/helpers/layer-fixture.ts';
import { buildRepo, buildRpm } from '../../test/helpers/rpmbuild.ts';
import { BUSYBOX, HAVE_BUSYBOX_STATIC } from '../../test/helpers/script-root.ts';

const [web, local] = process.argv.slice(2).map((p) => resolve(p));
if (!web || !local) throw new Error('usage: layer-rpms.ts WEBDIR LOCALDIR');
if (!HAVE_BUSYBOX_STATIC) throw new Error('layer-rpms: a static busybox (busybox-static) is needed for the base shell');
buildRepo([FILESYSTEM, BASESH(BUSYBOX!), LIBA('1.0'), LIBA('2.0'), DOCKER, IPTABLES('1.0'), LIBVIRT_LIBS, LIBVIRT], join(web, 'fx'));
mkdirSync(local, { recursive: true });
const iptables = join(local, 'iptables-1.1.rpm');
copyFileSync(buildRpm(IPTABLES('1.1'), join(local, 'build')), iptables);
// The base's treefiles: liba 1.0, and the re-composed base of the upgrade (liba 2.0).
const treefiles: Record<string, string> = {};
for (const v of ['1.0', '2.0']) writeFileSync((treefiles[v] = join(local, `base-${v}.yaml`)), baseTreefile(v));
process.stdout.write(`${JSON.stringify({ repo: join(web, 'fx'), iptables, treefiles })}\n`);
