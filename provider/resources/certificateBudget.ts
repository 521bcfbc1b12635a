/**
 * CertificateBudget: evaluated at `check`, so every preview (and the preview `pulumi up` runs first)
 * reports the Let's Encrypt budget and fails when the update would exceed it, before any change. It
 * makes no API calls; its state is its ledger of this stack's issuances, which other stacks read.
 */
import { type BudgetIngress, evaluateBudget, type LedgerEntry } from "../plan/budget";
import { canonicalJson } from "../plan/gojson";
import { SCHEMA_VERSION, UNKNOWN } from "../plan/inputs";
import { cleanOutputs, type Lifecycle } from "./lifecycle";

/** The provider inputs of a CertificateBudget. */
export interface CertificateBudgetInput {
  ownerId: string;
  ingresses: BudgetIngress[] | typeof UNKNOWN;
  peers?: Record<string, LedgerEntry[] | typeof UNKNOWN> | typeof UNKNOWN;
  limits?: Record<string, { perDomain?: number; perHostname?: number }>;
  ledger?: LedgerEntry[];
  report?: unknown;
}

/** `<project>/<stack>` from an owner id `<project>/<stack>/<name>`. */
function stackOf(ownerId: string): string {
  return ownerId.split("/").slice(0, 2).join("/");
}

function evaluate(olds: Partial<CertificateBudgetInput>, news: CertificateBudgetInput) {
  const peers: Record<string, LedgerEntry[] | undefined> = {};
  if (news.peers && news.peers !== UNKNOWN) {
    for (const [stack, ledger] of Object.entries(news.peers))
      peers[stack] = ledger === UNKNOWN ? undefined : ledger;
  }
  return evaluateBudget({
    stack: stackOf(news.ownerId),
    ingresses: news.ingresses === UNKNOWN ? [] : (news.ingresses ?? []),
    peers,
    previousLedger: Array.isArray(olds.ledger) ? olds.ledger : [],
    limits: news.limits,
    now: new Date().toISOString(),
  });
}

/** What decides whether the budget changed: not the time it was evaluated at. */
function comparable(v: any): string {
  const { evaluatedAt: _at, ...report } = v?.report ?? {};
  // Canonical: state comes back from the engine with its keys in another order than `check` wrote them.
  return canonicalJson([
    v?.ingresses ?? null,
    v?.peers ?? null,
    v?.limits ?? null,
    v?.ledger ?? null,
    report,
  ]);
}

export const certificateBudget: Lifecycle = {
  async check(olds, news) {
    const { ledger, report } = evaluate(olds, news);
    return {
      inputs: { ...news, ledger, report },
      failures: report.violations.map((reason) => ({ property: "ingresses", reason })),
    };
  },
  async diff(_id, olds, news) {
    return { changes: comparable(olds) !== comparable(news) };
  },
  async create(inputs) {
    return {
      id: `budget-${stackOf(inputs.ownerId)}`,
      outs: cleanOutputs({ ...inputs, schemaVersion: SCHEMA_VERSION }),
    };
  },
  async read(id, props) {
    return { id, props };
  },
  async update(_id, _olds, news) {
    return { outs: cleanOutputs({ ...news, schemaVersion: SCHEMA_VERSION }) };
  },
  async delete() {},
};
