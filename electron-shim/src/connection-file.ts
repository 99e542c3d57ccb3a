/**
 * The connection file of a running sidecar: for an app that attaches to a sidecar it did not
 * spawn (one started by hand, by another process, or by `media-sidecar serve`). The file is
 * owner-only JSON (`protocol/schema/startup.connection-file.json`, type `ConnectionFile`
 * generated from `protocol/connection.py`); its `endpoint` and `secret` are what
 * `SidecarClient.connect` needs:
 *
 *     const file = await readConnectionFile(path);
 *     const client = await SidecarClient.connect({ endpoint: file.endpoint, secret: file.secret });
 *
 * Unknown fields are ignored (a later minor version may add some).
 */

import { readFile } from "node:fs/promises";

import { SidecarError } from "./errors";
import type { ConnectionFile } from "./generated/protocol";

export type { ConnectionFile };

/**
 * Check and read a connection file's text; throws `start_failed` when it is not one (not
 * JSON, a field missing or of the wrong type, another signature scheme).
 */
export function parseConnectionFile(text: string, where = "the connection file"): ConnectionFile {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    throw new SidecarError("start_failed", `${where} is not JSON`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new SidecarError("start_failed", `${where} is not a JSON object`);
  }
  const f = obj as Record<string, unknown>;
  const wrong: string[] = [
    ...["endpoint", "secret", "protocol", "server", "session", "dataDir"].filter((k) => typeof f[k] !== "string"),
    ...["pid", "startedAt"].filter((k) => !Number.isInteger(f[k])),
  ];
  if (wrong.length > 0) {
    throw new SidecarError("start_failed", `${where} lacks ${wrong.join(", ")} (or has the wrong type)`);
  }
  if (f["signatureScheme"] !== "hmac-sha256") {
    throw new SidecarError("start_failed", `${where} names signature scheme ${JSON.stringify(f["signatureScheme"])}, not hmac-sha256`);
  }
  return {
    endpoint: f["endpoint"] as string,
    secret: f["secret"] as string,
    signatureScheme: "hmac-sha256",
    pid: f["pid"] as number,
    protocol: f["protocol"] as string,
    server: f["server"] as string,
    session: f["session"] as string,
    dataDir: f["dataDir"] as string,
    startedAt: f["startedAt"] as number,
  };
}

/**
 * Read and check the connection file at `path`; throws `not_running` when there is none (no
 * sidecar wrote it, or it removed it when it stopped), `start_failed` when it is unreadable
 * or not a connection file.
 */
export async function readConnectionFile(path: string): Promise<ConnectionFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new SidecarError("not_running", `no connection file at ${path}: is the sidecar running?`, { cause: err });
    }
    throw new SidecarError("start_failed", `cannot read the connection file ${path}: ${String(err)}`, { cause: err });
  }
  return parseConnectionFile(text, `the connection file ${path}`);
}
