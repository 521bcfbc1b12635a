/**
 * The certificate an ingress proxy holds, as stack outputs: parsed from the PEM the proxy stored, with
 * `node:crypto`. Only the certificate is ever read; the private key stays in the cluster.
 */
import { createHash, X509Certificate } from "node:crypto";
import type { Kube } from "../kube";
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

/**
 * The issuances this resource caused: a certificate with a serial not seen before counts as a new
 * issuance, unless it replaced one for the same domain from the same ACME account (a renewal, which
 * Let's Encrypt exempts from its limits).
 */
export function nextIssuances(
  previous:
    | { certificate?: CertificateState; certificateIssuances?: string[]; certificateAccount?: string }
    | undefined,
  cert: CertificateState,
  account: string | undefined,
): string[] {
  const issuances = [...(previous?.certificateIssuances ?? [])];
  const before = previous?.certificate;
  if (cert.state !== "issued" || !cert.serialNumber || before?.serialNumber === cert.serialNumber)
    return issuances;
  const renewal =
    before?.state === "issued" &&
    before.domain === cert.domain &&
    !!account &&
    previous?.certificateAccount === account;
  if (!renewal && cert.notBefore) issuances.push(cert.notBefore);
  return issuances;
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
 * The ACME account identity of a ProxyGroup's certificate: replica 0 records `acme-account-fingerprint`,
 * the SHA-256 (hex) of its account key; its first 16 digits equal {@link acmeAccountId} of the same key.
 */
export function acmeAccountIdFromFingerprint(fingerprint: string | undefined): string | undefined {
  return fingerprint && /^[0-9a-f]{16,}$/i.test(fingerprint)
    ? fingerprint.slice(0, 16).toLowerCase()
    : undefined;
}

/**
 * `certificate`, `certificateIssuances` and `certificateAccount` of an HA ingress, as the standalone
 * ingress reports them, from the certificate Secret replica 0 writes (`tls.crt`, and
 * `acme-account-fingerprint` naming its ACME account). Never the private key.
 */
export function certificateOutputs(
  certData: Record<string, string>,
  dnsName: string,
  previous: any,
): Record<string, unknown> {
  const certificate = certificateState(certData["tls.crt"] || undefined, dnsName);
  const account = acmeAccountIdFromFingerprint(certData["acme-account-fingerprint"]);
  return {
    certificate,
    certificateIssuances: nextIssuances(previous, certificate, account),
    ...(account ? { certificateAccount: account } : {}),
  };
}
