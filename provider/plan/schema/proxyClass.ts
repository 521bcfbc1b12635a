/**
 * The declaration of ProxyClass, field by field: its validation, what of a proxy it changes, and which
 * proxies it has an effect on. plan/proxyclass.ts applies it to a StatefulSet (and plan/standalone.ts
 * and plan/ha/config.ts put `acceptRoutes` in the tailscaled config); tests/unit/proxyclass.test.ts
 * checks that every declared field changes what it says it changes.
 *
 * A ProxyClass change is always applied in place: the proxies keep their devices, names and
 * certificates (for a TailnetService or TailnetIngress on a ProxyGroup, the ProxyGroup's ProxyClass
 * applies, and theirs is only recorded).
 */
import {
  type CheckFailure,
  checkBoolean,
  checkEnum,
  checkKnownKeys,
  checkList,
  checkStringMap,
  failureList,
  type Push,
} from "../check";
import { isPlainObject } from "../gojson";
import { isUnknown, type ProxyClassInput } from "../inputs";
import { MANAGED_LABEL_KEYS } from "../labels";
import type { ProxyType } from "../proxyclass";
import {
  dns1123SubdomainErrors,
  envVarNameErrors,
  imageReferenceError,
  qualifiedNameErrors,
  quantityError,
} from "../syntax";

/** What of a proxy a ProxyClass field changes. */
export type ProxyClassTarget =
  /** The Pod template (a rolling restart). */
  | "podTemplate"
  /** The StatefulSet's own labels or annotations (no restart). */
  | "statefulSetMetadata"
  /** The tailscaled config in the proxy's config Secret. */
  | "tailscaledConfig";

/** The declaration of one ProxyClass field. */
export interface ProxyClassField {
  /** Validates a present, known value at `at`. */
  check: (value: unknown, at: string, push: Push) => void;
  appliesTo: ProxyClassTarget;
  /** The proxy types it has an effect on; every one when absent. */
  only?: readonly ProxyType[];
}

function checkObject(v: unknown, at: string, push: Push): void {
  if (!isPlainObject(v)) push(at, "must be an object");
}

function checkLabels(v: unknown, at: string, push: Push): void {
  checkStringMap(v, at, push, { values: "label", reserved: MANAGED_LABEL_KEYS });
}

function checkAnnotations(v: unknown, at: string, push: Push): void {
  checkStringMap(v, at, push, { values: "any" });
}

function checkBool(v: unknown, at: string, push: Push): void {
  checkBoolean(v, at, push);
}

function checkEnv(v: unknown, at: string, push: Push): void {
  checkList(v, at, push, "must be a list of {name, value}", (e, item) => {
    if (!isPlainObject(e)) {
      push(item, "must be an object {name, value}");
      return;
    }
    if (!isUnknown(e.name)) {
      if (typeof e.name !== "string") push(`${item}.name`, "must be a string");
      else
        for (const m of envVarNameErrors(e.name))
          push(`${item}.name`, `invalid name ${JSON.stringify(e.name)}: ${m}`);
    }
    if (!isUnknown(e.value) && typeof e.value !== "string") push(`${item}.value`, "must be a string");
  });
}

function checkTolerations(v: unknown, at: string, push: Push): void {
  checkList(v, at, push, "must be a list of tolerations", (t, item) => {
    if (!isPlainObject(t)) {
      push(
        item,
        `must be a toleration {key, operator, value, effect, tolerationSeconds}, got ${JSON.stringify(t)}`,
      );
      return;
    }
    checkEnum(t.operator, ["Exists", "Equal"], `${item}.operator`, push);
    checkEnum(t.effect, ["NoSchedule", "PreferNoSchedule", "NoExecute"], `${item}.effect`, push);
    if (t.operator === "Exists" && typeof t.value === "string" && t.value !== "") {
      push(`${item}.value`, "value must be empty when `operator` is 'Exists'");
    }
    if (typeof t.key === "string" && t.key !== "") {
      for (const m of qualifiedNameErrors(t.key)) push(`${item}.key`, m);
    }
  });
}

function checkLabelSelector(v: unknown, at: string, push: Push): void {
  if (!isPlainObject(v)) {
    push(at, "must be a label selector {matchLabels, matchExpressions}");
    return;
  }
  checkKnownKeys(
    v,
    ["matchLabels", "matchExpressions"],
    { at, what: "a label selector", noun: "a field" },
    push,
  );
  checkStringMap(v.matchLabels, `${at}.matchLabels`, push, { values: "label" });
  if (v.matchExpressions === undefined || isUnknown(v.matchExpressions)) return;
  checkList(
    v.matchExpressions,
    `${at}.matchExpressions`,
    push,
    "must be a list of requirements",
    (r, item) => {
      if (!isPlainObject(r)) {
        push(item, "must be a requirement {key, operator, values}");
        return;
      }
      if (typeof r.key !== "string") push(`${item}.key`, "is required: a label key");
      else for (const e of qualifiedNameErrors(r.key)) push(`${item}.key`, e);
      if (r.operator === undefined)
        push(`${item}.operator`, "is required: In, NotIn, Exists or DoesNotExist");
      else checkEnum(r.operator, ["In", "NotIn", "Exists", "DoesNotExist"], `${item}.operator`, push);
      const values = isUnknown(r.values) ? undefined : (r.values ?? []);
      if (!Array.isArray(values)) return;
      if ((r.operator === "In" || r.operator === "NotIn") && values.length === 0)
        push(`${item}.values`, `must be non-empty when operator is ${r.operator}`);
      if ((r.operator === "Exists" || r.operator === "DoesNotExist") && values.length > 0)
        push(`${item}.values`, `must be empty when operator is ${r.operator}`);
    },
  );
}

/**
 * The rules the API server applies to a Pod's spread constraints (kubernetes/kubernetes
 * pkg/apis/core/validation/validation.go validateTopologySpreadConstraints), so that a mistake fails the
 * preview naming the field instead of the StatefulSet write at `up`.
 */
function checkSpreadConstraints(v: unknown, at: string, push: Push): void {
  const seen = new Set<string>();
  checkList(v, at, push, "must be a list of topology spread constraints", (c, item) => {
    if (!isPlainObject(c)) {
      push(item, "must be a constraint {maxSkew, topologyKey, whenUnsatisfiable, labelSelector, ...}");
      return;
    }
    checkKnownKeys(c, SPREAD_KEYS, { at: item, what: "a topology spread constraint", noun: "a field" }, push);
    const positive = (f: "maxSkew" | "minDomains", required: boolean) => {
      const n = c[f];
      if (n === undefined) {
        if (required) push(`${item}.${f}`, "is required: how uneven the spread may be, e.g. 1");
      } else if (!isUnknown(n) && !(typeof n === "number" && Number.isInteger(n) && n > 0))
        push(`${item}.${f}`, `must be a whole number greater than zero, got ${JSON.stringify(n)}`);
    };
    positive("maxSkew", true);
    if (c.topologyKey === undefined || c.topologyKey === "")
      push(`${item}.topologyKey`, 'is required: a node label, e.g. "kubernetes.io/hostname"');
    else if (typeof c.topologyKey !== "string") push(`${item}.topologyKey`, "must be a string");
    if (c.whenUnsatisfiable === undefined)
      push(`${item}.whenUnsatisfiable`, "is required: DoNotSchedule or ScheduleAnyway");
    else
      checkEnum(c.whenUnsatisfiable, ["DoNotSchedule", "ScheduleAnyway"], `${item}.whenUnsatisfiable`, push);
    positive("minDomains", false);
    if (c.minDomains !== undefined && c.whenUnsatisfiable === "ScheduleAnyway")
      push(`${item}.minDomains`, "can only be set with whenUnsatisfiable DoNotSchedule");
    checkEnum(c.nodeAffinityPolicy, ["Honor", "Ignore"], `${item}.nodeAffinityPolicy`, push);
    checkEnum(c.nodeTaintsPolicy, ["Honor", "Ignore"], `${item}.nodeTaintsPolicy`, push);
    if (c.labelSelector !== undefined && !isUnknown(c.labelSelector))
      checkLabelSelector(c.labelSelector, `${item}.labelSelector`, push);
    if (c.matchLabelKeys !== undefined && !isUnknown(c.matchLabelKeys)) {
      checkList(
        c.matchLabelKeys,
        `${item}.matchLabelKeys`,
        push,
        "must be a list of label keys",
        (k, key) => {
          if (typeof k !== "string") push(key, "must be a label key (string)");
          else for (const e of qualifiedNameErrors(k)) push(key, e);
        },
      );
    }
    // The pair names one kind of constraint: the API server refuses a second one.
    const pair = `${String(c.topologyKey)}/${String(c.whenUnsatisfiable)}`;
    if (typeof c.topologyKey === "string" && typeof c.whenUnsatisfiable === "string") {
      if (seen.has(pair))
        push(
          item,
          `repeats topologyKey ${JSON.stringify(c.topologyKey)} with whenUnsatisfiable ${c.whenUnsatisfiable}`,
        );
      seen.add(pair);
    }
  });
}

const SPREAD_KEYS = [
  "maxSkew",
  "topologyKey",
  "whenUnsatisfiable",
  "labelSelector",
  "minDomains",
  "nodeAffinityPolicy",
  "nodeTaintsPolicy",
  "matchLabelKeys",
];

function checkResources(v: unknown, at: string, push: Push): void {
  if (!isPlainObject(v)) {
    push(
      at,
      'must be {requests, limits}, maps of resource name to quantity (e.g. { requests: { memory: "64Mi" } })',
    );
    return;
  }
  const resources = v;
  for (const kind of ["requests", "limits"] as const) {
    const m = resources[kind];
    if (m === undefined || isUnknown(m)) continue;
    if (!isPlainObject(m)) {
      push(`${at}.${kind}`, "must be a map of resource name to quantity");
      continue;
    }
    for (const [name, q] of Object.entries(m)) {
      if (isUnknown(q)) continue;
      const e =
        typeof q === "string" ? quantityError(q) : 'must be a quantity string such as "500m" or "64Mi"';
      if (e) push(`${at}.${kind}[${JSON.stringify(name)}]`, e);
    }
  }
}

/**
 * Every ProxyClass field, in the order check reports them. Typed over every key of ProxyClassInput: a
 * field added there without a declaration here does not compile.
 */
export const PROXY_CLASS = {
  image: {
    appliesTo: "podTemplate",
    check(v, at, push) {
      if (typeof v !== "string") push(at, "must be a string");
      else {
        const e = imageReferenceError(v);
        if (e) push(at, e);
      }
    },
  },
  imagePullPolicy: {
    appliesTo: "podTemplate",
    check: (v, at, push) => checkEnum(v, ["Always", "IfNotPresent", "Never"], at, push),
  },
  firewallMode: {
    appliesTo: "podTemplate",
    // Userspace proxies (standalone layer 7) have no firewall.
    only: ["ingress_service", "proxygroup_ingress"],
    check: (v, at, push) => checkEnum(v, ["auto", "iptables", "nftables"], at, push),
  },
  acceptRoutes: { appliesTo: "tailscaledConfig", check: checkBool },
  enableMetrics: { appliesTo: "podTemplate", check: checkBool },
  useLetsEncryptStagingEnvironment: {
    appliesTo: "podTemplate",
    // Only proxies that serve HTTPS get certificates.
    only: ["ingress_resource", "proxygroup_ingress"],
    check: checkBool,
  },
  imagePullSecrets: {
    appliesTo: "podTemplate",
    check(v, at, push) {
      checkList(v, at, push, "must be a list of Secret names", (s, item) => {
        if (typeof s !== "string") push(item, "must be a Secret name (string)");
        else for (const e of dns1123SubdomainErrors(s)) push(item, e);
      });
    },
  },
  priorityClassName: {
    appliesTo: "podTemplate",
    check(v, at, push) {
      if (typeof v !== "string") push(at, "must be a string");
      else for (const e of dns1123SubdomainErrors(v)) push(at, e);
    },
  },
  nodeSelector: {
    appliesTo: "podTemplate",
    check: (v, at, push) => checkStringMap(v, at, push, { values: "label" }),
  },
  podLabels: { appliesTo: "podTemplate", check: checkLabels },
  statefulSetLabels: { appliesTo: "statefulSetMetadata", check: checkLabels },
  podAnnotations: { appliesTo: "podTemplate", check: checkAnnotations },
  statefulSetAnnotations: { appliesTo: "statefulSetMetadata", check: checkAnnotations },
  env: { appliesTo: "podTemplate", check: checkEnv },
  tolerations: { appliesTo: "podTemplate", check: checkTolerations },
  resources: { appliesTo: "podTemplate", check: checkResources },
  affinity: { appliesTo: "podTemplate", check: checkObject },
  topologySpreadConstraints: { appliesTo: "podTemplate", check: checkSpreadConstraints },
  securityContext: { appliesTo: "podTemplate", check: checkObject },
  podSecurityContext: { appliesTo: "podTemplate", check: checkObject },
} as const satisfies Record<keyof ProxyClassInput, ProxyClassField>;

/**
 * Validates a ProxyClass at property path `at` (e.g. `proxyClass`): failures name fields below it
 * (`proxyClass.env[2].name`). An absent or unknown ProxyClass, or field, is not reported.
 */
export function checkProxyClass(pc: unknown, at = "proxyClass"): CheckFailure[] {
  const { failures, push } = failureList();
  if (pc === undefined || isUnknown(pc)) return failures;
  if (!isPlainObject(pc)) {
    push(at, "must be an object");
    return failures;
  }
  checkKnownKeys(pc, Object.keys(PROXY_CLASS), { at, what: "ProxyClass", noun: "a field" }, push);
  for (const [key, field] of Object.entries(PROXY_CLASS) as [string, ProxyClassField][]) {
    const v = pc[key];
    if (v !== undefined && !isUnknown(v)) field.check(v, `${at}.${key}`, push);
  }
  return failures;
}
