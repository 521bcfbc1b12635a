/**
 * Let's Encrypt's limits as a budget shared by stacks: which issuances count, what an `up` would add,
 * and whether that stays within the limits. Pure: the caller passes the time.
 *
 * The limits (https://letsencrypt.org/docs/rate-limits/ as of letsencrypt/website@b89871ef, and
 * Tailscale's "Let's Encrypt rate limits with the Kubernetes Operator"): per registered domain (each
 * `<tailnet>.ts.net`) 50 new certificates per 168 hours, and 5 certificates per 168 hours for the same
 * exact set of names. A renewal ordered with ACME Renewal
 * Information (ARI: the order names the certificate it replaces, which the same account issued) is
 * exempt from every limit. Any other order for a name that was certified before is a renewal too, exempt
 * from the per-domain limit but counted against the per-name one. tailscaled orders with ARI only
 * where renewals are not forced (`TS_DEBUG_ACME_FORCE_RENEWAL`, which every proxy but a ProxyGroup
 * sharing its ACME account sets) and the account that issued the certificate is still the proxy's.
 * Staging has its own, far higher limits.
 */

import { UNKNOWN } from "./inputs";
import type { CertificateState } from "./outputs";

/** The sliding window of both limits. */
export const WINDOW_HOURS = 168;

/** Let's Encrypt environment of a certificate. */
export type LetsEncryptEnvironment = "production" | "staging";

/** Limits per environment. */
export interface BudgetLimits {
  /** New certificates per registered domain (the tailnet's `ts.net` name) per window. */
  perDomain: number;
  /** Certificates for the same exact name per window. */
  perHostname: number;
}

/** Let's Encrypt's published numbers. */
export const LETS_ENCRYPT_LIMITS: Record<LetsEncryptEnvironment, BudgetLimits> = {
  production: { perDomain: 50, perHostname: 5 },
  staging: { perDomain: 30_000, perHostname: 30_000 },
};

/** Share of a limit from which the budget warns. */
export const WARN_AT = 0.8;

/** Certificates expiring sooner than this are reported. */
export const EXPIRY_WARNING_DAYS = 14;

/** One certificate issuance the budget knows of. */
export interface LedgerEntry {
  /** `<project>/<stack>` that caused it. */
  stack: string;
  /** Pulumi resource (URN) that caused it. */
  resource: string;
  /** Tailnet hostname the certificate is for (the first label of its MagicDNS name). */
  hostname: string;
  /** Let's Encrypt environment that issued it; each has its own limits. */
  environment: LetsEncryptEnvironment;
  /** When it was issued (the certificate's `notBefore`), RFC 3339. */
  issuedAt: string;
  /**
   * A renewal without ARI: counts against the per-name limit only. Absent (a new certificate, or a
   * ledger written before renewals were told apart): against both.
   */
  renewal?: true;
}

/**
 * A TailnetIngress as the budget sees it. During preview any field may be the unknown sentinel: an
 * unknown `id` means the resource is new or being replaced, so the `up` will obtain a certificate.
 */
export interface BudgetIngress {
  resource: string;
  id?: string;
  hostname?: string;
  /** The ingress's `certificate.staging`; unknown for a certificate still to come. */
  staging?: boolean;
  /** The ingress's ProxyClass: tells staging when the certificate is not known yet. */
  proxyClass?: { useLetsEncryptStagingEnvironment?: boolean };
  /** The ingress's `certificateIssuances`. */
  issuances?: string[];
  /** The ingress's `certificateRenewals`. */
  renewals?: string[];
  certificate?: { state?: string; notAfter?: string; domain?: string; error?: string };
}

/** The provider inputs of a CertificateBudget: what the SDK sends, and what check adds. */
export interface CertificateBudgetInput {
  /** `<project>/<stack>/<resource name>`, set by the SDK; its stack part is the ledger's `stack`. */
  ownerId: string;
  ingresses: BudgetIngress[] | typeof UNKNOWN;
  peers?: Record<string, LedgerEntry[] | typeof UNKNOWN> | typeof UNKNOWN;
  limits?: Partial<Record<LetsEncryptEnvironment, Partial<BudgetLimits>>>;
  /** Set by check: this stack's ledger. */
  ledger?: LedgerEntry[];
  /** Set by check: the evaluation. */
  report?: BudgetReport;
}

/** Everything the evaluation needs. */
export interface BudgetInput {
  /** `<project>/<stack>` of this stack. */
  stack: string;
  ingresses: BudgetIngress[];
  /** Other stacks' exported ledgers, by stack name (as read through StackReferences). */
  peers: Record<string, LedgerEntry[] | undefined>;
  /** This budget's ledger from its previous run (its state), so history survives replacements. */
  previousLedger: LedgerEntry[];
  limits?: Partial<Record<LetsEncryptEnvironment, Partial<BudgetLimits>>>;
  /** RFC 3339; the caller's clock. */
  now: string;
}

/** Usage of one limit. */
export interface LimitUsage {
  /** Let's Encrypt environment the limit is of. */
  environment: LetsEncryptEnvironment;
  /** `tailnet` for the per-domain limit, or the hostname. */
  scope: string;
  /** Certificates allowed per window: Let's Encrypt's, or the lower one the budget was given. */
  limit: number;
  /** Issuances in the window, by stack. */
  usedByStack: Record<string, number>;
  /** Issuances in the window, all stacks together. */
  used: number;
  /** What this `up` would add. */
  planned: number;
  /** Hostnames behind `planned`. */
  plannedHostnames: string[];
  /** What is left after `used` and `planned`; negative when the `up` would exceed the limit. */
  remaining: number;
  /** When the oldest counted issuance leaves the window (the next slot frees), if any. */
  nextSlotAt?: string;
}

/** The evaluation. */
export interface BudgetReport {
  /** When the evaluation was made, RFC 3339. */
  evaluatedAt: string;
  /** The per-domain limits, then the per-hostname limits that have any usage. */
  usage: LimitUsage[];
  /** Over-limit findings: the preview fails with these. */
  violations: string[];
  /** Limits at 80 % or more. */
  warnings: string[];
}

function isKnown<T>(v: T | typeof UNKNOWN | undefined): v is T {
  return v !== undefined && v !== UNKNOWN;
}

function inWindow(issuedAt: string, now: number): boolean {
  const t = Date.parse(issuedAt);
  return Number.isFinite(t) && t <= now && now - t < WINDOW_HOURS * 3600_000;
}

/**
 * Staging or production: the certificate says, else the ingress's ProxyClass will decide. When neither
 * is known (an ingress re-created in the engine's delete-before-replace cascade, whose outputs are all
 * unknown during the preview), the environment of its last issuance in `history`, this stack's ledger.
 */
function environmentOf(ingress: BudgetIngress, history: readonly LedgerEntry[] = []): LetsEncryptEnvironment {
  if (isKnown(ingress.staging) && typeof ingress.staging === "boolean")
    return ingress.staging ? "staging" : "production";
  const pc = ingress.proxyClass;
  if (isKnown(pc)) return pc && pc.useLetsEncryptStagingEnvironment === true ? "staging" : "production";
  const last = history
    .filter((e) => e.resource === ingress.resource)
    .sort((a, b) => Date.parse(b.issuedAt) - Date.parse(a.issuedAt))[0];
  return last ? last.environment : "production";
}

function limitsFor(input: BudgetInput, env: LetsEncryptEnvironment): BudgetLimits {
  return { ...LETS_ENCRYPT_LIMITS[env], ...input.limits?.[env] };
}

function key(e: LedgerEntry): string {
  return `${e.stack}|${e.resource}|${e.hostname}|${e.environment}|${e.issuedAt}${e.renewal ? "|renewal" : ""}`;
}

/** What one ingress's certificates cost, as its outputs `certificateIssuances` and `certificateRenewals` record it. */
export interface CertificateHistory {
  /** Issue times of its new certificates: counted against both limits. */
  issuances: string[];
  /** Issue times of its renewals without ARI: counted against the per-name limit only. */
  renewals: string[];
}

/**
 * The history after reading the ingress's certificate `cert`, held by ACME account `account`, given
 * what the previous outputs recorded. A certificate with a serial not seen before is:
 * - for the domain of the previous certificate, from the same account, with `ari` (the proxy does not
 *   force renewals: a ProxyGroup sharing its ACME account): an ARI renewal, exempt, not recorded;
 * - for the domain of the previous certificate otherwise (renewals forced, or a new account: fresh
 *   state): a renewal, since Let's Encrypt tells renewals by the set of names;
 * - anything else (a first certificate, another domain): a new certificate. A first certificate of a
 *   name some earlier resource held is a renewal to Let's Encrypt; counting it as new errs on the safe side.
 */
export function nextCertificateHistory(
  previous:
    | {
        certificate?: CertificateState;
        certificateIssuances?: string[];
        certificateRenewals?: string[];
        certificateAccount?: string;
      }
    | undefined,
  cert: CertificateState,
  account: string | undefined,
  ari: boolean,
): CertificateHistory {
  const history: CertificateHistory = {
    issuances: [...(previous?.certificateIssuances ?? [])],
    renewals: [...(previous?.certificateRenewals ?? [])],
  };
  const before = previous?.certificate;
  if (cert.state !== "issued" || !cert.serialNumber || !cert.notBefore) return history;
  if (before?.serialNumber === cert.serialNumber) return history;
  const sameName = before?.state === "issued" && before.domain === cert.domain;
  const sameAccount = !!account && previous?.certificateAccount === account;
  if (sameName && sameAccount && ari) return history;
  (sameName ? history.renewals : history.issuances).push(cert.notBefore);
  return history;
}

/**
 * This stack's ledger: every issuance its ingresses report, plus what the previous run recorded (an
 * ingress being replaced reports nothing during preview, and a deleted one nothing at all), kept
 * while inside the window.
 */
export function ownLedger(input: BudgetInput): LedgerEntry[] {
  const now = Date.parse(input.now);
  const entries = new Map<string, LedgerEntry>();
  for (const e of input.previousLedger)
    if (e.stack === input.stack && inWindow(e.issuedAt, now)) entries.set(key(e), e);
  for (const ingress of input.ingresses) {
    if (!isKnown(ingress.hostname)) continue;
    const environment = environmentOf(ingress);
    const times = (list: string[] | undefined) =>
      isKnown(list) && Array.isArray(list) ? list.filter((t) => inWindow(t, now)) : [];
    const found: [string, boolean][] = [
      ...times(ingress.issuances).map((t): [string, boolean] => [t, false]),
      ...times(ingress.renewals).map((t): [string, boolean] => [t, true]),
    ];
    for (const [issuedAt, renewal] of found) {
      const e: LedgerEntry = {
        stack: input.stack,
        resource: ingress.resource,
        hostname: ingress.hostname,
        environment,
        issuedAt,
        ...(renewal ? { renewal: true as const } : {}),
      };
      entries.set(key(e), e);
    }
  }
  return [...entries.values()].sort(
    (a, b) => a.issuedAt.localeCompare(b.issuedAt) || key(a).localeCompare(key(b)),
  );
}

function usageOf(
  environment: LetsEncryptEnvironment,
  scope: string,
  limit: number,
  counted: LedgerEntry[],
  plannedHostnames: string[],
): LimitUsage {
  const usedByStack: Record<string, number> = {};
  for (const e of counted) usedByStack[e.stack] = (usedByStack[e.stack] ?? 0) + 1;
  const oldest = counted.map((e) => e.issuedAt).sort()[0];
  return {
    environment,
    scope,
    limit,
    usedByStack,
    used: counted.length,
    planned: plannedHostnames.length,
    plannedHostnames,
    remaining: limit - counted.length - plannedHostnames.length,
    ...(oldest ? { nextSlotAt: new Date(Date.parse(oldest) + WINDOW_HOURS * 3600_000).toISOString() } : {}),
  };
}

function describe(u: LimitUsage): string {
  const what =
    u.scope === "tailnet" ? "new certificates for the tailnet" : `certificates for the name "${u.scope}"`;
  const stacks = Object.entries(u.usedByStack)
    .map(([s, n]) => `${s}: ${n}`)
    .join(", ");
  const planned = u.planned
    ? ` + ${u.planned} planned by this update (${u.plannedHostnames.join(", ")})`
    : "";
  return (
    `Let's Encrypt ${u.environment} limit of ${u.limit} ${what} per ${WINDOW_HOURS} h: ` +
    `${u.used} used${stacks ? ` (${stacks})` : ""}${planned} = ${u.used + u.planned}`
  );
}

/** Evaluates the budget: usage per limit, violations (fail the preview) and warnings. */
export function evaluateBudget(input: BudgetInput): { ledger: LedgerEntry[]; report: BudgetReport } {
  const now = Date.parse(input.now);
  const ledger = ownLedger(input);
  // Peers are keyed by however the program names their stacks; entries carry `<project>/<stack>`.
  // This stack's own entries come from its ledger only, so stacks that reference each other never
  // count an issuance twice.
  const peerEntries = new Map<string, LedgerEntry>();
  for (const entries of Object.values(input.peers)) {
    if (!Array.isArray(entries)) continue;
    for (const e of entries) {
      if (e && e.stack !== input.stack && inWindow(e.issuedAt, now)) peerEntries.set(key(e), e);
    }
  }
  const peers = [...peerEntries.values()];
  const all = [...ledger, ...peers];

  // A new or replaced ingress (id unknown during preview) will obtain a certificate during `up`.
  const planned: { hostname: string; environment: LetsEncryptEnvironment }[] = [];
  for (const ingress of input.ingresses) {
    if (isKnown(ingress.id) && ingress.id !== "") continue;
    planned.push({
      hostname: isKnown(ingress.hostname) ? ingress.hostname : "(unknown hostname)",
      environment: environmentOf(ingress, ledger),
    });
  }

  const usage: LimitUsage[] = [];
  const violations: string[] = [];
  const warnings: string[] = [];
  for (const environment of ["production", "staging"] as const) {
    const limits = limitsFor(input, environment);
    const counted = all.filter((e) => e.environment === environment);
    const plannedHere = planned.filter((p) => p.environment === environment).map((p) => p.hostname);
    if (environment === "staging" && counted.length === 0 && plannedHere.length === 0) continue;
    const hostnames = [...new Set([...counted.map((e) => e.hostname), ...plannedHere])].sort();
    const scopes = [
      // Renewals are exempt from the per-domain limit; the per-name limits count them.
      usageOf(
        environment,
        "tailnet",
        limits.perDomain,
        counted.filter((e) => !e.renewal),
        plannedHere,
      ),
      ...hostnames.map((h) =>
        usageOf(
          environment,
          h,
          limits.perHostname,
          counted.filter((e) => e.hostname === h),
          plannedHere.filter((p) => p === h),
        ),
      ),
    ];
    for (const u of scopes) {
      usage.push(u);
      const total = u.used + u.planned;
      if (u.planned > 0 && total > u.limit) {
        violations.push(
          `${describe(u)} > ${u.limit}. This update would be refused by Let's Encrypt` +
            (u.nextSlotAt ? `; the next slot frees at ${u.nextSlotAt}` : "") +
            ". Keep existing names (replacing an ingress re-issues its certificate), spread the change over time, " +
            "or use proxyClass.useLetsEncryptStagingEnvironment for test stacks.",
        );
      } else if (total >= Math.ceil(u.limit * WARN_AT) && total > 0) {
        warnings.push(
          `${describe(u)}: ${u.limit - total} left (warning from ${Math.round(WARN_AT * 100)}%).`,
        );
      }
    }
  }

  return { ledger, report: { evaluatedAt: input.now, usage, violations, warnings } };
}

/**
 * Warnings for one ingress's certificate (shown by every preview and update of the TailnetIngress):
 * it failed, or it expires within {@link EXPIRY_WARNING_DAYS} days. tailscaled renews at two thirds of
 * a certificate's lifetime (about 30 days before the end of a 90-day one), so 14 days left means its
 * renewals have been failing.
 */
export function certificateWarnings(
  name: string,
  cert: { state?: string; notAfter?: string; domain?: string; error?: string } | undefined,
  now: string,
): string[] {
  if (!cert || typeof cert !== "object") return [];
  const out: string[] = [];
  const domain = cert.domain || name;
  if (cert.state === "failed" || cert.error) {
    out.push(`the certificate of ${domain} could not be obtained or renewed: ${cert.error ?? "failed"}`);
  }
  if (cert.state === "issued" && cert.notAfter) {
    const left = Date.parse(cert.notAfter) - Date.parse(now);
    if (left < EXPIRY_WARNING_DAYS * 86400_000) {
      const days = Math.max(0, Math.floor(left / 86400_000));
      out.push(
        `the certificate of ${domain} expires at ${cert.notAfter} (in ${days} days): tailscaled renews at two thirds ` +
          "of its lifetime, so its renewals are failing; check the proxy's logs",
      );
    }
  }
  return out;
}
