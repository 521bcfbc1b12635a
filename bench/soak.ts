/**
 * The soak: a 50-resource stack (tests/support/fault-stack.ts: one ProxyGroup, HA and standalone
 * TailnetIngress and TailnetService) deployed and destroyed under 10% seeded faults on both APIs, for 20
 * seeds. Per seed: whether it converged within two runs of `up`, whether two runs of `destroy` left
 * nothing, what was left, and the faults injected. Exits non-zero when a seed fails either.
 *
 * The provider is driven in process as the engine drives it (the driver's header says how), at the
 * suite's compressed simulator time: this measures convergence, not timing.
 *
 * Run: `node --import tsx bench/soak.ts [resources] [seeds]`. Not a test: nothing here asserts a time.
 */
import { devicesOf, layoutOf, runFaultStack } from "../tests/support/fault-stack";
import { startLocalWorld } from "../tests/support/world";

const [RESOURCES = 50, SEEDS = 20] = process.argv
  .slice(2)
  .filter((a) => /^\d+$/.test(a))
  .map(Number);
const RATE = 0.1;

async function main(): Promise<void> {
  const layout = layoutOf(RESOURCES);
  console.log(
    `## Soak: ${RESOURCES} resources, ${SEEDS} seeds, ${RATE * 100}% faults on both APIs\n\n` +
      `One ProxyGroup (2 replicas), ${layout.apps.length} HA and ${layout.apps.length} standalone TailnetIngress,` +
      ` ${layout.haDatabases.length} HA and ${layout.standaloneDatabases.length} standalone TailnetService` +
      ` (${devicesOf(layout)} devices). Converged: every resource created within two runs of \`up\`;` +
      " clean: at most two runs of `destroy` left no object, device, valid auth key or Tailscale Service.\n",
  );
  console.log(
    "| seed | ups | converged | destroys | clean | left (objects, devices, valid keys, services) | faults injected (Kubernetes, Tailscale) |",
  );
  console.log("| ---: | ---: | --- | ---: | --- | --- | ---: |");
  let converged = 0;
  let clean = 0;
  const failures: string[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const world = await startLocalWorld();
    try {
      const run = await runFaultStack(world, layout, RATE, seed);
      const sum = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
      const { left } = run;
      converged += run.converged ? 1 : 0;
      clean += run.clean ? 1 : 0;
      if (!run.converged) failures.push(`seed ${seed} up: ${run.ups[1].join("; ")}`);
      if (!run.clean)
        failures.push(`seed ${seed} destroy: ${run.destroys[1].join("; ")} ${JSON.stringify(left)}`);
      console.log(
        `| ${seed} | ${run.ups[0].length ? 2 : 1} | ${run.converged ? "yes" : "no"} | ${run.destroys[0].length ? 2 : 1}` +
          ` | ${run.clean ? "yes" : "no"} | ${left.kubernetesObjects.length}, ${left.devices.length},` +
          ` ${left.validAuthKeys.length}, ${left.services.length} | ${sum(run.injected.kubernetes)}, ${sum(run.injected.tailscale)} |`,
      );
    } finally {
      await world.stop();
    }
  }
  console.log(`\nConverged within two ups: ${converged}/${SEEDS}. Destroy left nothing: ${clean}/${SEEDS}.`);
  if (failures.length) {
    console.error(failures.join("\n"));
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
