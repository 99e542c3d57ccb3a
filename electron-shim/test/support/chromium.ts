/**
 * Debian's headless Chromium for the CSP tests. Missing Chromium is a failure, never a skip
 * (`apt-get install -y chromium`, or CHROMIUM_BIN=/path/to/chromium).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";

import { tempDir } from "./paths";

export function chromiumBinary(): string {
  const candidates = [process.env["CHROMIUM_BIN"], "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  for (const c of candidates) {
    if (!c) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error("no Chromium found: install it (`apt-get install -y chromium`) or set CHROMIUM_BIN");
}

export interface Browser {
  process: ChildProcess;
  output(): string;
  close(): Promise<void>;
}

/** Open `url` in a fresh headless Chromium whose resolver sends `hosts` to 127.0.0.1:port. */
export function openPage(url: string, hosts: readonly string[], port: number): Browser {
  const rules = hosts.map((h) => `MAP ${h} 127.0.0.1:${port}`).join(", ");
  const child = spawn(
    chromiumBinary(),
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--no-default-browser-check",
      "--mute-audio",
      `--user-data-dir=${tempDir("chromium")}`,
      "--ignore-certificate-errors",
      `--host-resolver-rules=${rules}`,
      url,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    process: child,
    output: () => output,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
