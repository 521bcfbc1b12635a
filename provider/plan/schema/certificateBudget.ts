/**
 * The declaration of CertificateBudget. A budget writes nothing outside Pulumi's state: every change
 * of what it counts is recorded by an update. check evaluates it (resources/certificateBudget.ts has
 * the clock); see schema/field.ts for what else is derived from this.
 */
import type { CertificateBudgetInput } from "../budget";
import type { HostInputs } from "../inputs";
import { CERTIFICATE_BUDGET_OUTPUTS } from "../outputs";
import type { Effect, Fields, KindSchema } from "./field";
import { providerField } from "./shared";

type Input = CertificateBudgetInput & HostInputs;

const recorded = (reason: string): Effect => ({ kind: "inPlace", target: "state", reason });

const fields: Fields<Input> = {
  ownerId: {
    origin: "sdk",
    change: { kind: "none", reason: "names the budget's stack, which it keeps no objects for" },
  },
  ingresses: { change: recorded("the ingresses counted change") },
  peers: { change: recorded("the peer stacks' ledgers change") },
  limits: { change: recorded("the limits change") },
  ledger: { origin: "check", change: recorded("this stack's issuances change") },
  report: {
    origin: "check",
    // When it was evaluated is no change of the budget.
    normalize: (v) => {
      if (v === undefined || v === null || typeof v !== "object") return v;
      const { evaluatedAt: _at, ...report } = v as Record<string, unknown>;
      return report;
    },
    change: recorded("the evaluation changes"),
  },
  __provider: providerField,
};

/** CertificateBudget's declaration. */
export const CERTIFICATE_BUDGET: KindSchema<Input> = {
  kind: "CertificateBudget",
  fields,
  outputs: CERTIFICATE_BUDGET_OUTPUTS,
};
