/**
 * readConnectionFile: an app attaches to a running sidecar it did not spawn from its connection
 * file alone (endpoint + secret), and a file that is not one is refused with a typed error.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import { SidecarClient } from "../src/client";
import { parseConnectionFile, readConnectionFile } from "../src/connection-file";
import { SidecarError } from "../src/errors";
import { spawnSidecar } from "../src/spawn";
import { REPO_ROOT, tempDir } from "./support/paths";
import { memoryLogger, pythonExecutable } from "./support/sidecar";
import { WAIT_MS, within } from "./support/wait";

const GOOD = {
  endpoint: "tcp://127.0.0.1:5555",
  secret: "s3cret",
  signatureScheme: "hmac-sha256",
  pid: 42,
  protocol: "1.0.0",
  server: "0.1.0",
  session: "abc",
  dataDir: "/data",
  startedAt: 1_700_000_000_000,
};

function refusal(text: string): SidecarError {
  try {
    parseConnectionFile(text);
  } catch (err) {
    assert.ok(err instanceof SidecarError, String(err));
    return err;
  }
  assert.fail(`accepted ${text}`);
}

describe("connection file", () => {
  test("a real sidecar's file attaches a client: same pid, endpoint and session as it announced; gone once it stops", { timeout: 60_000 }, async () => {
    const dir = tempDir("connection-file");
    const proc = await spawnSidecar({
      python: pythonExecutable(),
      cwd: REPO_ROOT,
      dataDir: join(dir, "data"),
      extraArgs: ["--runtime-dir", join(dir, "run")],
      secret: "secret-for-connection-file-test",
      logger: memoryLogger(),
    });
    try {
      const file = await within(readConnectionFile(proc.ready.connectionFile), WAIT_MS, "the connection file");
      assert.equal(file.pid, proc.pid);
      assert.equal(file.endpoint, proc.ready.endpoint);
      assert.equal(file.protocol, proc.ready.protocol);
      assert.equal(file.secret, "secret-for-connection-file-test");
      const client = await within(SidecarClient.connect({ endpoint: file.endpoint, secret: file.secret }), WAIT_MS, "hello");
      try {
        assert.equal(client.helloResult.session, file.session);
        assert.equal((await client.ping()).pong, true);
      } finally {
        client.close();
      }
    } finally {
      proc.kill("SIGTERM");
      assert.equal((await within(proc.exited, WAIT_MS, "the exit")).code, 0);
    }
    const gone = await readConnectionFile(proc.ready.connectionFile).then(
      () => assert.fail("the file outlived its sidecar"),
      (err: unknown) => err,
    );
    assert.ok(gone instanceof SidecarError && gone.code === "not_running", String(gone));
  });

  test("unknown fields are ignored; the known ones are returned", () => {
    assert.deepEqual(parseConnectionFile(JSON.stringify({ ...GOOD, addedLater: true })), GOOD);
  });

  test("not JSON, a missing or mistyped field, another signature scheme: start_failed naming what is wrong", () => {
    assert.equal(refusal("{not json").code, "start_failed");
    assert.equal(refusal("[]").code, "start_failed");
    const { secret: _secret, ...noSecret } = GOOD;
    assert.match(refusal(JSON.stringify(noSecret)).message, /lacks secret/);
    assert.match(refusal(JSON.stringify({ ...GOOD, pid: "42" })).message, /lacks pid/);
    assert.match(refusal(JSON.stringify({ ...GOOD, signatureScheme: "none" })).message, /signature scheme "none"/);
  });

  test("an unreadable path is start_failed (a directory is not a file)", async () => {
    const dir = tempDir("connection-file-dir");
    writeFileSync(join(dir, "x.json"), JSON.stringify(GOOD));
    assert.deepEqual(await readConnectionFile(join(dir, "x.json")), GOOD);
    const err = await readConnectionFile(dir).then(() => assert.fail("read a directory"), (e: unknown) => e);
    assert.ok(err instanceof SidecarError && err.code === "start_failed", String(err));
  });
});
