// Runs fauxqs on a free port of 127.0.0.1 (its own CLI listens on all
// interfaces and a fixed port) and prints one JSON line once it listens, so
// the Go side waits for that event instead of polling. It exits when its
// stdin closes (the Go process is gone) or on SIGTERM/SIGINT.
// Usage: node launch.mjs <path of fauxqs/dist/app.js>
import { pathToFileURL } from "node:url";

const appPath = process.argv[process.argv.length - 1];
const { buildApp } = await import(pathToFileURL(appPath).href);
const app = buildApp({ logger: false });

let closing = false;
async function close(code) {
  if (closing) return;
  closing = true;
  try {
    await app.close();
  } finally {
    process.exit(code);
  }
}
process.on("SIGTERM", () => close(0));
process.on("SIGINT", () => close(0));
process.stdin.on("end", () => close(0));
process.stdin.on("error", () => close(0));
process.stdin.resume();

try {
  const address = await app.listen({ host: "127.0.0.1", port: 0 });
  process.stdout.write(JSON.stringify({ fauxqs: "listening", address }) + "\n");
} catch (err) {
  process.stderr.write(`fauxqs: listen: ${err && err.message}\n`);
  process.exit(1);
}
