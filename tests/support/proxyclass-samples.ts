/**
 * A valid value of every ProxyClass field (provider/plan/schema/proxyClass.ts), typed over every key of
 * ProxyClassInput: a field added there without a sample here does not compile.
 */
import type { ProxyClassInput } from "../../provider/plan/inputs";
import { SIM_NODE } from "./cluster-sim";

export const PROXY_CLASS_SAMPLES: { [K in keyof Required<ProxyClassInput>]: ProxyClassInput[K] } = {
  image: "tailscale/tailscale:v1.84.0",
  imagePullPolicy: "IfNotPresent",
  firewallMode: "nftables",
  acceptRoutes: true,
  enableMetrics: true,
  useLetsEncryptStagingEnvironment: true,
  imagePullSecrets: ["registry"],
  priorityClassName: "high",
  // A label every node has: a selector no node matches leaves the Pods Pending.
  nodeSelector: { "kubernetes.io/os": "linux" },
  podLabels: { team: "net" },
  statefulSetLabels: { team: "net" },
  podAnnotations: { "example.com/a": "b" },
  statefulSetAnnotations: { "example.com/a": "b" },
  env: [{ name: "EXTRA", value: "1" }],
  tolerations: [{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }],
  resources: { limits: { memory: "128Mi" } },
  affinity: { podAntiAffinity: {} },
  topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
  ],
  securityContext: { privileged: false },
  podSecurityContext: { runAsNonRoot: false },
  enableDebug: true,
  serviceMonitor: { enable: true, labels: { release: "prometheus" } },
  // The simulated cluster's node, so that a proxy bound to it starts.
  nodeName: SIM_NODE,
  dnsPolicy: "ClusterFirstWithHostNet",
  dnsConfig: {
    nameservers: ["1.1.1.1"],
    searches: ["example.com"],
    options: [{ name: "ndots", value: "2" }],
  },
  initContainer: {
    image: "tailscale/tailscale:v1.84.0",
    imagePullPolicy: "IfNotPresent",
    env: [{ name: "EXTRA", value: "1" }],
    resources: { requests: { cpu: "1m" } },
    securityContext: { privileged: true, runAsUser: 0 },
  },
  // Nodes every simulated node matches (each has an ExternalIP).
  staticEndpoints: {
    nodePort: { ports: [{ port: 30100, endPort: 30109 }], selector: { "kubernetes.io/os": "linux" } },
  },
};
