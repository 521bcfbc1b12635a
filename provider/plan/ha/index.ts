/**
 * Pure planners of HA: ProxyGroup objects, HA TailnetIngress and HA TailnetService (Tailscale Services
 * advertised by ProxyGroup replicas), their ownership and ordered teardown. No I/O, no clock, no
 * randomness. (Their validation and diff are derived from the declarations in ../schema.)
 */
export * from "./acmeAccount";
export * from "./common";
export * from "./config";
export * from "./ingress";
export * from "./ownership";
export * from "./preview";
export * from "./proxygroup";
export * from "./service";
export * from "./staticEndpoints";
export * from "./teardown";
