/**
 * A request's query parameters, decoded one way for every carrier: the Hono routes
 * (routes/znodes.ts) and the direct paths (fast-path.ts, wire/) read them through this, so a
 * name or value spelt with percent-escapes (`?consisten%63y=lineariz%61ble`) or `+` means the same
 * whichever carrier took the request — a parameter one carrier saw and another missed would,
 * for `consistency`, skip a quorum-confirmed read. The decoding is WHATWG's
 * (application/x-www-form-urlencoded, URLSearchParams): `+` is a space, a malformed escape is
 * kept as it is, and of a repeated name the first counts.
 */
export class QueryParams {
  private params: URLSearchParams | undefined;

  /** `search`: the target after its `?` (without it), as sent. */
  constructor(private readonly search: string) {}

  get(name: string): string | undefined {
    if (this.search === '') return undefined;
    // Parsed on first use: most plain requests read no parameter.
    this.params ??= new URLSearchParams(this.search);
    return this.params.get(name) ?? undefined;
  }
}

/** The query of a URL or request target: what follows its first `?`, up to any `#`. */
export function searchOf(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return '';
  const hash = url.indexOf('#', q);
  return hash === -1 ? url.slice(q + 1) : url.slice(q + 1, hash);
}
