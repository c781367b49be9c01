// `xylem checksum PATH`: print the OSTree checksum of a file or directory.

import type { Command } from '../cli/context.ts';
import { UsageError } from '../cli/context.ts';
import { parseCommand } from '../cli/common.ts';
import { checksumPath } from '../../src/repo/checksum-file.ts';

export const command: Command = {
  name: 'checksum',
  summary: 'Checksum a file or directory',
  async run(ctx, argv) {
    const p = parseCommand(ctx, argv, [{ name: 'ignore-xattrs', kind: 'flag', description: 'Leave extended attributes out of the checksum' }]);
    if (p.positionals.length === 0) throw new UsageError('A filename must be given');
    for (const path of p.positionals) ctx.out(`${await checksumPath(ctx.host, path, { ignoreXattrs: p.flag('ignore-xattrs') })}\n`);
    return 0;
  },
};
