/**
 * PodDisruptionBudget (policy/v1): kubernetes/kubernetes pkg/registry/policy/poddisruptionbudget
 * (strategy) and pkg/apis/policy/validation/validation.go ValidatePodDisruptionBudgetSpec and
 * ValidatePodDisruptionBudgetStatusUpdate. Its spec is mutable (since 1.15); its status is the
 * disruption controller's, which this server does not run (see README).
 */
import { type FieldError, invalidField, notSupportedField } from "../errors";
import { dns1123SubdomainErrors, validateLabelSelector } from "../validation";
import type { KindStrategy } from "./types";

const PERCENT = /^[0-9]+%$/;
const PERCENT_MSG =
  "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')";

/**
 * ValidatePositiveIntOrPercent and IsNotMoreThan100Percent (pkg/apis/apps/validation): an integer ≥ 0
 * or a percentage of at most 100%.
 */
function intOrPercentErrors(field: string, v: unknown): FieldError[] {
  if (typeof v === "number") {
    return v < 0 ? [invalidField(field, v, "must be greater than or equal to 0")] : [];
  }
  if (typeof v !== "string") return [invalidField(field, v, "must be an integer or percentage (e.g '5%')")];
  if (!PERCENT.test(v)) return [invalidField(field, v, PERCENT_MSG)];
  return Number(v.slice(0, -1)) > 100 ? [invalidField(field, v, "must not be greater than 100%")] : [];
}

export const podDisruptionBudgetStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: true,
  generation: true,
  defaults() {
    // policy/v1 defaults nothing in a PodDisruptionBudget.
  },
  initialStatus() {
    // The Go struct's non-omitempty fields (k8s.io/api policy/v1 PodDisruptionBudgetStatus).
    return { disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 };
  },
  specOf(obj) {
    return obj.spec;
  },
  validate(obj) {
    const spec = obj.spec ?? {};
    const errs: FieldError[] = [];
    if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
      // The value is the Go struct, rendered in its field order.
      const goOrder = ["minAvailable", "selector", "maxUnavailable", "unhealthyPodEvictionPolicy"];
      const value = Object.fromEntries(goOrder.filter((k) => spec[k] !== undefined).map((k) => [k, spec[k]]));
      errs.push(invalidField("spec", value, "minAvailable and maxUnavailable cannot be both set"));
    }
    if (spec.minAvailable !== undefined)
      errs.push(...intOrPercentErrors("spec.minAvailable", spec.minAvailable));
    if (spec.maxUnavailable !== undefined)
      errs.push(...intOrPercentErrors("spec.maxUnavailable", spec.maxUnavailable));
    errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
    const policy = spec.unhealthyPodEvictionPolicy;
    if (policy !== undefined && policy !== "IfHealthyBudget" && policy !== "AlwaysAllow") {
      errs.push(
        notSupportedField("spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"]),
      );
    }
    return errs;
  },
  validateStatus(obj) {
    const errs: FieldError[] = [];
    for (const f of ["disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"]) {
      const v = obj.status?.[f];
      if (typeof v === "number" && v < 0)
        errs.push(invalidField(`status.${f}`, v, "must be greater than or equal to 0"));
    }
    return errs;
  },
};
