// Boot Loader Specification entries (boot/loader.N/entries/*.conf): "key value" lines. Parsing
// keeps unknown keys; writing puts the keys ostree writes first, in ostree's order.

import { XylemError } from '../util/errors.ts';

/** Entries bigger than this are refused (real ones are a few hundred bytes). */
export const MAX_BOOTCONFIG_SIZE = 1 << 20;

/** Key order of the entries libostree writes. */
const KEY_ORDER = ['title', 'version', 'options', 'linux', 'initrd', 'devicetree'];

export class BootConfig {
  private values = new Map<string, string>();
  /** Extra `initrd` lines (initrd overlays), after the first. */
  extraInitrds: string[] = [];

  static parse(text: string, context = 'boot loader entry'): BootConfig {
    if (typeof text !== 'string') throw new TypeError('BootConfig.parse: text must be a string');
    if (text.length > MAX_BOOTCONFIG_SIZE) throw new XylemError(`${context}: too large`);
    const bc = new BootConfig();
    for (const raw of text.split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const m = /^(\S+)\s*(.*)$/.exec(line);
      if (!m) continue;
      const key = m[1]!;
      const value = m[2]!;
      if (key === 'initrd' && bc.values.has('initrd')) bc.extraInitrds.push(value);
      else bc.values.set(key, value);
    }
    return bc;
  }

  get(key: string): string | undefined {
    return this.values.get(key);
  }

  set(key: string, value: string): void {
    if (!/^\S+$/.test(key)) throw new XylemError(`Invalid boot entry key '${key}'`);
    if (typeof value !== 'string') throw new TypeError('BootConfig.set: value must be a string');
    if (value.includes('\n')) throw new XylemError(`Invalid boot entry value for '${key}': newline`);
    // Tabs are whitespace inside a value; other control characters (CR first) corrupt the entry.
    const bad = /[\u0000-\u0008\u000a-\u001f\u007f]/.exec(value);
    if (bad) throw new XylemError(`Invalid boot entry value for '${key}': control character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`);
    this.values.set(key, value);
  }

  delete(key: string): void {
    this.values.delete(key);
  }

  clone(): BootConfig {
    const bc = new BootConfig();
    bc.values = new Map(this.values);
    bc.extraInitrds = [...this.extraInitrds];
    return bc;
  }

  toString(): string {
    let s = '';
    const emit = (k: string) => {
      const v = this.values.get(k);
      if (v === undefined) return;
      s += `${k} ${v}\n`;
      if (k === 'initrd') for (const x of this.extraInitrds) s += `initrd ${x}\n`;
    };
    for (const k of KEY_ORDER) emit(k);
    for (const k of this.values.keys()) if (!KEY_ORDER.includes(k)) emit(k);
    return s;
  }
}

/**
 * Splits `ostree=/ostree/boot.B/OSNAME/BOOTCSUM/SERIAL` into its parts (null when malformed).
 */
export function parseOstreeKarg(value: string): { bootversion: number; osname: string; bootcsum: string; bootserial: number } | null {
  const m = /^\/ostree\/boot\.([01])\/([^/]+)\/([0-9a-f]{64})\/(\d+)$/.exec(value);
  if (!m) return null;
  return { bootversion: Number(m[1]), osname: m[2]!, bootcsum: m[3]!, bootserial: Number(m[4]) };
}
