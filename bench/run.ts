/**
 * `npm run bench`: the cost of each lifecycle step of examples/database through the engine path:
 * Kubernetes requests (reads, writes, watches) and Tailscale API requests as the local servers count
 * them (the product's own identity only, not the cluster simulator's), wall time with 0 ms and with
 * 20 ms injected per request, and the provider host's peak RSS. Prints Markdown tables.
 *
 * `npm run bench -- --faults <rate>[:seed]`: the same with seeded faults on both APIs
 * (tests/support/world.ts); a step that still fails is run once more and counted as one step. The
 * options are passed on to bench/ha.ts, which runs next; bench/devices.ts runs last.
 *
 * Not a test: nothing here asserts a time.
 */

import { spawnSync } from "node:child_process";
import * as path from "node:path";
import type { StepResult } from "../tests/support/engine";
import { programStack } from "../tests/support/examples";
import { faultsFromArgv, startLocalWorld } from "../tests/support/world";

const FAULTS = faultsFromArgv(process.argv);

interface Row {
  step: string;
  kubeReads: number;
  kubeWrites: number;
  kubeWatches: number;
  tailscale: number;
  ms: number;
  rssMb: number;
}

/** One example program and the config change that makes its in-place update. */
interface Scenario {
  title: string;
  example: string;
  project: string;
  update: Record<string, string>;
}

const SCENARIOS: Scenario[] = [
  {
    title: "TailnetService (standalone, layer 3): examples/database",
    example: "database",
    project: "tailnet-database",
    update: { proxyClass: JSON.stringify({ resources: { requests: { memory: "64Mi" } } }) },
  },
  {
    title: "TailnetIngress (standalone, layer 7): examples/quickstart",
    example: "quickstart",
    project: "tailnet-quickstart",
    update: { withApi: "true" },
  },
];

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
  const measure = async (step: string, run: () => Promise<StepResult>) => {
    world.kube.resetCounts();
    world.tailscale.resetCounts();
    const start = process.hrtime.bigint();
    let result = await run();
    // Under --faults a user would run a failed command once more.
    if (FAULTS && result.failed) result = await run();
    const ms = Number((process.hrtime.bigint() - start) / 1_000_000n);
    if (result.failed) throw new Error(`${step} failed: ${result.error}`);
    // The provider's requests only: not the simulator's, not the stand-in kubernetes provider's.
    const own = world.kube.requests.filter((r) => r.user === world.deployer.user);
    rows.push({
      step,
      kubeReads: own.filter((r) => r.class === "read").length,
      kubeWrites: own.filter((r) => r.class === "write").length,
      kubeWatches: own.filter((r) => r.class === "watch").length,
      tailscale: world.tailscale.counts().total,
      ms,
      rssMb: Math.round(stack.peakRssKb() / 1024),
    });
  };
  try {
    await measure("preview", () => stack.preview());
    await measure("create (up)", () => stack.up());
    await measure("no-op up", () => stack.up());
    for (const [key, value] of Object.entries(scenario.update)) stack.setConfig(key, value);
    await measure("update (up)", () => stack.up());
    await measure("refresh", () => stack.refresh());
    await measure("destroy", () => stack.destroy());
  } finally {
    await stack.close();
    await world.stop();
  }
  return rows;
}

function table(rows0: Row[], rows20: Row[]): string {
  const lines = [
    "| step | kube reads | kube writes | kube watches | Tailscale API | wall 0 ms | wall 20 ms | host peak RSS |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  rows0.forEach((r, i) => {
    lines.push(
      `| ${r.step} | ${r.kubeReads} | ${r.kubeWrites} | ${r.kubeWatches} | ${r.tailscale} | ${r.ms} ms | ${rows20[i]?.ms ?? "?"} ms | ${Math.max(r.rssMb, rows20[i]?.rssMb ?? 0)} MB |`,
    );
  });
  return lines.join("\n");
}

async function main(): Promise<void> {
  for (const scenario of SCENARIOS) {
    const rows0 = await lifecycle(scenario, 0);
    const rows20 = await lifecycle(scenario, 20);
    console.log(`\n## ${scenario.title}, through the engine path\n`);
    console.log(table(rows0, rows20));
  }
  console.log(
    "\nRequests are the provider's own (its kubeconfig identity), counted by the local servers; wall time includes" +
      " running the Pulumi program (language host, tsx) and, for create, waiting for the simulated proxy to log in.",
  );
  if (FAULTS)
    console.log(
      `\nWith --faults: ${FAULTS.rate * 100}% of requests to each API faulted, seed ${FAULTS.seed}.`,
    );
  // bench/ha.ts next, with the same options (npm passes them to the last command only).
  const ha = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(__dirname, "ha.ts"), "100", ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  if (ha.status !== 0) process.exit(ha.status ?? 1);
  // bench/devices.ts last: hostname checks on a 5,000-device tailnet.
  const devices = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(__dirname, "devices.ts"), "5000", "10"],
    { stdio: "inherit" },
  );
  if (devices.status !== 0) process.exit(devices.status ?? 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
