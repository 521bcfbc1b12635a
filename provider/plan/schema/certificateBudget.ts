/**
 * The declaration of CertificateBudget. A budget writes nothing outside Pulumi's state: every change
 * of what it counts is recorded by an update. check evaluates it (resources/certificateBudget.ts has
 * the clock); see schema/field.ts for what else is derived from this.
 */
import type { CertificateBudgetInput } from "../budget";
import { checkBoolean, checkEnum, checkList, checkOwnerId, type Push } from "../check";
import { isPlainObject } from "../gojson";
import { type HostInputs, isUnknown } from "../inputs";
import { CERTIFICATE_BUDGET_OUTPUTS } from "../outputs";
import type { Effect, Fields, KindSchema } from "./field";
import { providerField } from "./shared";

type Input = CertificateBudgetInput & HostInputs;

const recorded = (reason: string): Effect => ({ kind: "inPlace", target: "state", reason });

/**
 * Above this a limit is no Let's Encrypt limit (the highest published is staging's 30,000): a mistyped or
 * huge number would disable the budget silently.
 */
const MAX_LIMIT = 1_000_000;

const ENVIRONMENTS = ["production", "staging"] as const;

/** A string at `at` when given (or `required`). */
function checkString(v: unknown, at: string, push: Push, required = false): void {
  if (isUnknown(v)) return;
  if (v === undefined) {
    if (required) push(at, "is required");
  } else if (typeof v !== "string") push(at, `must be a string, got ${JSON.stringify(v)}`);
}

/** An object at `at`; false (and a failure) when it is not one. */
function object(v: unknown, at: string, push: Push, what: string): v is Record<string, unknown> {
  if (isPlainObject(v)) return true;
  push(at, `must be ${what}, got ${JSON.stringify(v)}`);
  return false;
}

/** One ingress as the SDK passes it (a TailnetIngress's outputs the budget reads). */
function checkIngress(v: unknown, at: string, push: Push): void {
  if (!object(v, at, push, "a TailnetIngress (pass the resources themselves)")) return;
  checkString(v.resource, `${at}.resource`, push, true);
  checkString(v.id, `${at}.id`, push);
  checkString(v.hostname, `${at}.hostname`, push);
  checkBoolean(v.staging, `${at}.staging`, push);
  if (v.proxyClass !== undefined && v.proxyClass !== null && !isUnknown(v.proxyClass)) {
    if (object(v.proxyClass, `${at}.proxyClass`, push, "a ProxyClass"))
      checkBoolean(
        v.proxyClass.useLetsEncryptStagingEnvironment,
        `${at}.proxyClass.useLetsEncryptStagingEnvironment`,
        push,
      );
  }
  for (const k of ["issuances", "renewals"]) {
    if (v[k] === undefined || v[k] === null || isUnknown(v[k])) continue;
    checkList(v[k], `${at}.${k}`, push, "must be a list of RFC 3339 times", (t, p) =>
      checkString(t, p, push, true),
    );
  }
  if (v.certificate !== undefined && v.certificate !== null && !isUnknown(v.certificate)) {
    if (object(v.certificate, `${at}.certificate`, push, "a certificate state")) {
      for (const k of ["state", "notAfter", "domain", "error"])
        checkString(v.certificate[k], `${at}.certificate.${k}`, push);
    }
  }
}

/** One ledger entry (this stack's, or a peer's read through a StackReference). */
function checkLedgerEntry(v: unknown, at: string, push: Push): void {
  if (!object(v, at, push, "a ledger entry (a CertificateBudget's exported `ledger` output)")) return;
  for (const k of ["stack", "resource", "hostname"]) checkString(v[k], `${at}.${k}`, push, true);
  checkEnum(v.environment, ENVIRONMENTS, `${at}.environment`, push);
  if (v.environment === undefined) push(`${at}.environment`, "is required");
  checkString(v.issuedAt, `${at}.issuedAt`, push, true);
  checkBoolean(v.renewal, `${at}.renewal`, push);
  if (typeof v.issuedAt === "string" && Number.isNaN(Date.parse(v.issuedAt)))
    push(`${at}.issuedAt`, `must be an RFC 3339 time, got ${JSON.stringify(v.issuedAt)}`);
}

const fields: Fields<Input> = {
  ownerId: {
    origin: "sdk",
    check: (v, c) => checkOwnerId(v, c.at, c.push),
    change: { kind: "none", reason: "names the budget's stack, which it keeps no objects for" },
  },
  ingresses: {
    check: (v, c) => {
      if (v === undefined) c.push(c.at, "is required: the TailnetIngress resources whose certificates count");
      else
        checkList(v, c.at, c.push, "must be a list of TailnetIngress resources", (i, p) =>
          checkIngress(i, p, c.push),
        );
    },
    change: recorded("the ingresses counted change"),
  },
  peers: {
    check: (v, c) => {
      if (v === undefined || v === null) return;
      if (!object(v, c.at, c.push, "a map of stack name to that stack's exported ledger")) return;
      for (const [stack, ledger] of Object.entries(v)) {
        if (isUnknown(ledger)) continue;
        const at = `${c.at}[${JSON.stringify(stack)}]`;
        checkList(ledger, at, c.push, "must be the peer's `ledger` output (a list of entries)", (e, p) =>
          checkLedgerEntry(e, p, c.push),
        );
      }
    },
    change: recorded("the peer stacks' ledgers change"),
  },
  limits: {
    check: (v, c) => {
      if (v === undefined || v === null) return;
      if (!object(v, c.at, c.push, "{ production?, staging? } of { perDomain?, perHostname? }")) return;
      for (const [env, limits] of Object.entries(v)) {
        const at = `${c.at}.${env}`;
        if (!(ENVIRONMENTS as readonly string[]).includes(env)) {
          c.push(at, `is not a Let's Encrypt environment: use "production" or "staging"`);
          continue;
        }
        if (isUnknown(limits) || !object(limits, at, c.push, "{ perDomain?, perHostname? }")) continue;
        for (const [k, n] of Object.entries(limits)) {
          if (k !== "perDomain" && k !== "perHostname") {
            c.push(`${at}.${k}`, "is not a limit: use perDomain or perHostname");
          } else if (
            !isUnknown(n) &&
            (!Number.isInteger(n) || (n as number) < 1 || (n as number) > MAX_LIMIT)
          ) {
            c.push(`${at}.${k}`, `must be a whole number from 1 to ${MAX_LIMIT}, got ${JSON.stringify(n)}`);
          }
        }
      }
    },
    change: recorded("the limits change"),
  },
  ledger: {
    origin: "check",
    // Recomputed by every check; only a malformed recorded ledger could reach the evaluation.
    check: (v, c) => {
      if (v === undefined || v === null || isUnknown(v)) return;
      checkList(v, c.at, c.push, "must be a list of ledger entries", (e, p) =>
        checkLedgerEntry(e, p, c.push),
      );
    },
    change: recorded("this stack's issuances change"),
  },
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
