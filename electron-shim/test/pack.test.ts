/**
 * The package as an app gets it: `npm pack` (which builds first: `prepack`), the tarball
 * installed into a scratch TypeScript project (offline from the npm cache when it can),
 * the README's main, preload and renderer code (examples/, shown verbatim in the README)
 * type-checked there against the real `electron` typings under node16 AND node10 module
 * resolution, and the package and zeromq's native addon loaded from the installed copy.
 */

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";

import { PACKAGE_ROOT, tempDir } from "./support/paths";

const T = { timeout: 240_000 };
const EXAMPLES = ["main.ts", "preload.ts", "renderer.ts"];
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

/** The ```ts blocks of the README that follow a `<!-- examples/NAME -->` marker. */
function readmeExamples(): Map<string, string> {
  const readme = readFileSync(join(PACKAGE_ROOT, "README.md"), "utf8");
  const found = new Map<string, string>();
  for (const m of readme.matchAll(/<!-- examples\/([\w.]+) -->\n```ts\n([\s\S]*?)```\n/g)) found.set(m[1]!, m[2]!);
  return found;
}

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2023", "DOM", "DOM.Iterable"],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    esModuleInterop: true,
    types: ["node"],
  },
  include: ["src/*.ts"],
};

describe("the packed package", () => {
  let app = "";
  let files: string[] = [];

  before(() => {
    const out = tempDir("pack");
    const packed = JSON.parse(run(NPM, ["pack", "--json", "--pack-destination", out], PACKAGE_ROOT)) as [{ filename: string; files: { path: string }[] }];
    files = packed[0].files.map((f) => f.path);
    app = join(out, "app");
    mkdirSync(join(app, "src"), { recursive: true });
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch-app", version: "0.0.0", private: true }));
    const common = ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"];
    // First the package alone: electron is an optional peer, so it is not pulled in.
    run(NPM, [...common, join(out, packed[0].filename)], app);
    assert.ok(!existsSync(join(app, "node_modules", "electron")), "electron was installed: it must be an optional peer");
    // Then what an app's build has: the real electron typings (its binary download skipped).
    run(NPM, [...common, "--save-dev", `electron@${installedVersion("electron")}`, `@types/node@${installedVersion("@types/node")}`], app);
    for (const name of EXAMPLES) copyFileSync(join(PACKAGE_ROOT, "examples", name), join(app, "src", name));
  });

  test("npm pack ships the build: every entry point with its types, no test or build leftovers", T, () => {
    for (const f of ["dist/index.js", "dist/index.d.ts", "dist/preload.js", "dist/preload.d.ts", "dist/csp.js", "dist/csp.d.ts", "dist/preload-standalone.js", "dist/csp_policy.json", "package.json", "README.md"]) {
      assert.ok(files.includes(f), `${f} missing from the tarball (${files.length} files)`);
    }
    assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("build/") || f.startsWith("node_modules/")), files.join("\n"));
    const pkg = JSON.parse(readFileSync(join(app, "node_modules", "@media-sidecar", "electron-shim", "package.json"), "utf8")) as Record<string, unknown>;
    assert.equal(pkg["private"], undefined);
    assert.deepEqual(pkg["peerDependenciesMeta"], { electron: { optional: true } });
  });

  for (const resolution of ["node16", "node10"] as const) {
    test(`the README's main, preload and renderer type-check against the installed package (moduleResolution ${resolution})`, T, () => {
      const config = { ...TSCONFIG, compilerOptions: { ...TSCONFIG.compilerOptions, module: resolution === "node16" ? "node16" : "commonjs", moduleResolution: resolution } };
      const file = join(app, `tsconfig.${resolution}.json`);
      writeFileSync(file, JSON.stringify(config, null, 2));
      const tsc = join(PACKAGE_ROOT, "node_modules", "typescript", "bin", "tsc");
      const listed = run(process.execPath, [tsc, "-p", file, "--listFiles"], app);
      // the types came from the installed copy, not from this checkout's sources
      const ours = listed.split("\n").filter((l) => l.includes("@media-sidecar/electron-shim/"));
      for (const entry of ["dist/index.d.ts", "dist/preload.d.ts"]) assert.ok(ours.some((l) => l.endsWith(entry)), `${entry} not used:\n${ours.join("\n")}`);
      assert.ok(listed.includes(join(app, "node_modules", "electron", "electron.d.ts")), "the real electron typings were not used");
    });
  }

  test("the installed package and zeromq's native addon load from the app's node_modules", T, () => {
    const script = `
      const shim = require("@media-sidecar/electron-shim");
      const csp = require("@media-sidecar/electron-shim/csp");
      const zmq = require("zeromq");
      const sock = new zmq.Dealer();
      sock.close();
      console.log(JSON.stringify({
        shim: require.resolve("@media-sidecar/electron-shim"),
        zeromq: require.resolve("zeromq"),
        supervisor: typeof shim.Supervisor,
        preload: require("node:fs").existsSync(shim.PRELOAD_PATH),
        csp: csp.buildCsp().includes("https://*.fal.media"),
      }));`;
    const got = JSON.parse(run(process.execPath, ["-e", script], app)) as Record<string, unknown>;
    assert.ok(String(got["shim"]).startsWith(join(app, "node_modules")), String(got["shim"]));
    assert.ok(String(got["zeromq"]).startsWith(join(app, "node_modules")), String(got["zeromq"]));
    assert.deepEqual({ ...got, shim: 0, zeromq: 0 }, { shim: 0, zeromq: 0, supervisor: "function", preload: true, csp: true });
  });
});

test("the README shows examples/main.ts, preload.ts and renderer.ts verbatim", () => {
  const shown = readmeExamples();
  assert.deepEqual([...shown.keys()].sort(), [...EXAMPLES].sort());
  for (const name of EXAMPLES) assert.equal(shown.get(name), readFileSync(join(PACKAGE_ROOT, "examples", name), "utf8"), `README's ${name} differs from examples/${name}`);
  assert.deepEqual(readdirSync(join(PACKAGE_ROOT, "examples")).sort(), [...EXAMPLES].sort());
});
