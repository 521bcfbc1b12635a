// Loaded by mocha before any test file (.mocharc.json `require`): the suite never depends on the caller's
// environment. Credentials and tool settings a developer's shell may carry (TAILSCALE_*, KUBECONFIG and
// in-cluster KUBERNETES_*, PULUMI_*) are removed, and HOME points at an empty folder, so that nothing
// falls back to ~/.kube/config or ~/.pulumi. Each test sets what it needs explicitly.
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const CLEARED = [/^TAILSCALE_/, /^KUBECONFIG$/, /^KUBERNETES_/, /^PULUMI_/, /^USERPROFILE$/];
for (const name of Object.keys(process.env)) {
  if (CLEARED.some((re) => re.test(name))) delete process.env[name];
}
const home = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-tailnet-test-home-"));
process.env.HOME = home;
process.on("exit", () => fs.rmSync(home, { recursive: true, force: true }));
