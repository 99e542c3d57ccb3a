/**
 * The frozen sidecar (`make dist`) under the Supervisor, with no Python anywhere: run by
 * `make dist-test` (tests/frozen/test_frozen.py) under `env -i` with a PATH that holds no Python,
 * given the build's path in MEDIA_SIDECAR_FROZEN. Not part of `npm test` (the build takes a
 * while); a missing build fails it, it never skips.
 *
 * add → list → unsaved (a storage fault armed with the test hook) → retry → stop.
 */

import assert from "node:assert/strict";
import { readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

import { ErrorType, FaultErrno, FaultOp, ItemStatus, MediaType } from "../src/protocol";
import { Supervisor } from "../src/supervisor";
import { tempDir } from "./support/paths";
import { memoryLogger } from "./support/sidecar";
import { wireCheck } from "./support/wire-check";

const T = { timeout: 60_000 };

function frozenBinary(): string {
  const binary = process.env["MEDIA_SIDECAR_FROZEN"];
  if (!binary) throw new Error("MEDIA_SIDECAR_FROZEN is not set: run `make dist-test` (it builds the sidecar and passes its path)");
  return binary;
}

test("the Supervisor runs the frozen sidecar: add → list → unsaved → retry → stop", T, async () => {
  const binary = frozenBinary();
  for (const dir of (process.env["PATH"] ?? "").split(":").filter(Boolean)) {
    for (const name of ["python", "python3"]) {
      assert.throws(() => realpathSync(join(dir, name)), `${name} is reachable on PATH (${dir})`);
    }
  }
  const dir = tempDir("frozen");
  const logger = memoryLogger();
  const checker = wireCheck();
  const sidecar = new Supervisor({
    command: binary,
    dataDir: join(dir, "data"),
    extraArgs: ["--runtime-dir", join(dir, "run"), "--enable-test-hooks"],
    logger,
    heartbeat: false,
    onMessage: checker.observe,
  });
  try {
    const ready = await sidecar.start();
    assert.equal(readlinkSync(`/proc/${ready.pid}/exe`), realpathSync(binary), "the process is the frozen binary");
    assert.ok(ready.hello.methods.includes("testFault"), "test hooks are on");

    const bytes = Buffer.from("frozen sidecar clip ".repeat(1000));
    const added = await sidecar.addMediaItem({ id: "clip-1", projectId: "film", name: "clip.webm", type: MediaType.video }, bytes);
    assert.equal(added.item.status, ItemStatus.saved);
    assert.equal(added.durable, true);
    const listed = await sidecar.listMediaItems({ projectId: "film" });
    assert.deepEqual(listed.items.map((i) => i.id), ["clip-1"]);

    await sidecar.testFault({ op: FaultOp.blobWrite, errno: FaultErrno.EAGAIN, count: 1 });
    const failed = await sidecar.addMediaItem({ id: "clip-2", projectId: "film", name: "clip2.webm", type: MediaType.video }, Buffer.concat([bytes, Buffer.from("2")]));
    assert.equal(failed.item.status, ItemStatus.unsaved);
    assert.equal(failed.durable, false);
    assert.equal(failed.item.storageError?.errorType, ErrorType.StorageTransient);
    assert.equal((await sidecar.listMediaItems({ projectId: "film" })).counts.unsaved, 1);

    const retried = await sidecar.retrySaveItem({ id: "clip-2", projectId: "film" });
    assert.equal(retried.item.status, ItemStatus.saved);
    assert.equal((await sidecar.listMediaItems({ projectId: "film" })).counts.saved, 2);

    const stopped = await sidecar.stop();
    assert.equal(stopped.escalation, "shutdown");
    assert.deepEqual(stopped.exit, { code: 0, signal: null });
    checker.assertClean();
  } catch (err) {
    console.error(logger.lines.join("\n"));
    throw err;
  } finally {
    await sidecar.stop();
  }
});
