// examples/ha through the real Pulumi language runtime and dynamic-provider host, against the local
// world: preview (which lists what each HA resource's up writes), an up whose HA ingress creates fail after
// writing (recorded as partial creates) and the up that finishes them, a backend Service recreated outside
// Pulumi (the refresh reports it, the preview names the one entry the up rewrites, the up rewrites it),
// no-op preview, scale, destroy.
import assert from "node:assert/strict";
import { UNKNOWN } from "../../provider/plan/inputs";
import type { StackHarness } from "../support/engine";
import { programStack } from "../support/examples";
import { type LocalWorld, startLocalWorld } from "../support/world";

describe("examples/ha through the engine", function () {
  this.timeout(300_000);
  let world: LocalWorld;
  let stack: StackHarness;

  before(async () => {
    world = await startLocalWorld();
    // The example leaves out the applications' Deployments; an HA TailnetService is advertised only
    // while its backend has a ready endpoint, so postgres's ready Pods are stood in for.
    world.readyPodsOnCreate("apps", "postgres");
    stack = programStack(world, {
      program: "examples/ha",
      project: "tailnet-ha",
      config: { staging: "true" },
    });
  });
  after(async () => {
    await stack?.close();
    await world?.stop();
  });

  const INGRESS = "pulumi-nodejs:dynamic/tailnet:TailnetIngress";
  const changed = (r: { steps: { op: string; urn: string }[] }) =>
    r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.urn.split("::").pop()}`);

  it("previews what it writes, deploys (HA creates that fail after writing are recorded, and finished by the next up), follows a recreated backend after a refresh, scales, previews again with no changes, and destroys leaving nothing", async () => {
    const preview = await stack.preview();
    assert.equal(preview.failed, false, preview.error);
    const creates = (type: string) =>
      preview.steps.filter((s) => s.op === "create" && s.type.endsWith(`:${type}`)).length;
    assert.deepEqual(
      [creates("ProxyGroup"), creates("TailnetIngress"), creates("TailnetService")],
      [1, 3, 1],
      "the preview, offline, lists the ProxyGroup and every service on it",
    );

    // What each HA resource's up writes, offline; the entry planned from a Service being created is
    // not known yet.
    const planned = (r: { steps: { urn: string; inputs?: Record<string, unknown> }[] }, name: string) =>
      r.steps.find((s) => s.urn.endsWith(`::${name}`) && s.urn.includes(":Tailnet"))?.inputs
        ?.plannedObjects as Record<string, string>;
    // The engine keeps a map's keys sorted.
    assert.deepEqual(
      Object.keys(planned(preview, "grafana")).sort(),
      [
        "Secret/tailscale/grafana.<tailnet-domain>",
        "Role/tailscale/grafana.<tailnet-domain>",
        "RoleBinding/tailscale/grafana.<tailnet-domain>",
        "ConfigMap/tailscale/ingress-ingress-config#serve-config.json/Services/svc:grafana",
        "TailscaleService/svc:grafana",
        "Secret/tailscale/ingress-*-config#cap-106.hujson/AdvertiseServices/svc:grafana",
      ].sort(),
    );
    assert.equal(
      planned(preview, "grafana")[
        "ConfigMap/tailscale/ingress-ingress-config#serve-config.json/Services/svc:grafana"
      ],
      UNKNOWN,
    );

    // Let's Encrypt refuses every order: the HA ingresses fail after writing their objects and Tailscale
    // Services. The dynamic-provider host reports each as a resource that failed to initialise, so the
    // engine records it with what it wrote instead of forgetting it. (As --skip-preview: the preview
    // above covers it.)
    world.sim.setFault({ cert: { kind: "rate-limited", times: Number.POSITIVE_INFINITY } });
    const limited = await stack.up({ skipPreview: true });
    assert.equal(limited.failed, true, "the first up fails");
    assert.match(limited.error ?? "", /rate limited/);
    const partial = ["grafana", "docs", "api"].filter(
      (n) => (stack.resource(n, INGRESS)?.initErrors?.length ?? 0) > 0,
    );
    assert.ok(partial.length > 0, "the failed creates are in state");
    for (const n of partial) {
      const r = stack.resource(n, INGRESS)!;
      assert.equal(r.id, `tailscale/ingress/svc:${n}`);
      assert.match(r.initErrors![0]!, /the next pulumi up finishes the create, pulumi destroy removes it/);
    }

    // The limit lifts: the next up updates each recorded one, which finishes its create.
    world.sim.setFault({ cert: undefined });
    const up = await stack.up();
    assert.equal(up.failed, false, up.error);
    for (const n of partial) assert.ok(changed(up).includes(`update ${n}`), `${n} is finished by an update`);
    const domain = world.tailscale.tailnetDomain;
    assert.ok(!up.logs.some((l) => /tskey-/.test(l.message)), "no key in any line");
    assert.ok(!(up.preview?.logs ?? []).some((l) => l.ephemeral), "a preview waits for nothing");
    assert.deepEqual(up.outputs.urls, [
      `https://grafana.${domain}/`,
      `https://docs.${domain}/`,
      `https://api.${domain}/`,
    ]);
    assert.deepEqual(up.outputs.serviceNames, ["svc:grafana", "svc:docs", "svc:api", "svc:postgres"]);
    assert.deepEqual(up.outputs.certificates, ["issued", "issued", "issued"]);
    assert.equal((up.outputs.devices as unknown[]).length, 2);
    assert.deepEqual(
      world.tailscale
        .services()
        .map((s) => s.name)
        .sort(),
      ["svc:api", "svc:docs", "svc:grafana", "svc:postgres"],
    );
    await world.sim.waitIdle();
    for (const p of world.sim.pods().filter((p) => p.namespace === "tailscale")) {
      assert.deepEqual([...p.advertisedServices].sort(), [
        "svc:api",
        "svc:docs",
        "svc:grafana",
        "svc:postgres",
      ]);
    }

    // The database's Service recreated outside Pulumi with another cluster IP.
    const dnatIP = () => {
      const cm = world.kube.getObject("v1", "ConfigMap", "tailscale", "ingress-ingress-config");
      const json = JSON.parse(Buffer.from(cm.binaryData["ingress-config.json"], "base64").toString());
      return json["svc:postgres"].IPv4Mapping.ClusterIP as string;
    };
    const before = world.kube.getObject("v1", "Service", "apps", "postgres");
    assert.equal(dnatIP(), before.spec.clusterIP);
    world.kube.remove("v1", "Service", "apps", "postgres");
    world.kube.seed({
      ...before,
      metadata: { namespace: "apps", name: "postgres" },
      spec: { ...before.spec, clusterIP: "10.96.0.250", clusterIPs: undefined },
    });
    // As --skip-preview: the explicit previews around it cover the preview.
    const refreshed = await stack.refresh({ skipPreview: true });
    assert.equal(refreshed.failed, false, refreshed.error);
    const op = (r: { steps: { urn: string; op: string }[] }, urn: string) =>
      r.steps.find((s) => s.urn.endsWith(urn))?.op;
    assert.equal(op(refreshed, "TailnetService::postgres"), "update", "the refresh reports the drift");
    assert.equal(op(refreshed, "TailnetIngress::grafana"), "same");
    const fix = await stack.preview();
    assert.deepEqual(changed(fix), ["update postgres"]);
    const stored = stack.state.find((r) => r.urn.endsWith("TailnetService::postgres"))!.inputs
      .plannedObjects as Record<string, string>;
    const next = planned(fix, "postgres");
    assert.deepEqual(
      Object.keys(next).filter((k) => next[k] !== stored[k]),
      ["ConfigMap/tailscale/ingress-ingress-config#ingress-config.json/svc:postgres"],
      "the preview names the one write the up changes",
    );
    const fixed = await stack.up({ skipPreview: true });
    assert.equal(fixed.failed, false, fixed.error);
    assert.deepEqual(changed(fixed), ["update postgres"]);
    assert.equal(dnatIP(), "10.96.0.250", "the DNAT entry follows the Service as it is");

    const again = await stack.preview();
    assert.equal(again.failed, false, again.error);
    assert.deepEqual(changed(again), [], "a second preview shows no change");
    for (const name of ["grafana", "postgres"]) {
      const state = stack.state.find((r) => r.urn.endsWith(`::${name}`) && r.urn.includes(":Tailnet"))!;
      assert.deepEqual(planned(again, name), state.inputs.plannedObjects, `${name}: the same planned writes`);
    }

    // examples/database beside it wants the hostname svc:postgres holds: its `up` fails naming the service
    // and its owner, instead of registering the device as postgres-1.
    const database = programStack(world, { program: "examples/database", project: "tailnet-database" });
    try {
      const clash = await database.up();
      assert.equal(clash.failed, true);
      assert.match(
        clash.error ?? "",
        /hostname "postgres" is already used by Tailscale Service svc:postgres \(owned by pulumi-tailnet resource tailnet-ha\/dev\/postgres\)/,
      );
      assert.ok(
        !world.tailscale.devices().some((d) => d.name.startsWith("postgres")),
        "no device took the name, suffixed or not",
      );
      assert.equal((await database.destroy()).failed, false);
    } finally {
      await database.close();
    }

    stack.setConfig("replicas", "3");
    const scaled = await stack.up();
    assert.equal(scaled.failed, false, scaled.error);
    assert.deepEqual(changed(scaled), ["update ingress"], "scaling touches only the ProxyGroup");
    assert.equal((scaled.outputs.devices as unknown[]).length, 3);
    await world.sim.waitIdle();
    const pods = world.sim.pods().filter((p) => p.namespace === "tailscale");
    assert.equal(pods.length, 3);
    for (const p of pods) assert.equal(p.advertisedServices.length, 4, `${p.name} serves every service`);

    const noop = await stack.preview();
    assert.deepEqual(changed(noop), []);

    const destroy = await stack.destroy();
    assert.equal(destroy.failed, false, destroy.error);
    world.assertNothingLeft();
  });
});
