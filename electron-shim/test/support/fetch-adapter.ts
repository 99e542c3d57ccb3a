/**
 * A fetch-style handler behind a Node http(s) server: the stand-in for Electron's
 * `protocol.handle` (which Chromium alone cannot provide). The request becomes a real
 * `Request` (its signal aborts when the client goes away); the `Response` body is written
 * with backpressure (wait for 'drain') and cancelled when the connection closes early, as
 * Electron cancels a body the page stopped reading.
 */

import type { IncomingMessage, ServerResponse } from "node:http";

export type FetchHandler = (request: Request) => Promise<Response>;

export function nodeAdapter(handler: FetchHandler, scheme = "https"): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => void serve(handler, scheme, req, res);
}

async function serve(handler: FetchHandler, scheme: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const aborter = new AbortController();
  let finished = false;
  res.on("close", () => {
    if (!finished) aborter.abort();
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const request = new Request(`${scheme}://${req.headers.host ?? "item"}${req.url ?? "/"}`, {
    method: req.method ?? "GET",
    headers,
    signal: aborter.signal,
  });
  let response: Response;
  try {
    response = await handler(request);
  } catch (err) {
    res.writeHead(500, { "Content-Type": "text/plain" }).end(`handler threw: ${String(err)}`);
    return;
  }
  const out: Record<string, string> = {};
  response.headers.forEach((v, k) => (out[k] = v));
  res.writeHead(response.status, out);
  const body = response.body;
  if (!body) {
    finished = true;
    res.end();
    return;
  }
  const reader = body.getReader();
  aborter.signal.addEventListener("abort", () => void reader.cancel().catch(() => undefined), { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
      if (aborter.signal.aborted) return;
    }
    finished = true;
    res.end();
  } catch {
    res.destroy();
  }
}
