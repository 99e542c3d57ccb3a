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
// npm test fails, never hangs: every test has a timeout (a test may set a longer one with
// node:test's `timeout` option), the runner exits when the tests are done even if a handle
// is left open, and the whole run is killed after RUN_LIMIT_MS.
const TEST_TIMEOUT_MS = 180_000; // hooks without their own timeout (Chromium, ffmpeg set-ups) get this
const RUN_LIMIT_MS = 20 * 60_000;
const defaults = [
  "--test-concurrency=1",
  "--test-reporter=spec",
  "--test-force-exit",
  ...(flags.some((f) => f.startsWith("--test-timeout")) ? [] : [`--test-timeout=${TEST_TIMEOUT_MS}`]),
];
const r = spawnSync(process.execPath, ["--test", ...defaults, ...flags, ...files], {
  stdio: "inherit",
  cwd: root,
  timeout: RUN_LIMIT_MS,
  killSignal: "SIGKILL",
});
if (r.error !== undefined || r.signal !== null) {
  console.error(`node --test did not finish: ${r.error?.message ?? `killed by ${r.signal}`} (limit ${RUN_LIMIT_MS / 60_000} min)`);
  process.exit(1);
}
process.exit(r.status ?? 1);
