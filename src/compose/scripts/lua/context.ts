// What a Lua scriptlet's bindings share: the confined root, the transaction's macro table, the
// script's environment and umask, where its output goes, how it runs programs (the sandbox) and,
// for file triggers, the next matching path.

import type { FsHost } from '../../../host.ts';
import type { MacroTable } from '../macros.ts';
import { RootFs } from './root-fs.ts';

/** A program run from Lua (rpm.execute, os.execute), inside the sandbox. */
export type LuaExecute = (argv: string[], env: Record<string, string>) => Promise<{ exitCode: number | null; signal: string | null; output: string }>;

export interface IdEntry {
  name: string;
  id: number;
  fields: string[];
}

export class LuaContext {
  readonly rootFs: RootFs;
  umask = 0o022;
  private idFiles = new Map<string, IdEntry[]>();
  constructor(
    fs: FsHost,
    root: string,
    /** `%post(foo)`-style name used in error messages. */
    readonly scriptName: string,
    readonly macros: MacroTable,
    readonly env: Map<string, string>,
    readonly output: (text: string) => void,
    readonly execute: LuaExecute,
    readonly nextFile: (() => Promise<string | undefined>) | null,
    readonly now: () => number,
  ) {
    this.rootFs = new RootFs(fs, root);
  }

  /** Entries of the root's /etc/passwd or /etc/group (then /usr/lib/…, nss-altfiles), cached. */
  async readIdFile(file: 'passwd' | 'group'): Promise<IdEntry[]> {
    const cached = this.idFiles.get(file);
    if (cached) return cached;
    const out: IdEntry[] = [];
    for (const p of [`/etc/${file}`, `/usr/lib/${file}`]) {
      let text: string;
      try {
        text = new TextDecoder().decode(await this.rootFs.readFile(p));
      } catch {
        continue;
      }
      for (const line of text.split('\n')) {
        const f = line.split(':');
        if (f.length < 3 || !/^\d+$/.test(f[2]!)) continue;
        if (out.some((e) => e.name === f[0])) continue;
        out.push({ name: f[0]!, id: Number(f[2]), fields: f });
      }
    }
    this.idFiles.set(file, out);
    return out;
  }

  /** Forgets cached passwd/group (after the script wrote them). */
  invalidateIds(): void {
    this.idFiles.clear();
  }
}
