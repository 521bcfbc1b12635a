// Fake Tailscale API v2 + control plane for tests: see server.ts and spec.ts.
export { type StartTailscaleApiOptions, startTailscaleApi } from "./server";
export { OPENAPI_PATH, SPEC_SUPPLEMENTS } from "./spec";
export type {
  DeviceRecord,
  FaultSpec,
  FederatedIdentityOptions,
  InjectedTailscaleFault,
  Jwks,
  KeyRecord,
  RequestLogEntry,
  SeededFaultSpec,
  ServiceRecord,
  TailnetPolicy,
  TailscaleApiServer,
  TailscaleFaultKind,
} from "./types";
