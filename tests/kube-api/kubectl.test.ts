// kubectl, the machine's own binary, as an independent client of the local world: if the fake serves
// what kubectl needs (TLS with the kubeconfig's CA, discovery, OpenAPI v3 for apply's field validation
// and patches, tables, server-side dry-run for diff, self-reviews, impersonation), the commands a user
// would run work as against a real cluster. No test is skipped: without kubectl this file fails.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { type LocalWorld, startLocalWorld } from "../support/world";

const KUBECTL = "/usr/bin/kubectl";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe("kube-api: kubectl against the local world", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  let dir: string;
  let certKubeconfig: string;
  let deployerKubeconfig: string;

  before(async () => {
    assert.ok(
      fs.existsSync(KUBECTL),
      `kubectl is required for this test and was not found at ${KUBECTL}; install kubectl (e.g. apt-get install kubectl)`,
    );
    world = await startLocalWorld();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubectl-test-"));
    certKubeconfig = path.join(dir, "cert.kubeconfig");
    fs.writeFileSync(
      certKubeconfig,
      world.kube.kubeconfig({ user: "carol", groups: ["ops"], auth: "certificate" }),
    );
    deployerKubeconfig = path.join(dir, "deployer.kubeconfig");
    fs.writeFileSync(deployerKubeconfig, world.kubeconfig);
  });
  after(async () => {
    await world?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs kubectl with a private HOME (no shared discovery cache) and the admin kubeconfig by default. */
  function kubectl(args: string[], o: { kubeconfig?: string; input?: string } = {}): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile(
        KUBECTL,
        args,
        {
          env: {
            PATH: process.env.PATH ?? "",
            HOME: dir,
            KUBECONFIG: o.kubeconfig ?? world.adminKubeconfigPath,
          },
          timeout: 60_000,
        },
        (err, stdout, stderr) => {
          const code = err
            ? typeof (err as { code?: unknown }).code === "number"
              ? (err as { code: number }).code
              : 1
            : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (o.input !== undefined) child.stdin?.end(o.input);
    });
  }

  async function ok(args: string[], o?: { kubeconfig?: string; input?: string }): Promise<string> {
    const r = await kubectl(args, o);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  }

  function file(name: string, text: string): string {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  }

  const configMap = (data: Record<string, string>) =>
    yaml.dump({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "demo", namespace: "default" },
      data,
    });

  const statefulSet = (name: string, replicas: number) =>
    yaml.dump({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name, namespace: "default" },
      spec: {
        replicas,
        serviceName: name,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: "c", image: "nginx:1.27" }] },
        },
      },
    });

  async function podsOf(app: string): Promise<any[]> {
    await world.sim.waitIdle();
    return world.kube.listObjects("v1", "Pod", "default").filter((p) => p.metadata.labels?.app === app);
  }

  it("reads objects as YAML over TLS, verifying the server with the kubeconfig's CA", async () => {
    const svc = yaml.load(await ok(["get", "service", "kubernetes", "-n", "default", "-o", "yaml"])) as any;
    assert.equal(svc.kind, "Service");
    assert.equal(svc.spec.clusterIP, "10.96.0.1");
    const table = await ok(["get", "namespaces"]);
    assert.match(table, /^NAME\s+STATUS\s+AGE/m);
    assert.match(table, /^kube-system\s+Active/m);
  });

  it("applies client-side twice (created, then unchanged), and diffs with a server-side dry run", async () => {
    const f = file("cm.yaml", configMap({ a: "1" }));
    assert.match(await ok(["apply", "-f", f]), /configmap\/demo created/);
    assert.match(await ok(["apply", "-f", f]), /configmap\/demo unchanged/);
    assert.equal((await kubectl(["diff", "-f", f])).code, 0);
    const changed = file("cm2.yaml", configMap({ a: "1", b: "2" }));
    const d = await kubectl(["diff", "-f", changed]);
    assert.equal(d.code, 1, d.stderr);
    assert.match(d.stdout, /^\+\s+b: "2"$/m);
    // The dry run changed nothing.
    assert.deepEqual(world.kube.getObject("v1", "ConfigMap", "default", "demo").data, { a: "1" });
  });

  it("refuses an unknown field through apply's strict field validation, as a real server does", async () => {
    const bad = file(
      "bad.yaml",
      yaml.dump({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "bad", namespace: "default" },
        bogus: 1,
      }),
    );
    const r = await kubectl(["apply", "-f", bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /strict decoding error: unknown field "bogus"/);
  });

  it("applies server-side, patches with each patch type, and scales", async () => {
    assert.match(
      await ok(["apply", "--server-side", "-f", file("sts.yaml", statefulSet("web", 1))]),
      /statefulset.apps\/web serverside-applied/,
    );
    await ok(["patch", "configmap", "demo", "-n", "default", "-p", '{"data":{"s":"strategic"}}']);
    await ok(["patch", "configmap", "demo", "-n", "default", "--type=merge", "-p", '{"data":{"m":"merge"}}']);
    await ok([
      "patch",
      "configmap",
      "demo",
      "-n",
      "default",
      "--type=json",
      "-p",
      '[{"op":"add","path":"/data/j","value":"json"}]',
    ]);
    assert.deepEqual(world.kube.getObject("v1", "ConfigMap", "default", "demo").data, {
      a: "1",
      s: "strategic",
      m: "merge",
      j: "json",
    });
    await ok(["scale", "statefulset", "web", "-n", "default", "--replicas=2"]);
    assert.equal(world.kube.getObject("apps/v1", "StatefulSet", "default", "web").spec.replicas, 2);
    assert.equal((await podsOf("web")).length, 2);
    const all = await ok(["get", "all", "-A"]);
    assert.match(all, /pod\/web-0/);
    assert.match(all, /service\/kubernetes/);
    assert.match(all, /statefulset.apps\/web/);
  });

  it("deletes with each cascade: orphan keeps the Pods, background and foreground remove them", async () => {
    await ok(["apply", "-f", file("orphan.yaml", statefulSet("orphan", 1))]);
    assert.equal((await podsOf("orphan")).length, 1);
    await ok(["delete", "statefulset", "orphan", "-n", "default", "--cascade=orphan"]);
    const orphaned = await podsOf("orphan");
    assert.equal(orphaned.length, 1);
    assert.equal(orphaned[0].metadata.ownerReferences, undefined);

    await ok(["apply", "-f", file("bg.yaml", statefulSet("bg", 1))]);
    assert.equal((await podsOf("bg")).length, 1);
    await ok(["delete", "statefulset", "bg", "-n", "default", "--cascade=background", "--wait=false"]);
    await ok(["wait", "--for=delete", "pod/bg-0", "-n", "default", "--timeout=30s"]);

    await ok(["apply", "-f", file("fg.yaml", statefulSet("fg", 1))]);
    assert.equal((await podsOf("fg")).length, 1);
    await ok(["delete", "statefulset", "fg", "-n", "default", "--cascade=foreground"]);
    assert.equal(world.kube.getObject("apps/v1", "StatefulSet", "default", "fg"), undefined);
    assert.equal((await podsOf("fg")).length, 0);
  });

  it("waits for a deletion", async () => {
    await ok(["apply", "-f", file("gone.yaml", configMap({ x: "1" }).replace("name: demo", "name: gone"))]);
    const waiting = kubectl(["wait", "--for=delete", "configmap/gone", "-n", "default", "--timeout=30s"]);
    await new Promise((r) => setTimeout(r, 100));
    world.kube.remove("v1", "ConfigMap", "default", "gone");
    const r = await waiting;
    assert.equal(r.code, 0, r.stderr);
  });

  it("answers auth can-i from RBAC: allowed, denied, and for the deployer's own grants", async () => {
    assert.equal((await kubectl(["auth", "can-i", "create", "pods"])).stdout.trim(), "yes");
    // The deployer may list Nodes (ProxyClass staticEndpoints), never change them.
    const denied = await kubectl(["auth", "can-i", "delete", "nodes"], { kubeconfig: deployerKubeconfig });
    assert.equal(denied.code, 1);
    assert.equal(denied.stdout.trim(), "no");
    const mine = await kubectl(["auth", "can-i", "create", "statefulsets.apps", "-n", "default"], {
      kubeconfig: deployerKubeconfig,
    });
    assert.equal(mine.stdout.trim(), "yes", mine.stderr);
    assert.equal(
      (
        await kubectl(["auth", "can-i", "get", "secrets", "--as", world.deployer.user, "-n", "kube-system"])
      ).stdout.trim(),
      "no",
    );
  });

  it("tells who a client certificate and a ServiceAccount token authenticate as", async () => {
    const carol = await ok(["auth", "whoami"], { kubeconfig: certKubeconfig });
    assert.match(carol, /Username\s+carol/);
    assert.match(carol, /Groups\s+\[ops system:authenticated\]/);
    const me = await ok(["auth", "whoami"], { kubeconfig: deployerKubeconfig });
    assert.match(me, new RegExp(`Username\\s+${world.deployer.user}`));
  });

  it("explains a field from the OpenAPI v3 document", async () => {
    const out = await ok(["explain", "statefulset.spec.replicas"]);
    assert.match(out, /KIND:\s+StatefulSet/);
    assert.match(out, /FIELD: replicas <integer>/);
  });
});
