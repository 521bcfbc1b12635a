/**
 * Device-list bench: N standalone TailnetService creates in parallel (provider lifecycle called as the
 * dynamic-provider host calls it, in one process as one host runs them) on a tailnet that already has
 * `devices` other devices. Reported: device-list requests, the bytes one list weighs, the Tailscale API
 * requests of the whole batch, and wall time. Every hostname check used to download the whole tailnet;
 * the checks of one host now share one list (TailscaleClient.sharedDeviceList).
 *
 * Run: `node --import tsx bench/devices.ts [devices] [creates]` (default 5000 and 10). Not a test: nothing
 * here asserts a time.
 */
import * as provider from "../provider";
import { startLocalWorld } from "../tests/support/world";

const DEVICES = Number(process.argv[2] ?? 5000);
const CREATES = Number(process.argv[3] ?? 10);
const LIST_ROUTE = "GET /api/v2/tailnet/{tailnet}/devices";

async function main(): Promise<void> {
  const world = await startLocalWorld();
  try {
    // Other devices of the tailnet, registered as tailscaled registers them.
    const key = world.tailscale.createAuthKey({ reusable: true, tags: ["tag:k8s"] });
    for (let i = 0; i < DEVICES; i++) {
      const res = await fetch(`${world.tailscale.url}/_control/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ authKey: key.key, hostname: `laptop-${i}` }),
      });
      if (!res.ok) throw new Error(`seeding device ${i}: ${res.status} ${await res.text()}`);
    }
    const apiKey = world.tailscale.createApiKey();
    const list = await fetch(`${world.tailscale.url}/api/v2/tailnet/-/devices`, {
      headers: { Authorization: `Bearer ${apiKey}` },
    });
    const listBytes = (await list.arrayBuffer()).byteLength;

    const ns = "bench";
    const checked = [];
    for (let i = 0; i < CREATES; i++) {
      await world.addService(ns, `db-${i}`, { selector: { app: `db-${i}` }, ports: [{ port: 5432 }] });
      const news = {
        ownerId: `bench/dev/db-${i}`,
        service: { namespace: ns, name: `db-${i}` },
        hostname: `db-${i}`,
        credentials: world.credentials,
      };
      const result = await provider.check("TailnetService", {}, news);
      if (result.failures?.length) throw new Error(JSON.stringify(result.failures));
      checked.push(result.inputs);
    }
    world.tailscale.resetCounts();
    const start = process.hrtime.bigint();
    await Promise.all(checked.map((inputs) => provider.create("TailnetService", inputs)));
    const ms = Number((process.hrtime.bigint() - start) / 1_000_000n);
    const counts = world.tailscale.counts();
    const lists = counts.byRoute[LIST_ROUTE] ?? 0;
    console.log(
      "| devices in the tailnet | parallel creates | device lists | bytes per list | device-list bytes | Tailscale API requests | wall |",
    );
    console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    console.log(
      `| ${DEVICES} | ${CREATES} | ${lists} | ${listBytes} | ${lists * listBytes} | ${counts.total} | ${ms} ms |`,
    );
  } finally {
    await world.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
