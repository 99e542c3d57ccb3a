/**
 * Real test videos made with ffmpeg: 60 s, tiny (160x90, 10 fps, ~50 kbit/s), a keyframe
 * every 2 s. A missing ffmpeg is a failure, never a skip (`apt-get install -y ffmpeg`).
 */

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

import { tempDir } from "./paths";

export interface TestVideo {
  path: string;
  bytes: Buffer;
  mimeType: string;
}

function ffmpeg(args: string[]): void {
  try {
    execFileSync(process.env["FFMPEG_BIN"] ?? "ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === "ENOENT") throw new Error("no ffmpeg found: install it (`apt-get install -y ffmpeg`) or set FFMPEG_BIN");
    throw new Error(`ffmpeg ${args.join(" ")} failed: ${e.stderr?.toString() ?? String(err)}`);
  }
}

const SOURCE = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=10:duration=60"];

/** A 60 s VP9 webm. */
export function makeWebm(dir = tempDir("video")): TestVideo {
  const path = join(dir, "clip.webm");
  ffmpeg([...SOURCE, "-c:v", "libvpx-vp9", "-b:v", "50k", "-deadline", "realtime", "-cpu-used", "8", "-g", "20", "-row-mt", "1", path]);
  return { path, bytes: readFileSync(path), mimeType: "video/webm" };
}

/** A 60 s H.264 mp4 with its `moov` atom at the END (no `-movflags +faststart`). */
export function makeMp4MoovAtEnd(dir = tempDir("video")): TestVideo {
  const path = join(dir, "clip.mp4");
  ffmpeg([...SOURCE, "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "50k", "-g", "20", "-pix_fmt", "yuv420p", path]);
  return { path, bytes: readFileSync(path), mimeType: "video/mp4" };
}

/** The same stream with other bytes (a metadata title), copied without re-encoding. */
export function retitled(video: TestVideo, title: string): TestVideo {
  const path = video.path.replace(/(\.\w+)$/, `-${title}$1`);
  ffmpeg(["-i", video.path, "-c", "copy", "-metadata", `title=${title}`, path]);
  return { path, bytes: readFileSync(path), mimeType: video.mimeType };
}

/** The top-level ISO BMFF boxes of an mp4, in order (to check where `moov` is). */
export function topLevelBoxes(mp4: Buffer): string[] {
  const boxes: string[] = [];
  for (let at = 0; at + 8 <= mp4.length && boxes.length < 64; ) {
    let size = mp4.readUInt32BE(at);
    const type = mp4.toString("latin1", at + 4, at + 8);
    if (size === 1) size = Number(mp4.readBigUInt64BE(at + 8));
    if (size === 0) size = mp4.length - at;
    if (size < 8) break;
    boxes.push(type);
    at += size;
  }
  return boxes;
}
