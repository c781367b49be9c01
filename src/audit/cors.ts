// What to tell the user when the browser refuses a fetch. A page may read another origin's files
// only when that server allows it (CORS); when it does not, fetch() rejects with a bare TypeError
// ("Failed to fetch") that does not say why. For a cross-origin URL this names both origins and
// the two fixes: the server sends Access-Control-Allow-Origin, or the page is served from the
// repository's own origin.

/** The page's origin in a browser (`location.origin`), else undefined (Node, Deno, Bun scripts). */
export function currentPageOrigin(): string | undefined {
  const loc = (globalThis as { location?: { origin?: unknown } }).location;
  return typeof loc?.origin === 'string' && loc.origin !== 'null' ? loc.origin : undefined;
}

/**
 * The message for a fetch of `url` that rejected with `err`: for a TypeError on a URL of another
 * origin than `pageOrigin`, an explanation of CORS and its fixes; otherwise the error's own text.
 */
export function blockedFetchMessage(url: string, err: unknown, pageOrigin: string | undefined): string {
  const text = (err as Error)?.message ?? String(err);
  if (!(err instanceof TypeError) || pageOrigin === undefined) return text;
  let target: string;
  try {
    target = new URL(url).origin;
  } catch {
    return text;
  }
  if (target === pageOrigin) return text;
  return (
    `${text}: the browser blocked this cross-origin request (CORS), or ${target} could not be reached. ` +
    `This page is on ${pageOrigin}; the repository is on ${target}, so that server must send ` +
    `"Access-Control-Allow-Origin: *" (or "Access-Control-Allow-Origin: ${pageOrigin}") with its files ` +
    `(e.g. xylem trivial-httpd --cors), or serve this page from ${target} itself.`
  );
}
