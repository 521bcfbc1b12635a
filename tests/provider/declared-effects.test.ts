// Every change a kind's declaration (provider/plan/schema/) says is applied in place really is: for
// each such field, in each mode, the resource is created, the field changed, the diff must classify it
// as the declaration says (in place, that field alone), and the update must change exactly what the
// declaration names as its target (the StatefulSet, the serve config, the DNAT config, the Tailscale
// Service, the replicas' config, the objects' metadata) or, for a target of `state`, nothing outside
// Pulumi's state: no Kubernetes or Tailscale write, and the new value in the outputs; for `record`, no
// request at all. A field whose
// effect is `none` never causes a diff. Each table below must name every in-place field of its kind:
// adding one to a declaration without a row here fails the test, with the field's name.
import assert from "node:assert/strict";
import * as provider from "../../provider";
import { joinTokenFor } from "../../provider/plan/ha";
import { CERTIFICATE_BUDGET } from "../../provider/plan/schema/certificateBudget";
import { effectIn, type KindSchema, type Target } from "../../provider/plan/schema/field";
import { PROXY_GROUP } from "../../provider/plan/schema/proxyGroup";
import { TAILNET_INGRESS } from "../../provider/plan/schema/tailnetIngress";
import { TAILNET_SERVICE } from "../../provider/plan/schema/tailnetService";
import { type LocalWorld, startLocalWorld } from "../support/world";

const NS = "tailscale";

/** The fields a program sets whose change is applied in place (or refused) in a mode. */
function inPlaceFields(schema: KindSchema<any, any>, ha: boolean): { key: string; target?: Target }[] {
  const out: { key: string; target?: Target }[] = [];
  for (const [key, spec] of Object.entries(schema.fields)) {
    const origin = spec.origin ?? "argument";
    if (origin !== "argument" && origin !== "sdk") continue;
    const effect = effectIn<{ kind: string; target?: Target }>(spec.change, ha);
    if (effect.kind === "inPlace") out.push({ key, target: effect.target });
    else if (effect.kind === "refused") out.push({ key });
  }
  return out;
}

/** The fields whose effect is `none`. */
function noEffectFields(schema: KindSchema<any, any>): string[] {
  return Object.entries(schema.fields)
    .filter(([, spec]) => (spec.change as { kind?: string }).kind === "none")
    .map(([key]) => key);
}

interface Case {
  kind: "TailnetService" | "TailnetIngress" | "ProxyGroup" | "CertificateBudget";
  schema: KindSchema<any, any>;
  ha: boolean;
  inputs(): Record<string, unknown>;
  /** The changed value of every in-place field (in declaration order, each applied on top of the last). */
  samples: Record<string, unknown>;
  /** What of the world each target of this kind is. */
  observe: Partial<Record<Target, () => unknown>>;
  /**
   * Inputs set back, by an update of their own, before a field's row: for a sample that check refuses
   * together with an earlier row's (`httpEndpoint` after `httpRedirect`).
   */
  before?: Record<string, Record<string, unknown>>;
}

describe("declared effects: every in-place field is applied by update, every no-effect field never diffs", function () {
  this.timeout(120_000);
  let world: LocalWorld;
  const pg = { name: "shared", namespace: NS };

  async function checked(kind: string, news: Record<string, unknown>) {
    const result = await provider.check(kind, {}, news);
    assert.deepEqual(result.failures ?? [], []);
    return result.inputs as Record<string, any>;
  }

  const object = (apiVersion: string, kind: string, namespace: string, name: string) => () =>
    world.kube.getObject(apiVersion, kind, namespace, name);
  const statefulSet = (namespace: string, name: string) => () =>
    object("apps/v1", "StatefulSet", namespace, name)()?.spec;
  const secretKey = (namespace: string, name: string, key: string) => () =>
    object("v1", "Secret", namespace, name)()?.data?.[key];
  const configMapKey = (key: string) => () =>
    object("v1", "ConfigMap", NS, `${pg.name}-ingress-config`)()?.binaryData?.[key];
  const tailscaleService = (name: string) => () => world.tailscale.services().find((s) => s.name === name);

  /** Writes by the product since the last reset: Kubernetes (by the deployer) and the Tailscale API. */
  function writes(): string[] {
    const kube = world.kube.requests
      .filter((r) => r.user === world.deployer.user && r.class === "write" && !r.path.endsWith("/exec"))
      .map((r) => `${r.method} ${r.path}`);
    const tailscale = world.tailscale.requests
      .filter((r) => r.method !== "GET" && !r.path.includes("oauth"))
      .map((r) => `${r.method} ${r.path}`);
    return [...kube, ...tailscale];
  }

  /** Every request by the product since the last reset, reads included. */
  function requests(): string[] {
    const kube = world.kube.requests
      .filter((r) => r.user === world.deployer.user)
      .map((r) => `${r.method} ${r.path}`);
    return [...kube, ...world.tailscale.requests.map((r) => `${r.method} ${r.path}`)];
  }

  before(async () => {
    world = await startLocalWorld();
    world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    await world.addService("web", "hello", {
      selector: { app: "hello" },
      ports: [{ name: "http", port: 80 }],
    });
    await world.addService("web", "api", { selector: { app: "api" }, ports: [{ name: "http", port: 8080 }] });
    await world.addService("data", "db", { selector: { app: "db" }, ports: [{ name: "pg", port: 5432 }] });
    await world.addService("data", "replica", { selector: { app: "replica" }, ports: [{ port: 5432 }] });
    const group = await checked("ProxyGroup", {
      ownerId: "proj/dev/shared",
      ...pg,
      type: "ingress",
      replicas: 1,
      credentials: world.credentials,
      customTimeouts: { create: "30s", update: "30s", delete: "30s" },
    });
    await provider.create("ProxyGroup", group);
  });
  after(async () => {
    await world?.stop();
  });

  const common = () => ({
    credentials: world.credentials,
    customTimeouts: { create: "30s", update: "30s", delete: "30s" },
  });
  const hello = { service: { namespace: "web", name: "hello" }, port: "http" };
  const api = { service: { namespace: "web", name: "api" }, port: 8080 };
  const otherToken = () => joinTokenFor("svc:x", "other/stack/x");
  /** The ingress fields that only rewrite the serve config, changed (in declaration order). */
  const serveConfigSamples = {
    defaultBackend: api,
    rules: [{ paths: [{ path: "/hello", backend: hello }] }],
    funnel: true,
    httpRedirect: true,
    httpEndpoint: true,
    waitForCertificate: false,
    backendProtocol: "https+insecure",
  };

  const cases: Case[] = [
    {
      kind: "TailnetService",
      schema: TAILNET_SERVICE,
      ha: false,
      inputs: () => ({
        ownerId: "proj/dev/db",
        service: { namespace: "data", name: "db" },
        hostname: "db",
        namespace: "data",
        ...common(),
      }),
      samples: {
        service: { namespace: "data", name: "replica" },
        proxyClass: { podLabels: { team: "db" } },
        joinToken: "f".repeat(32),
        customTimeouts: { create: "45s", update: "45s", delete: "45s" },
      },
      observe: { statefulSet: statefulSet("data", "ts-db") },
    },
    {
      kind: "TailnetService",
      schema: TAILNET_SERVICE,
      ha: true,
      inputs: () => ({
        ownerId: "proj/dev/db-ha",
        service: { namespace: "data", name: "db" },
        hostname: "db-ha",
        proxyGroup: pg,
        ...common(),
      }),
      samples: {
        service: { namespace: "data", name: "replica" },
        namespace: "elsewhere",
        tags: ["tag:k8s", "tag:db"],
        proxyClass: { podLabels: { team: "db" } },
        joinToken: otherToken(),
        customTimeouts: { create: "45s", update: "45s", delete: "45s" },
      },
      observe: {
        dnatConfig: configMapKey("ingress-config.json"),
        tailscaleService: tailscaleService("svc:db-ha"),
      },
    },
    {
      kind: "TailnetIngress",
      schema: TAILNET_INGRESS,
      ha: false,
      inputs: () => ({
        ownerId: "proj/dev/hello",
        hostname: "hello",
        namespace: "web",
        defaultBackend: hello,
        ...common(),
      }),
      samples: {
        ...serveConfigSamples,
        proxyClass: { podLabels: { team: "web" } },
        joinToken: "f".repeat(32),
        customTimeouts: { create: "45s", update: "45s", delete: "45s" },
      },
      observe: {
        serveConfig: secretKey("web", "ts-hello-0", "serve-config"),
        statefulSet: statefulSet("web", "ts-hello"),
      },
    },
    {
      kind: "TailnetIngress",
      schema: TAILNET_INGRESS,
      ha: true,
      inputs: () => ({
        ownerId: "proj/dev/hello-ha",
        hostname: "hello-ha",
        defaultBackend: hello,
        proxyGroup: pg,
        ...common(),
      }),
      samples: {
        ...serveConfigSamples,
        namespace: "elsewhere",
        tags: ["tag:k8s", "tag:web"],
        proxyClass: { podLabels: { team: "web" } },
        joinToken: otherToken(),
        customTimeouts: { create: "45s", update: "45s", delete: "45s" },
      },
      observe: {
        serveConfig: configMapKey("serve-config.json"),
        tailscaleService: tailscaleService("svc:hello-ha"),
      },
      before: { httpEndpoint: { httpRedirect: false } },
    },
    {
      kind: "ProxyGroup",
      schema: PROXY_GROUP,
      ha: false,
      inputs: () => ({
        ownerId: "proj/dev/scaled",
        name: "scaled",
        namespace: NS,
        type: "ingress",
        replicas: 1,
        ...common(),
      }),
      samples: {
        ownerId: "proj/dev/scaled-renamed",
        replicas: 2,
        hostnamePrefix: "edge",
        tags: ["tag:k8s", "tag:web"],
        proxyClass: { podLabels: { team: "net" } },
        shareAcmeAccount: true,
        customTimeouts: { create: "45s", update: "45s", delete: "45s" },
      },
      observe: {
        statefulSet: statefulSet(NS, "scaled"),
        replicaConfig: () => [0, 1].map((i) => secretKey(NS, `scaled-${i}-config`, "cap-106.hujson")()),
        metadata: () =>
          [
            object("apps/v1", "StatefulSet", NS, "scaled")(),
            object("v1", "ServiceAccount", NS, "scaled")(),
            object("v1", "ConfigMap", NS, "scaled-ingress-config")(),
            object("v1", "Secret", NS, "scaled-0")(),
          ].map((o) => ({ labels: o?.metadata.labels, annotations: o?.metadata.annotations })),
      },
    },
    {
      kind: "CertificateBudget",
      schema: CERTIFICATE_BUDGET,
      ha: false,
      inputs: () => ({ ownerId: "proj/dev/budget", ingresses: [], peers: {} }),
      samples: {
        ingresses: [{ resource: "urn:pulumi:dev::proj::TailnetIngress::web", id: "web", hostname: "web" }],
        peers: { "proj/other": [] },
        limits: { production: { perDomain: 40 } },
      },
      observe: {},
    },
  ];

  for (const c of cases) {
    const mode =
      c.kind === "TailnetService" || c.kind === "TailnetIngress"
        ? c.ha
          ? " on a ProxyGroup"
          : " standalone"
        : "";
    it(`${c.kind}${mode}`, async () => {
      const fields = inPlaceFields(c.schema, c.ha);
      assert.deepEqual(
        Object.keys(c.samples),
        fields.map((f) => f.key),
        `the table of ${c.kind}${mode} must give a changed value for every field declared in place, in declaration order`,
      );
      let inputs = await checked(c.kind, c.inputs());
      const created = await provider.create(c.kind, inputs);
      const id = created.id;
      let outs = created.outs as Record<string, any>;

      for (const key of noEffectFields(c.schema)) {
        const d = await provider.diff(c.kind, id, outs, { ...inputs, [key]: { changed: true } });
        assert.equal(d.changes, false, `${key} is declared without effect, so changing it is no change`);
      }

      for (const { key, target } of fields) {
        const sample = c.samples[key];
        if (target === undefined) {
          const refused = await provider.check(c.kind, {}, { ...inputs, [key]: sample });
          assert.ok(
            refused.failures?.some((f) => f.property === key),
            `${key} is declared refused in this mode, so check must refuse it`,
          );
          continue;
        }
        if (c.before?.[key]) {
          inputs = await checked(c.kind, { ...inputs, ...c.before[key] });
          outs = (await provider.update(c.kind, id, outs, inputs)).outs as Record<string, any>;
        }
        const news = await checked(c.kind, { ...inputs, [key]: sample });
        const d = (await provider.diff(c.kind, id, outs, news)) as {
          detailedDiff?: Record<string, { kind: string }>;
        };
        assert.equal((d as { changes?: boolean }).changes, true, `a new ${key} is a change`);
        assert.deepEqual((d as { replaces?: string[] }).replaces ?? [], [], `${key} is declared in place`);
        if (d.detailedDiff) assert.deepEqual(Object.keys(d.detailedDiff), [key], `only ${key} changed`);
        const observe = c.observe[target];
        const before = observe?.();
        world.kube.resetCounts();
        world.tailscale.resetCounts();
        outs = (await provider.update(c.kind, id, outs, news)).outs as Record<string, any>;
        inputs = news;
        if (target === "record") {
          assert.deepEqual(requests(), [], `${key} is declared to be only recorded: no API call at all`);
          assert.deepEqual(outs[key], sample, `the new ${key} is recorded`);
        } else if (target === "state") {
          assert.deepEqual(writes(), [], `${key} is declared to change nothing outside Pulumi's state`);
          assert.deepEqual(outs[key], sample, `the new ${key} is recorded`);
        } else {
          assert.ok(observe, `the case must say what of the world target ${target} is`);
          assert.notDeepEqual(observe(), before, `a new ${key} must rewrite its target, ${target}`);
        }
      }
      await provider.remove(c.kind, id, outs);
    });
  }
});
