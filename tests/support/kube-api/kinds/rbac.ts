/** Role and RoleBinding strategies (pkg/apis/rbac/v1/defaults.go, pkg/apis/rbac/validation). */
import { type FieldError, invalidField, notSupportedField, requiredField } from "../errors";
import { dns1123SubdomainErrors, invalidEach, pathSegmentNameErrors } from "../validation";
import type { KindStrategy } from "./types";

const RBAC = "rbac.authorization.k8s.io";

/** ValidatePolicyRule (pkg/apis/rbac/validation): verbs required; URL rules alone; resource rules need groups and resources. */
function validateRules(rules: unknown, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const nonEmpty = (v: unknown) => Array.isArray(v) && v.length > 0;
  (Array.isArray(rules) ? rules : []).forEach((r: any, i: number) => {
    const p = `rules[${i}]`;
    if (!nonEmpty(r?.verbs)) errs.push(requiredField(`${p}.verbs`, "verbs must contain at least one value"));
    if (nonEmpty(r?.nonResourceURLs)) {
      if (namespaced) {
        errs.push(
          invalidField(
            `${p}.nonResourceURLs`,
            r.nonResourceURLs,
            "namespaced rules cannot apply to non-resource URLs",
          ),
        );
      }
      if (nonEmpty(r.apiGroups) || nonEmpty(r.resources) || nonEmpty(r.resourceNames)) {
        errs.push(
          invalidField(
            `${p}.nonResourceURLs`,
            r.nonResourceURLs,
            "rules cannot apply to both regular resources and non-resource URLs",
          ),
        );
      }
      return;
    }
    if (!nonEmpty(r?.apiGroups)) {
      errs.push(requiredField(`${p}.apiGroups`, "resource rules must supply at least one api group"));
    }
    if (!nonEmpty(r?.resources)) {
      errs.push(requiredField(`${p}.resources`, "resource rules must supply at least one resource"));
    }
  });
  return errs;
}

/** Role: every rule needs verbs, and apiGroups when it names resources. */
export const roleStrategy: KindStrategy = {
  nameValidator: pathSegmentNameErrors,
  statusSubresource: false,
  generation: false,
  defaults() {},
  validate(obj) {
    return validateRules(obj.rules, true);
  },
};

/** ClusterRole: rules as for Role, non-resource URLs allowed; an aggregationRule needs selectors. */
export const clusterRoleStrategy: KindStrategy = {
  nameValidator: pathSegmentNameErrors,
  statusSubresource: false,
  generation: false,
  defaults() {},
  validate(obj) {
    const errs = validateRules(obj.rules, false);
    const agg = obj.aggregationRule;
    if (agg && (!Array.isArray(agg.clusterRoleSelectors) || agg.clusterRoleSelectors.length === 0)) {
      errs.push(
        requiredField(
          "aggregationRule.clusterRoleSelectors",
          "at least one clusterRoleSelector required if aggregationRule is non-nil",
        ),
      );
    }
    return errs;
  },
};

/** RoleBinding: roleRef and subjects apiGroup defaulting; roleRef immutable. */
export const roleBindingStrategy: KindStrategy = bindingStrategy(true);

/** ClusterRoleBinding: as RoleBinding, but it may only reference a ClusterRole. */
export const clusterRoleBindingStrategy: KindStrategy = bindingStrategy(false);

function bindingStrategy(namespaced: boolean): KindStrategy {
  return {
    nameValidator: pathSegmentNameErrors,
    statusSubresource: false,
    generation: false,
    defaults(obj) {
      // roleRef is a struct in Go, so a missing one decodes as empty and is then defaulted and validated.
      obj.roleRef ??= {};
      if (obj.roleRef && typeof obj.roleRef === "object" && !obj.roleRef.apiGroup)
        obj.roleRef.apiGroup = RBAC;
      for (const s of Array.isArray(obj.subjects) ? obj.subjects : []) {
        if (!s || typeof s !== "object" || s.apiGroup) continue;
        if (s.kind === "ServiceAccount") s.apiGroup = "";
        else if (s.kind === "User" || s.kind === "Group") s.apiGroup = RBAC;
      }
    },
    validate(obj) {
      const errs: FieldError[] = [];
      const rr = obj.roleRef ?? {};
      if (rr.apiGroup !== RBAC) errs.push(notSupportedField("roleRef.apiGroup", rr.apiGroup ?? "", [RBAC]));
      const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
      if (!kinds.includes(rr.kind)) errs.push(notSupportedField("roleRef.kind", rr.kind ?? "", kinds));
      if (!rr.name) errs.push(requiredField("roleRef.name"));
      else errs.push(...invalidEach("roleRef.name", rr.name, pathSegmentNameErrors(rr.name)));
      (Array.isArray(obj.subjects) ? obj.subjects : []).forEach((s: any, i: number) => {
        const p = `subjects[${i}]`;
        if (!s?.name) errs.push(requiredField(`${p}.name`));
        switch (s?.kind) {
          case "ServiceAccount":
            if (s.name) errs.push(...invalidEach(`${p}.name`, s.name, dns1123SubdomainErrors(s.name)));
            if (s.apiGroup !== "") errs.push(notSupportedField(`${p}.apiGroup`, s.apiGroup, [""]));
            // A RoleBinding's ServiceAccount subject defaults to the binding's namespace.
            if (!s.namespace && !namespaced) errs.push(requiredField(`${p}.namespace`));
            break;
          case "User":
          case "Group":
            if (s.apiGroup !== RBAC) errs.push(notSupportedField(`${p}.apiGroup`, s.apiGroup, [RBAC]));
            break;
          default:
            errs.push(notSupportedField(`${p}.kind`, s?.kind ?? "", ["ServiceAccount", "User", "Group"]));
        }
      });
      return errs;
    },
    validateUpdate(obj, old) {
      const a = old.roleRef ?? {};
      const b = obj.roleRef ?? {};
      if (a.apiGroup !== b.apiGroup || a.kind !== b.kind || a.name !== b.name) {
        return [
          invalidField(
            "roleRef",
            { apiGroup: b.apiGroup, kind: b.kind, name: b.name },
            "cannot change roleRef",
          ),
        ];
      }
      return [];
    },
  };
}
