/** One bounded HTTP request with fetch, for tests that talk to a real listener. */

export interface JsonAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

export interface FetchJsonOptions {
  /** An object is sent as JSON (with its content type), a string as it is. */
  readonly body?: string | object | undefined;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/** The answer's body is parsed when it is JSON and not empty, and is the text otherwise. */
export async function fetchJson(method: string, url: string, options: FetchJsonOptions = {}): Promise<JsonAnswer> {
  const { body, headers = {}, timeoutMs = 10_000 } = options;
  const json = typeof body === 'object';
  const res = await fetch(url, {
    method,
    headers: { ...(json ? { 'content-type': 'application/json' } : {}), ...headers },
    body: json ? JSON.stringify(body) : body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  const isJson = text !== '' && (res.headers.get('content-type') ?? '').includes('json');
  return { status: res.status, headers: res.headers, body: isJson ? JSON.parse(text) : text };
}
