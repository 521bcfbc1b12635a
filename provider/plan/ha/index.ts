/**
 * Pure planners for the HA paths: ProxyGroup objects, HA TailnetIngress and HA TailnetService
 * (Tailscale Services advertised by ProxyGroup replicas), their ownership, diff, validation and
 * ordered teardown. No I/O, no clock, no randomness.
 */
export * from "./common";
export * from "./config";
export * from "./diff";
export * from "./ingress";
export * from "./ownership";
export * from "./proxygroup";
export * from "./service";
export * from "./teardown";
export * from "./validate";
