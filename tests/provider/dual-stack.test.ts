// Layer 3 on IPv4-only, IPv6-only and dual-stack clusters, standalone and HA: which tailnet address
// family reaches which cluster IP of the backend, as the simulated containerboot's DNAT rules show
// (cluster-sim/sim.ts `forwards`). Standalone proxies take one TS_DEST_IP, so containerboot forwards
// only the family of the backend's primary cluster IP (`tailscale/tailscale@de9ec7ee
// cmd/containerboot/forwarding.go` installIngressForwardingRule); HA maps each family of the backend
// (`cmd/k8s-operator/svc-for-pg.go`, containerboot ingressservices.go).
import assert from "node:assert/strict";
import * as provider from "../../provider";
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

/** Tailnet address family → the destination its traffic is DNATed to. */
function forwardsByFamily(forwards: { tailnetIP: string; destination: string }[] | undefined) {
  const out: Record<string, string> = {};
  for (const f of forwards ?? []) {
    assert.equal(familyOf(f.destination), familyOf(f.tailnetIP), "DNAT never crosses families");
    out[familyOf(f.tailnetIP)] = f.destination;
  }
  return out;
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

      const check = async (kind: string, news: Record<string, unknown>) => {
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
      };
      const ipOf = (family: string) => backend.clusterIPs.find((ip) => familyOf(ip) === family);

      it("the backend has one cluster IP per family, the primary first", () => {
        assert.deepEqual(backend.ipFamilies, row.families);
        assert.deepEqual(backend.clusterIPs.map(familyOf), row.families);
        assert.equal(backend.clusterIPs[0], backend.clusterIP);
      });

      it("standalone: the primary family's tailnet IP reaches the primary cluster IP; the other family is not forwarded", async () => {
        const { id, outs } = await provider.create(
          "TailnetService",
          await check("TailnetService", {
            ownerId: "proj/dev/postgres",
            service: { namespace: "data", name: "postgres" },
            hostname: "postgres",
          }),
        );
        await world.sim.waitIdle();
        const pod = world.sim.pods().find((p) => p.namespace === "data" && p.name === "ts-postgres-0")!;
        assert.ok(pod?.ready, `the proxy runs: ${pod?.loginError ?? ""}`);
        const primary = row.families[0]!;
        const deviceIP = outs.tailnetIPs.find((ip: string) => familyOf(ip) === primary);
        assert.deepEqual(pod.forwards, [{ tailnetIP: deviceIP, destination: backend.clusterIP }]);
        assert.deepEqual(outs.tailnetIPs, [deviceIP], "the outputs list only the tailnet IP that forwards");
        const refreshed = await provider.read("TailnetService", id, outs);
        assert.deepEqual(refreshed.props?.tailnetIPs, [deviceIP], "and so does a refresh");
        assert.deepEqual(forwardsByFamily(pod.forwards), { [primary]: ipOf(primary) });
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
