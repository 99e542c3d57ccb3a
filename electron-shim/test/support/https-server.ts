/**
 * A local HTTPS server for the Chromium tests: one self-signed certificate (made with openssl)
 * for app.test, fal.media, *.fal.media and evil.test, all of which Chromium maps to it.
 * Routes are registered per test; `POST /results` hands the page's JSON to `waitForResults`.
 */

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";

import { tempDir } from "./paths";

export type Route = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

export interface TestServer {
  port: number;
  /** Register a handler for a path (any host). */
  route(path: string, handler: Route): void;
  /** Register a handler for every path of one host (checked before the path routes). */
  routeHost(host: string, handler: Route): void;
  /** Resolves with the next JSON body POSTed to /results. */
  waitForResults(): Promise<unknown>;
  /** The self-signed certificate (PEM), to trust it as a CA (the sidecar's MEDIA_SIDECAR_CA_FILE). */
  certFile: string;
  /** Every request seen, as "host path". */
  requests: string[];
  close(): Promise<void>;
}

export function makeCertificate(hosts: readonly string[]): { key: Buffer; cert: Buffer; certFile: string } {
  const dir = tempDir("cert");
  const san = hosts.map((h) => `DNS:${h}`).join(",");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=app.test",
      "-addext", `subjectAltName=${san}`, "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")), certFile: join(dir, "cert.pem") };
}

export async function startServer(hosts: readonly string[]): Promise<TestServer> {
  const routes = new Map<string, Route>();
  const hostRoutes = new Map<string, Route>();
  const requests: string[] = [];
  let resultWaiters: ((body: unknown) => void)[] = [];
  const certificate = makeCertificate(hosts);
  const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (req, res) => {
    const url = new URL(req.url ?? "/", `https://${req.headers.host ?? "unknown"}`);
    requests.push(`${url.hostname} ${url.pathname}`);
    if (req.method === "POST" && url.pathname === "/results") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(204).end();
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const waiters = resultWaiters;
        resultWaiters = [];
        for (const w of waiters) w(body);
      });
      return;
    }
    const handler = hostRoutes.get(url.hostname) ?? routes.get(url.pathname);
    if (!handler) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      return;
    }
    handler(req, res, url);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    certFile: certificate.certFile,
    route: (path, handler) => void routes.set(path, handler),
    routeHost: (host, handler) => void hostRoutes.set(host, handler),
    waitForResults: () => new Promise((resolve) => resultWaiters.push(resolve)),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serve bytes with Range support (Chromium's media stack asks for ranges). */
export function serveBytes(body: Buffer, contentType: string): Route {
  return (req, res) => {
    const base = { "Content-Type": contentType, "Accept-Ranges": "bytes", "Cache-Control": "no-store" };
    const m = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
    if (!m) {
      res.writeHead(200, { ...base, "Content-Length": body.length }).end(body);
      return;
    }
    const start = m[1] ? Number(m[1]) : 0;
    const end = m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1;
    if (start >= body.length || start > end) {
      res.writeHead(416, { ...base, "Content-Range": `bytes */${body.length}` }).end();
      return;
    }
    res
      .writeHead(206, { ...base, "Content-Length": end - start + 1, "Content-Range": `bytes ${start}-${end}/${body.length}` })
      .end(body.subarray(start, end + 1));
  };
}
