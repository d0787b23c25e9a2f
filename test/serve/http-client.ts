/** A response read completely: status, headers and the parsed JSON (or text) body. */
export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
}

/** POSTs a JSON value (or a raw string with its content type) and reads the answer. */
export async function post(url: string, value: unknown, opts: { raw?: string; contentType?: string } = {}): Promise<HttpResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': opts.contentType ?? 'application/json' },
    body: opts.raw ?? JSON.stringify(value),
  });
  return read(res);
}

/** GETs a URL and reads the answer. */
export async function get(url: string): Promise<HttpResult> {
  return read(await fetch(url));
}

async function read(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}
