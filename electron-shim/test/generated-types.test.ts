/**
 * src/generated/protocol.ts is exactly what scripts/gen-types.mjs makes of protocol/schema/
 * today (regenerated in memory), and the generator refuses schema it does not understand
 * instead of guessing.
 */

import assert from "node:assert/strict";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";

import type * as G from "../src/generated/protocol";
import type { BatchSummary, MethodName } from "../src/protocol";
import { PACKAGE_ROOT, tempDir } from "./support/paths";
import { SCHEMA_DIR } from "./support/schema";

interface Generator {
  generate(schemaDir?: string): string;
  REGENERATE_COMMAND: string;
  OUTPUT_FILE: string;
}

// The script is ESM and not part of the compiled tree: loaded from the package, by URL.
const loadGenerator = (): Promise<Generator> =>
  import(pathToFileURL(join(PACKAGE_ROOT, "scripts", "gen-types.mjs")).href) as Promise<Generator>;

/** The first line where two texts differ, for a failure message a human can act on. */
function firstDifference(actual: string, expected: string): string {
  const a = actual.split("\n");
  const e = expected.split("\n");
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) return `line ${i + 1}:\n  committed: ${a[i] ?? "<end of file>"}\n  generated: ${e[i] ?? "<end of file>"}`;
  }
  return "none";
}

/** A scratch copy of protocol/schema/ that a test may break. */
function schemaCopy(): string {
  const dir = join(tempDir("schema"), "schema");
  cpSync(SCHEMA_DIR, dir, { recursive: true });
  return dir;
}

function editJson(dir: string, file: string, edit: (schema: Record<string, unknown>) => void): void {
  const path = join(dir, file);
  const schema = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  edit(schema);
  writeFileSync(path, JSON.stringify(schema, null, 2));
}

describe("src/generated/protocol.ts", () => {
  test("is what the schemas generate today (no drift)", async () => {
    const gen = await loadGenerator();
    const expected = gen.generate();
    const committed = readFileSync(gen.OUTPUT_FILE, "utf8");
    assert.ok(
      committed === expected,
      `src/generated/protocol.ts is out of date with protocol/schema/: run \`${gen.REGENERATE_COMMAND}\` and commit the result.\n` +
        `First difference at ${firstDifference(committed, expected)}`,
    );
  });

  test("starts with a do-not-edit banner that names the regenerate command", async () => {
    const gen = await loadGenerator();
    const head = readFileSync(gen.OUTPUT_FILE, "utf8").split("\n").slice(0, 4).join("\n");
    assert.match(head, /^\/\/ DO NOT EDIT\./);
    assert.ok(head.includes(gen.REGENERATE_COMMAND), head);
    assert.ok(head.includes("npm run gen:types"), head);
  });

  test("generation is deterministic", async () => {
    const gen = await loadGenerator();
    assert.equal(gen.generate(schemaCopy()), gen.generate());
  });
});

describe("the generator refuses what it does not understand", () => {
  const refused = async (edit: (dir: string) => void, message: RegExp): Promise<void> => {
    const gen = await loadGenerator();
    const dir = schemaCopy();
    edit(dir);
    assert.throws(() => gen.generate(dir), message);
  };

  test("an unsupported keyword, named with its file and path", async () => {
    await refused(
      (dir) => editJson(dir, "ping.result.json", (s) => ((s["properties"] as Record<string, Record<string, unknown>>)["pong"]!["oneOf"] = [])),
      /ping\.result\.json\/properties\/pong: unsupported keyword "oneOf"/,
    );
  });

  test("one shared type defined two ways", async () => {
    await refused(
      (dir) =>
        editJson(dir, "getMediaItem.result.json", (s) => {
          const defs = s["$defs"] as Record<string, { required: string[] }>;
          defs["MediaItem"]!.required = defs["MediaItem"]!.required.filter((f) => f !== "localPath");
        }),
      /defines MediaItem differently from/,
    );
  });

  test("a schema without a title, a ref that resolves nowhere, a file index.json does not list", async () => {
    await refused((dir) => editJson(dir, "ping.result.json", (s) => delete s["title"]), /ping\.result\.json: has no title/);
    await refused((dir) => editJson(dir, "getMediaItem.result.json", (s) => delete s["$defs"]), /unresolved type MediaItem/);
    await refused((dir) => writeFileSync(join(dir, "extra.json"), "{}"), /does not list extra\.json/);
  });
});

// Type-level facts, checked by tsc (npm test compiles this file first).
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const sameBatchShape: Equal<BatchSummary, G.DownloadAllUrlOnlyResult> = true;
const everyMethodListed: Equal<MethodName, (typeof G.METHOD_NAMES)[number]> = true;
const everyEventListed: Equal<keyof G.Events, (typeof G.EVENT_NAMES)[number]> = true;
const codesListed: Equal<G.ErrorCode, (typeof G.ERROR_CODES)[number]> = true;

test("type-level: the batch results share one shape; the name lists cover the tables", () => {
  assert.deepEqual([sameBatchShape, everyMethodListed, everyEventListed, codesListed], [true, true, true, true]);
});
