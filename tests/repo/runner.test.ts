// The test runner itself (scripts/run-tests.mjs with .mocharc.json): a failure ends the run promptly and non-zero
// even when the failing test leaves handles open, the closing count line is printed from the real counts, and the
// caller's environment never reaches the tests.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

function runSuite(file: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "scripts", "run-tests.mjs"), file], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    // A hang fails this test by mocha's own timeout; the child is killed so it cannot outlive the suite.
    const guard = setTimeout(() => child.kill("SIGKILL"), 50_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(guard);
      resolve({ code, out });
    });
  });
}

describe("the test runner", function () {
  this.timeout(60_000);

  it("stops at the first failure and exits non-zero although the test left a server and a timer", async () => {
    const r = await runSuite("tests/repo/fixtures/broken.fixture.ts", {});
    assert.notEqual(r.code, 0, r.out);
    assert.notEqual(r.code, null, "killed: the run hung");
    assert.match(r.out, /^0 passed, 1 failed$/m);
    assert.doesNotMatch(r.out, /ran after a failure/);
  });

  it("clears the caller's credentials and tool settings before any test runs", async () => {
    const r = await runSuite("tests/repo/fixtures/environment.fixture.ts", {
      TAILSCALE_TAILNET: "example.com",
      TAILSCALE_API_KEY: "tskey-api-caller",
      KUBECONFIG: "/caller/kubeconfig",
      KUBERNETES_SERVICE_HOST: "10.0.0.1",
      PULUMI_ACCESS_TOKEN: "pul-caller",
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^1 passed, 0 failed$/m);
  });
});
