/**
 * A real tmpfs for ENOSPC (root only, as tests/support.py's mounted_tmpfs): mount, fill with a
 * ballast file until the kernel says ENOSPC, unmount. Not being root is a failure, not a skip.
 */

import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

export function mountTmpfs(where: string, size: string): void {
  if (process.getuid?.() !== 0) throw new Error("the real-ENOSPC tests need root (a tmpfs mount)");
  mkdirSync(where, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", where], { stdio: ["ignore", "ignore", "pipe"] });
}

export function unmountTmpfs(where: string): void {
  try {
    execFileSync("umount", [where], { stdio: ["ignore", "ignore", "pipe"] });
  } catch {
    execFileSync("umount", ["-l", where], { stdio: ["ignore", "ignore", "pipe"] });
  }
}

/** Write `dir/ballast` until ENOSPC, halving the chunk down to one byte: the file system is full. */
export function fillUp(dir: string): string {
  const path = join(dir, "ballast");
  const fd = openSync(path, "w", 0o600);
  try {
    let chunk = 1024 * 1024;
    const buffer = Buffer.alloc(chunk);
    for (let i = 0; i < 100_000 && chunk >= 1; i++) {
      try {
        writeSync(fd, buffer, 0, chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
        chunk = Math.floor(chunk / 2);
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}
