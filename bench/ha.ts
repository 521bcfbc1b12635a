/**
 * HA bench, through the engine path (the real language runtime and dynamic-provider host), against the local world:
 *
 * - Scale: one program with a ProxyGroup and 500 HA TailnetIngress (`--scale <n>`): a preview with the ProxyGroup
 *   alone (the fixed part), the first preview with the ingresses and, after the `up` that creates them, its preview again (Check, then Check and Diff of every resource): the provider's requests,
 *   wall time and the CPU of the program and provider host processes; and the provider host's peak RSS in the `up`.
 * - 100 HA ingresses (`[count]`) created in parallel at 20 ms per request (Kubernetes API and Tailscale API, the
 *   simulator's requests included), at the engine's default parallelism and at 64: wall time, the provider's requests
 *   per ingress (its own kubeconfig identity only), 409 Conflict answers (each one a read-modify-write retry), its TLS
 *   connections to the Kubernetes API, and the ratio to a bound: a no-op `up` of the same stack (the program and the
 *   engine's own per-resource work, Check and Diff, no provider request) plus the chain of dependent requests of one
 *   ingress (bench/chain.ts) × 20 ms. The default-parallelism run then changes a path of 1 ingress and of 10 more and
 *   weighs the traffic to the shared ConfigMap.
 * - The same 100 at a real cluster's timing (the simulator's timeScale 1): when every Tailscale Service was served
 *   (advertised by every replica, each holding its certificate), counted from the start of the `up`, and an in-place
 *   update of every ingress (`httpRedirect` on), with the fewest replicas that advertised any one service at any
 *   moment of it (sampled every 50 ms).
 *
 * The figures the goals are decided on go back to bench/run.ts as one line (bench/goals.ts measuredLine).
 *
 * Run: `npm run build && node --import tsx bench/ha.ts [count] [--scale <n>]` (default 100 and 500). Not a test:
 * nothing here asserts a time.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TEST_TIME_SCALE } from "../tests/support/cluster-sim";
import { kubernetesBuiltins, StackHarness, type StepResult, USER_HZ } from "../tests/support/engine";
import type { KubeRequestRecord } from "../tests/support/kube-api";
import { faultsFromArgv, type LocalWorld, startLocalWorld } from "../tests/support/world";
import { haIngressChain } from "./chain";
import { type HaMeasure, type Measured, measuredLine, type PreviewMeasure } from "./goals";

const ROOT = path.resolve(__dirname, "..");
const ARGS = process.argv.slice(2);
const SCALE_AT = ARGS.indexOf("--scale");
const SCALE = SCALE_AT >= 0 ? Number(ARGS[SCALE_AT + 1]) : 500;
const COUNT = Number(ARGS.find((a, i) => /^\d+$/.test(a) && i !== SCALE_AT + 1) ?? 100);
/** `--faults <rate>[:seed]`: seeded faults on both APIs (tests/support/world.ts); a failed up runs once more. */
const FAULTS = faultsFromArgv(process.argv);
/** The latency of the parallelism runs, per request. */
const LATENCY_MS = 20;

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
// Ingresses below this index also route /api: a path change of the ones it adds.
const pathsBelow = config.getNumber("pathsBelow") ?? 0;
for (let i = 0; i < count; i++) {
  new TailnetIngress(\`app-\${i}\`, {
    proxyGroup: group,
    defaultBackend: { service: web, port: "http" },
    rules: i < pathsBelow ? [{ paths: [{ path: "/api", backend: { service: web, port: "http" } }] }] : undefined,
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
 * User plus system CPU, in ms, of this process's children that have ended and been waited for (cutime + cstime of
 * /proc/self/stat): the program and the provider hosts the harness spawned, once a deployment has stopped them. The
 * engine's own work, in this process, is not included.
 */
function endedChildrenCpuMs(): number {
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / USER_HZ;
}

/** Milliseconds since `start` (process.hrtime.bigint()). */
function since(start: bigint): number {
  return Number((process.hrtime.bigint() - start) / 1_000_000n);
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

/** A stack of {@link PROGRAM} against `world`, its ProxyGroup deployed (without latency: the bench is about the ingresses). */
async function deployedStack(world: LocalWorld, dir: string, parallel: Parallel): Promise<StackHarness> {
  const stack = new StackHarness({
    stack: "bench",
    projectDir: dir,
    env: world.env,
    config: { count: "0" },
    parallel,
    builtins: kubernetesBuiltins(world.kube.kubeconfig({ user: "pulumi-kubernetes" })),
  });
  ok(await twice(() => stack.up()), "ProxyGroup up");
  return stack;
}

function ok(r: StepResult, what: string): void {
  if (r.failed) throw new Error(`${what} failed: ${r.error}`);
}

/** Under --faults a user would run a failed up or destroy once more. */
async function twice(cmd: () => Promise<StepResult>): Promise<StepResult> {
  const r = await cmd();
  return FAULTS && r.failed ? cmd() : r;
}

/** The provider's own Kubernetes requests (its kubeconfig identity), since the counts were last reset. */
function ownRequests(world: LocalWorld): KubeRequestRecord[] {
  return world.kube.requests.filter((r) => r.user === world.deployer.user);
}

function resetCounts(world: LocalWorld): void {
  world.kube.resetCounts();
  world.tailscale.resetCounts();
}

/** Distinct TLS connections of `requests`. */
function connections(requests: KubeRequestRecord[]): number {
  return new Set(requests.map((r) => r.connection)).size;
}

/** A preview of the stack as it is configured: requests, wall time, CPU of the program and provider host. */
async function measuredPreview(
  world: LocalWorld,
  stack: StackHarness,
  what: string,
  resources: number,
): Promise<PreviewMeasure> {
  resetCounts(world);
  const cpu = endedChildrenCpuMs();
  const start = process.hrtime.bigint();
  ok(await stack.preview(), what);
  const wallMs = since(start);
  return {
    what,
    resources,
    requests: ownRequests(world).length + world.tailscale.counts().total,
    cpuMs: Math.round(endedChildrenCpuMs() - cpu),
    hostCpuMs: Math.round(stack.providerHostCpuMs()),
    wallMs,
  };
}

/**
 * `count` HA ingresses at 0 ms on the compressed clock: the preview before they exist, the up that creates them (its
 * provider host's peak RSS), and the preview after. The world is dropped after, not destroyed: a destroy of `count`
 * resources would measure nothing a goal needs.
 */
async function scale(count: number): Promise<Pick<Measured, "previews" | "hostPeakRss">> {
  const world = await startLocalWorld({ faults: FAULTS, sim: { timeScale: TIME_SCALE.compressed } });
  const dir = projectDir();
  const stack = await deployedStack(world, dir, undefined);
  try {
    // The fixed part: the program and the host with the ProxyGroup only.
    const none = await measuredPreview(world, stack, "preview of the ProxyGroup alone", 0);
    stack.setConfig("count", String(count));
    const first = await measuredPreview(world, stack, `preview of ${count} new ingresses`, count);
    const start = process.hrtime.bigint();
    ok(await twice(() => stack.up()), `up of ${count} ingresses`);
    const upMs = since(start);
    const rssMb = Math.round(stack.peakRssKb() / 1024);
    const again = await measuredPreview(world, stack, `preview of the ${count} deployed`, count);
    return {
      previews: [none, first, again],
      hostPeakRss: {
        resources: count,
        what: `up of ${count} HA ingresses on one ProxyGroup, ${upMs} ms`,
        mb: rssMb,
      },
    };
  } finally {
    await stack.close();
    await world.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Options of one {@link run}. */
interface RunOptions {
  clock: Clock;
  latencyMs: number;
  count: number;
  parallel?: Parallel;
  /** Measure a no-op up of the created stack (the bound's engine part). */
  noop?: boolean;
  /** Change a path of 1 ingress, then of 10 more, weighing the shared ConfigMap's traffic. */
  configMap?: boolean;
  /** Turn `httpRedirect` on for every ingress, sampling the replicas serving meanwhile. */
  update?: boolean;
}

/** What one {@link run} measured. */
interface RunMeasure {
  ms: number;
  kubeRequests: number;
  conflicts: number;
  tailscaleRequests: number;
  connections: number;
  hosts: number;
  /** From the start of the up until every service was served by every replica; -1: not within 10 minutes. */
  servedMs: number;
  noopMs?: number;
  configMap?: Measured["configMap"];
  /** The in-place update of every ingress: its wall time, and the fewest replicas serving a service during it. */
  update?: { ms: number; fewestServing: number };
}

/** Path of the shared ConfigMap of the ProxyGroup `edge` (provider/plan/ha/proxygroup.ts proxyGroupNames). */
const CONFIG_MAP_PATH = "/api/v1/namespaces/tailscale/configmaps/edge-ingress-config";

/** Bytes the provider read and wrote of the shared ConfigMap (request and response bodies), since the last reset. */
function configMapBytes(world: LocalWorld): number {
  const name = CONFIG_MAP_PATH.split("/").pop();
  return ownRequests(world)
    .filter(
      (r) =>
        r.path === CONFIG_MAP_PATH ||
        (r.path === path.posix.dirname(CONFIG_MAP_PATH) &&
          (r.query.fieldSelector ?? "").includes(`=${name}`)),
    )
    .reduce((sum, r) => sum + (r.requestBytes ?? 0) + (r.responseBytes ?? 0), 0);
}

/** An up that changes `pathsBelow` to `below`, and the shared ConfigMap bytes it moved. */
async function pathChange(world: LocalWorld, stack: StackHarness, below: number): Promise<number> {
  stack.setConfig("pathsBelow", String(below));
  resetCounts(world);
  ok(await twice(() => stack.up()), `path change below ${below}`);
  return configMapBytes(world);
}

async function run(o: RunOptions): Promise<RunMeasure> {
  const world = await startLocalWorld({ faults: FAULTS, sim: { timeScale: TIME_SCALE[o.clock] } });
  const dir = projectDir();
  const stack = await deployedStack(world, dir, o.parallel);
  try {
    stack.setConfig("count", String(o.count));
    // The host restarts for the config change; start it before the clock does.
    ok(await stack.preview(), "preview");
    resetCounts(world);
    world.kube.setLatency(o.latencyMs);
    world.tailscale.setLatency(o.latencyMs);
    const start = process.hrtime.bigint();
    const created = await sampleServing(world, o.count, 2, () => twice(() => stack.up()));
    ok(created.result, `up of ${o.count} ingresses`);
    const own = ownRequests(world);
    const m: RunMeasure = {
      ms: since(start),
      kubeRequests: own.length,
      conflicts: own.filter((r) => r.status === 409).length,
      tailscaleRequests: world.tailscale.counts().total,
      connections: connections(own),
      hosts: stack.providerHostCount,
      servedMs: created.servedMs,
    };
    if (o.noop) {
      const noopStart = process.hrtime.bigint();
      ok(await stack.up(), "no-op up");
      m.noopMs = since(noopStart);
    }
    if (o.configMap) {
      const k2 = Math.min(10, o.count - 1);
      const bytes1 = await pathChange(world, stack, 1);
      const bytes2 = await pathChange(world, stack, 1 + k2);
      const cm = world.kube.getObject("v1", "ConfigMap", "tailscale", CONFIG_MAP_PATH.split("/").pop() ?? "");
      m.configMap = {
        ingresses: o.count,
        sizeBytes: Buffer.byteLength(JSON.stringify(cm)),
        k1: 1,
        bytes1,
        k2,
        bytes2,
      };
    }
    if (o.update) {
      // An in-place update of every ingress; the program starts before the clock, as above.
      stack.setConfig("httpRedirect", "true");
      ok(await stack.preview(), "preview of the update");
      const updateStart = process.hrtime.bigint();
      const updated = await sampleServing(world, o.count, 2, () => twice(() => stack.up()));
      ok(updated.result, `update of ${o.count} ingresses`);
      m.update = { ms: since(updateStart), fewestServing: updated.fewest };
    }
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

/** Progress on stderr, so it stays out of bench/RESULTS.md. */
async function step<T>(what: string, f: () => Promise<T>): Promise<T> {
  const start = Date.now();
  console.error(`bench/ha.ts: ${what}…`);
  const r = await f();
  console.error(`bench/ha.ts: ${what}: ${Math.round((Date.now() - start) / 1000)} s`);
  return r;
}

async function main(): Promise<void> {
  const chain = await step("chain of one ingress", haIngressChain);
  const scaled = await step(`preview and up of ${SCALE} ingresses`, () => scale(SCALE));
  const atDefault = await step(`${COUNT} ingresses at ${LATENCY_MS} ms`, () =>
    run({ clock: "compressed", latencyMs: LATENCY_MS, count: COUNT, noop: true, configMap: true }),
  );
  const at64 = await step(`${COUNT} ingresses at ${LATENCY_MS} ms, --parallel 64`, () =>
    run({ clock: "compressed", latencyMs: LATENCY_MS, count: COUNT, parallel: 64, noop: true }),
  );
  const real = await step(`${COUNT} ingresses at a real cluster's timing`, () =>
    run({ clock: "realistic", latencyMs: 0, count: COUNT, update: true }),
  );
  const haMeasure = (m: RunMeasure, parallel: number): HaMeasure => ({
    count: COUNT,
    parallel,
    wallMs: m.ms,
    noopMs: m.noopMs ?? 0,
    latencyMs: LATENCY_MS,
    kube: m.kubeRequests,
    connections: m.connections,
    hosts: m.hosts,
  });
  const ha = [haMeasure(atDefault, DEFAULT_PARALLEL), haMeasure(at64, 64)];

  const served = (m: RunMeasure) => (m.servedMs < 0 ? "not within 10 min" : `${m.servedMs} ms`);
  const ms = (n: number | undefined) => (n === undefined ? "—" : `${n} ms`);
  const row = (label: string, m: RunMeasure) =>
    `| ${label} | ${m.ms} ms | ${served(m)} | ${(m.kubeRequests / COUNT).toFixed(1)} | ${(m.tailscaleRequests / COUNT).toFixed(1)} | ${m.conflicts} | ${m.connections} in ${m.hosts} | ${ms(m.noopMs)} | ${ms(m.update?.ms)} | ${m.update ? `${m.update.fewestServing} of 2` : "—"} |`;
  console.log(`## HA TailnetIngress on one ProxyGroup, through the engine path\n`);
  console.log(
    `### ${SCALE} ingresses in one program\n\nThe simulator on the suite's compressed clock, no latency. CPU: user plus` +
      " system time of the program and the provider host processes (cutime + cstime of the bench process once the" +
      " deployment has ended them); the engine's own work is not in it.\n",
  );
  console.log(
    "| step | requests | CPU of program and provider host | of which the host's | per ingress | wall |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const p of scaled.previews ?? [])
    console.log(
      `| ${p.what} | ${p.requests} | ${p.cpuMs} ms | ${p.hostCpuMs} ms | ${p.resources ? `${(p.cpuMs / p.resources).toFixed(1)} ms` : "—"} | ${p.wallMs} ms |`,
    );
  console.log(`\nProvider host peak RSS in the ${scaled.hostPeakRss?.what}: ${scaled.hostPeakRss?.mb} MB.\n`);
  console.log(`### ${COUNT} ingresses created in parallel\n`);
  console.log(
    `Parallelism: the engine's default, 4 × ${os.availableParallelism()} CPUs = ${DEFAULT_PARALLEL}, unless a row says otherwise.` +
      " Each `up` includes its preview, as `pulumi up` does. The ProxyGroup (2 replicas) is deployed first; the clock" +
      ' starts with the `up` that creates the ingresses. "Served": every replica advertises every Tailscale Service' +
      " and holds its certificate. The no-op up runs after the create; the update turns `httpRedirect` on for every" +
      " ingress, in place.\n",
  );
  console.log(
    "| run | wall of the up | every service served | kube requests per ingress | Tailscale API requests per ingress | 409 retries | TLS connections in provider hosts | no-op up | in-place update of every ingress | fewest replicas serving a service during it |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  console.log(row(`${LATENCY_MS} ms, --parallel ${DEFAULT_PARALLEL} (default)`, atDefault));
  console.log(row(`${LATENCY_MS} ms, --parallel 64`, at64));
  console.log(row("0 ms, a real cluster's timing", real));
  console.log(
    "\nThe first two rows run the simulator on the suite's compressed clock, so the wall time shows request latency" +
      " and parallelism; the last runs it at a real cluster's timing (kubelet sync of mounted config every 60-90 s," +
      " real Pod start, login and issuance), which is what a user waits for." +
      `\n\nLongest chain of dependent requests of one ingress (measured, bench/chain.ts): ${chain}.`,
  );
  const cm = atDefault.configMap;
  if (cm)
    console.log(
      `\nShared ConfigMap (${cm.sizeBytes} bytes with ${cm.ingresses} ingresses), bytes the provider read and wrote:` +
        ` ${cm.bytes1} for a path change of ${cm.k1} ingress, ${cm.bytes2} for one of ${cm.k2} ingresses.`,
    );
  console.log(
    measuredLine({
      ...scaled,
      ha,
      haChain: chain,
      served: { count: COUNT, what: `${COUNT} HA ingresses, a real cluster's timing`, ms: real.servedMs },
      configMap: cm,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
