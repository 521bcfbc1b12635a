/**
 * The chain of dependent requests on one create's critical path, measured, not guessed: the extra time
 * 100 ms per request adds to the create (provider lifecycle called directly, so no program start is in
 * the measurement), divided by 100 ms. The simulator runs on the suite's compressed clock so the
 * kubelet's delays do not hide the requests' latency; its own requests (the proxies' dependent steps
 * the create waits for, e.g. advertising, issuing the certificate) get the latency too and count.
 */
import * as provider from "../provider";
import { TEST_TIME_SCALE } from "../tests/support/cluster-sim";
import { type LocalWorld, startLocalWorld } from "../tests/support/world";

const SLOW_MS = 100;

/** Dependent requests of `create(name)`: a warm-up (token, discovery), then one at 0 ms and one at 100 ms. */
async function chainOf(world: LocalWorld, create: (name: string) => Promise<void>): Promise<number> {
  const timed = async (name: string, latencyMs: number) => {
    world.kube.setLatency(latencyMs);
    world.tailscale.setLatency(latencyMs);
    const start = process.hrtime.bigint();
    await create(name);
    const ms = Number((process.hrtime.bigint() - start) / 1_000_000n);
    world.kube.setLatency(0);
    world.tailscale.setLatency(0);
    return ms;
  };
  await timed("warmup", 0);
  const t0 = await timed("fast", 0);
  const t100 = await timed("slow", SLOW_MS);
  return Math.max(1, Math.round((t100 - t0) / SLOW_MS));
}

/** Checks `news` as the engine would, then creates it; fails on check failures. */
async function checkAndCreate(kind: string, news: Record<string, unknown>): Promise<void> {
  const checked = await provider.check(kind, {}, news);
  if (checked.failures?.length) throw new Error(`${kind} check: ${JSON.stringify(checked.failures)}`);
  await provider.create(kind, checked.inputs);
}

/** One HA TailnetIngress on a ProxyGroup `edge` (2 replicas) created beforehand. */
export async function haIngressChain(): Promise<number> {
  const world = await startLocalWorld({ sim: { timeScale: TEST_TIME_SCALE } });
  try {
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "tailscale" } });
    await world.addService("apps", "web");
    const pg = await provider.check(
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
    );
    await provider.create("ProxyGroup", pg.inputs);
    return await chainOf(world, (name) =>
      checkAndCreate("TailnetIngress", {
        ownerId: `bench/ha/${name}`,
        hostname: name,
        defaultBackend: { service: { namespace: "apps", name: "web" }, port: "http" },
        proxyGroup: { name: "edge", namespace: "tailscale" },
        credentials: world.credentials,
      }),
    );
  } finally {
    await world.stop();
  }
}

/** One standalone TailnetService (its own proxy), as examples/database creates it. */
export async function standaloneServiceChain(): Promise<number> {
  const world = await startLocalWorld({ sim: { timeScale: TEST_TIME_SCALE } });
  try {
    for (const name of ["warmup", "fast", "slow"])
      await world.addService("data", name, { selector: { app: name }, ports: [{ port: 5432 }] });
    return await chainOf(world, (name) =>
      checkAndCreate("TailnetService", {
        ownerId: `bench/standalone/${name}`,
        service: { namespace: "data", name },
        hostname: name,
        credentials: world.credentials,
      }),
    );
  } finally {
    await world.stop();
  }
}
