/** Where things are, from the compiled test (build/test/...) or the source tree alike. */

import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

function findUp(start: string, marker: (dir: string) => boolean): string {
  let dir = start;
  for (;;) {
    if (marker(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`not found above ${start}`);
    dir = parent;
  }
}

/** electron-shim/ */
export const PACKAGE_ROOT = findUp(__dirname, (d) => {
  const pkg = join(d, "package.json");
  return existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "@media-sidecar/electron-shim";
});
/** The repository (protocol/, sidecar/). */
export const REPO_ROOT = dirname(PACKAGE_ROOT);
export const FIXTURES = join(PACKAGE_ROOT, "test", "fixtures");

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `media-sidecar-shim-${prefix}-`));
}
