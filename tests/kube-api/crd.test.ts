// CustomResourceDefinitions as a real API server serves them (tests/support/kube-api/crd.ts): the CRD's
// own validation, its conditions, discovery of the new group, custom resources pruned, defaulted and
// validated against the CRD's schema with kube-openapi's messages, server-side apply and the patch types
// custom resources take, RBAC on them, the 404 before the CRD exists and after it is deleted (which
// deletes its resources first).
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { SERVICE_MONITOR_CRD } from "../support/prometheus-operator-crds";
import { failure, type Harness, harness, raw } from "./helpers";

const CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const SMS = "/apis/monitoring.coreos.com/v1/namespaces/default/servicemonitors";

const monitor = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "monitoring.coreos.com/v1",
  kind: "ServiceMonitor",
  metadata: { name, namespace: "default" },
  spec: { endpoints: [{ port: "metrics" }], selector: { matchLabels: { app: "x" } }, ...spec },
});

/** Resolves once the CRD `name` reports `Established=True`. */
async function established(h: Harness, name: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const crd = h.server.getObject("apiextensions.k8s.io/v1", "CustomResourceDefinition", undefined, name);
    if (crd?.status?.conditions?.some((c: any) => c.type === "Established" && c.status === "True"))
      return crd;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`CRD ${name} never became established`);
}

describe("kube-api: CustomResourceDefinitions and custom resources", function () {
  this.timeout(30_000);
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  it("answers 404 for the resources of a CRD that does not exist, and discovery does not list its group", async () => {
    // The group is not served: the API server's mux answers, as for any unknown path.
    const r = await raw(h.server, "GET", SMS);
    assert.equal(r.status, 404);
    assert.equal(r.text, "404 page not found\n");
    const g = await raw(h.server, "GET", "/apis/monitoring.coreos.com");
    assert.equal(g.status, 404);
    const crd = await raw(h.server, "GET", `${CRDS}/servicemonitors.monitoring.coreos.com`);
    assert.equal(crd.status, 404);
    assert.equal(
      crd.json.message,
      'customresourcedefinitions.apiextensions.k8s.io "servicemonitors.monitoring.coreos.com" not found',
    );
  });

  it("refuses an invalid CRD with the real field errors", async () => {
    const bad = {
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: "widgets.example.com" },
      spec: {
        group: "example",
        scope: "Galaxy",
        names: { plural: "gadgets", kind: "Widget" },
        versions: [
          {
            name: "v1",
            served: true,
            storage: false,
            schema: { openAPIV3Schema: { properties: { spec: {} } } },
          },
        ],
      },
    };
    const r = await raw(h.server, "POST", CRDS, bad);
    assert.equal(r.status, 422);
    const causes = r.json.details.causes.map((c: any) => `${c.field}: ${c.message}`);
    assert.deepEqual(causes, [
      'metadata.name: Invalid value: "widgets.example.com": must be spec.names.plural+"."+spec.group',
      'spec.group: Invalid value: "example": should be a domain with at least one dot',
      'spec.scope: Unsupported value: "Galaxy": supported values: "Cluster", "Namespaced"',
      "spec.versions[0].schema.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields",
      "spec.versions[0].schema.openAPIV3Schema.type: Required value: must not be empty at the root",
      `spec.versions: Invalid value: ${JSON.stringify(bad.spec.versions)}: must have exactly one version marked as storage version`,
    ]);
  });

  it("establishes a CRD and serves its group in discovery", async () => {
    const created = await raw(h.server, "POST", CRDS, SERVICE_MONITOR_CRD);
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json.status, {
      acceptedNames: { plural: "", kind: "" },
      storedVersions: ["v1"],
    });
    assert.equal(created.json.spec.conversion.strategy, "None");
    const crd = await established(h, "servicemonitors.monitoring.coreos.com");
    assert.deepEqual(
      crd.status.conditions.map((c: any) => [c.type, c.status, c.reason]),
      [
        ["NamesAccepted", "True", "NoConflicts"],
        ["Established", "True", "InitialNamesAccepted"],
      ],
    );
    assert.equal(crd.status.acceptedNames.kind, "ServiceMonitor");
    const list = await raw(h.server, "GET", "/apis/monitoring.coreos.com/v1");
    assert.equal(list.status, 200);
    assert.deepEqual(list.json.resources, [
      {
        name: "servicemonitors",
        singularName: "servicemonitor",
        namespaced: true,
        kind: "ServiceMonitor",
        verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        shortNames: ["smon"],
        categories: ["prometheus-operator"],
      },
      {
        name: "servicemonitors/status",
        singularName: "servicemonitor",
        namespaced: true,
        kind: "ServiceMonitor",
        verbs: ["get", "patch", "update"],
      },
    ]);
    const groups = await raw(h.server, "GET", "/apis");
    assert.ok(groups.json.groups.some((g: any) => g.name === "monitoring.coreos.com"));
    const agg = await raw(h.server, "GET", "/apis", undefined, "application/json", h.server.token, {
      Accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    });
    const mon = agg.json.items.find((i: any) => i.metadata.name === "monitoring.coreos.com");
    assert.equal(mon.versions[0].resources[0].resource, "servicemonitors");
  });

  it("refuses a second CRD whose names are taken in the group, with its condition, and serves nothing of it", async () => {
    const clash = structuredClone(SERVICE_MONITOR_CRD) as any;
    clash.metadata.name = "monitors.monitoring.coreos.com";
    clash.spec.names = { plural: "monitors", singular: "monitor", kind: "ServiceMonitor", shortNames: [] };
    const r = await raw(h.server, "POST", CRDS, clash);
    assert.equal(r.status, 201, r.text);
    let crd: any;
    for (let i = 0; i < 100 && !crd?.status?.conditions; i++) {
      await new Promise((res) => setImmediate(res));
      crd = h.server.getObject(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        undefined,
        clash.metadata.name,
      );
    }
    assert.deepEqual(
      crd.status.conditions.map((c: any) => [c.type, c.status, c.reason, c.message]),
      [
        ["NamesAccepted", "False", "KindConflict", '"ServiceMonitor" is already in use'],
        ["Established", "False", "NotAccepted", "not all names are accepted"],
      ],
    );
    assert.equal(
      (await raw(h.server, "GET", "/apis/monitoring.coreos.com/v1/namespaces/default/monitors")).status,
      404,
    );
    assert.equal((await raw(h.server, "DELETE", `${CRDS}/${clash.metadata.name}`)).status, 200);
  });

  it("creates, reads and lists custom resources; prunes fields the schema does not specify, with a warning", async () => {
    const r = await raw(h.server, "POST", SMS, {
      ...monitor("a"),
      spec: { ...monitor("a").spec, bogus: 1, endpoints: [{ port: "metrics", extra: true }] },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json.spec, {
      endpoints: [{ port: "metrics" }],
      selector: { matchLabels: { app: "x" } },
    });
    assert.equal(r.json.metadata.generation, 1);
    assert.equal(
      r.headers.get("warning"),
      '299 - "unknown field \\"spec.bogus\\"", 299 - "unknown field \\"spec.endpoints[0].extra\\""',
    );
    const strict = await raw(h.server, "POST", `${SMS}?fieldValidation=Strict`, {
      ...monitor("b"),
      spec: { ...monitor("b").spec, bogus: 1 },
    });
    assert.equal(strict.status, 400);
    assert.equal(strict.json.message, 'strict decoding error: unknown field "spec.bogus"');
    const kc = new k8s.KubeConfig();
    kc.loadFromString(h.server.kubeconfig());
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const got: any = await objects.read({
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "a", namespace: "default" },
    });
    assert.equal(got.spec.endpoints[0].port, "metrics");
    const list = await raw(h.server, "GET", SMS);
    assert.equal(list.json.kind, "ServiceMonitorList");
    assert.deepEqual(
      list.json.items.map((i: any) => i.metadata.name),
      ["a"],
    );
  });

  it("validates custom resources against the schema with kube-openapi's messages", async () => {
    const r = await raw(h.server, "POST", SMS, {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "bad", namespace: "default" },
      spec: {
        endpoints: [{ port: 9002, scheme: "ftp", interval: "soon" }],
        selector: { matchExpressions: [{ key: "a" }] },
        jobLabel: ["x"],
      },
    });
    assert.equal(r.status, 422);
    assert.deepEqual(
      r.json.details.causes.map((c: any) => [c.reason, c.field, c.message]),
      [
        [
          "FieldValueTypeInvalid",
          "spec.endpoints[0].port",
          'Invalid value: "integer": spec.endpoints[0].port in body must be of type string: "integer"',
        ],
        [
          "FieldValueNotSupported",
          "spec.endpoints[0].scheme",
          'Unsupported value: "ftp": supported values: "http", "https"',
        ],
        [
          "FieldValueInvalid",
          "spec.endpoints[0].interval",
          `Invalid value: "soon": spec.endpoints[0].interval in body should match '${SERVICE_MONITOR_CRD.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties.endpoints.items.properties.interval.pattern}'`,
        ],
        [
          "FieldValueTypeInvalid",
          "spec.jobLabel",
          'Invalid value: "array": spec.jobLabel in body must be of type string: "array"',
        ],
        ["FieldValueRequired", "spec.selector.matchExpressions[0].operator", "Required value"],
      ],
    );
    assert.match(r.json.message, /^ServiceMonitor\.monitoring\.coreos\.com "bad" is invalid: \[/);
    const missing = await raw(h.server, "POST", SMS, { ...monitor("none"), spec: { selector: {} } });
    assert.equal(missing.status, 422);
    assert.equal(
      missing.json.message,
      'ServiceMonitor.monitoring.coreos.com "none" is invalid: spec.endpoints: Required value',
    );
  });

  it("takes server-side apply, merge and JSON patches, and refuses strategic merge patches with 415", async () => {
    const path = `${SMS}/applied?fieldManager=pulumi-tailnet`;
    const made = await raw(
      h.server,
      "PATCH",
      path,
      monitor("applied", { jobLabel: "job" }),
      "application/apply-patch+yaml",
    );
    assert.equal(made.status, 201, made.text);
    assert.equal(made.json.metadata.managedFields[0].manager, "pulumi-tailnet");
    // Leaving a field out of the next apply removes it.
    const again = await raw(h.server, "PATCH", path, monitor("applied"), "application/apply-patch+yaml");
    assert.equal(again.status, 200);
    assert.equal(again.json.spec.jobLabel, undefined);
    assert.equal(again.json.metadata.generation, 2);
    const merged = await raw(
      h.server,
      "PATCH",
      `${SMS}/applied`,
      { spec: { targetLabels: ["a"] } },
      "application/merge-patch+json",
    );
    assert.deepEqual(merged.json.spec.targetLabels, ["a"]);
    const smp = await raw(
      h.server,
      "PATCH",
      `${SMS}/applied`,
      { spec: {} },
      "application/strategic-merge-patch+json",
    );
    assert.equal(smp.status, 415);
    assert.equal(
      smp.json.message,
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
    // The status subresource: the main resource ignores status.
    const withStatus = await raw(h.server, "PUT", `${SMS}/applied`, {
      ...merged.json,
      status: { bindings: [] },
    });
    assert.equal(withStatus.status, 200);
    assert.equal(withStatus.json.status, undefined);
  });

  it("authorizes custom resources by RBAC like any resource", async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(h.server.kubeconfig({ user: "nobody", groups: [] }));
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const r = await failure(objects.create(monitor("denied") as k8s.KubernetesObject));
    assert.equal(r.code, 403);
    assert.equal(
      r.status.message,
      'servicemonitors.monitoring.coreos.com is forbidden: User "nobody" cannot create resource "servicemonitors" in API group "monitoring.coreos.com" in the namespace "default"',
    );
  });

  it("deletes custom resources with their namespace", async () => {
    h.server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "gone" } });
    const path = "/apis/monitoring.coreos.com/v1/namespaces/gone/servicemonitors";
    assert.equal(
      (await raw(h.server, "POST", path, { ...monitor("m"), metadata: { name: "m" } })).status,
      201,
    );
    assert.equal((await raw(h.server, "DELETE", "/api/v1/namespaces/gone")).status, 200);
    for (let i = 0; i < 200 && h.server.getObject("v1", "Namespace", undefined, "gone"); i++) {
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(h.server.getObject("v1", "Namespace", undefined, "gone"), undefined);
    assert.equal(h.server.getObject("monitoring.coreos.com/v1", "ServiceMonitor", "gone", "m"), undefined);
  });

  it("deletes a CRD's resources before the CRD itself, then answers 404 again", async () => {
    const order: string[] = [];
    const unsubscribe = h.server.onWrite((e) => {
      if (e.type === "DELETED") order.push(`${e.obj.kind}/${e.obj.metadata.name}`);
    });
    const del = await raw(h.server, "DELETE", `${CRDS}/servicemonitors.monitoring.coreos.com`);
    assert.equal(del.status, 200);
    assert.ok(del.json.metadata.deletionTimestamp);
    assert.deepEqual(del.json.metadata.finalizers, ["customresourcecleanup.apiextensions.k8s.io"]);
    for (let i = 0; i < 200; i++) {
      if (
        !h.server.getObject(
          "apiextensions.k8s.io/v1",
          "CustomResourceDefinition",
          undefined,
          "servicemonitors.monitoring.coreos.com",
        )
      )
        break;
      await new Promise((r) => setImmediate(r));
    }
    assert.equal(
      h.server.getObject(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        undefined,
        "servicemonitors.monitoring.coreos.com",
      ),
      undefined,
    );
    await new Promise((r) => setImmediate(r));
    unsubscribe();
    assert.deepEqual(order, [
      "ServiceMonitor/a",
      "ServiceMonitor/applied",
      "CustomResourceDefinition/servicemonitors.monitoring.coreos.com",
    ]);
    assert.equal((await raw(h.server, "GET", SMS)).status, 404);
    const d = await raw(h.server, "GET", "/apis/monitoring.coreos.com/v1");
    assert.equal(d.status, 404, d.text);
  });
});
