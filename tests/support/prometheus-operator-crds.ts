/**
 * The Prometheus Operator's ServiceMonitor CustomResourceDefinition, for worlds whose cluster has the
 * Prometheus Operator installed (`startLocalWorld({ crds: [SERVICE_MONITOR_CRD] })`).
 *
 * Its names, scope, version, subresources and the schema of the fields below are those of the CRD the
 * Prometheus Operator publishes (prometheus-operator/prometheus-operator v0.84.1
 * example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml): `spec` requires
 * `endpoints` and `selector`; `selector` is a label selector (`matchLabels`, `matchExpressions` with
 * required `key` and `operator`); an endpoint's `port` is a string, `targetPort` an int-or-string,
 * `interval` and `scrapeTimeout` match the duration pattern, `scheme` is `http` or `https`. The
 * descriptions and the many scrape options pulumi-tailnet never writes (authentication, relabelling,
 * TLS, limits) are left out, so the local API server prunes them as unknown fields, where the real
 * CRD would keep them.
 */

const string = { type: "string" } as const;
const strings = { type: "array", items: string } as const;
const duration = {
  type: "string",
  pattern: "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
} as const;

const labelSelector = {
  type: "object",
  properties: {
    matchExpressions: {
      type: "array",
      items: {
        type: "object",
        properties: { key: string, operator: string, values: strings },
        required: ["key", "operator"],
      },
    },
    matchLabels: { type: "object", additionalProperties: string },
  },
} as const;

const endpoint = {
  type: "object",
  properties: {
    port: string,
    targetPort: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" }, { type: "string" }] },
    path: string,
    scheme: { type: "string", enum: ["http", "https"] },
    interval: duration,
    scrapeTimeout: duration,
    honorLabels: { type: "boolean" },
  },
} as const;

/** `servicemonitors.monitoring.coreos.com`, as `kubectl apply` would send it. */
export const SERVICE_MONITOR_CRD = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: "servicemonitors.monitoring.coreos.com",
    annotations: { "operator.prometheus.io/version": "0.84.1" },
  },
  spec: {
    group: "monitoring.coreos.com",
    names: {
      categories: ["prometheus-operator"],
      kind: "ServiceMonitor",
      listKind: "ServiceMonitorList",
      plural: "servicemonitors",
      shortNames: ["smon"],
      singular: "servicemonitor",
    },
    scope: "Namespaced",
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["spec"],
            properties: {
              apiVersion: string,
              kind: string,
              metadata: { type: "object" },
              spec: {
                type: "object",
                required: ["endpoints", "selector"],
                properties: {
                  endpoints: { type: "array", items: endpoint },
                  jobLabel: string,
                  namespaceSelector: {
                    type: "object",
                    properties: { any: { type: "boolean" }, matchNames: strings },
                  },
                  podTargetLabels: strings,
                  sampleLimit: { type: "integer", format: "int64" },
                  selector: labelSelector,
                  targetLabels: strings,
                },
              },
              status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
          },
        },
      },
    ],
  },
};
