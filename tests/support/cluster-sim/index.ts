// Cluster simulator for tests: kubelet + StatefulSet controller + containerboot/tailscaled stand-in.
export {
  AcmeSim,
  DEFAULT_RATE_LIMITS,
  environmentFromEnv,
  type Issuance,
  type RateLimits,
} from "./acme";
export { parseHuJson, pickConfigKey, resolveEnv, SIM_CAPVER } from "./pod-files";
export {
  type CertIssuance,
  type ClusterSim,
  type ClusterSimOptions,
  DEFAULT_POD_CIDRS,
  DUAL_STACK_POD_CIDRS,
  IPV6_POD_CIDRS,
  type KubeletTiming,
  type L3Forward,
  SIM_NODE,
  type SimFaults,
  type SimPod,
  startClusterSim,
  type TailnetResponse,
  TEST_TIME_SCALE,
} from "./sim";
export { TailnetConnectError } from "./tailnet";
