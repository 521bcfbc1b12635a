/**
 * Plain output shapes that `sdk/` re-exports under its own names, and the output keys of every kind,
 * declared once here (the SDK sends them as placeholders, the provider fills them in).
 *
 * Keep this file free of imports: the published `dist/sdk/*.d.ts` reference it, so whatever it
 * imports is type-checked in every user's program. An import of `@kubernetes/client-node` here would
 * pull that package's declaration files into a user's `tsc` (and its errors under a user's stricter
 * settings); tests/package/pack.test.ts fails if any declaration reachable from `dist/sdk/index.d.ts`
 * mentions it.
 */

/** State of an ingress's TLS certificate, read from the proxy. */
export interface CertificateState {
  /** `pending` until the proxy holds a certificate, `issued` then, `failed` if issuance failed. */
  state: "pending" | "issued" | "failed";
  /** The name the certificate is for. */
  domain: string;
  /** Issuer common name. */
  issuer?: string;
  /** True for a Let's Encrypt staging certificate (see ProxyClass `useLetsEncryptStagingEnvironment`). */
  staging?: boolean;
  /** Validity start, RFC 3339. */
  notBefore?: string;
  /** Validity end, RFC 3339. */
  notAfter?: string;
  /** Serial number, hex. */
  serialNumber?: string;
  /** SHA-256 fingerprint of the certificate, colon-separated hex. */
  sha256Fingerprint?: string;
  /** Why issuance failed, when `state` is `failed`. */
  error?: string;
}

/** Every output a TailnetService declares (sdk/tailnetService.ts); `null` where the mode has none. */
export const TAILNET_SERVICE_OUTPUTS = [
  "hostname",
  "fqdn",
  "tailnetIPs",
  "deviceId",
  "serviceName",
  "addresses",
  "joinToken",
  "namespace",
  "kubernetesObjects",
  "schemaVersion",
] as const;

/** Every output a TailnetIngress declares (sdk/tailnetIngress.ts); `null` where the mode has none. */
export const TAILNET_INGRESS_OUTPUTS = [
  "hostname",
  "fqdn",
  "url",
  "tailnetIPs",
  "deviceId",
  "serviceName",
  "addresses",
  "joinToken",
  "certificate",
  "certificateIssuances",
  "certificateRenewals",
  "proxyClass",
  "namespace",
  "kubernetesObjects",
  "schemaVersion",
] as const;

/** Every output a ProxyGroup declares (sdk/proxyGroup.ts). */
export const PROXY_GROUP_OUTPUTS = [
  "name",
  "namespace",
  "replicas",
  "devices",
  "statefulSetName",
  "configMapName",
  "schemaVersion",
] as const;

/** Every output a CertificateBudget declares (sdk/certificateBudget.ts). */
export const CERTIFICATE_BUDGET_OUTPUTS = ["ledger", "report", "schemaVersion"] as const;
