// Runs the whole mocha suite. A separate script so `npm test` stays one command on every machine,
// and so a run that collected no tests fails instead of passing silently.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const mochaBin = require.resolve("mocha/bin/mocha.js");
const result = spawnSync(process.execPath, [mochaBin, ...process.argv.slice(2)], {
  stdio: ["ignore", "pipe", "inherit"],
  encoding: "utf8",
  maxBuffer: 256 * 1024 * 1024,
});
process.stdout.write(result.stdout ?? "");
const totals = /^(\d+) passed, (\d+) failed/m.exec(result.stdout ?? "");
if (!totals || Number(totals[1]) + Number(totals[2]) === 0) {
  console.error("no test ran: the suite must execute at least one test");
  process.exit(1);
}
process.exit(result.status ?? 1);
