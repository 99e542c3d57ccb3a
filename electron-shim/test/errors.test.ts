import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";

import { LOCAL_ERROR_CODES, SidecarError } from "../src/errors";
import { ERROR_CODES } from "../src/protocol";
import { PACKAGE_ROOT } from "./support/paths";

describe("SidecarError", () => {
  test("every local code is raised somewhere in src/, and none collides with a protocol code", () => {
    const dir = join(PACKAGE_ROOT, "src");
    const source = readdirSync(dir).filter((f) => f.endsWith(".ts")).map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
    for (const code of LOCAL_ERROR_CODES) {
      assert.match(source, new RegExp(`new SidecarError\\(\\s*"${code}"`), `${code} is raised`);
      assert.ok(!(ERROR_CODES as readonly string[]).includes(code), `${code} is not a protocol code`);
    }
  });

  test("fromBody keeps the server's code, message and field; toJSON is plain data", () => {
    const err = SidecarError.fromBody({ code: "not_found", message: "no item", field: "params.id", data: null }, "getMediaItem");
    assert.ok(err instanceof Error);
    assert.deepEqual([err.code, err.message, err.field, err.method], ["not_found", "no item", "params.id", "getMediaItem"]);
    assert.deepEqual(structuredClone(err.toJSON()), { code: "not_found", message: "no item", field: "params.id", data: null });
  });
});
