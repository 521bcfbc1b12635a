/**
 * `npm run demo`: the examples' Pulumi programs previewed, deployed, previewed again, and destroyed,
 * offline: against a local Kubernetes API server, a local Tailscale API, and a cluster simulator
 * playing kubelet and tailscaled. The programs and the provider are the real ones; only the servers
 * are local. A preview is shown as planned; an `up` or `destroy` as it went, from its steps and the
 * engine's log: what was created, updated, replaced or deleted, the tailnet devices each resource has
 * (one per ProxyGroup replica), and the waits the provider reported. The last line proves that
 * nothing was left behind.
 *
 * `npm run demo -- --keep`: the last example is not destroyed and the world keeps running until Ctrl-C,
 * with the two lines to inspect it with kubectl (the cluster admin's kubeconfig of the local world).
 *
 * `npm run demo -- --faults <rate>[:seed]` (e.g. `0.1:7`): both APIs fail that share of the product's
 * requests, seeded (tests/support/world.ts). An `up` or `destroy` that still fails is run once more,
 * as a user would, and the faults injected are printed per command.
 */
import type { PropertyMap, StackHarness, Step, StepResult } from "../tests/support/engine";
import { isSecret, SIG_KEY, UNKNOWN } from "../tests/support/engine/marshal";
import { programStack } from "../tests/support/examples";
import { faultsFromArgv, type LocalWorld, startLocalWorld } from "../tests/support/world";

const SYMBOL: Record<string, string> = {
  create: "+",
  update: "~",
  replace: "+-",
  delete: "-",
  same: " ",
  read: ">",
  refresh: "~",
};

function show(value: unknown): string {
  if (value === UNKNOWN) return "(known after up)";
  if (isSecret(value)) return "[secret]";
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  if (value && typeof value === "object") {
    return `{ ${Object.entries(value)
      .filter(([k]) => k !== SIG_KEY)
      .map(([k, v]) => `${k}: ${show(v)}`)
      .join(", ")} }`;
  }
  return JSON.stringify(value);
}

/** The `plannedObjects` of each resource in the last saved state, to show what an update changes. */
type Planned = Map<string, Record<string, string>>;

function plannedOf(stack: StackHarness): Planned {
  const out: Planned = new Map();
  for (const r of stack.state) {
    const planned = r.inputs.plannedObjects;
    if (planned && typeof planned === "object") out.set(r.urn, planned as Record<string, string>);
  }
  return out;
}

function heading(title: string, result: StepResult): void {
  console.log(`\n── ${title} ${"─".repeat(Math.max(0, 70 - title.length))}`);
  if (result.failed) {
    console.log(`  FAILED: ${result.error}`);
    for (const log of result.logs.filter((l) => l.severity === "error")) console.log(`  ${log.message}`);
    throw new Error(`${title} failed`);
  }
}

function stepLine(step: Step): string {
  const name = step.urn.split("::").pop();
  const why = step.replaces?.length ? ` (replace because of ${step.replaces.join(", ")})` : "";
  return `  ${SYMBOL[step.op] ?? "?"} ${step.op.padEnd(7)} ${step.type.replace("pulumi-nodejs:dynamic/", "")} ${name}${why}`;
}

/** What a preview plans: each step, and the Kubernetes objects it would write (their fingerprints). */
function printSteps(title: string, result: StepResult, before: Planned = new Map()): void {
  heading(title, result);
  const changed = result.steps.filter((s) => s.op !== "same" && s.type !== "pulumi:pulumi:Stack");
  for (const step of result.steps) {
    if (step.type === "pulumi:pulumi:Stack") continue;
    console.log(stepLine(step));
    const planned = step.inputs?.plannedObjects;
    const old = before.get(step.urn);
    const changedInputs = (step.diffs ?? []).filter((d) => d !== "plannedObjects");
    if ((step.op === "update" || step.op === "replace") && changedInputs.length > 0) {
      console.log(`        changed: ${changedInputs.join(", ")}`);
    }
    if (step.op === "update" && planned && typeof planned === "object" && old) {
      const now = planned as Record<string, string>;
      for (const [object, fingerprint] of Object.entries(now)) {
        if (old[object] === undefined) console.log(`        + ${object}  (content ${fingerprint})`);
        else if (old[object] !== fingerprint)
          console.log(`        ~ ${object}  (content ${old[object]} => ${fingerprint})`);
      }
      for (const object of Object.keys(old))
        if (now[object] === undefined) console.log(`        - ${object}`);
      const others = Object.keys(now).filter((o) => old[o] === now[o]);
      console.log(`          (${others.length} other objects unchanged)`);
    } else if (step.op !== "same" && step.op !== "delete" && planned && typeof planned === "object") {
      for (const [object, fingerprint] of Object.entries(planned)) {
        console.log(`        ${SYMBOL[step.op]} ${object}  (content ${fingerprint})`);
      }
      console.log(`        + tailnet device (single-use auth key, tags ${show(step.inputs?.tags)})`);
    } else if (step.op !== "same" && step.op !== "delete" && planned === UNKNOWN) {
      console.log("        (its Kubernetes objects are known once the Service above exists)");
    }
  }
  if (changed.length === 0) console.log("  no changes");
}

/** A tailnet device as the outputs name it: a standalone proxy's, or one ProxyGroup replica's. */
interface Device {
  hostname: string;
  deviceId: string;
  tailnetIPs: string[];
}

/** The devices a resource's outputs name (none for a resource served by a ProxyGroup). */
function devicesOf(outputs: PropertyMap | undefined): Device[] {
  if (!outputs) return [];
  if (Array.isArray(outputs.devices)) return outputs.devices as unknown as Device[];
  if (typeof outputs.deviceId !== "string") return [];
  return [
    {
      hostname: String(outputs.hostname),
      deviceId: outputs.deviceId,
      tailnetIPs: (outputs.tailnetIPs as string[] | undefined) ?? [],
    },
  ];
}

/** The outputs of every resource of the last saved state, by URN: what an `up` started from. */
function outputsOf(stack: StackHarness): Map<string, PropertyMap> {
  return new Map(stack.state.map((r) => [r.urn, r.outputs]));
}

/**
 * What an `up` or `destroy` did, from its steps (not its preview): each resource created, updated,
 * replaced or deleted, the tailnet devices it gained, kept or lost, its Tailscale Service, and the
 * waits the provider told the engine about (their last lines, `[12s] done waiting for …`).
 */
function printDone(title: string, result: StepResult, before: Map<string, PropertyMap>): void {
  heading(title, result);
  const changed = result.steps.filter((s) => s.op !== "same" && s.type !== "pulumi:pulumi:Stack");
  for (const step of changed) {
    console.log(stepLine(step));
    const diffs = (step.diffs ?? []).filter((d) => d !== "plannedObjects");
    if (step.op === "update" && diffs.length > 0) console.log(`        changed: ${diffs.join(", ")}`);
    const now = step.op === "delete" ? [] : devicesOf(step.outputs);
    const old = devicesOf(before.get(step.urn));
    for (const d of now) {
      const was = old.find((o) => o.hostname === d.hostname);
      const mark = !was ? "+ new" : was.deviceId !== d.deviceId ? "+- new" : "  kept";
      console.log(`        ${mark} device ${d.hostname} (${d.deviceId}, ${d.tailnetIPs.join(", ")})`);
    }
    for (const o of old.filter((o) => !now.some((d) => d.hostname === o.hostname)))
      console.log(`        - deleted device ${o.hostname} (${o.deviceId})`);
    if (step.op === "delete") {
      const service = before.get(step.urn)?.serviceName;
      if (typeof service === "string") console.log(`        - no longer serves Tailscale Service ${service}`);
    } else {
      const service = step.outputs?.serviceName;
      if (typeof service === "string")
        console.log(`        Tailscale Service ${service} (${show(step.outputs?.addresses)})`);
      if (typeof step.outputs?.url === "string") console.log(`        ${step.outputs.url}`);
    }
    for (const log of result.logs)
      if (log.urn === step.urn && log.ephemeral && /^\[[^\]]+\] done /.test(log.message))
        console.log(`        ${log.message}`);
  }
  const same = result.steps.filter((s) => s.op === "same" && s.type !== "pulumi:pulumi:Stack").length;
  if (changed.length === 0) console.log("  no changes");
  else if (same > 0) console.log(`  (${same} unchanged)`);
}

function printOutputs(result: StepResult): void {
  console.log("\n  Outputs:");
  for (const [key, value] of Object.entries(result.outputs)) console.log(`    ${key}: ${show(value)}`);
}

interface Change {
  /** What the change is, as a user would say it. */
  title: string;
  config: Record<string, string>;
}

const KEEP = process.argv.includes("--keep");
const FAULTS = faultsFromArgv(process.argv);

/**
 * Runs an `up` or `destroy`; under `--faults`, prints what was injected and runs a failed one once more
 * (the product retries transient failures itself; a second run is what the issue's "converges within
 * one re-run" allows).
 */
async function converging(
  world: LocalWorld,
  title: string,
  run: () => Promise<StepResult>,
): Promise<StepResult> {
  world.setFaults(FAULTS);
  let result = await run();
  if (FAULTS && result.failed) {
    printSteps(`${title} (failed under faults: ${result.error ?? "no message"}; running it again)`, result);
    result = await run();
  }
  if (FAULTS) {
    const counts = world.faultCounts();
    const line = (c: Record<string, number>) =>
      Object.entries(c)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(", ") || "none";
    console.log(
      `  faults injected: Kubernetes ${line(counts.kubernetes)}; Tailscale ${line(counts.tailscale)}`,
    );
  }
  return result;
}

async function runExample(
  world: LocalWorld,
  example: string,
  project: string,
  change?: Change,
  keep = false,
): Promise<void> {
  const stack = programStack(world, { program: `examples/${example}`, project, stack: "demo" });
  try {
    console.log(`\n████ examples/${example}`);
    printSteps("pulumi preview", await stack.preview());
    const up = await converging(world, "pulumi up", () => stack.up());
    printDone("pulumi up", up, new Map());
    printOutputs(up);
    printSteps("pulumi preview (again)", await stack.preview());
    if (change) {
      for (const [key, value] of Object.entries(change.config)) stack.setConfig(key, value);
      printSteps(`pulumi preview (${change.title})`, await stack.preview(), plannedOf(stack));
      const before = outputsOf(stack);
      const updated = await converging(world, `pulumi up (${change.title})`, () => stack.up());
      printDone(`pulumi up (${change.title})`, updated, before);
      printOutputs(updated);
    }
    if (keep) console.log("\n(--keep: not destroyed)");
    else {
      const before = outputsOf(stack);
      printDone("pulumi destroy", await converging(world, "pulumi destroy", () => stack.destroy()), before);
    }
  } finally {
    await stack.close();
  }
}

async function main(): Promise<void> {
  // Real kubelet, start, login and issuance times (tests/support/cluster-sim/sim.ts KubeletTiming).
  const world = await startLocalWorld({ sim: { timeScale: 1 } });
  let exitCode = 0;
  if (FAULTS) {
    console.log(
      `--faults: ${FAULTS.rate * 100}% of the product's requests to each API fail (seed ${FAULTS.seed}); previews run without faults.`,
    );
  }
  try {
    console.log("pulumi-tailnet demo: everything below runs against LOCAL servers on this machine:");
    console.log(`  Kubernetes API server  ${world.kube.url}  (a faithful fake; see tests/support/kube-api)`);
    console.log(
      `  Tailscale API          ${world.tailscale.url}  (schema-validated fake; tailnet ${world.tailscale.tailnetDomain})`,
    );
    console.log("  cluster simulator      plays kubelet and tailscaled (tests/support/cluster-sim)");
    console.log(
      "The Pulumi programs (examples/*) and the provider are the real ones, driven through Pulumi's",
    );
    console.log("own language runtime and dynamic-provider host. To run them for real, see README.md.");

    await runExample(world, "database", "tailnet-database");
    await runExample(world, "quickstart", "tailnet-quickstart", {
      title: "add an /api path",
      config: { withApi: "true" },
    });
    // examples/ha leaves out the applications' Deployments; its HA TailnetService is advertised only
    // while postgres has a ready endpoint, so its ready Pods are stood in for.
    world.readyPodsOnCreate("apps", "postgres");
    await runExample(
      world,
      "ha",
      "tailnet-ha",
      { title: "scale the ProxyGroup to 3 replicas", config: { replicas: "3" } },
      KEEP,
    );
    if (KEEP) {
      console.log("\nThe local world keeps running (Ctrl-C stops it). Inspect it with kubectl:");
      console.log(`  export KUBECONFIG=${world.adminKubeconfigPath}`);
      console.log("  kubectl get all -A");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      return;
    }

    const left = world.leftovers();
    const summary =
      `${left.kubernetesObjects.length} Kubernetes objects, ${left.devices.length} tailnet devices, ` +
      `${left.validAuthKeys.length} valid auth keys, ${left.services.length} Tailscale Services`;
    if (
      left.kubernetesObjects.length + left.devices.length + left.validAuthKeys.length + left.services.length >
      0
    ) {
      console.log(`\nLEFT BEHIND: ${summary}`);
      console.log(JSON.stringify(left, null, 2));
      exitCode = 1;
    } else {
      console.log(`\nNothing left behind: ${summary}.`);
    }
  } finally {
    await world.stop();
  }
  process.exit(exitCode);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
