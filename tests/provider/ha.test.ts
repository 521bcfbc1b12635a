// The HA lifecycles (ProxyGroup, HA TailnetIngress, HA TailnetService), called as the dynamic-provider
// host calls them, against the local Kubernetes API, Tailscale API and cluster simulator.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as provider from "../../provider";
import { joinTokenFor } from "../../provider/plan/ha";
import { UNKNOWN } from "../../provider/plan/inputs";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

describe("HA lifecycles (ProxyGroup, TailnetIngress and TailnetService with proxyGroup)", function () {
  this.timeout(60_000);
  let world: LocalWorld;
  let pgOuts: Record<string, any>;

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService("web", "frontend");
    await world.addService("web", "api", {
      selector: { app: "api" },
      ports: [{ name: "http", port: 8080 }],
    });
    await world.addService("data", "postgres", {
      selector: { app: "postgres" },
      ports: [{ name: "postgres", port: 5432 }],
    });
  });
  after(async () => {
    await world?.stop();
  });

  async function checked(kind: string, news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
    const result = await provider.check(kind, olds, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  const pdb = () => world.kube.getObject("policy/v1", "PodDisruptionBudget", NS, "ingress");

  function pgInputs(extra: Record<string, unknown> = {}) {
    return {
      ownerId: "proj/dev/ingress",
      name: "ingress",
      namespace: NS,
      type: "ingress",
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      ...extra,
    };
  }

  const proxyGroup = { name: "ingress", namespace: NS };

  function ingressInputs(name: string, extra: Record<string, unknown> = {}) {
    return {
      ownerId: `proj/dev/${name}`,
      hostname: name,
      defaultBackend: { service: { namespace: "web", name: "frontend" }, port: "http" },
      proxyGroup,
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
      ...extra,
    };
  }

  function configOf(i: number): any {
    const s = world.kube.getObject("v1", "Secret", NS, `ingress-${i}-config`);
    return JSON.parse(Buffer.from(s.data["cap-106.hujson"], "base64").toString());
  }

  function configMapKey(key: string): any {
    const cm = world.kube.getObject("v1", "ConfigMap", NS, "ingress-ingress-config");
    const raw = cm.binaryData?.[key];
    return raw === undefined ? undefined : JSON.parse(Buffer.from(raw, "base64").toString());
  }

  it("refuses invalid ProxyGroup inputs at check, naming the property, and tolerates unknowns", async () => {
    const bad = await provider.check("ProxyGroup", {}, pgInputs({ replicas: -1, tags: ["k8s"] }));
    assert.deepEqual(
      bad.failures?.map((f) => f.property),
      ["replicas", "tags[0]"],
    );
    const preview = await provider.check("ProxyGroup", {}, pgInputs({ replicas: UNKNOWN, tags: UNKNOWN }));
    assert.deepEqual(preview.failures, []);
  });

  it("checks HA inputs without I/O: funnel and bad join tokens refused, unknowns tolerated", async () => {
    const bad = await provider.check(
      "TailnetIngress",
      {},
      ingressInputs("web", { funnel: true, joinToken: "not-a-token" }),
    );
    assert.deepEqual(
      bad.failures?.map((f) => f.property),
      ["funnel", "joinToken"],
    );
    const preview = await provider.check(
      "TailnetService",
      {},
      {
        ownerId: "proj/dev/db",
        service: { namespace: "data", name: "postgres" },
        proxyGroup: UNKNOWN,
        joinToken: UNKNOWN,
      },
    );
    assert.deepEqual(preview.failures, []);
    const unknownHost = await checked("TailnetIngress", ingressInputs("web", { hostname: UNKNOWN }));
    assert.equal(unknownHost.joinToken, undefined, "no default token while the name is unknown");
  });

  it("creates a ProxyGroup: its objects, one device per replica, and no valid auth key left", async () => {
    const news = await checked("ProxyGroup", pgInputs());
    const { id, outs } = await provider.create("ProxyGroup", news);
    pgOuts = outs;
    assert.equal(id, `${NS}/ingress`);
    assert.equal(outs.replicas, 2);
    assert.deepEqual(
      outs.devices.map((d: any) => [d.ordinal, d.hostname, d.fqdn]),
      [
        [0, "ingress-0", `ingress-0.${world.tailscale.tailnetDomain}`],
        [1, "ingress-1", `ingress-1.${world.tailscale.tailnetDomain}`],
      ],
    );
    for (const d of outs.devices) {
      assert.equal(d.tailnetIPs.length, 2);
      assert.ok(world.tailscale.devices().some((x) => x.nodeId === d.deviceId));
    }
    assert.deepEqual(outs.kubernetesObjects, [
      `Secret/${NS}/ingress-0-config`,
      `Secret/${NS}/ingress-1-config`,
      `Secret/${NS}/ingress-0`,
      `Secret/${NS}/ingress-1`,
      `ServiceAccount/${NS}/ingress`,
      `Role/${NS}/ingress`,
      `RoleBinding/${NS}/ingress`,
      `ConfigMap/${NS}/ingress-ingress-config`,
      `PodDisruptionBudget/${NS}/ingress`,
      `StatefulSet/${NS}/ingress`,
    ]);
    assert.deepEqual(pdb()?.spec, {
      maxUnavailable: 1,
      selector: {
        matchLabels: {
          "tailnet.pulumi.com/parent-resource-type": "proxygroup",
          "tailnet.pulumi.com/parent-resource": "ingress",
        },
      },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    });
    assert.equal(outs.configMapName, "ingress-ingress-config");
    assert.deepEqual(world.tailscale.validAuthKeys(), [], "every key was spent and revoked");
    for (const i of [0, 1]) {
      const config = configOf(i);
      assert.equal(config.AuthKey, undefined, "the spent key is no longer in the config");
      assert.equal(config.Hostname, `ingress-${i}`);
    }
    assert.deepEqual(
      world.tailscale.devices().map((d) => d.tags),
      [["tag:k8s"], ["tag:k8s"]],
    );
  });

  let webOuts: Record<string, any>;

  it("creates an HA ingress: Tailscale Service, serve config, certificate, advertised by every replica", async () => {
    const news = await checked("TailnetIngress", ingressInputs("web"));
    assert.equal(news.joinToken, joinTokenFor("svc:web", "proj/dev/web"), "check fills our own token in");
    const { id, outs } = await provider.create("TailnetIngress", news);
    webOuts = outs;
    const fqdn = `web.${world.tailscale.tailnetDomain}`;
    assert.equal(id, `${NS}/ingress/svc:web`);
    assert.equal(outs.serviceName, "svc:web");
    assert.equal(outs.fqdn, fqdn);
    assert.equal(outs.url, `https://${fqdn}/`);
    assert.equal(outs.certificate.state, "issued");
    assert.equal(outs.certificate.domain, fqdn);
    assert.equal(outs.certificateIssuances.length, 1);
    assert.equal(outs.joinToken, news.joinToken);

    const svc = world.tailscale.services().find((s) => s.name === "svc:web")!;
    assert.deepEqual(outs.addresses, svc.addrs);
    assert.deepEqual(svc.ports, ["tcp:443"]);
    assert.deepEqual(svc.tags, ["tag:k8s"]);
    assert.deepEqual(JSON.parse(svc.annotations["tailnet.pulumi.com/owners"]!).owners[0].id, "proj/dev/web");

    const frontend = world.kube.getObject("v1", "Service", "web", "frontend");
    assert.deepEqual(configMapKey("serve-config.json").Services["svc:web"], {
      TCP: { "443": { HTTPS: true } },
      Web: { [`${fqdn}:443`]: { Handlers: { "/": { Proxy: `http://${frontend.spec.clusterIP}:80/` } } } },
    });
    for (const i of [0, 1]) assert.deepEqual(configOf(i).AdvertiseServices, ["svc:web"]);
    await world.sim.waitIdle();
    assert.deepEqual(
      world.sim.pods().map((p) => [p.name, p.advertisedServices, p.certificates]),
      [
        ["ingress-0", ["svc:web"], [fqdn]],
        ["ingress-1", ["svc:web"], [fqdn]],
      ],
      "replica 0 issued the certificate, replica 1 reads it",
    );
    const certSecret = world.kube.getObject("v1", "Secret", NS, fqdn);
    const cert = new X509Certificate(Buffer.from(certSecret.data["tls.crt"], "base64").toString());
    assert.equal(cert.subjectAltName, `DNS:${fqdn}`);
    const role = world.kube.getObject("rbac.authorization.k8s.io/v1", "Role", NS, fqdn);
    assert.deepEqual(role.rules[0].resourceNames, [fqdn]);
    const binding = world.kube.getObject("rbac.authorization.k8s.io/v1", "RoleBinding", NS, fqdn);
    assert.deepEqual(binding.subjects, [
      { apiGroup: "", kind: "ServiceAccount", name: "ingress", namespace: NS },
    ]);
    assert.equal(world.sim.issuances().length, 1);
  });

  it("updates the ingress in place (tags, backends) and a ProxyGroup update keeps AdvertiseServices", async () => {
    const news = await checked(
      "TailnetIngress",
      ingressInputs("web", {
        tags: ["tag:k8s", "tag:web"],
        defaultBackend: { service: { namespace: "web", name: "api" }, port: 8080 },
      }),
    );
    const diff = await provider.diff("TailnetIngress", "x", webOuts, news);
    assert.equal(diff.changes, true);
    assert.deepEqual(diff.replaces, []);
    const { outs } = await provider.update("TailnetIngress", "x", webOuts, news);
    webOuts = outs;
    const svc = world.tailscale.services().find((s) => s.name === "svc:web")!;
    assert.deepEqual(svc.tags, ["tag:k8s", "tag:web"]);
    const api = world.kube.getObject("v1", "Service", "web", "api");
    assert.match(JSON.stringify(configMapKey("serve-config.json")), new RegExp(`${api.spec.clusterIP}:8080`));
    assert.equal(outs.certificateIssuances.length, 1, "no new certificate for an update");

    const pgNews = await checked("ProxyGroup", pgInputs({ proxyClass: { podLabels: { team: "net" } } }));
    const { outs: pg2 } = await provider.update("ProxyGroup", "x", pgOuts, pgNews);
    pgOuts = pg2;
    for (const i of [0, 1]) assert.deepEqual(configOf(i).AdvertiseServices, ["svc:web"]);
    assert.deepEqual(
      world.sim.pods().map((p) => [p.name, p.advertisedServices]),
      [
        ["ingress-0", ["svc:web"]],
        ["ingress-1", ["svc:web"]],
      ],
    );
  });

  let dbOuts: Record<string, any>;

  it("creates an HA TailnetService: DNAT entry, advertised once each replica reports its rules", async () => {
    const news = await checked("TailnetService", {
      ownerId: "proj/dev/postgres",
      service: { namespace: "data", name: "postgres" },
      proxyGroup,
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    });
    const { outs } = await provider.create("TailnetService", news);
    dbOuts = outs;
    assert.equal(outs.hostname, "data-postgres");
    assert.equal(outs.serviceName, "svc:data-postgres");
    assert.equal(outs.fqdn, `data-postgres.${world.tailscale.tailnetDomain}`);
    const svc = world.tailscale.services().find((s) => s.name === "svc:data-postgres")!;
    assert.deepEqual(outs.addresses, svc.addrs);
    assert.deepEqual(svc.ports, ["do-not-validate"]);
    const postgres = world.kube.getObject("v1", "Service", "data", "postgres");
    assert.deepEqual(configMapKey("ingress-config.json"), {
      "svc:data-postgres": {
        IPv4Mapping: { TailscaleServiceIP: svc.addrs[0], ClusterIP: postgres.spec.clusterIP },
      },
    });
    for (const p of world.sim.pods()) {
      assert.deepEqual(p.advertisedServices, ["svc:web", "svc:data-postgres"]);
      assert.ok(p.ingressConfigs?.["svc:data-postgres"]);
    }
  });

  /**
   * Rewrites the managedFields of every object of ours in the namespace as an earlier version's writes
   * (merge patches and updates, never an apply) left them: our entries merged into one Update entry
   * of `pulumi-tailnet`. Through the API, as a JSON patch.
   */
  async function asWrittenByEarlierVersion() {
    const kinds = [
      ["v1", "Secret", "secrets"],
      ["v1", "ConfigMap", "configmaps"],
      ["v1", "ServiceAccount", "serviceaccounts"],
      ["apps/v1", "StatefulSet", "statefulsets"],
      ["rbac.authorization.k8s.io/v1", "Role", "roles"],
      ["rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"],
    ];
    const union = (a: any, b: any): any => {
      for (const [k, v] of Object.entries(b)) a[k] = union(a[k] ?? {}, v);
      return a;
    };
    for (const [apiVersion, kind, plural] of kinds) {
      for (const o of world.kube.listObjects(apiVersion!, kind!, NS)) {
        const ours = (o.metadata.managedFields ?? []).filter((m: any) =>
          m.manager.startsWith("pulumi-tailnet"),
        );
        if (ours.length === 0) continue;
        const merged = {
          manager: "pulumi-tailnet",
          operation: "Update",
          apiVersion,
          fieldsType: "FieldsV1",
          fieldsV1: ours.reduce((t: any, m: any) => union(t, m.fieldsV1), {}),
        };
        const others = o.metadata.managedFields.filter((m: any) => !ours.includes(m));
        const base = apiVersion === "v1" ? "/api/v1" : `/apis/${apiVersion}`;
        const res = await world.kube.fetch(`${base}/namespaces/${NS}/${plural}/${o.metadata.name}`, {
          method: "PATCH",
          headers: {
            "Content-Type": "application/json-patch+json",
            Authorization: `Bearer ${world.kube.token}`,
          },
          body: JSON.stringify([
            { op: "replace", path: "/metadata/managedFields", value: [...others, merged] },
          ]),
        });
        assert.equal(res.status, 200, `${kind} ${o.metadata.name}: ${await res.text()}`);
      }
    }
  }

  it("objects an earlier version wrote without applying: an update removes what it no longer sets, and keeps every HA resource's entry", async () => {
    const labelled = pgInputs({
      proxyClass: { podLabels: { team: "net" }, statefulSetLabels: { tier: "edge" } },
    });
    ({ outs: pgOuts } = await provider.update(
      "ProxyGroup",
      "x",
      pgOuts,
      await checked("ProxyGroup", labelled),
    ));
    const sts = () => world.kube.getObject("apps/v1", "StatefulSet", NS, "ingress");
    assert.equal(sts().metadata.labels.tier, "edge");
    await asWrittenByEarlierVersion();
    const managers = sts().metadata.managedFields.map((m: any) => `${m.manager}/${m.operation}`);
    assert.ok(managers.includes("pulumi-tailnet/Update") && !managers.includes("pulumi-tailnet/Apply"));

    const news = await checked("ProxyGroup", pgInputs({ proxyClass: { podLabels: { team: "net" } } }));
    ({ outs: pgOuts } = await provider.update("ProxyGroup", "x", pgOuts, news));
    assert.equal(sts().metadata.labels.tier, undefined, "the label the ProxyGroup no longer sets is gone");
    assert.equal(sts().spec.template.metadata.labels.team, "net");
    assert.ok(configMapKey("serve-config.json").Services["svc:web"], "the HA ingress's entry stays");
    assert.ok(configMapKey("ingress-config.json")["svc:data-postgres"], "the HA service's entry stays");
    const cm = world.kube.getObject("v1", "ConfigMap", NS, "ingress-ingress-config");
    assert.deepEqual(
      Object.keys(JSON.parse(cm.metadata.annotations["tailnet.pulumi.com/service-owners"])).sort(),
      ["svc:data-postgres", "svc:web"],
    );
    // The ingress's update keeps its certificate Secret (not applied again while it holds everything
    // planned): the certificate replica 0 stored stays.
    const ingressNews = await checked(
      "TailnetIngress",
      ingressInputs("web", {
        tags: ["tag:k8s", "tag:web"],
        defaultBackend: { service: { namespace: "web", name: "api" }, port: 8080 },
      }),
    );
    ({ outs: webOuts } = await provider.update("TailnetIngress", "x", webOuts, ingressNews));
    const fqdn = `web.${world.tailscale.tailnetDomain}`;
    assert.ok(world.kube.getObject("v1", "Secret", NS, fqdn).data["tls.crt"], "the certificate stays");
    assert.equal(webOuts.certificate.state, "issued");
    for (const p of world.sim.pods())
      assert.deepEqual(p.advertisedServices, ["svc:web", "svc:data-postgres"]);
  });

  it("scales up (new replica advertises what the group serves) and down (device and Secrets removed)", async () => {
    const up = await checked(
      "ProxyGroup",
      pgInputs({ replicas: 3, proxyClass: { podLabels: { team: "net" } } }),
    );
    const keysBefore = world.tailscale.keys().length;
    const { outs: three } = await provider.update("ProxyGroup", "x", pgOuts, up);
    assert.equal(three.devices.length, 3);
    assert.equal(world.tailscale.keys().length, keysBefore + 1, "a key for the new replica only");
    assert.deepEqual(world.tailscale.validAuthKeys(), []);
    assert.deepEqual(configOf(2).AdvertiseServices, ["svc:web", "svc:data-postgres"]);
    assert.deepEqual(
      world.sim.pods().map((p) => p.advertisedServices),
      [
        ["svc:web", "svc:data-postgres"],
        ["svc:web", "svc:data-postgres"],
        ["svc:web", "svc:data-postgres"],
      ],
    );

    const down = await checked(
      "ProxyGroup",
      pgInputs({ replicas: 1, proxyClass: { podLabels: { team: "net" } } }),
    );
    const removed = three.devices.slice(1).map((d: any) => d.deviceId);
    const { outs: one } = await provider.update("ProxyGroup", "x", three, down);
    pgOuts = one;
    assert.equal(one.devices.length, 1);
    assert.equal(pdb(), undefined, "one replica has no PodDisruptionBudget: it would block every drain");
    assert.ok(!one.kubernetesObjects.some((o: string) => o.startsWith("PodDisruptionBudget/")));
    for (const id of removed) assert.ok(!world.tailscale.devices().some((d) => d.nodeId === id));
    for (const name of ["ingress-1", "ingress-1-config", "ingress-2", "ingress-2-config"]) {
      assert.equal(world.kube.getObject("v1", "Secret", NS, name), undefined, name);
    }
    assert.deepEqual(configOf(0).AdvertiseServices, ["svc:web", "svc:data-postgres"]);
    const back = await checked("ProxyGroup", pgInputs({ proxyClass: { podLabels: { team: "net" } } }));
    ({ outs: pgOuts } = await provider.update("ProxyGroup", "x", one, back));
    assert.equal(pgOuts.devices.length, 2);
    assert.equal(pdb()?.spec?.maxUnavailable, 1, "two replicas have one again");
  });

  it("refuses a Tailscale Service that is not ours before any change, naming it and its owner", async () => {
    const apiKey = world.tailscale.createApiKey();
    const res = await fetch(`${world.tailscale.url}/api/v2/tailnet/-/vip-services/svc:grafana`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        name: "svc:grafana",
        ports: ["tcp:443"],
        tags: ["tag:k8s"],
        annotations: { "tailscale.com/owner-references": '{"ownerRefs":[{"operatorID":"nOp"}]}' },
      }),
    });
    assert.equal(res.status, 200);
    const before = JSON.stringify(configMapKey("serve-config.json"));
    const news = await checked("TailnetIngress", ingressInputs("grafana"));
    await assert.rejects(
      provider.create("TailnetIngress", news),
      /Tailscale Service svc:grafana already exists and is not managed by pulumi-tailnet \(it is managed by the Tailscale Kubernetes Operator\)/,
    );
    assert.equal(JSON.stringify(configMapKey("serve-config.json")), before);
    assert.equal(
      world.kube.getObject("v1", "Secret", NS, `grafana.${world.tailscale.tailnetDomain}`),
      undefined,
    );

    const other = await checked("TailnetIngress", ingressInputs("web", { ownerId: "other/prod/web" }));
    await assert.rejects(
      provider.create("TailnetIngress", other),
      /svc:web is already configured on ProxyGroup tailscale\/ingress-ingress-config by Pulumi resource "proj\/dev\/web"/,
    );
  });

  it("refuses to delete a ProxyGroup that still serves, naming what it serves", async () => {
    await assert.rejects(
      provider.remove("ProxyGroup", "x", pgOuts),
      /still serves svc:data-postgres \(Pulumi resource "proj\/dev\/postgres"\), svc:web \(Pulumi resource "proj\/dev\/web"\)/,
    );
    assert.ok(world.kube.getObject("apps/v1", "StatefulSet", NS, "ingress"));
  });

  it("reads (refresh) what exists, and reports a service deleted out of band as gone", async () => {
    const r = await provider.read("TailnetIngress", "x", webOuts);
    assert.equal(r.id, "x");
    assert.equal((r.props as any).certificate.state, "issued");
    const pr = await provider.read("ProxyGroup", "x", pgOuts);
    assert.equal((pr.props as any).devices.length, 2);
  });

  it("a refresh reports a backend Service changed since the HA resource was written; the update follows it", async () => {
    const ingressNews = await checked(
      "TailnetIngress",
      ingressInputs("web", {
        tags: ["tag:k8s", "tag:web"],
        defaultBackend: { service: { namespace: "web", name: "api" }, port: 8080 },
      }),
    );
    const dbNews = await checked("TailnetService", {
      ownerId: "proj/dev/postgres",
      service: { namespace: "data", name: "postgres" },
      proxyGroup,
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    });
    const refreshed = async (kind: string, outs: Record<string, any>, news: Record<string, any>) => {
      const r = await provider.read(kind, "x", outs);
      return { props: r.props as Record<string, any>, diff: await provider.diff(kind, "x", r.props!, news) };
    };
    assert.equal((await refreshed("TailnetIngress", webOuts, ingressNews)).diff.changes, false);
    assert.equal((await refreshed("TailnetService", dbOuts, dbNews)).diff.changes, false);

    // Both backends recreated outside Pulumi with other cluster IPs (the postgres one with a new port).
    world.kube.remove("v1", "Service", "web", "api");
    world.kube.remove("v1", "Service", "data", "postgres");
    await world.addService("web", "api", {
      selector: { app: "api" },
      clusterIP: "10.96.0.201",
      ports: [{ name: "http", port: 8080 }],
    });
    await world.addService("data", "postgres", {
      selector: { app: "postgres" },
      clusterIP: "10.96.0.202",
      ports: [{ name: "postgres", port: 5433 }],
    });
    const web = await refreshed("TailnetIngress", webOuts, ingressNews);
    const drift = (d: any) => d.detailedDiff?.backends as { kind: string; reason: string } | undefined;
    assert.equal(drift(web.diff)?.kind, "update", "the refresh step shows the drift");
    assert.match(drift(web.diff)!.reason, /Service web\/api: clusterIPs \["[\d.]+"\] → \["10\.96\.0\.201"\]/);
    const db = await refreshed("TailnetService", dbOuts, dbNews);
    assert.equal(drift(db.diff)?.kind, "update");
    assert.match(drift(db.diff)!.reason, /Service data\/postgres: clusterIPs .*"10\.96\.0\.202"\], ports /);
    assert.match(JSON.stringify(configMapKey("serve-config.json")), /10\.96\.0\.\d+:8080/);
    assert.doesNotMatch(
      JSON.stringify(configMapKey("serve-config.json")),
      /10\.96\.0\.201/,
      "refresh writes nothing",
    );

    // The next up: the update rewrites the entries from the Services as they are.
    ({ outs: webOuts } = await provider.update("TailnetIngress", "x", web.props, ingressNews));
    ({ outs: dbOuts } = await provider.update("TailnetService", "x", db.props, dbNews));
    assert.match(
      JSON.stringify(configMapKey("serve-config.json").Services["svc:web"]),
      /http:\/\/10\.96\.0\.201:8080\//,
    );
    assert.equal(
      configMapKey("ingress-config.json")["svc:data-postgres"].IPv4Mapping.ClusterIP,
      "10.96.0.202",
    );
    assert.equal(
      (await provider.diff("TailnetIngress", "x", webOuts, ingressNews)).changes,
      false,
      "nothing left to do",
    );
    assert.equal((await refreshed("TailnetIngress", webOuts, ingressNews)).diff.changes, false);
    assert.equal((await refreshed("TailnetService", dbOuts, dbNews)).diff.changes, false);
  });

  it("deletes in the safe order and leaves nothing behind", async () => {
    const fqdn = `web.${world.tailscale.tailnetDomain}`;
    await provider.remove("TailnetIngress", "x", webOuts);
    assert.equal(configMapKey("serve-config.json").Services, undefined);
    for (const p of world.sim.pods()) assert.deepEqual(p.advertisedServices, ["svc:data-postgres"]);
    assert.ok(!world.tailscale.services().some((s) => s.name === "svc:web"));
    assert.equal(world.kube.getObject("v1", "Secret", NS, fqdn), undefined);
    assert.equal(world.kube.getObject("rbac.authorization.k8s.io/v1", "Role", NS, fqdn), undefined);
    await provider.remove("TailnetIngress", "x", webOuts); // idempotent

    await provider.remove("TailnetService", "x", dbOuts);
    assert.deepEqual(configMapKey("ingress-config.json"), {});
    for (const p of world.sim.pods()) assert.deepEqual(p.advertisedServices, []);

    await provider.remove("ProxyGroup", "x", pgOuts);
    await provider.remove("ProxyGroup", "x", pgOuts); // idempotent
    const left = world.leftovers();
    assert.deepEqual(left.kubernetesObjects, []);
    assert.deepEqual(left.devices, []);
    assert.deepEqual(left.validAuthKeys, []);
    assert.deepEqual(
      left.services.map((s) => s.name),
      ["svc:grafana"],
      "only the foreign service, untouched",
    );
    assert.deepEqual(world.sim.errors, []);
  });
});
