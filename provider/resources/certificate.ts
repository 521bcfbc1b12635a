/**
 * The certificate an ingress proxy holds, as stack outputs: parsed from the PEM the proxy stored, with
 * `node:crypto`. Only the certificate is ever read; the private key stays in the cluster.
 */
import { createHash, X509Certificate } from "node:crypto";

/** Output shape of `certificate` (TailnetIngress). */
export interface CertificateState {
  state: "pending" | "issued" | "failed";
  domain: string;
  issuer?: string;
  staging?: boolean;
  notBefore?: string;
  notAfter?: string;
  serialNumber?: string;
  sha256Fingerprint?: string;
  error?: string;
}

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
