// policy/v1 PodDisruptionBudget as a real API server serves it: discovery, create with its initial status
// and generation, the spec validation (pkg/apis/policy/validation), a mutable spec that bumps generation,
// the status subresource and its checks; and the Pod spec's topology spread constraints and probes
// validated as pkg/apis/core/validation does.
import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { failure, type Harness, harness, raw, statefulSet } from "./helpers";

describe("kube-api: PodDisruptionBudget (policy/v1)", () => {
  let h: Harness;
  let policy: k8s.PolicyV1Api;
  before(async () => {
    h = await harness();
    policy = h.kc.makeApiClient(k8s.PolicyV1Api);
  });
  after(() => h.server.stop());

  const pdb = (name: string, spec: Record<string, unknown>): k8s.V1PodDisruptionBudget => ({
    metadata: { name },
    spec: spec as k8s.V1PodDisruptionBudgetSpec,
  });

  it("is discovered under policy/v1 with its short name and status subresource", async () => {
    const r = await raw(h.server, "GET", "/apis/policy/v1");
    assert.equal(r.status, 200);
    const names = r.json.resources.map((x: any) => x.name);
    assert.deepEqual(names.sort(), ["poddisruptionbudgets", "poddisruptionbudgets/status"]);
    const main = r.json.resources.find((x: any) => x.name === "poddisruptionbudgets");
    assert.deepEqual(
      { kind: main.kind, namespaced: main.namespaced, shortNames: main.shortNames },
      { kind: "PodDisruptionBudget", namespaced: true, shortNames: ["pdb"] },
    );
  });

  it("creates with generation 1 and the zeroed status; a spec change bumps generation, a status write does not", async () => {
    const made = await policy.createNamespacedPodDisruptionBudget({
      namespace: "default",
      body: pdb("edge", {
        maxUnavailable: 1,
        selector: { matchLabels: { app: "edge" } },
        unhealthyPodEvictionPolicy: "AlwaysAllow",
      }),
    });
    assert.equal(made.metadata?.generation, 1);
    assert.deepEqual(
      { ...made.status },
      {
        disruptionsAllowed: 0,
        currentHealthy: 0,
        desiredHealthy: 0,
        expectedPods: 0,
      },
    );
    made.spec!.maxUnavailable = "50%";
    const changed = await policy.replaceNamespacedPodDisruptionBudget({
      name: "edge",
      namespace: "default",
      body: made,
    });
    assert.equal(changed.metadata?.generation, 2, "the spec is mutable");
    changed.status = { ...changed.status!, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 };
    const status = await policy.replaceNamespacedPodDisruptionBudgetStatus({
      name: "edge",
      namespace: "default",
      body: changed,
    });
    assert.equal(status.metadata?.generation, 2);
    assert.equal(status.status?.currentHealthy, 2);
    status.status!.disruptionsAllowed = -1;
    const negative = await failure(
      policy.replaceNamespacedPodDisruptionBudgetStatus({ name: "edge", namespace: "default", body: status }),
    );
    assert.equal(negative.code, 422);
    assert.equal(
      negative.status.message,
      'PodDisruptionBudget.policy "edge" is invalid: status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0',
    );
    await policy.deleteNamespacedPodDisruptionBudget({ name: "edge", namespace: "default" });
  });

  it("refuses both minAvailable and maxUnavailable, bad numbers and percentages, a bad selector and policy", async () => {
    const both = await failure(
      policy.createNamespacedPodDisruptionBudget({
        namespace: "default",
        body: pdb("both", { minAvailable: 1, maxUnavailable: 1 }),
      }),
    );
    assert.equal(both.code, 422);
    assert.equal(
      both.status.message,
      'PodDisruptionBudget.policy "both" is invalid: spec: Invalid value: {"minAvailable":1,"maxUnavailable":1}: minAvailable and maxUnavailable cannot be both set',
    );
    const bad = await failure(
      policy.createNamespacedPodDisruptionBudget({
        namespace: "default",
        body: pdb("bad", {
          maxUnavailable: "150%",
          selector: { matchExpressions: [{ key: "app", operator: "In" }] },
          unhealthyPodEvictionPolicy: "Sometimes",
        }),
      }),
    );
    assert.deepEqual(
      bad.status.details.causes.map((c: any) => `${c.field}: ${c.message}`),
      [
        'spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%',
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        'spec.unhealthyPodEvictionPolicy: Unsupported value: "Sometimes": supported values: "AlwaysAllow", "IfHealthyBudget"',
      ],
    );
    const negative = await failure(
      policy.createNamespacedPodDisruptionBudget({
        namespace: "default",
        body: pdb("neg", { minAvailable: -1 }),
      }),
    );
    assert.equal(
      negative.status.message,
      'PodDisruptionBudget.policy "neg" is invalid: spec.minAvailable: Invalid value: -1: must be greater than or equal to 0',
    );
    const word = await failure(
      policy.createNamespacedPodDisruptionBudget({
        namespace: "default",
        body: pdb("word", { minAvailable: "half" }),
      }),
    );
    assert.equal(
      word.status.message,
      `PodDisruptionBudget.policy "word" is invalid: spec.minAvailable: Invalid value: "half": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`,
    );
  });
});

describe("kube-api: Pod spec topology spread constraints and probes", () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.server.stop());

  it("accepts valid constraints and a probe; refuses what ValidatePodSpec refuses, by field", async () => {
    const good = statefulSet("good");
    good.spec!.template.spec!.topologySpreadConstraints = [
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "DoNotSchedule",
        nodeTaintsPolicy: "Honor",
        labelSelector: { matchLabels: { app: "good" } },
      },
    ];
    good.spec!.template.spec!.containers[0]!.readinessProbe = {
      httpGet: { path: "/healthz", port: 9002 },
      periodSeconds: 5,
    };
    const made = await h.apps.createNamespacedStatefulSet({ namespace: "default", body: good });
    assert.deepEqual(JSON.parse(JSON.stringify(made.spec?.template.spec?.containers[0]?.readinessProbe)), {
      httpGet: { path: "/healthz", port: 9002, scheme: "HTTP" },
      periodSeconds: 5,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    });

    const bad = statefulSet("bad");
    bad.spec!.template.spec!.topologySpreadConstraints = [
      { maxSkew: 0, topologyKey: "", whenUnsatisfiable: "Never" },
      {
        maxSkew: 1,
        topologyKey: "zone",
        whenUnsatisfiable: "ScheduleAnyway",
        minDomains: 2,
        nodeTaintsPolicy: "honor",
        matchLabelKeys: ["app"],
        labelSelector: { matchLabels: { app: "bad" } },
      },
      { maxSkew: 1, topologyKey: "zone", whenUnsatisfiable: "ScheduleAnyway" },
    ] as k8s.V1TopologySpreadConstraint[];
    bad.spec!.template.spec!.containers[0]!.readinessProbe = {
      httpGet: { path: "/", port: 70000 },
      exec: { command: ["true"] },
    };
    const c = await failure(h.apps.createNamespacedStatefulSet({ namespace: "default", body: bad }));
    assert.equal(c.code, 422);
    const at = "spec.template.spec.topologySpreadConstraints";
    assert.deepEqual(
      c.status.details.causes.map((x: any) => `${x.reason} ${x.field}`),
      [
        "FieldValueForbidden spec.template.spec.containers[0].readinessProbe.httpGet",
        "FieldValueInvalid spec.template.spec.containers[0].readinessProbe.httpGet.port",
        `FieldValueInvalid ${at}[0].maxSkew`,
        `FieldValueRequired ${at}[0].topologyKey`,
        `FieldValueNotSupported ${at}[0].whenUnsatisfiable`,
        `FieldValueDuplicate ${at}[1].{topologyKey, whenUnsatisfiable}`,
        `FieldValueInvalid ${at}[1].minDomains`,
        `FieldValueNotSupported ${at}[1].nodeTaintsPolicy`,
        `FieldValueInvalid ${at}[1].matchLabelKeys[0]`,
      ],
    );
  });
});
