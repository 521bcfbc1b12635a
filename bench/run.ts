/**
 * `npm run bench`: the cost of each lifecycle step of examples/database and examples/quickstart through
 * the engine path: Kubernetes requests (reads, writes, watches) and Tailscale API requests as the local
 * servers count them (the product's own identity only, not the cluster simulator's), the TLS connections
 * they came on, our objects in the cluster, whether a Pod was recreated, wall time with 0 ms and with
 * 20 ms injected per request, and the provider host's peak RSS. Prints Markdown tables, and at the end
 * the goals table (bench/goals.ts) decided on this run's figures, the other scripts' included.
 *
 * `npm run bench -- --faults <rate>[:seed]`: the same with seeded faults on both APIs
 * (tests/support/world.ts); a step that still fails is run once more and counted as one step. The
 * options are passed on to bench/ha.ts, which runs next; then bench/devices.ts (hostname checks on a large
 * tailnet), bench/soak.ts (50 resources under faults, 20 seeds) and bench/fuzz.ts (check and diff).
 *
 * Everything printed is also written to bench/RESULTS.md, headed by the machine, the Node version and
 * the engine's default parallelism, so that file is always one run's output and never edited by hand.
 * A run with --faults prints only: its timings are not comparable. `--small` runs every script with small
 * counts (a few minutes), to check the bench end to end; it prints only too.
 *
 * Not a test: nothing here asserts a time.
 */

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StepResult } from "../tests/support/engine";
import { programStack } from "../tests/support/examples";
import { faultsFromArgv, type LocalWorld, startLocalWorld } from "../tests/support/world";
import { standaloneServiceChain } from "./chain";
import { goalsTable, type Measured, mergeMeasured, type StepMeasure, takeMeasured } from "./goals";

const FAULTS = faultsFromArgv(process.argv);
/** `--small`: every script with small counts, to check the bench end to end; prints only, as --faults does. */
const SMALL = process.argv.includes("--small");
const RESULTS = path.join(__dirname, "RESULTS.md");

/** What this run printed, in order: RESULTS.md is exactly this, under its header. */
const printed: string[] = [];
function print(text: string): void {
  console.log(text);
  printed.push(text);
}

/** What the scripts measured for the goals (bench/goals.ts), merged. */
const measured: Measured = {};

/** Runs another bench script, printing its output and keeping it for RESULTS.md, and taking its measurements. */
function runScript(script: string, args: string[]): void {
  const child = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, script), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.stdout) {
    const { text, measured: part } = takeMeasured(child.stdout);
    // A blank line first: a script's first table must not follow the previous script's last sentence,
    // or Markdown reads that sentence as the table's header.
    print(`\n${text.trim()}`);
    mergeMeasured(measured, part);
  }
  if (child.status !== 0) {
    console.error(`bench/${script} failed (exit ${child.status ?? child.signal}); RESULTS.md not written`);
    process.exit(child.status ?? 1);
  }
}

/** The commit measured, `+changes` when the working tree differs from it. */
function commit(): string {
  const rev = spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).stdout?.trim();
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], {
    encoding: "utf8",
  }).stdout?.trim();
  return rev ? `${rev}${dirty ? "+changes" : ""}` : "an unknown commit";
}

/** Load averages when the run started: other work on the machine slows every figure. */
const LOAD_AT_START = os.loadavg();

/** The machine and runtime the figures were taken on. */
function header(): string {
  const cpus = os.cpus();
  const parallel = 4 * os.availableParallelism();
  return [
    "# Benchmark results",
    "",
    `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}; not edited by hand.`,
    "",
    `- Machine: ${os.availableParallelism()} CPUs (${cpus[0]?.model.trim() ?? "unknown model"}), ${Math.round(os.totalmem() / 2 ** 30)} GB memory, ${os.platform()} ${os.release()}.`,
    `- Node ${process.version}, pulumi-tailnet at ${commit()}.`,
    `- Load average (1 min) at the start and the end of the run: ${LOAD_AT_START[0]?.toFixed(1)} and ${os.loadavg()[0]?.toFixed(1)} (other work on the machine slows every timing).`,
    `- Engine parallelism: the default, 4 × ${os.availableParallelism()} CPUs = ${parallel} (pulumi/pulumi@a88168d8 pkg/cmd/pulumi/operations/up.go:69-90), unless a row says otherwise.`,
    "- Every step goes through the engine path: the program in Pulumi's language runtime, the provider in Pulumi's dynamic-provider host, against the local Kubernetes API, Tailscale API and cluster simulator at a real cluster's timing (tests/support/cluster-sim/sim.ts KubeletTiming).",
    "",
  ].join("\n");
}

interface Row {
  /** The step as bench/goals.ts names it. */
  step: string;
  label: string;
  kubeReads: number;
  kubeWrites: number;
  kubeWatches: number;
  tailscale: number;
  connections: number;
  hosts: number;
  objectsBefore: number;
  podsRecreated: boolean;
  ms: number;
  rssMb: number;
}

/** One example program and the config change that makes its in-place update. */
interface Scenario {
  title: string;
  /** Its name in the goals table. */
  name: string;
  example: string;
  project: string;
  update: { step: string; label: string; config: Record<string, string> };
}

const SCENARIOS: Scenario[] = [
  {
    title: "TailnetService (standalone, layer 3): examples/database",
    name: "TailnetService",
    example: "database",
    project: "tailnet-database",
    update: {
      step: "update",
      label: "ProxyClass change (up)",
      config: { proxyClass: JSON.stringify({ resources: { requests: { memory: "64Mi" } } }) },
    },
  },
  {
    title: "TailnetIngress (standalone, layer 7): examples/quickstart",
    name: "TailnetIngress",
    example: "quickstart",
    project: "tailnet-quickstart",
    update: { step: "path change", label: "path /api added (up)", config: { withApi: "true" } },
  },
];

/** Our objects in the cluster (labelled as ours, Pods apart: the StatefulSet controller makes those), and our Pods' uids by name. */
function ourObjects(world: LocalWorld): { objects: number; pods: Map<string, string> } {
  const names = world.leftovers().kubernetesObjects;
  const pods = new Map<string, string>();
  for (const n of names.filter((x) => x.startsWith("Pod/"))) {
    const [, ns, name] = n.split("/");
    pods.set(n, String(world.kube.getObject("v1", "Pod", ns, name)?.metadata?.uid));
  }
  return { objects: names.length - pods.size, pods };
}

async function lifecycle(scenario: Scenario, latencyMs: number): Promise<Row[]> {
  // Real kubelet, start, login and issuance times (tests/support/cluster-sim/sim.ts KubeletTiming).
  const world = await startLocalWorld({ faults: FAULTS, sim: { timeScale: 1 } });
  world.kube.setLatency(latencyMs);
  world.tailscale.setLatency(latencyMs);
  const stack = programStack(world, {
    program: `examples/${scenario.example}`,
    project: scenario.project,
    stack: "bench",
  });
  const rows: Row[] = [];
  const measure = async (step: string, label: string, run: () => Promise<StepResult>) => {
    world.kube.resetCounts();
    world.tailscale.resetCounts();
    const before = ourObjects(world);
    const start = process.hrtime.bigint();
    let result = await run();
    // Under --faults a user would run a failed command once more.
    if (FAULTS && result.failed) result = await run();
    const ms = Number((process.hrtime.bigint() - start) / 1_000_000n);
    if (result.failed) throw new Error(`${step} failed: ${result.error}`);
    // The provider's requests only: not the simulator's, not the stand-in kubernetes provider's.
    const own = world.kube.requests.filter((r) => r.user === world.deployer.user);
    const after = ourObjects(world).pods;
    rows.push({
      step,
      label,
      kubeReads: own.filter((r) => r.class === "read").length,
      kubeWrites: own.filter((r) => r.class === "write").length,
      kubeWatches: own.filter((r) => r.class === "watch").length,
      tailscale: world.tailscale.counts().total,
      connections: new Set(own.map((r) => r.connection)).size,
      hosts: stack.providerHostCount,
      objectsBefore: before.objects,
      // Recreated: the same Pod name with another uid (a deleted Pod is not recreated).
      podsRecreated: [...before.pods].some(([name, uid]) => after.has(name) && after.get(name) !== uid),
      ms,
      rssMb: Math.round(stack.peakRssKb() / 1024),
    });
  };
  try {
    await measure("preview", "preview", () => stack.preview());
    await measure("create", "create (up)", () => stack.up());
    await measure("no-op up", "no-op up", () => stack.up());
    for (const [key, value] of Object.entries(scenario.update.config)) stack.setConfig(key, value);
    await measure(scenario.update.step, scenario.update.label, () => stack.up());
    await measure("refresh", "refresh", () => stack.refresh());
    await measure("destroy", "destroy", () => stack.destroy());
  } finally {
    await stack.close();
    await world.stop();
  }
  return rows;
}

function table(rows0: Row[], rows20: Row[]): string {
  const lines = [
    "| step | kube reads | kube writes | kube watches | Tailscale API | TLS connections | our objects before | Pod recreated | wall 0 ms | wall 20 ms | host peak RSS |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
  ];
  rows0.forEach((r, i) => {
    lines.push(
      `| ${r.label} | ${r.kubeReads} | ${r.kubeWrites} | ${r.kubeWatches} | ${r.tailscale} | ${r.connections} | ${r.objectsBefore} | ${r.podsRecreated ? "yes" : "no"} | ${r.ms} ms | ${rows20[i]?.ms ?? "?"} ms | ${Math.max(r.rssMb, rows20[i]?.rssMb ?? 0)} MB |`,
    );
  });
  return lines.join("\n");
}

/**
 * The steps as the goals take them: the 0 ms run's counts (the 20 ms run makes the same requests), the most
 * connections and hosts of either run, and whether either recreated a Pod.
 */
function stepMeasures(scenario: Scenario, rows0: Row[], rows20: Row[]): StepMeasure[] {
  return rows0.map((r, i) => {
    const other = rows20[i] ?? r;
    return {
      scenario: scenario.name,
      step: r.step,
      kube: r.kubeReads + r.kubeWrites + r.kubeWatches,
      tailscale: r.tailscale,
      connections: Math.max(r.connections, other.connections),
      hosts: Math.max(r.hosts, other.hosts),
      objectsBefore: r.objectsBefore,
      podsRecreated: r.podsRecreated || other.podsRecreated,
    };
  });
}

async function main(): Promise<void> {
  for (const scenario of SCENARIOS) {
    const rows0 = await lifecycle(scenario, 0);
    const rows20 = await lifecycle(scenario, 20);
    print(`\n## ${scenario.title}, through the engine path\n`);
    print(table(rows0, rows20));
    mergeMeasured(measured, { steps: stepMeasures(scenario, rows0, rows20) });
  }
  const chain = await standaloneServiceChain();
  mergeMeasured(measured, { standaloneChain: chain });
  print(
    "\nRequests are the provider's own (its kubeconfig identity), counted by the local servers; wall time includes" +
      " running the Pulumi program (language host, tsx) and, for create, waiting for the simulated proxy to log in." +
      ' TLS connections: distinct connections of those requests to the Kubernetes API. "Our objects": labelled as' +
      " pulumi-tailnet's in the cluster before the step, Pods apart. Longest chain of dependent requests of one" +
      ` TailnetService create (provider level, bench/chain.ts; the simulated proxy's own steps included): ${chain}.`,
  );
  if (FAULTS)
    print(`\nWith --faults: ${FAULTS.rate * 100}% of requests to each API faulted, seed ${FAULTS.seed}.`);
  const args = process.argv.slice(2).filter((a) => a !== "--small");
  // bench/ha.ts next, with the same options (npm passes them to the last command only).
  runScript("ha.ts", [...(SMALL ? ["5", "--scale", "20"] : ["100"]), ...args]);
  // bench/devices.ts: hostname checks on a 5,000-device tailnet.
  runScript("devices.ts", SMALL ? ["200", "3"] : ["5000", "10"]);
  // bench/soak.ts: 50 resources under 10% faults, 20 seeds (its own faults, whatever --faults says).
  runScript("soak.ts", SMALL ? ["10", "1"] : ["50", "20"]);
  // bench/fuzz.ts: check and diff over 100,000 seeded inputs per kind.
  runScript("fuzz.ts", SMALL ? ["1000"] : ["100000"]);
  print("\n## Goals\n");
  print(
    "Each goal decided on this run's own figures (bench/goals.ts holds the thresholds and the verdicts).\n",
  );
  print(goalsTable(measured));
  if (FAULTS || SMALL) {
    console.log(
      `\nWith ${FAULTS ? "--faults" : "--small"} the figures are not comparable: bench/RESULTS.md is left as it was.`,
    );
    return;
  }
  fs.writeFileSync(RESULTS, `${header()}\n${printed.join("\n")}\n`);
  console.log(`\nWritten to ${path.relative(process.cwd(), RESULTS)}.`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
