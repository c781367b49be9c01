// The command table (mirrors ostree's builtins). Each entry lives in its own module.

import type { Command } from '../cli/context.ts';
import { command as init } from './init.ts';
import { command as commit } from './commit.ts';
import { command as checkout } from './checkout.ts';
import { command as ls } from './ls.ts';
import { command as cat } from './cat.ts';
import { showCommand, logCommand } from './show.ts';
import { command as revParse } from './rev-parse.ts';
import { command as refs } from './refs.ts';
import { command as reset } from './reset.ts';
import { command as config } from './config.ts';
import { command as checksum } from './checksum.ts';
import { command as pullLocal } from './pull-local.ts';
import { command as remote } from './remote.ts';
import { command as fsck } from './fsck.ts';
import { command as gpgSign } from './gpg-sign.ts';
import { command as sign } from './sign.ts';

export const COMMANDS: Command[] = [
  cat,
  checkout,
  checksum,
  commit,
  config,
  fsck,
  gpgSign,
  init,
  logCommand,
  ls,
  pullLocal,
  refs,
  remote,
  reset,
  revParse,
  showCommand,
  sign,
];
