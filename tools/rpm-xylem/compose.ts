// placeholder, replaced below
import type { OptionSpec } from '../cli/options.ts';
import type { SubEnv } from './db.ts';
export const COMPOSE_SPECS: OptionSpec[] = [];
export async function runCompose(_e: SubEnv): Promise<number> {
  return 1;
}
