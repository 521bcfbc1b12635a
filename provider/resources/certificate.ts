/**
 * The certificate an ingress proxy holds, as stack outputs: parsed from the PEM the proxy stored, with
 * `node:crypto`. Only the certificate is ever read; the private key stays in the cluster.
 */
import { createHash, X509Certificate } from "node:crypto";
import type { Kube, KubeObject } from "../kube";
import { nextCertificateHistory } from "../plan/budget";
import type { CertificateState } from "../plan/outputs";
import { TAILSCALE_CONTAINER } from "../plan/proxyclass";
import { waiting } from "../progress";

// Declared in plan/outputs.ts, which imports nothing, so that sdk/ can re-export it without pulling
// this module's Kube (and so @kubernetes/client-node) into the published declarations.
export type { CertificateState };

function commonName(dn: string): string | undefined {
  return /(?:^|\n)CN=([^\n]*)/.exec(dn)?.[1];
}

/**
 * Let's Encrypt's staging hierarchy names every issuer "(STAGING) …" (e.g. "(STAGING) Pretend Pear X1"):
 * the one reliable way to tell staging from production without asking the ACME directory.
 */
export function isStagingIssuer(issuer: string | undefined): boolean {
  return !!issuer && issuer.startsWith("(STAGING)");
}

/** Certificate state for `domain` from the PEM the proxy wrote (the first certificate of the chain). */
export function certificateState(pem: string | undefined, domain: string): CertificateState {
  if (!pem) return { state: "pending", domain };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    return {
      state: "failed",
      domain,
      error: `the stored certificate cannot be parsed: ${(err as Error).message}`,
    };
  }
  const issuer = commonName(cert.issuer) ?? cert.issuer;
  return {
    state: "issued",
    domain,
    issuer,
    staging: isStagingIssuer(issuer),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
    serialNumber: cert.serialNumber.toLowerCase(),
    sha256Fingerprint: cert.fingerprint256,
  };
}

/** A short, non-reversible identity of the proxy's ACME account, to tell renewals from new certificates. */
export function acmeAccountId(data: Record<string, string>): string | undefined {
  const pem = data["acme-account.key.pem"];
  return pem ? createHash("sha256").update(pem).digest("hex").slice(0, 16) : undefined;
}

/** Why an ingress cannot serve HTTPS when the tailnet has certificates off, and the fix. */
export function httpsDisabled(name: string): string {
  return (
    `the tailnet has HTTPS certificates disabled, so ${name} cannot serve HTTPS: enable "HTTPS Certificates" ` +
    "on the DNS page of the Tailscale admin console (MagicDNS must be on), then run pulumi up again"
  );
}

/**
 * Gets a certificate now instead of on the first visitor's request (tailscaled's default), so the
 * `up` reports a failure to issue and the outputs carry the certificate. The proxy's own tailscaled
 * does it (`tailscale cert`, through `pods/exec`): the certificate lands in its store (the state
 * Secret, or for a ProxyGroup the Secret named after the domain), the key never leaves the Pod, and
 * a valid certificate already held is returned without a new order (tailscaled serialises orders per
 * domain, so this never races its own renewal into a second certificate).
 */
export async function obtainCertificate(
  kube: Kube,
  o: { namespace: string; pod: string; domain: string; staging?: boolean; timeoutMs: number },
): Promise<void> {
  const result = await waiting(
    `the proxy in Pod ${o.namespace}/${o.pod} to obtain the certificate for ${o.domain} (tailscale cert)`,
    () =>
      kube.exec(
        o.namespace,
        o.pod,
        TAILSCALE_CONTAINER,
        ["tailscale", "--socket=/tmp/tailscaled.sock", "cert", "--cert-file=-", o.domain],
        o.timeoutMs,
        // Running it again returns the certificate the first run got (see above): safe after a broken connection.
        { idempotent: true },
      ),
  );
  if (result.exitCode === 0) return;
  const why = result.stderr.trim() || `exit code ${result.exitCode}`;
  const ca =
    o.staging === undefined
      ? "Let's Encrypt"
      : o.staging
        ? "Let's Encrypt staging"
        : "Let's Encrypt (production)";
  if (/rate.?limit|too many/i.test(why)) {
    throw new Error(
      `${ca} refused a certificate for ${o.domain}: rate limited (${why}). Certificates already issued keep working; ` +
        "a new one can be issued once the limit's 7-day window allows it. Keep hostnames stable, and use " +
        "proxyClass.useLetsEncryptStagingEnvironment in test stacks (staging limits are far higher). " +
        "Set waitForCertificate: false to deploy now and let the proxy retry on its own.",
    );
  }
  if (/https|cert domain|not enabled/i.test(why)) throw new Error(httpsDisabled(o.domain));
  throw new Error(
    `the proxy could not obtain its certificate for ${o.domain} from ${ca}: ${why}. ` +
      "Set waitForCertificate: false to deploy without waiting for it.",
  );
}

/**
 * The ACME account identity of a ProxyGroup's certificate: replica 0 stores, as
 * `acme-account-fingerprint`, the SHA-256 of its account key's PEM as 32 raw bytes (the Secret's data
 * holds their base64; tailscale/tailscale@de9ec7ee ipn/store/kubestore/store_kube.go
 * `acmeAccountKeyFingerprint`, `WriteTLSCertAndKey`). Their first 16 hex digits equal
 * {@link acmeAccountId} of the same key. Anything else is no identity.
 */
export function acmeAccountIdFromFingerprint(base64: string | undefined): string | undefined {
  if (!base64) return undefined;
  const raw = Buffer.from(base64, "base64");
  return raw.length === 32 ? raw.toString("hex").slice(0, 16) : undefined;
}

/**
 * `certificate`, `certificateIssuances` and `certificateAccount` of an HA ingress, as the standalone
 * ingress reports them, from the certificate Secret replica 0 writes (`tls.crt`, and
 * `acme-account-fingerprint` naming its ACME account). Never the private key.
 */
export function certificateOutputs(
  certSecret: KubeObject | undefined,
  dnsName: string,
  previous: any,
  ari: boolean,
): Record<string, unknown> {
  const data = (certSecret?.data ?? {}) as Record<string, string>;
  const pem = data["tls.crt"] ? Buffer.from(data["tls.crt"], "base64").toString("utf8") : undefined;
  const certificate = certificateState(pem || undefined, dnsName);
  const account = acmeAccountIdFromFingerprint(data["acme-account-fingerprint"]);
  return historyOutputs(previous, certificate, account, ari);
}

/**
 * `certificate`, `certificateIssuances`, `certificateRenewals` and `certificateAccount` (the identity
 * that tells the next renewal from a new certificate) of an ingress holding `certificate`.
 */
export function historyOutputs(
  previous: any,
  certificate: CertificateState,
  account: string | undefined,
  ari: boolean,
): Record<string, unknown> {
  const history = nextCertificateHistory(previous, certificate, account, ari);
  return {
    certificate,
    certificateIssuances: history.issuances,
    certificateRenewals: history.renewals,
    ...(account ? { certificateAccount: account } : {}),
  };
}
