// Run the compiled tests (build/test/*.test.js) with node's built-in runner, one file at a
// time (the Chromium and sidecar tests are heavy for a 2-core machine). Extra arguments are
// passed to `node --test` (e.g. `npm test -- --test-name-pattern=csp`).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(root, "build", "test");
const only = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const flags = process.argv.slice(2).filter((a) => a.startsWith("-"));
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".test.js"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
  .map((f) => join(dir, f));
if (files.length === 0) {
  console.error(`no test files in ${dir} (run \`npm run pretest\` first)`);
  process.exit(1);
}
// Every test has a timeout: its own when it sets one, else this default (a hung test fails).
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=1", "--test-timeout=180000", "--test-reporter=spec", ...flags, ...files], { stdio: "inherit", cwd: root });
process.exit(r.status ?? 1);
