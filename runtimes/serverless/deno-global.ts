// The part of Deno's global the Deno entry points use (Deno.serve, env, exit), typed here so the
// entries compile without Deno's own type declarations.

export interface DenoServe {
  env: { toObject(): Record<string, string> };
  exit(code: number): never;
  serve(
    opts: { hostname: string; port: number; onListen?: (a: { hostname: string; port: number }) => void },
    handler: (req: Request) => Promise<Response>,
  ): unknown;
}

/** Deno's global object (only valid when running under Deno). */
export function denoGlobal(): DenoServe {
  return (globalThis as unknown as { Deno: DenoServe }).Deno;
}
