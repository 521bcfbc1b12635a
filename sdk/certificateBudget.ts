import * as pulumi from "@pulumi/pulumi";
import type { BudgetReport, LedgerEntry, LimitUsage } from "../provider/plan/budget";
import { CERTIFICATE_BUDGET_OUTPUTS } from "../provider/plan/outputs";
import { providerFor } from "./shim";
import type { TailnetIngress } from "./tailnetIngress";
import { outputPlaceholders, ownerIdFor, refuseProviderOptions, TYPE_MODULE } from "./types";

// The shapes the provider computes, re-exported under the names a program reads them by.
/** One certificate issuance recorded by a budget. */
export type CertificateLedgerEntry = LedgerEntry;
/** Usage of one Let's Encrypt limit. */
export type CertificateLimitUsage = LimitUsage;
/** The budget's evaluation, made at every preview and update. */
export type CertificateBudgetReport = BudgetReport;

/** Arguments of a {@link CertificateBudget}. */
export interface CertificateBudgetArgs {
  /** This stack's ingresses on the tailnet (standalone and HA). */
  ingresses: TailnetIngress[];
  /**
   * Other stacks that issue certificates on the same tailnet: stack name → that stack's exported
   * `certificateLedger` (see {@link CertificateBudget.ledgerOf}). Their issuances count against the
   * same limits.
   */
  peers?: Record<string, pulumi.Input<CertificateLedgerEntry[] | undefined>>;
  /**
   * Limits to enforce instead of Let's Encrypt's (production: 50 new certificates per tailnet and 5
   * per name per 168 hours; staging: 30,000), e.g. to keep a reserve. Lower only.
   */
  limits?: pulumi.Input<{
    /** Limits for Let's Encrypt production certificates (default 50 per tailnet, 5 per name). */
    production?: {
      /** New certificates per tailnet (its `<tailnet>.ts.net` domain) per 168 hours. */
      perDomain?: number;
      /** Certificates for one name per 168 hours. */
      perHostname?: number;
    };
    /** Limits for Let's Encrypt staging certificates (default 30,000 each). */
    staging?: {
      /** New certificates per tailnet (its `<tailnet>.ts.net` domain) per 168 hours. */
      perDomain?: number;
      /** Certificates for one name per 168 hours. */
      perHostname?: number;
    };
  }>;
}

/**
 * Let's Encrypt's limits as a budget shared by stacks. At every preview (including the one `pulumi up`
 * runs first) it counts the certificates issued in the past 168 hours by this stack's ingresses and
 * its peers' (per tailnet and per hostname, staging apart from production), adds what this update
 * will obtain (new and replaced ingresses), and fails the preview if that exceeds a limit, naming
 * the numbers and the stacks that used them. It warns from 80 %. (Each TailnetIngress warns by
 * itself about a certificate that expires within 14 days or failed.)
 *
 * Export its ledger so that peers can read it:
 * ```ts
 * export const certificateLedger = budget.ledger;
 * ```
 * It is enforced at preview: `pulumi up --skip-preview` skips it.
 */
export class CertificateBudget extends pulumi.dynamic.Resource {
  /** This stack's issuances inside the window; export it as `certificateLedger` for peer stacks. */
  declare public readonly ledger: pulumi.Output<CertificateLedgerEntry[]>;
  /** The latest evaluation. */
  declare public readonly report: pulumi.Output<CertificateBudgetReport>;
  /** Version of the output shape. */
  declare public readonly schemaVersion: pulumi.Output<number>;

  /** Another stack's exported `certificateLedger`, through a StackReference. */
  static ledgerOf(
    stack: string | pulumi.StackReference,
  ): pulumi.Output<CertificateLedgerEntry[] | undefined> {
    const ref = typeof stack === "string" ? new pulumi.StackReference(stack) : stack;
    return ref.getOutput("certificateLedger") as pulumi.Output<CertificateLedgerEntry[] | undefined>;
  }

  constructor(name: string, args: CertificateBudgetArgs, opts?: pulumi.CustomResourceOptions) {
    refuseProviderOptions("CertificateBudget", name, opts);
    // Each field is its own Output so that, during preview, what is unknown (a new ingress's id and
    // certificate) stays distinguishable from what is known (its hostname and ProxyClass).
    const ingresses = args.ingresses.map((ingress) => ({
      resource: ingress.urn,
      id: ingress.id,
      hostname: ingress.hostname,
      staging: ingress.certificate.apply((c) => c?.staging ?? false),
      proxyClass: ingress.proxyClass,
      issuances: ingress.certificateIssuances,
      renewals: ingress.certificateRenewals,
      certificate: ingress.certificate,
    }));
    super(
      providerFor("CertificateBudget"),
      name,
      {
        ...outputPlaceholders(CERTIFICATE_BUDGET_OUTPUTS),
        ownerId: ownerIdFor(name),
        ingresses,
        peers: args.peers ?? {},
        limits: args.limits,
      },
      opts,
      TYPE_MODULE,
      "CertificateBudget",
    );
    // Warnings go through the program (dynamic providers cannot log to the engine), so they show in
    // every preview and update.
    this.report.apply((report) => {
      for (const warning of report?.warnings ?? []) pulumi.log.warn(warning, this);
    });
  }
}
