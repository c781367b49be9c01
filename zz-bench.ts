import { readFileSync } from 'node:fs';
import { gunzipSync } from 'fflate';
import { streamPrimary } from '/work/wt-speed11/src/rpmmd/primary.ts';
import { parseXmlStream } from '/work/wt-speed11/src/rpmmd/xml-stream.ts';
import { parseXmlFast } from '/work/wt-speed11/src/rpmmd/xml-fast.ts';
const bytes = gunzipSync(readFileSync('/var/tmp/xylem-bench/solve-60k/repo/repodata/primary.xml.gz'));
async function* chunked(b: Uint8Array, size: number) { for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size); }
const which = process.argv[2];
const c0 = process.cpuUsage();
let n = 0;
await streamPrimary(chunked(bytes, 256 * 1024), () => void n++, { fileName: 'p', parser: which === 'saxes' ? parseXmlStream : parseXmlFast });
const c = process.cpuUsage(c0);
console.log(which, (bytes.length / 1e6).toFixed(0), 'MB', n, 'pkgs', ((c.user + c.system) / 1000).toFixed(0), 'ms CPU', 'maxRSS', (process.resourceUsage().maxRSS / 1024).toFixed(0), 'MiB');
