// Passing several values back to Lua from JS functions through wasmoon: its MultiReturn class
// (an array subclass). Lua nil is JS undefined (wasmoon refuses null in a MultiReturn).

import wasmoon from 'wasmoon';

export type MultiValue = unknown[];

const MultiReturn = (wasmoon as unknown as { LuaMultiReturn: { from(values: unknown[]): unknown[] } }).LuaMultiReturn;

/** Several Lua return values. */
export function MR(values: unknown[]): MultiValue {
  return MultiReturn.from(values.map((v) => (v === null ? undefined : v)));
}
