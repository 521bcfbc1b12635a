// Every ProxyClass field declared in provider/plan/schema/proxyClass.ts changes what its declaration
// says (the Pod template, the StatefulSet's own metadata, the tailscaled config, the ServiceMonitor or a
// ProxyGroup's NodePort Services), on every proxy type it is declared for, and nothing on the others (a
// field `refusedElsewhere` is refused by a standalone proxy's check); a field that `requires` others is tried
// with them set, and refused by check without them. The sample table is typed over every ProxyClass
// field (tests/support/proxyclass-samples.ts): a field added to ProxyClassInput without a sample does not
// compile.
import assert from "node:assert/strict";
import type { BackendServiceFacts } from "../../provider/plan/backends";
import { planProxyGroup } from "../../provider/plan/ha";
import type { ProxyClassInput } from "../../provider/plan/inputs";
import type { ProxyType } from "../../provider/plan/proxyclass";
import {
  checkProxyClass,
  PROXY_CLASS,
  type ProxyClassField,
  type ProxyClassTarget,
} from "../../provider/plan/schema/proxyClass";
import { planStandaloneIngress, planStandaloneService } from "../../provider/plan/standalone";
import { PROXY_CLASS_SAMPLES as samples } from "../support/proxyclass-samples";

const db: BackendServiceFacts = {
  namespace: "data",
  name: "db",
  type: "ClusterIP",
  clusterIP: "10.0.0.1",
  ports: [{ name: "http", port: 80 }],
};

/** The parts of each proxy type's plan a ProxyClass target names. */
function planned(
  type: ProxyType,
  proxyClass: ProxyClassInput | undefined,
): Record<ProxyClassTarget, unknown> {
  if (type === "proxygroup_ingress") {
    const plan = planProxyGroup(
      { ownerId: "p/s/pg", name: "pg", namespace: "tailscale", type: "ingress", replicas: 1, proxyClass },
      // What the lifecycle finds for static endpoints; used only when the ProxyClass asks for them.
      {
        authKeys: {},
        existingAdvertiseServices: {},
        staticEndpoints: { 0: { nodePort: 30100, endpoints: ["203.0.113.2:30100"] } },
      },
    );
    return {
      podTemplate: plan.statefulSet.spec?.template,
      statefulSetMetadata: plan.statefulSet.metadata,
      tailscaledConfig: plan.configSecrets.map((s) => s.stringData),
      serviceMonitor: plan.serviceMonitor,
      nodePortServices: plan.nodePortServices,
    };
  }
  const plan =
    type === "ingress_service"
      ? planStandaloneService({ ownerId: "p/s/db", service: db, proxyClass }, db, {})
      : planStandaloneIngress(
          { ownerId: "p/s/web", defaultBackend: { service: db, port: "http" }, proxyClass },
          new Map([["data/db", db]]),
          {},
        );
  return {
    podTemplate: plan.statefulSet.spec?.template,
    statefulSetMetadata: plan.statefulSet.metadata,
    tailscaledConfig: plan.tailscaledConfig,
    serviceMonitor: plan.serviceMonitor,
    nodePortServices: [],
  };
}

const TYPES: ProxyType[] = ["ingress_service", "ingress_resource", "proxygroup_ingress"];

describe("ProxyClass fields: each changes what its declaration says", () => {
  it("every sample is valid", () => {
    assert.deepEqual(checkProxyClass(samples), []);
  });

  for (const [key, field] of Object.entries(PROXY_CLASS) as [keyof ProxyClassInput, ProxyClassField][]) {
    const requires = field.requires ?? [];
    const title = [
      field.appliesTo,
      field.only ? `${field.only.join(", ")} only` : "",
      requires.length > 0 ? `with ${requires.join(", ")}` : "",
    ];
    it(`${key}: ${title.filter(Boolean).join("; ")}`, () => {
      const only: readonly ProxyType[] = field.only ?? TYPES;
      const base: ProxyClassInput = Object.fromEntries(requires.map((r) => [r, true]));
      if (requires.length > 0) {
        assert.deepEqual(
          checkProxyClass({ [key]: samples[key] }).map((f) => f.property),
          [`proxyClass.${key}`],
          `${key} is refused without ${requires.join(", ")}`,
        );
      }
      if (field.refusedElsewhere) {
        assert.deepEqual(
          checkProxyClass({ [key]: samples[key] }, "proxyClass", true).map((f) => f.property),
          [`proxyClass.${key}`],
          `${key} is refused on a standalone proxy`,
        );
      }
      const targets: ProxyClassTarget[] = [field.appliesTo, ...(field.also ?? [])];
      for (const type of TYPES) {
        const without = planned(type, requires.length > 0 ? base : undefined);
        const withField = planned(type, { ...base, [key]: samples[key] });
        for (const target of [
          "podTemplate",
          "statefulSetMetadata",
          "tailscaledConfig",
          "serviceMonitor",
          "nodePortServices",
        ] as const) {
          if (only.includes(type) && targets.includes(target)) {
            assert.notDeepEqual(
              withField[target],
              without[target],
              `${key} changes the ${target} of ${type}`,
            );
          } else {
            assert.deepEqual(
              withField[target],
              without[target],
              `${key} leaves the ${target} of ${type} alone`,
            );
          }
        }
      }
    });
  }
});
