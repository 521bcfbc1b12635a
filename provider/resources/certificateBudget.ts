/**
 * CertificateBudget: evaluated at `check`, so every preview (and the preview `pulumi up` runs first)
 * reports the Let's Encrypt budget and fails when the update would exceed it, before any change. It
 * makes no API calls; its state is its ledger of this stack's issuances, which other stacks read. Its
 * inputs are declared in plan/schema/certificateBudget.ts.
 */
import { type CertificateBudgetInput, evaluateBudget, type LedgerEntry } from "../plan/budget";
import { diffCertificateBudget } from "../plan/diff";
import { SCHEMA_VERSION, UNKNOWN } from "../plan/inputs";
import { CERTIFICATE_BUDGET } from "../plan/schema/certificateBudget";
import { checkInputs } from "../plan/schema/field";
import { cleanOutputs, type Lifecycle } from "./lifecycle";

export type { CertificateBudgetInput } from "../plan/budget";

/** `<project>/<stack>` from an owner id `<project>/<stack>/<name>`. */
function stackOf(ownerId: string): string {
  return ownerId.split("/").slice(0, 2).join("/");
}

/** An entry of a recorded ledger as this code writes it; anything else in old state is not counted. */
function isLedgerEntry(e: unknown): e is LedgerEntry {
  const x = e as Record<string, unknown> | null;
  return (
    typeof x === "object" &&
    x !== null &&
    ["stack", "resource", "hostname", "environment", "issuedAt"].every((k) => typeof x[k] === "string")
  );
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
    previousLedger: Array.isArray(olds.ledger) ? olds.ledger.filter(isLedgerEntry) : [],
    limits: news.limits,
    now: new Date().toISOString(),
  });
}

export const certificateBudget: Lifecycle = {
  async check(olds, news) {
    const failures = checkInputs(CERTIFICATE_BUDGET, news);
    if (failures.length > 0) return { inputs: news, failures };
    const { ledger, report } = evaluate(olds, news);
    return {
      inputs: { ...news, ledger, report },
      failures: report.violations.map((reason) => ({ property: "ingresses", reason })),
    };
  },
  async diff(_id, olds, news) {
    // No detailedDiff: the engine then shows its own comparison of the inputs.
    return { changes: diffCertificateBudget(olds, news).changes };
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
