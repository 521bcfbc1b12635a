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
  type KubeletTiming,
  type SimFaults,
  type SimPod,
  startClusterSim,
  TEST_TIME_SCALE,
} from "./sim";
