// The Let's Encrypt side of tailscaled's cert loop: accounts, renewals, issuance history and
// the weekly limits (https://letsencrypt.org/docs/rate-limits/ as of letsencrypt/website@b89871ef),
// issuing from the local CAs in tests/support/ca. An order that names the certificate it replaces
// (ARI), issued by the same account, is exempt from every limit; any other order for a set of names
// certified before is a renewal: exempt from the per-domain limit, counted against the per-set one.
import { createHash, createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import {
  type CaEnvironment,
  getCa,
  type IssuedCert,
  issueCertificate,
  LE_STAGING_DIRECTORY_URL,
} from "../ca";

/** One certificate order, successful or not. */
export interface Issuance {
  at: Date;
  namespace: string;
  podName: string;
  /** The names on the certificate. */
  domains: string[];
  /** The registered domain Let's Encrypt counts against (the tailnet's `<tailnet>.ts.net`). */
  tailnetDomain: string;
  environment: CaEnvironment;
  /** SHA-256 fingerprint of the ACME account public key. */
  account: string;
  /** The same names were certified before (by any account): exempt from the per-domain limit. */
  renewal: boolean;
  /** An ARI renewal (it replaces this account's certificate for the same names): exempt from every limit. */
  ari: boolean;
  ok: boolean;
  error?: "rate-limited" | "https-disabled";
  serial?: string;
}

/** Weekly limits per environment (production: LE's published numbers). */
export interface RateLimits {
  newCertificatesPerWeek: number;
  duplicateCertificatesPerWeek: number;
}

/** Let's Encrypt limits: 50 new certificates per registered domain and 5 per exact set of names per week. */
export const DEFAULT_RATE_LIMITS: Record<CaEnvironment, RateLimits> = {
  production: { newCertificatesPerWeek: 50, duplicateCertificatesPerWeek: 5 },
  staging: { newCertificatesPerWeek: 30000, duplicateCertificatesPerWeek: 30000 },
};

const WEEK_MS = 7 * 24 * 3600 * 1000;

/** Staging when the ACME directory env points at LE staging. */
export function environmentFromEnv(env: Record<string, string>): CaEnvironment {
  return env["TS_DEBUG_ACME_DIRECTORY_URL"] === LE_STAGING_DIRECTORY_URL ? "staging" : "production";
}

/** A new ACME account key, PEM (tailscaled uses ECDSA P-256). */
export function newAccountKeyPem(): string {
  return generateKeyPairSync("ec", { namedCurve: "P-256" })
    .privateKey.export({ type: "pkcs8", format: "pem" })
    .toString();
}

/** Fingerprint identifying an ACME account by its key. */
export function accountFingerprint(accountKeyPem: string): string {
  const spki = createPublicKey(accountKeyPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("hex");
}

/** The registered domain for a MagicDNS name: drop the first label. */
export function tailnetDomainOf(domain: string): string {
  return domain.split(".").slice(1).join(".");
}

/**
 * Whether an existing certificate still serves `domain` for `environment`: it names the domain,
 * has more than a third of its lifetime left, and is not a staging cert when production is wanted
 * (production→staging keeps the production cert until renewal, as tailscaled does).
 */
export function certStillGood(
  certPem: string | undefined,
  domain: string,
  environment: CaEnvironment,
  now: Date,
) {
  if (!certPem) return false;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return false;
  }
  if (!cert.checkHost(domain)) return false;
  const staging = getCa("staging");
  const issuedByStaging = cert.verify(staging.publicKey);
  if (environment === "production" && issuedByStaging) return false;
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return to - now.getTime() > (to - from) / 3;
}

/** Issuance history and limit enforcement for one simulated cluster. */
export class AcmeSim {
  readonly history: Issuance[] = [];

  constructor(private readonly limits: Record<CaEnvironment, RateLimits> = DEFAULT_RATE_LIMITS) {}

  /** Orders a certificate; returns it, or the failure recorded in the history. */
  order(o: {
    namespace: string;
    podName: string;
    domains: string[];
    environment: CaEnvironment;
    accountKeyPem: string;
    now: Date;
    /** The order names a certificate it replaces (tailscaled's ARI renewal). */
    replaces?: boolean;
    forcedError?: "rate-limited" | "https-disabled";
  }): { cert?: IssuedCert; issuance: Issuance } {
    const account = accountFingerprint(o.accountKeyPem);
    const key = [...o.domains].sort().join(",");
    const sameNames = (i: Issuance) =>
      i.ok && i.environment === o.environment && [...i.domains].sort().join(",") === key;
    const renewal = this.history.some(sameNames);
    const ari = o.replaces === true && this.history.some((i) => sameNames(i) && i.account === account);
    const base: Issuance = {
      at: o.now,
      namespace: o.namespace,
      podName: o.podName,
      domains: [...o.domains],
      tailnetDomain: tailnetDomainOf(o.domains[0]!),
      environment: o.environment,
      account,
      renewal,
      ari,
      ok: false,
    };
    let error = o.forcedError;
    if (!error && !ari) {
      const since = o.now.getTime() - WEEK_MS;
      const recent = this.history.filter(
        (i) => i.ok && !i.ari && i.environment === o.environment && i.at.getTime() > since,
      );
      const limits = this.limits[o.environment];
      const newInDomain = recent.filter((i) => !i.renewal && i.tailnetDomain === base.tailnetDomain);
      if (!renewal && newInDomain.length >= limits.newCertificatesPerWeek) {
        error = "rate-limited";
      } else if (recent.filter(sameNames).length >= limits.duplicateCertificatesPerWeek) {
        error = "rate-limited";
      }
    }
    if (error) {
      const failed = { ...base, error };
      this.history.push(failed);
      return { issuance: failed };
    }
    const cert = issueCertificate({ ca: getCa(o.environment), domains: o.domains, now: o.now });
    const issuance = { ...base, ok: true, serial: cert.serial };
    this.history.push(issuance);
    return { cert, issuance };
  }
}
