// Runs the whole mocha suite. A separate script so `npm test` stays one command on every machine,
// and so a run that collected no tests fails instead of passing silently. Output streams through.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const mochaBin = require.resolve("mocha/bin/mocha.js");
// Test files given on the command line (`npm test -- tests/unit/budget.test.ts`) run alone; else all.
const args = process.argv.slice(2);
const files = args.some((a) => a.endsWith(".ts")) ? [] : ["tests/**/*.test.ts"];
const child = spawn(process.execPath, [mochaBin, ...files, ...args], {
  stdio: ["ignore", "pipe", "inherit"],
});
let tail = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString("utf8")).slice(-4096);
});
child.on("close", (code) => {
  const totals = /^(\d+) passed, (\d+) failed/m.exec(tail);
  if (!totals || Number(totals[1]) + Number(totals[2]) === 0) {
    console.error("no test ran: the suite must execute at least one test");
    process.exit(1);
  }
  process.exit(code ?? 1);
});
