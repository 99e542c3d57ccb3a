// The playback bench (run by bench/bench_playback.py, `make bench`): electron-shim's media
// handler (electron-shim/dist, built first) in front of a real sidecar, against node's own
// file reading of the same blob, in the same run. Prints one JSON object on stdout.
//
//   node bench/bench_playback.mjs --mib 256 --reps 5 --seeks 200
//
// * stream: GET of a whole saved item through createMediaHandler (Request → Response body
//   read to its end) vs. fs.createReadStream of the same blob file read to its end (its
//   default 64 KiB chunks, and 512 KiB chunks: the handler's). All warm (the file is in the
//   page cache), interleaved repetitions; times in seconds.
// * seek: a Range request `bytes=<random offset>-` → the first body chunk (then cancelled, as
//   a media element does when it seeks again) vs. fs.createReadStream({start}) → its first
//   chunk. Times in ms, per seek.
// * held: the same stream for an unsaved item the sidecar holds in memory (readMediaRange,
//   one range in flight), 1/4 of the size, vs. the fs read of the same number of bytes.

import { randomBytes, randomInt } from "node:crypto";
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const here = dirname(fileURLToPath(import.meta.url));
const repo = dirname(here);
const require = createRequire(import.meta.url);
const shim = require(join(repo, "electron-shim", "dist", "index.js"));

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const MIB = 1024 * 1024;
const mib = arg("mib", 256);
const reps = arg("reps", 5);
const seeks = arg("seeks", 200);
const now = () => performance.now();

async function drain(body) {
  const reader = body.getReader();
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.byteLength;
  }
}

function fsRead(path, start = 0, end = undefined, highWaterMark = undefined) {
  return new Promise((resolve, reject) => {
    let n = 0;
    const s = createReadStream(path, { start, end, highWaterMark });
    s.on("data", (c) => (n += c.length));
    s.on("end", () => resolve(n));
    s.on("error", reject);
  });
}

function fsFirstChunk(path, start) {
  return new Promise((resolve, reject) => {
    const s = createReadStream(path, { start });
    s.once("data", () => {
      s.destroy();
      resolve();
    });
    s.on("error", reject);
  });
}

async function timed(fn) {
  const t0 = now();
  const n = await fn();
  return { s: (now() - t0) / 1000, n };
}

function interleave(variants) {
  return (async () => {
    const names = Object.keys(variants);
    const out = Object.fromEntries(names.map((k) => [k, []]));
    for (let r = 0; r < reps; r++) {
      const order = [...names.slice(r % names.length), ...names.slice(0, r % names.length)];
      for (const name of order) out[name].push(await variants[name]());
    }
    return out;
  })();
}

const work = mkdtempSync(join(tmpdir(), "media-sidecar-bench-playback-"));
const sidecar = new shim.Supervisor({
  python: process.env.MEDIA_SIDECAR_PYTHON ?? join(repo, ".venv", "bin", "python"),
  cwd: repo,
  dataDir: join(work, "data"),
  heartbeat: false,
  extraArgs: ["--runtime-dir", join(work, "run"), "--enable-test-hooks"],
  env: { MEDIA_SIDECAR_AUTO_RETRY: "0", MEDIA_SIDECAR_SPILL_DIR: join(work, "spill") },
});
const result = { mib, reps, seeks };
try {
  await sidecar.start();
  const P = "bench";
  const size = mib * MIB;
  await sidecar.addMediaItem({ id: "big", projectId: P, name: "big.webm", type: "video", mimeType: "video/webm" }, randomBytes(size));
  const source = await sidecar.getMediaSource({ projectId: P, id: "big" });
  if (source.bytes !== "file" || !source.path) throw new Error(`the saved item has no file: ${JSON.stringify(source)}`);
  const handler = shim.createMediaHandler(sidecar);
  const url = `media-sidecar://item/${P}/big`;

  const viaHandler = async () => {
    const res = await handler(new Request(url));
    if (res.status !== 200) throw new Error(`GET answered ${res.status}`);
    return drain(res.body);
  };
  const viaFs = () => fsRead(source.path);
  const viaFs512 = () => fsRead(source.path, 0, undefined, 512 * 1024);
  await viaHandler(); // warm: page cache, the socket, JIT
  await viaFs();
  await viaFs512();
  const stream = await interleave({ handler: () => timed(viaHandler), fs: () => timed(viaFs), fs512: () => timed(viaFs512) });
  for (const [k, runs] of Object.entries(stream)) {
    for (const r of runs) if (r.n !== size) throw new Error(`${k} read ${r.n} of ${size} bytes`);
  }
  result.stream = { bytes: size, handler: stream.handler.map((r) => r.s), fs: stream.fs.map((r) => r.s), fs512: stream.fs512.map((r) => r.s) };

  // seeks: request → first byte
  const seekHandler = [];
  const seekFs = [];
  for (let i = 0; i < seeks; i++) {
    const offset = randomInt(0, size - 1);
    const pair = [
      async () => {
        const t0 = now();
        const res = await handler(new Request(url, { headers: { Range: `bytes=${offset}-` } }));
        const reader = res.body.getReader();
        const first = await reader.read();
        const ms = now() - t0;
        await reader.cancel();
        if (res.status !== 206 || !first.value?.byteLength) throw new Error(`seek answered ${res.status}`);
        seekHandler.push(ms);
      },
      async () => {
        const t0 = now();
        await fsFirstChunk(source.path, offset);
        seekFs.push(now() - t0);
      },
    ];
    if (i % 2) pair.reverse();
    for (const f of pair) await f();
  }
  result.seek = { handler: seekHandler, fs: seekFs };

  // an unsaved item held in memory: readMediaRange streams
  const heldSize = Math.max(MIB, Math.floor(size / 4));
  await sidecar.testFault({ op: "blobWrite", errno: "ENOSPC", count: 1000 });
  const held = await sidecar.addMediaItem({ id: "held", projectId: P, name: "held.webm", type: "video", mimeType: "video/webm" }, randomBytes(heldSize));
  await sidecar.testFault({ op: "clear" });
  const heldSource = await sidecar.getMediaSource({ projectId: P, id: "held" });
  result.heldWhere = heldSource.bytes;
  result.heldStatus = held.item.status;
  const heldUrl = `media-sidecar://item/${P}/held`;
  const viaRanges = async () => drain((await handler(new Request(heldUrl))).body);
  const fsSame = () => fsRead(source.path, 0, heldSize - 1);
  await viaRanges();
  const heldRuns = await interleave({ handler: () => timed(viaRanges), fs: () => timed(fsSame) });
  result.held = { bytes: heldSize, handler: heldRuns.handler.map((r) => r.s), fs: heldRuns.fs.map((r) => r.s) };
  result.openStreamsAfter = handler.openStreams;
} finally {
  await sidecar.stop();
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify(result)}\n`);
