// deploy/deployer-rbac.yaml is exactly what the product needs: with it, the lifecycles below run as the
// deployer identity (the world binds nothing else to it); every verb of every rule is needed, by a
// request that no other granted rule allows or by the escalation check for the proxies' Roles; and with
// any one rule removed, the lifecycle that needs it fails with an error naming the missing permission.
//
// Speed: four short lifecycles cover every product path that touches Kubernetes (a standalone service
// with its metrics Service and ServiceMonitor (the world has the Prometheus Operator's CRD) and drift
// repaired by an update, a standalone ingress with its certificate over pods/exec, a ProxyGroup scaled
// with an HA ingress, and a migration both ways, which finds the other side by name in namespaces the
// Roles cover); each removed rule reruns only the first lifecycle that needs it, and only until it fails.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import * as provider from "../../provider";
import { breakdownRule, type PolicyRule, ruleAllows, uncovered } from "../support/kube-api/rbac";
import { SERVICE_MONITOR_CRD } from "../support/prometheus-operator-crds";
import {
  DEPLOYER_RBAC_PATH,
  type LocalWorld,
  type LocalWorldOptions,
  startLocalWorld,
} from "../support/world";

const NS = "tailscale";
const MANIFEST = fs.readFileSync(DEPLOYER_RBAC_PATH, "utf8");

type Scope = "proxies" | "backends" | "kube-system" | "cluster";

interface RuleRef {
  label: string;
  doc: number;
  index: number;
  rule: PolicyRule;
  scope: Scope;
}

/** The manifest's documents (placeholders left in: the world substitutes them). */
const DOCS = yaml.loadAll(MANIFEST) as any[];
const RULES: RuleRef[] = DOCS.flatMap((d, doc) =>
  (d?.rules ?? []).map((rule: PolicyRule, index: number) => ({
    label: `${d.kind} ${d.metadata.name} rules[${index}] (${(rule.verbs ?? []).join(",")} ${(rule.resources ?? []).join(",")})`,
    doc,
    index,
    rule,
    scope: (d.kind === "ClusterRole"
      ? "cluster"
      : d.metadata.namespace === "kube-system"
        ? "kube-system"
        : d.metadata.namespace === "$(BACKENDS_NAMESPACE)"
          ? "backends"
          : "proxies") as Scope,
  })),
);

/** The manifest without one rule, as YAML again. */
function without(r: RuleRef): string {
  const docs = structuredClone(DOCS);
  docs[r.doc].rules.splice(r.index, 1);
  return docs.map((d) => yaml.dump(d)).join("---\n");
}

interface Lifecycle {
  /** Which namespaced Roles the namespaces get (the others get both). */
  grants: Record<string, ("proxies" | "backends")[]>;
  run(world: LocalWorld): Promise<void>;
}

async function checked(kind: string, news: Record<string, unknown>, olds: Record<string, unknown> = {}) {
  const r = await provider.check(kind, olds, news);
  assert.deepEqual(r.failures ?? [], [], `${kind} inputs`);
  return r.inputs as Record<string, any>;
}

const common = (world: LocalWorld) => ({
  credentials: world.credentials,
  customTimeouts: { create: "20s", update: "20s", delete: "20s" },
});

/** What a user's edit of our objects does; the next update applies them back (merge patches). */
function drift(world: LocalWorld, objects: [string, string, string, string][]): void {
  for (const [apiVersion, kind, namespace, name] of objects) {
    const o = world.kube.getObject(apiVersion, kind, namespace, name);
    assert.ok(o, `${kind} ${namespace}/${name}`);
    const key = Object.keys(o.metadata.labels ?? {}).find((k) => k !== "tailnet.pulumi.com/owner");
    assert.ok(key, `${kind} ${name} has a label of ours`);
    o.metadata.labels[key] = "edited";
    world.kube.remove(apiVersion, kind, namespace, name);
    delete o.metadata.resourceVersion;
    delete o.metadata.uid;
    delete o.metadata.creationTimestamp;
    world.kube.seed(o);
  }
}

const LIFECYCLES: Record<string, Lifecycle> = {
  standalone: {
    // The proxy in a namespace of its own, apart from its backend's.
    grants: { [NS]: ["proxies"], data: ["backends"] },
    async run(world) {
      world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
      await world.addService("data", "postgres", {
        selector: { app: "pg" },
        ports: [{ name: "pg", port: 5432 }],
      });
      const base = {
        ownerId: "p/s/pg",
        service: { namespace: "data", name: "postgres" },
        namespace: NS,
        hostname: "pg",
        ...common(world),
      };
      const withMetrics = await checked("TailnetService", {
        ...base,
        proxyClass: { enableMetrics: true, serviceMonitor: { enable: true } },
      });
      const made = await provider.create("TailnetService", withMetrics);
      drift(world, [
        ["v1", "ServiceAccount", NS, "ts-pg"],
        ["rbac.authorization.k8s.io/v1", "Role", NS, "ts-pg"],
        ["v1", "Service", NS, "ts-pg-metrics"],
      ]);
      const again = await provider.update("TailnetService", made.id, made.outs, withMetrics);
      const off = await checked("TailnetService", base, withMetrics);
      const updated = await provider.update("TailnetService", made.id, again.outs, off);
      await provider.remove("TailnetService", made.id, updated.outs);
    },
  },
  ingress: {
    grants: {},
    async run(world) {
      await world.addService("web", "frontend");
      const made = await provider.create(
        "TailnetIngress",
        await checked("TailnetIngress", {
          ownerId: "p/s/web",
          hostname: "web",
          defaultBackend: { service: { namespace: "web", name: "frontend" }, port: 80 },
          ...common(world),
        }),
      );
      await provider.remove("TailnetIngress", made.id, made.outs);
    },
  },
  ha: {
    grants: { [NS]: ["proxies"], web: ["backends"] },
    async run(world) {
      world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
      await world.addService("web", "frontend");
      // With static endpoints: the Nodes are listed, a NodePort Service per replica applied and deleted.
      const pgIn = (replicas: number) => ({
        ownerId: "p/s/edge",
        name: "edge",
        namespace: NS,
        type: "ingress",
        replicas,
        proxyClass: { staticEndpoints: { nodePort: { ports: [{ port: 30100, endPort: 30101 }] } } },
        ...common(world),
      });
      const one = await checked("ProxyGroup", pgIn(1));
      const pg = await provider.create("ProxyGroup", one);
      const ing = await provider.create(
        "TailnetIngress",
        await checked("TailnetIngress", {
          ownerId: "p/s/app",
          hostname: "app",
          defaultBackend: { service: { namespace: "web", name: "frontend" }, port: 80 },
          proxyGroup: { name: "edge", namespace: NS },
          ...common(world),
        }),
      );
      // Layer 3 on the group: its backend's EndpointSlices are read before it is advertised.
      const db = await provider.create(
        "TailnetService",
        await checked("TailnetService", {
          ownerId: "p/s/db",
          service: { namespace: "web", name: "frontend" },
          proxyGroup: { name: "edge", namespace: NS },
          ...common(world),
        }),
      );
      await provider.remove("TailnetService", db.id, db.outs);
      drift(world, [["v1", "ConfigMap", NS, "edge-ingress-config"]]);
      const two = await checked("ProxyGroup", pgIn(2), one);
      const up = await provider.update("ProxyGroup", pg.id, pg.outs, two);
      const down = await provider.update(
        "ProxyGroup",
        pg.id,
        up.outs,
        await checked("ProxyGroup", pgIn(1), two),
      );
      await provider.remove("TailnetIngress", ing.id, ing.outs);
      await provider.remove("ProxyGroup", pg.id, down.outs);
    },
  },
  migration: {
    grants: { [NS]: ["proxies"] },
    async run(world) {
      world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
      await world.addService("shop", "shop");
      const pg = await provider.create(
        "ProxyGroup",
        await checked("ProxyGroup", {
          ownerId: "p/s/edge",
          name: "edge",
          namespace: NS,
          type: "ingress",
          replicas: 1,
          ...common(world),
        }),
      );
      const shop = (extra: Record<string, unknown> = {}) => ({
        ownerId: "p/s/shop",
        hostname: "shop",
        defaultBackend: { service: { namespace: "shop", name: "shop" }, port: "http" },
        ...common(world),
        ...extra,
      });
      // standalone → HA (the new one first, as a create-before-delete replacement), then back.
      const old = await provider.create("TailnetIngress", await checked("TailnetIngress", shop()));
      const ha = await provider.create(
        "TailnetIngress",
        await checked("TailnetIngress", shop({ proxyGroup: { name: "edge", namespace: NS } })),
      );
      await provider.remove("TailnetIngress", old.id, old.outs);
      const back = await provider.create("TailnetIngress", await checked("TailnetIngress", shop()));
      await provider.remove("TailnetIngress", ha.id, ha.outs);
      await provider.remove("TailnetIngress", back.id, back.outs);
      await provider.remove("ProxyGroup", pg.id, pg.outs);
    },
  },
};

function worldOptions(name: string, deployerRbac?: string): LocalWorldOptions {
  const grants = LIFECYCLES[name]!.grants;
  return { deployerRbac, grants: (ns) => grants[ns] ?? ["proxies", "backends"], crds: [SERVICE_MONITOR_CRD] };
}

type Attrs = NonNullable<LocalWorld["kube"]["requests"][number]["authz"]>;

/** The deployer's allowed requests of one lifecycle with the full manifest, and the proxies' Roles it wrote. */
interface Trace {
  name: string;
  requests: Attrs[];
  proxyRoles: { namespace: string; rules: PolicyRule[] }[];
}

async function trace(name: string): Promise<Trace> {
  const world = await startLocalWorld(worldOptions(name));
  const proxyRoles: Trace["proxyRoles"] = [];
  world.kube.onWrite((e) => {
    if (e.type !== "DELETED" && e.obj.kind === "Role" && !e.obj.metadata.name.startsWith("pulumi-tailnet")) {
      proxyRoles.push({ namespace: e.obj.metadata.namespace, rules: e.obj.rules ?? [] });
    }
  });
  try {
    await LIFECYCLES[name]!.run(world);
    await new Promise((r) => setImmediate(r));
    const requests: Attrs[] = [];
    for (const r of world.kube.requests) {
      if (r.user !== world.deployer.user || !r.authz?.allowed) continue;
      requests.push(r.authz);
      // The exec upgrade's second, synthetic check (1.35+).
      if (r.execCreateAllowed) requests.push({ ...r.authz, verb: "create" });
      if (r.applyCreateAllowed) requests.push({ ...r.authz, verb: "create" });
    }
    return { name, requests, proxyRoles };
  } finally {
    await world.stop();
  }
}

/** Whether the rule (as granted to `name`'s world) applies in a request's namespace. */
function inScope(r: RuleRef, lifecycle: string, namespace: string): boolean {
  if (r.scope === "cluster") return true;
  if (r.scope === "kube-system") return namespace === "kube-system";
  if (namespace === "" || namespace === "kube-system" || namespace === "pulumi-tailnet") return false;
  return (LIFECYCLES[lifecycle]!.grants[namespace] ?? ["proxies", "backends"]).includes(r.scope);
}

/** The rule with only `verb`, resourceNames placeholders read as "the namespace itself". */
function single(r: RuleRef, verb: string, namespace: string): PolicyRule {
  const names = (r.rule.resourceNames ?? []).map((n) => (n.startsWith("$(") ? namespace : n));
  return { ...r.rule, verbs: [verb], resourceNames: names.length > 0 ? names : undefined };
}

function allows(rule: PolicyRule, a: Attrs): boolean {
  return ruleAllows(
    {
      user: { name: "", groups: [] },
      verb: a.verb,
      resourceRequest: a.path === "",
      path: a.path,
      apiGroup: a.apiGroup,
      apiVersion: "",
      namespace: a.namespace,
      resource: a.resource,
      subresource: a.subresource,
      name: a.name,
    },
    rule,
  );
}

/**
 * The manifest's grants in a namespace of a lifecycle's world, without (rule, verb). The cluster-wide
 * rules are optional (the manifest says to leave them out unless a ProxyClass asks for a
 * ServiceMonitor), so they never make a namespaced rule redundant.
 */
function grantedExcept(lifecycle: string, namespace: string, skip: RuleRef, verb: string): PolicyRule[] {
  return RULES.filter(
    (o) => inScope(o, lifecycle, namespace) && (o.scope !== "cluster" || skip.scope === "cluster"),
  ).flatMap((o) =>
    (o.rule.verbs ?? []).filter((v) => !(o === skip && v === verb)).map((v) => single(o, v, namespace)),
  );
}

/**
 * Whether (rule, verb) is needed in a trace: a request or a proxy Role's rule that nothing else covers.
 * A wait lists the object by name and watches it unless it is already as awaited, which depends on
 * timing: such a list makes `watch` on its resource needed too.
 */
function needs(t: Trace, r: RuleRef, verb: string): boolean {
  const waits = (a: Attrs): Attrs[] => (a.verb === "list" && a.name ? [a, { ...a, verb: "watch" }] : [a]);
  const byRequest = t.requests
    .flatMap(waits)
    .some(
      (a) =>
        inScope(r, t.name, a.namespace) &&
        allows(single(r, verb, a.namespace), a) &&
        !grantedExcept(t.name, a.namespace, r, verb).some((o) => allows(o, a)),
    );
  const byEscalation = t.proxyRoles.some(
    (role) =>
      inScope(r, t.name, role.namespace) &&
      role.rules
        .flatMap(breakdownRule)
        .some(
          (sub) =>
            uncovered([single(r, verb, role.namespace)], [sub]).length === 0 &&
            uncovered(grantedExcept(t.name, role.namespace, r, verb), [sub]).length > 0,
        ),
  );
  return byRequest || byEscalation;
}

describe("deployer RBAC manifest (deploy/deployer-rbac.yaml)", function () {
  this.timeout(300_000);
  const traces: Trace[] = [];

  before(async () => {
    for (const name of Object.keys(LIFECYCLES)) traces.push(await trace(name));
  });

  it("reaches into no namespace cluster-wide: a ClusterRole may only get objects it names, or list Nodes (a migration needs none)", () => {
    // Nodes belong to no namespace: listing them (ProxyClass staticEndpoints) reaches none.
    const nodesList = (r: RuleRef) =>
      JSON.stringify(r.rule.resources) === '["nodes"]' && JSON.stringify(r.rule.verbs) === '["list"]';
    const open = RULES.filter(
      (r) =>
        r.scope === "cluster" &&
        !nodesList(r) &&
        ((r.rule.resourceNames ?? []).length === 0 || (r.rule.verbs ?? []).some((v) => v !== "get")),
    );
    assert.deepEqual(
      open.map((r) => r.label),
      [],
      "every namespaced object is read by name; a cluster-wide list or write would reach every namespace",
    );
  });

  it("runs every lifecycle as the deployer, and needs every verb it grants", () => {
    const unused = RULES.flatMap((r) =>
      (r.rule.verbs ?? []).filter((v) => !traces.some((t) => needs(t, r, v))).map((v) => `${r.label}: ${v}`),
    );
    assert.deepEqual(unused, [], "verbs no lifecycle needs: remove them from the manifest");
  });

  for (const r of RULES) {
    it(`fails clearly without ${r.label}`, async () => {
      const t = traces.find((x) => (r.rule.verbs ?? []).some((v) => needs(x, r, v)));
      assert.ok(t, `no lifecycle needs ${r.label}`);
      const world = await startLocalWorld(worldOptions(t.name, without(r)));
      let error: Error | undefined;
      try {
        await LIFECYCLES[t.name]!.run(world);
      } catch (e) {
        error = e as Error;
      } finally {
        await world.stop();
      }
      assert.ok(error, `${t.name} succeeded without ${r.label}`);
      const message = error.message;
      const resources = r.rule.resources ?? [];
      const named =
        // The API server's 403, relayed by the product: `cannot <verb> resource "<resource>"`.
        (r.rule.verbs ?? []).some((v) =>
          resources.some((res) => message.includes(`cannot ${v} resource "${res}"`)),
        ) ||
        // The escalation check's refusal lists the rules the deployer lacks.
        (message.includes("attempting to grant RBAC permissions not currently held") &&
          resources.some((res) => message.includes(`Resources:["${res}"]`))) ||
        // Exec: the product's own message names both verbs.
        (resources.includes("pods/exec") && message.includes("lacks `get` or `create` on `pods/exec`"));
      assert.ok(
        named,
        `${t.name} without ${r.label} failed, but the error does not name the permission: ${message}`,
      );
    });
  }
});
