// Layer 3 on IPv4-only, IPv6-only and dual-stack clusters, standalone and HA: which tailnet address
// family reaches which cluster IP of the backend, as the simulated containerboot's DNAT rules show
// (cluster-sim/sim.ts `forwards`). A standalone proxy forwards the primary family with TS_DEST_IP and,
// for a dual-stack backend, the other family through the DNAT config in its Secret, which its
// ingress proxy applies (`tailscale/tailscale@de9ec7ee cmd/containerboot/forwarding.go`
// installIngressForwardingRule, `cmd/containerboot/ingressservices.go`); HA maps each family of the
// backend (`cmd/k8s-operator/svc-for-pg.go`, ingressservices.go).
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import * as provider from "../../provider";
import { resetCredentials } from "../../provider/credentials";
import { STANDALONE_DNAT_CONFIG_KEY } from "../../provider/plan/standalone";
import type { SimPod } from "../support/cluster-sim";
import { HostKiller } from "../support/host-killer";
import { familyOf } from "../support/kube-api/ipfamily";
import { type ClusterStack, type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

/** Each row: the cluster, the backend Service's IP family fields, and the families it gets. */
const ROWS: { stack: ClusterStack; spec: Record<string, unknown>; families: string[] }[] = [
  { stack: "ipv4", spec: {}, families: ["IPv4"] },
  { stack: "ipv6", spec: {}, families: ["IPv6"] },
  { stack: "dual", spec: { ipFamilyPolicy: "PreferDualStack" }, families: ["IPv4", "IPv6"] },
  {
    stack: "dual",
    spec: { ipFamilyPolicy: "PreferDualStack", ipFamilies: ["IPv6", "IPv4"] },
    families: ["IPv6", "IPv4"],
  },
];

/** Tailnet address family → the destination its traffic is DNATed to; one rule per family. */
function forwardsByFamily(forwards: { tailnetIP: string; destination: string }[] | undefined) {
  const out: Record<string, string> = {};
  for (const f of forwards ?? []) {
    assert.equal(familyOf(f.destination), familyOf(f.tailnetIP), "DNAT never crosses families");
    assert.equal(out[familyOf(f.tailnetIP)], undefined, `one rule per family: ${JSON.stringify(forwards)}`);
    out[familyOf(f.tailnetIP)] = f.destination;
  }
  return out;
}

/**
 * What traffic to the standalone proxy's tailnet IPs reaches: each rule is from one of the device's
 * own addresses (traffic to any other address never arrives at it), and `tailnetIPs` lists exactly
 * the addresses that have a rule.
 */
function standaloneForwards(pod: SimPod, tailnetIPs: string[]): Record<string, string> {
  for (const f of pod.forwards ?? [])
    assert.ok(pod.deviceIps?.includes(f.tailnetIP), `${f.tailnetIP} is one of the device's addresses`);
  assert.deepEqual(
    [...tailnetIPs].sort(),
    (pod.forwards ?? []).map((f) => f.tailnetIP).sort(),
    "tailnetIPs lists exactly the addresses that forward",
  );
  return forwardsByFamily(pod.forwards);
}

/** The check of `kind` against `world`, failing on any failure. */
async function checkIn(world: LocalWorld, kind: string, news: Record<string, unknown>) {
  const r = await provider.check(
    kind,
    {},
    {
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      ...news,
    },
  );
  assert.deepEqual(r.failures ?? [], []);
  return r.inputs as Record<string, any>;
}

/** The simulated proxy Pod `ns/name`, once everything has settled. */
async function settledPod(world: LocalWorld, namespace: string, name: string): Promise<SimPod> {
  await world.sim.waitIdle();
  const pod = world.sim.pods().find((p) => p.namespace === namespace && p.name === name);
  assert.ok(pod?.ready, `the proxy ${namespace}/${name} runs: ${pod?.loginError ?? "no Pod"}`);
  return pod;
}

describe("layer 3 on IPv4, IPv6 and dual-stack clusters (standalone and HA)", function () {
  this.timeout(60_000);

  for (const row of ROWS) {
    describe(`${row.stack} cluster, backend ${JSON.stringify(row.spec)}`, () => {
      let world: LocalWorld;
      let backend: { clusterIP: string; clusterIPs: string[]; ipFamilies: string[] };
      before(async () => {
        world = await startLocalWorld({ stack: row.stack });
        world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
        backend = (await world.addService("data", "postgres", {
          selector: { app: "postgres" },
          ports: [{ name: "postgres", port: 5432 }],
          ...row.spec,
        })) as typeof backend;
      });
      after(async () => {
        await world?.stop();
      });

      const check = (kind: string, news: Record<string, unknown>) => checkIn(world, kind, news);
      const ipOf = (family: string) => backend.clusterIPs.find((ip) => familyOf(ip) === family);

      it("the backend has one cluster IP per family, the primary first", () => {
        assert.deepEqual(backend.ipFamilies, row.families);
        assert.deepEqual(backend.clusterIPs.map(familyOf), row.families);
        assert.equal(backend.clusterIPs[0], backend.clusterIP);
      });

      it("standalone: the device's address of each family the backend has reaches its cluster IP of that family", async () => {
        const { id, outs } = await provider.create(
          "TailnetService",
          await check("TailnetService", {
            ownerId: "proj/dev/postgres",
            service: { namespace: "data", name: "postgres" },
            hostname: "postgres",
          }),
        );
        const pod = await settledPod(world, "data", "ts-postgres-0");
        const want: Record<string, string | undefined> = {};
        for (const f of row.families) want[f] = ipOf(f);
        assert.deepEqual(standaloneForwards(pod, outs.tailnetIPs), want);
        assert.deepEqual(
          outs.tailnetIPs,
          pod.deviceIps!.filter((ip) => row.families.includes(familyOf(ip))),
          "in the device's order",
        );
        const refreshed = await provider.read("TailnetService", id, outs);
        assert.deepEqual(refreshed.props?.tailnetIPs, outs.tailnetIPs, "and so does a refresh");
        const secret = world.kube.getObject("v1", "Secret", "data", "ts-postgres-0");
        assert.equal(
          STANDALONE_DNAT_CONFIG_KEY in (secret.data ?? {}),
          row.families.length === 2,
          "a DNAT config only for a dual-stack backend",
        );
      });

      it("HA: each tailnet IP family of the Tailscale Service reaches the backend's cluster IP of that family", async () => {
        await provider.create(
          "ProxyGroup",
          await check("ProxyGroup", {
            ownerId: "proj/dev/ingress",
            name: "ingress",
            namespace: NS,
            type: "ingress",
            replicas: 1,
          }),
        );
        const { outs } = await provider.create(
          "TailnetService",
          await check("TailnetService", {
            ownerId: "proj/dev/postgres-ha",
            service: { namespace: "data", name: "postgres" },
            hostname: "postgres-ha",
            proxyGroup: { name: "ingress", namespace: NS },
          }),
        );
        const [v4, v6] = outs.addresses as string[];
        await world.sim.waitIdle();
        const pod = world.sim.pods().find((p) => p.namespace === NS && p.name === "ingress-0")!;
        assert.deepEqual(pod.advertisedServices, ["svc:postgres-ha"]);
        const want: Record<string, string | undefined> = {};
        for (const f of row.families) want[f] = ipOf(f);
        assert.deepEqual(forwardsByFamily(pod.forwards), want);
        for (const f of pod.forwards ?? [])
          assert.ok([v4, v6].includes(f.tailnetIP), "from the service's own address");
      });
    });
  }
});

describe("standalone layer 3 on a dual-stack cluster: the DNAT config through update, refresh and a killed create", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let killer: HostKiller;
  const BACKEND = { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] };

  before(async () => {
    world = await startLocalWorld({ stack: "dual" });
    killer = new HostKiller();
  });
  after(async () => {
    killer?.uninstall();
    resetCredentials();
    await world?.stop();
  });

  /** Replaces the backend Service `app/web` (a real cluster cannot switch its families in place here). */
  async function backend(spec: Record<string, unknown>) {
    world.kube.remove("v1", "Service", "app", "web");
    return (await world.addService("app", "web", { ...BACKEND, ...spec })) as { clusterIPs: string[] };
  }
  /** The checked inputs of the standalone TailnetService `web` for `app/web`. */
  const webInputs = () =>
    checkIn(world, "TailnetService", {
      ownerId: "proj/dev/web",
      service: { namespace: "app", name: "web" },
      hostname: "web",
    });
  const envNames = () =>
    world.kube
      .getObject("apps/v1", "StatefulSet", "app", "ts-web")
      .spec.template.spec.containers[0].env.map((e: { name: string }) => e.name);
  const dnatConfig = (secret: string) => {
    const v = world.kube.getObject("v1", "Secret", "app", secret)?.data?.[STANDALONE_DNAT_CONFIG_KEY];
    return v === undefined ? undefined : JSON.parse(Buffer.from(v, "base64").toString("utf8"));
  };
  const byFamily = (ips: string[]) => Object.fromEntries(ips.map((ip) => [familyOf(ip), ip]));

  it("an update follows the backend from single-stack to dual-stack and back; a refresh reads what forwards", async () => {
    const single = await backend({});
    const news = await webInputs();
    const made = await provider.create("TailnetService", news);
    let pod = await settledPod(world, "app", "ts-web-0");
    const [v4, v6] = pod.deviceIps!;
    assert.deepEqual(made.outs.tailnetIPs, [v4]);
    assert.deepEqual(standaloneForwards(pod, made.outs.tailnetIPs), byFamily(single.clusterIPs));
    assert.ok(
      !envNames().includes("TS_INGRESS_PROXIES_CONFIG_PATH"),
      "no ingress proxy for a single-stack backend",
    );
    assert.equal(dnatConfig("ts-web-0"), undefined);

    const dual = await backend({ ipFamilyPolicy: "PreferDualStack" });
    const up = await provider.update("TailnetService", made.id, made.outs, news);
    pod = await settledPod(world, "app", "ts-web-0");
    assert.deepEqual(up.outs.tailnetIPs, [v4, v6], "the same device, both addresses");
    assert.deepEqual(standaloneForwards(pod, up.outs.tailnetIPs), byFamily(dual.clusterIPs));
    assert.deepEqual(dnatConfig("ts-web-0"), {
      web: { IPv6Mapping: { TailscaleServiceIP: v6, ClusterIP: dual.clusterIPs[1] } },
    });
    const refreshed = await provider.read("TailnetService", made.id, up.outs);
    assert.deepEqual(refreshed.props?.tailnetIPs, [v4, v6]);

    const again = await backend({ ipFamilyPolicy: "SingleStack" });
    const down = await provider.update("TailnetService", made.id, up.outs, news);
    pod = await settledPod(world, "app", "ts-web-0");
    assert.deepEqual(down.outs.tailnetIPs, [v4]);
    assert.deepEqual(standaloneForwards(pod, down.outs.tailnetIPs), byFamily(again.clusterIPs));
    assert.equal(dnatConfig("ts-web-0"), undefined, "the DNAT config is removed with the family");
    assert.ok(!envNames().includes("TS_INGRESS_PROXIES_CONFIG_PATH"));

    await provider.remove("TailnetService", made.id, down.outs);
    world.assertNothingLeft();
  });

  it("a proxy that forwards one family of its dual-stack backend (as an earlier version wrote it): a refresh reports it, the update after it forwards both", async () => {
    const dual = await backend({ ipFamilyPolicy: "PreferDualStack" });
    const news = await webInputs();
    const made = await provider.create("TailnetService", news);
    await settledPod(world, "app", "ts-web-0");
    // What an earlier version wrote: TS_DEST_IP only (an admin's JSON patches, as `kubectl edit` sends).
    const kc = new k8s.KubeConfig();
    kc.loadFromString(world.kube.kubeconfig());
    const jsonPatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch);
    const env: { name: string }[] = world.kube.getObject("apps/v1", "StatefulSet", "app", "ts-web").spec
      .template.spec.containers[0].env;
    const drop = ["TS_INGRESS_PROXIES_CONFIG_PATH", "POD_IPS"].map((n) => env.findIndex((e) => e.name === n));
    await kc.makeApiClient(k8s.AppsV1Api).patchNamespacedStatefulSet(
      {
        name: "ts-web",
        namespace: "app",
        body: drop
          .sort((a, b) => b - a)
          .map((i) => ({ op: "remove", path: `/spec/template/spec/containers/0/env/${i}` })),
      },
      jsonPatch,
    );
    await kc.makeApiClient(k8s.CoreV1Api).patchNamespacedSecret(
      {
        name: "ts-web-0",
        namespace: "app",
        body: [{ op: "remove", path: `/data/${STANDALONE_DNAT_CONFIG_KEY}` }],
      },
      jsonPatch,
    );
    let pod = await settledPod(world, "app", "ts-web-0");
    const [v4, v6] = pod.deviceIps!;
    assert.deepEqual(forwardsByFamily(pod.forwards), { IPv4: dual.clusterIPs[0] });

    const refreshed = await provider.read("TailnetService", made.id, made.outs);
    assert.deepEqual(refreshed.props?.tailnetIPs, [v4], "the refresh lists what forwards");
    const diff = (await provider.diff("TailnetService", made.id, refreshed.props, news)) as {
      changes?: boolean;
      detailedDiff?: Record<string, { kind: string; reason: string }>;
    };
    assert.equal(diff.changes, true);
    assert.deepEqual(
      Object.keys(diff.detailedDiff ?? {}),
      ["tailnetIPs", "forwardingRead"],
      "the watched output that changed, and why the proxy needs rewriting",
    );
    const reason = diff.detailedDiff!.forwardingRead!.reason;
    assert.ok(
      reason.includes(`forwards ["${v4}"] of its device's addresses`) && reason.includes(v6!),
      `the Diff after it says what is not forwarded: ${reason}`,
    );
    const up = await provider.update("TailnetService", made.id, refreshed.props, news);
    pod = await settledPod(world, "app", "ts-web-0");
    assert.deepEqual(up.outs.tailnetIPs, [v4, v6]);
    assert.deepEqual(standaloneForwards(pod, up.outs.tailnetIPs), byFamily(dual.clusterIPs));
    assert.equal(
      (up.outs as Record<string, unknown>).forwardingRead,
      undefined,
      "an update records no refresh",
    );
    const again = await provider.read("TailnetService", made.id, up.outs);
    assert.equal(
      (again.props as Record<string, unknown>).forwardingRead,
      undefined,
      "nothing left to report",
    );
    await provider.remove("TailnetService", made.id, up.outs);
    world.assertNothingLeft();
  });

  it("a create killed right after it wrote the DNAT config: the next up adopts the device and both families forward", async () => {
    const dual = await backend({ ipFamilyPolicy: "PreferDualStack" });
    const news = await webInputs();
    killer.arm();
    const clean = await provider.create("TailnetService", news);
    const secretWrites = killer.writes.flatMap((w, i) => (w === "kube patch Secret/ts-web-0" ? [i + 1] : []));
    assert.equal(secretWrites.length, 2, `the Secret is written twice: ${killer.writes.join(", ")}`);
    await provider.remove("TailnetService", clean.id, clean.outs);

    resetCredentials();
    const { dead } = killer.arm(secretWrites[1]);
    const killed = provider.create("TailnetService", news).then(
      () => "finished",
      (e: Error) => `failed: ${e.message}`,
    );
    assert.equal(await Promise.race([dead.then(() => "killed"), killed]), "killed");
    killer.arm();
    resetCredentials();
    assert.ok(dnatConfig("ts-web-0"), "the killed create wrote the DNAT config");

    const { id, outs } = await provider.create("TailnetService", news);
    const pod = await settledPod(world, "app", "ts-web-0");
    assert.deepEqual(outs.tailnetIPs, pod.deviceIps);
    assert.deepEqual(standaloneForwards(pod, outs.tailnetIPs), byFamily(dual.clusterIPs));
    assert.deepEqual(
      world.tailscale.devices().map((d) => d.name.split(".")[0]),
      ["web"],
      "the killed create's device, adopted",
    );
    assert.deepEqual(world.tailscale.validAuthKeys(), []);
    await provider.remove("TailnetService", id, outs);
    world.assertNothingLeft();
  });
});
