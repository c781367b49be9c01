// A ComposePackage read with the Debian tools instead of src/rpm (tests only, until the RPM
// reader lands): the header through `rpm -qp --qf`, the payload through `rpm2cpio | cpio`, and the
// lead+signature+header bytes cut from the file by the sizes its headers declare.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComposeEntry, ComposeFile, ComposePackage } from '../../src/compose/package.ts';
import type { Nevra } from '../../src/rpm/types.ts';

function headerSize(b: Buffer, off: number): number {
  const il = b.readUInt32BE(off + 8);
  const dl = b.readUInt32BE(off + 12);
  return 16 + 16 * il + dl;
}

export function cliPackage(path: string): ComposePackage {
  const bytes = readFileSync(path);
  const sigEnd = 96 + headerSize(bytes, 96);
  const hdrStart = Math.ceil(sigEnd / 8) * 8;
  const hdrEnd = hdrStart + headerSize(bytes, hdrStart);
  const q = (fmt: string) => execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', fmt, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const [name, epoch, version, release, arch, buildtime] = q('%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{BUILDTIME}').split('\t');
  const nevra: Nevra = { name: name!, epoch: epoch === '(none)' ? null : Number(epoch), version: version!, release: release!, arch: arch! };
  const fileLines = q('[%{FILENAMES}\t%{FILEMODES}\t%{FILESIZES}\t%{FILEUSERNAME}\t%{FILEGROUPNAME}\t%{FILEMTIMES}\t%{FILELINKTOS}\t%{FILEFLAGS}\t%{FILECAPS}\t%{FILEINODES}\n]')
    .split('\n')
    .filter((l) => l !== '');
  const files: Array<ComposeFile & { inode: number }> = fileLines.map((l, index) => {
    const [p, mode, size, user, group, mtime, linkto, flags, caps, inode] = l.split('\t');
    const fl = Number(flags);
    return { index, path: p!, mode: Number(mode) & 0xffff, size: Number(size), user: user!, group: group!, mtime: Number(mtime), linkto: linkto!, flags: fl, ghost: (fl & 64) !== 0, doc: (fl & 2) !== 0, caps: caps === '(none)' ? '' : caps!, inode: Number(inode) };
  });
  return {
    nevra,
    pkg: path.replace(/.*\//, ''),
    metadataBytes: new Uint8Array(bytes.subarray(0, hdrEnd)),
    headerBytes: new Uint8Array(bytes.subarray(hdrStart, hdrEnd)),
    info: () => ({ buildtime: Number(buildtime) }),
    files: () => files,
    async *entries(): AsyncGenerator<ComposeEntry> {
      const dir = mkdtempSync(join(tmpdir(), 'xylem-cpio-'));
      try {
        execFileSync('sh', ['-c', `rpm2cpio '${path}' | cpio -idm --quiet --no-absolute-filenames`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
        const done = new Set<number>();
        for (const f of files) {
          if (f.ghost || done.has(f.index)) continue;
          const type = f.mode & 0o170000;
          const kind = type === 0o040000 ? 'dir' : type === 0o120000 ? 'symlink' : type === 0o100000 ? 'file' : 'other';
          const hardlinks = kind === 'file' ? files.filter((g) => g !== f && !g.ghost && g.inode === f.inode && (g.mode & 0o170000) === 0o100000) : [];
          for (const h of hardlinks) done.add(h.index);
          const data = kind === 'file' ? readFileSync(join(dir, `.${f.path}`)) : Buffer.alloc(0);
          yield { file: f, kind, hardlinks, data: (async function* () { if (data.length) yield new Uint8Array(data); })() };
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
