/**
 * HA bench: 100 HA TailnetIngress resources on one ProxyGroup, created in parallel through the engine
 * path (the real language runtime and dynamic-provider host), against the local world with 0 ms and
 * 20 ms injected per request (Kubernetes API and Tailscale API, the simulator's requests included).
 *
 * Reported: wall time of the `up`, the provider's requests per ingress (its own kubeconfig identity
 * only), 409 Conflict responses it got (each one a read-modify-write retry), and the ratio to a lower
 * bound. The lower bound is the longest chain of dependent requests of one ingress × 20 ms: the chain is
 * measured, not guessed, as the extra time 100 ms per request adds to one ingress's create (provider
 * lifecycle called directly, so no program start is in the measurement), divided by 100 ms. It includes
 * the proxies' own dependent steps (advertising, issuing the certificate) that the create waits for.
 *
 * The request and parallelism rows run the simulator on the suite's compressed clock; one more 100-ingress run is at a
 * real cluster's timing (the simulator's timeScale 1). Each run also reports when every
 * Tailscale Service was served (advertised by every replica, each holding its certificate), counted from the start of
 * the `up`, and an in-place update of every ingress (`httpRedirect` on), with the fewest replicas that advertised any
 * one service at any moment of it (sampled every 50 ms).
 *
 * Run: `npm run build && node --import tsx bench/ha.ts [count]`. Not a test: nothing here asserts a time.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as provider from "../provider";
import { TEST_TIME_SCALE } from "../tests/support/cluster-sim";
import { kubernetesBuiltins, StackHarness, type StepResult } from "../tests/support/engine";
import { faultsFromArgv, type LocalWorld, startLocalWorld } from "../tests/support/world";

const ROOT = path.resolve(__dirname, "..");
const COUNT = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100);
/** `--faults <rate>[:seed]`: seeded faults on both APIs (tests/support/world.ts); a failed up runs once more. */
const FAULTS = faultsFromArgv(process.argv);

const PROGRAM = `
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ProxyGroup, TailnetIngress } from "pulumi-tailnet";

const config = new pulumi.Config();
const count = config.getNumber("count") ?? 0;
const proxies = new k8s.core.v1.Namespace("tailscale", { metadata: { name: "tailscale" } });
const apps = new k8s.core.v1.Namespace("apps", { metadata: { name: "apps" } });
const group = new ProxyGroup("edge", {
  namespace: proxies.metadata.name,
  proxyClass: { useLetsEncryptStagingEnvironment: true },
});
const web = new k8s.core.v1.Service("web", {
  metadata: { namespace: apps.metadata.name, name: "web" },
  spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
});
const httpRedirect = config.getBoolean("httpRedirect") ?? false;
for (let i = 0; i < count; i++) {
  new TailnetIngress(\`app-\${i}\`, {
    proxyGroup: group,
    defaultBackend: { service: web, port: "http" },
    httpRedirect,
  });
}
`;

/**
 * A throwaway project under the repository's .tmp/, laid out as a user's: Pulumi.yaml, package.json and tsconfig.json
 * beside index.ts. Its packages (@pulumi/*, pulumi-tailnet) resolve through the repository's node_modules, as they
 * would through the project's own after `npm install`; nothing is linked for it.
 */
function projectDir(): string {
  const tmp = path.join(ROOT, ".tmp");
  fs.mkdirSync(tmp, { recursive: true });
  const dir = fs.mkdtempSync(path.join(tmp, "bench-ha-"));
  fs.writeFileSync(path.join(dir, "index.ts"), PROGRAM);
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    "name: tailnet-bench-ha\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n",
  );
  fs.writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify({ name: "tailnet-bench-ha", private: true, main: "index.ts" }, null, 2)}\n`,
  );
  fs.copyFileSync(path.join(ROOT, "examples", "ha", "tsconfig.json"), path.join(dir, "tsconfig.json"));
  return dir;
}

interface Measure {
  ms: number;
  kubeRequests: number;
  conflicts: number;
  tailscaleRequests: number;
  /** From the start of the up until every service was served by every replica. */
  servedMs: number;
  /** The in-place update of every ingress: its wall time, and the fewest replicas serving a service during it. */
  update: { ms: number; fewestServing: number };
}

/** Replicas of the ProxyGroup `edge` that advertise `svc:app-<i>` and hold its certificate, per service. */
function servingReplicas(world: LocalWorld, count: number): number[] {
  const replicas = world.sim.pods().filter((p) => p.namespace === "tailscale" && /^edge-\d+$/.test(p.name));
  return Array.from(
    { length: count },
    (_, i) =>
      replicas.filter(
        (p) =>
          p.advertisedServices.includes(`svc:app-${i}`) &&
          p.certificates.some((d) => d.startsWith(`app-${i}.`)),
      ).length,
  );
}

/** Samples every 50 ms while `during` runs: when every service was first served by `replicas`, and the fewest serving. */
async function sampleServing<T>(
  world: LocalWorld,
  count: number,
  replicas: number,
  during: () => Promise<T>,
): Promise<{ result: T; servedMs: number; fewest: number }> {
  const start = process.hrtime.bigint();
  let servedMs = -1;
  let fewest = Number.POSITIVE_INFINITY;
  let done = false;
  const sample = () => {
    const serving = servingReplicas(world, count);
    fewest = Math.min(fewest, ...serving);
    if (servedMs < 0 && serving.every((n) => n >= replicas)) {
      servedMs = Number((process.hrtime.bigint() - start) / 1_000_000n);
    }
  };
  const sampler = (async () => {
    while (!done) {
      sample();
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const result = await during();
  // After the up, wait (at most 10 minutes) for what the up did not wait for.
  const deadline = Date.now() + 600_000;
  while (servedMs < 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  done = true;
  await sampler;
  return { result, servedMs, fewest };
}

/**
 * `--parallel` of the runs: undefined is the engine's default, 4 × the CPUs available
 * (pulumi/pulumi@a88168d8 pkg/cmd/pulumi/operations/up.go:69-90), as the harness applies it.
 */
type Parallel = number | undefined;

/** The engine's default parallelism on this machine. */
const DEFAULT_PARALLEL = 4 * os.availableParallelism();

/**
 * The simulator's clock: `realistic` is a real cluster's kubelet sync, Pod start, login and issuance times
 * (tests/support/cluster-sim/sim.ts KubeletTiming); `compressed` is the suite's (TEST_TIME_SCALE), where those
 * take milliseconds, so request latency and parallelism are what the wall time shows.
 */
type Clock = "realistic" | "compressed";
const TIME_SCALE: Record<Clock, number> = { realistic: 1, compressed: TEST_TIME_SCALE };

async function run(clock: Clock, latencyMs: number, count: number, parallel?: Parallel): Promise<Measure> {
  const world = await startLocalWorld({ faults: FAULTS, sim: { timeScale: TIME_SCALE[clock] } });
  const dir = projectDir();
  const stack = new StackHarness({
    stack: "bench",
    projectDir: dir,
    env: world.env,
    config: { count: "0" },
    parallel,
    builtins: kubernetesBuiltins(world.kube.kubeconfig({ user: "pulumi-kubernetes" })),
  });
  const ok = (r: StepResult, what: string) => {
    if (r.failed) throw new Error(`${what} failed: ${r.error}`);
  };
  // Under --faults a user would run a failed up or destroy once more.
  const twice = async (cmd: () => Promise<StepResult>) => {
    const r = await cmd();
    return FAULTS && r.failed ? cmd() : r;
  };
  try {
    // The ProxyGroup first, without latency: the bench is about the ingresses.
    ok(await twice(() => stack.up()), "ProxyGroup up");
    stack.setConfig("count", String(count));
    // The host restarts for the config change; start it before the clock does.
    ok(await stack.preview(), "preview");
    world.kube.resetCounts();
    world.tailscale.resetCounts();
    world.kube.setLatency(latencyMs);
    world.tailscale.setLatency(latencyMs);
    const start = process.hrtime.bigint();
    const created = await sampleServing(world, count, 2, () => twice(() => stack.up()));
    ok(created.result, `up of ${count} ingresses`);
    const ms = Number((process.hrtime.bigint() - start) / 1_000_000n);
    const own = world.kube.requests.filter((r) => r.user === world.deployer.user);
    const counts = {
      ms,
      kubeRequests: own.length,
      conflicts: own.filter((r) => r.status === 409).length,
      tailscaleRequests: world.tailscale.counts().total,
      servedMs: created.servedMs,
    };
    // An in-place update of every ingress; the program starts before the clock, as above.
    stack.setConfig("httpRedirect", "true");
    ok(await stack.preview(), "preview of the update");
    const updateStart = process.hrtime.bigint();
    const updated = await sampleServing(world, count, 2, () => twice(() => stack.up()));
    ok(updated.result, `update of ${count} ingresses`);
    const m: Measure = {
      ...counts,
      update: {
        ms: Number((process.hrtime.bigint() - updateStart) / 1_000_000n),
        fewestServing: updated.fewest,
      },
    };
    world.kube.setLatency(0);
    world.tailscale.setLatency(0);
    ok(await twice(() => stack.destroy()), "destroy");
    const left = world.leftovers();
    if (
      left.kubernetesObjects.length ||
      left.devices.length ||
      left.services.length ||
      left.validAuthKeys.length
    ) {
      throw new Error(`destroy left things behind: ${JSON.stringify(left.kubernetesObjects)}`);
    }
    return m;
  } finally {
    await stack.close();
    await world.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Dependent requests on one HA ingress create's critical path, from its time at 0 and 100 ms per request. */
async function chainLength(): Promise<number> {
  // Compressed time, so the kubelet's sync delays do not hide the requests' latency.
  const world = await startLocalWorld({ sim: { timeScale: TIME_SCALE.compressed } });
  try {
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "tailscale" } });
    await world.addService("apps", "web");
    const pgIn = (
      await provider.check(
        "ProxyGroup",
        {},
        {
          ownerId: "bench/ha/edge",
          name: "edge",
          namespace: "tailscale",
          type: "ingress",
          proxyClass: { useLetsEncryptStagingEnvironment: true },
          credentials: world.credentials,
        },
      )
    ).inputs;
    await provider.create("ProxyGroup", pgIn);
    const timed = async (name: string, latencyMs: number) => {
      const inputs = (
        await provider.check(
          "TailnetIngress",
          {},
          {
            ownerId: `bench/ha/${name}`,
            hostname: name,
            defaultBackend: { service: { namespace: "apps", name: "web" }, port: "http" },
            proxyGroup: { name: "edge", namespace: "tailscale" },
            credentials: world.credentials,
          },
        )
      ).inputs;
      world.kube.setLatency(latencyMs);
      world.tailscale.setLatency(latencyMs);
      const start = process.hrtime.bigint();
      await provider.create("TailnetIngress", inputs);
      const ms = Number((process.hrtime.bigint() - start) / 1_000_000n);
      world.kube.setLatency(0);
      world.tailscale.setLatency(0);
      return ms;
    };
    await timed("warmup", 0); // OAuth token, discovery, watch connections
    const t0 = await timed("fast", 0);
    const t100 = await timed("slow", 100);
    return Math.max(1, Math.round((t100 - t0) / 100));
  } finally {
    await world.stop();
  }
}

/** Progress on stderr, so it stays out of bench/RESULTS.md. */
async function step<T>(what: string, f: () => Promise<T>): Promise<T> {
  const start = Date.now();
  console.error(`bench/ha.ts: ${what}…`);
  const r = await f();
  console.error(`bench/ha.ts: ${what}: ${Math.round((Date.now() - start) / 1000)} s`);
  return r;
}

async function main(): Promise<void> {
  const chain = await step("chain of one ingress", chainLength);
  const one0 = await step("1 ingress at 0 ms", () => run("compressed", 0, 1));
  const one20 = await step("1 ingress at 20 ms", () => run("compressed", 20, 1));
  const many0 = await step(`${COUNT} ingresses at 0 ms`, () => run("compressed", 0, COUNT));
  const many20 = await step(`${COUNT} ingresses at 20 ms`, () => run("compressed", 20, COUNT));
  const many20at64 = await step(`${COUNT} ingresses at 20 ms, --parallel 64`, () =>
    run("compressed", 20, COUNT, 64),
  );
  const real = await step(`${COUNT} ingresses at a real cluster's timing`, () => run("realistic", 0, COUNT));
  const lowerBound = chain * 20;
  const served = (m: Measure) => (m.servedMs < 0 ? "not within 10 min" : `${m.servedMs} ms`);
  const row = (label: string, m: Measure, n: number) =>
    `| ${label} | ${m.ms} ms | ${served(m)} | ${(m.kubeRequests / n).toFixed(1)} | ${(m.tailscaleRequests / n).toFixed(1)} | ${m.conflicts} | ${m.update.ms} ms | ${m.update.fewestServing} of 2 |`;
  console.log(`## ${COUNT} HA ingresses on one ProxyGroup, created in parallel through the engine path\n`);
  console.log(
    `Parallelism: the engine's default, 4 × ${os.availableParallelism()} CPUs = ${DEFAULT_PARALLEL}, unless a row says otherwise.` +
      " Each `up` includes its preview, as `pulumi up` does. The ProxyGroup (2 replicas) is deployed first; the clock" +
      ' starts with the `up` that creates the ingresses. "Served": every replica advertises every Tailscale Service' +
      " and holds its certificate. The update turns `httpRedirect` on for every ingress, in place.\n",
  );
  console.log(
    "| run | wall of the up | every service served | kube requests per ingress | Tailscale API requests per ingress | 409 retries | in-place update of every ingress | fewest replicas serving a service during it |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  console.log(row("1 ingress, 0 ms", one0, 1));
  console.log(row("1 ingress, 20 ms", one20, 1));
  console.log(row(`${COUNT} ingresses, 0 ms`, many0, COUNT));
  console.log(row(`${COUNT} ingresses, 20 ms, --parallel ${DEFAULT_PARALLEL} (default)`, many20, COUNT));
  console.log(row(`${COUNT} ingresses, 20 ms, --parallel 64`, many20at64, COUNT));
  console.log(row(`${COUNT} ingresses, 0 ms, a real cluster's timing`, real, COUNT));
  console.log(
    "\nAll rows but the last run the simulator on the suite's compressed clock, so the wall time shows request latency" +
      " and parallelism; the last runs it at a real cluster's timing (kubelet sync of mounted config every 60-90 s," +
      " real Pod start, login and issuance), which is what a user waits for." +
      `\n\nLongest chain of dependent requests of one ingress (measured): ${chain} → lower bound ${lowerBound} ms at 20 ms per request.` +
      `\n${COUNT} ingresses at 20 ms: ${many20.ms} ms = ${(many20.ms / lowerBound).toFixed(1)} × the lower bound at --parallel ${DEFAULT_PARALLEL},` +
      ` ${many20at64.ms} ms = ${(many20at64.ms / lowerBound).toFixed(1)} × at --parallel 64;` +
      ` one ingress alone: ${one20.ms} ms = ${(one20.ms / lowerBound).toFixed(1)} ×.` +
      ` Both include running the program (language host, ts-node) and the engine; ${COUNT} ingresses cost` +
      ` ${((many20.ms - one20.ms) / lowerBound).toFixed(1)} lower bounds more than one.`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
