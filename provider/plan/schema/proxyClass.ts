/**
 * The declaration of ProxyClass, field by field: its validation, what of a proxy it changes, and which
 * proxies it has an effect on. plan/proxyclass.ts applies it to a StatefulSet (plan/standalone.ts
 * and plan/ha/config.ts put `acceptRoutes` in the tailscaled config, and plan/metrics.ts makes the
 * ServiceMonitor); tests/unit/proxyclass-fields.test.ts checks that every declared field changes what
 * it says it changes.
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
import { MAX_STATIC_ENDPOINTS, NODE_PORT_RANGE, portRangeText } from "../ha/staticEndpoints";
import { isUnknown, type ProxyClassInput } from "../inputs";
import { MANAGED_LABEL_KEYS } from "../labels";
import type { ProxyType } from "../proxyclass";
import {
  dns1123SubdomainErrors,
  envVarNameErrors,
  imageReferenceError,
  ipAddressError,
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
  | "tailscaledConfig"
  /** The Prometheus Operator ServiceMonitor beside the proxy's metrics Service (plan/metrics.ts). */
  | "serviceMonitor"
  /** A ProxyGroup's per-replica NodePort Services of static endpoints (plan/ha/staticEndpoints.ts). */
  | "nodePortServices";

/** ProxyClass fields whose value is a boolean. */
type BooleanField = {
  [K in keyof ProxyClassInput]-?: NonNullable<ProxyClassInput[K]> extends boolean ? K : never;
}[keyof ProxyClassInput];

/** The declaration of one ProxyClass field. */
export interface ProxyClassField {
  /** Validates a present, known value at `at`; `pc` is the whole ProxyClass. */
  check: (value: unknown, at: string, push: Push, pc: Record<string, unknown>) => void;
  appliesTo: ProxyClassTarget;
  /** What else it changes, on the same proxy types. */
  also?: readonly ProxyClassTarget[];
  /** The proxy types it has an effect on; every one when absent. */
  only?: readonly ProxyType[];
  /**
   * Refused on a standalone proxy (whose type `only` leaves out), with this advice, rather than left
   * without effect there.
   */
  refusedElsewhere?: string;
  /**
   * Fields that must be `true` for this one to be used: check refuses a value that `uses` says uses it
   * without them (and the field tests set them when testing this one).
   */
  requires?: readonly BooleanField[];
  /** Whether a value uses the field (default: any value does). */
  uses?: (value: unknown) => boolean;
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

function checkString(v: unknown, at: string, push: Push, errors: (s: string) => string[]): void {
  if (typeof v !== "string") push(at, "must be a string");
  else for (const e of errors(v)) push(at, e);
}

function checkImage(v: unknown, at: string, push: Push): void {
  checkString(v, at, push, (image) => {
    const e = imageReferenceError(image);
    return e ? [e] : [];
  });
}

const PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"] as const;

/**
 * A Pod's `dnsConfig` with the API server's rules (kubernetes/kubernetes pkg/apis/core/validation
 * validatePodDNSConfig; https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-dns-config):
 * at most 3 nameservers, each an IP address; at most 32 search domains of 2048 characters in all, each a
 * DNS subdomain (a trailing dot allowed); options with a name; with `dnsPolicy: None`, a nameserver.
 */
function checkDnsConfig(v: unknown, at: string, push: Push, pc: Record<string, unknown>): void {
  if (!isPlainObject(v)) {
    push(at, "must be an object {nameservers, searches, options}");
    return;
  }
  checkKnownKeys(v, ["nameservers", "searches", "options"], { at, what: "dnsConfig", noun: "a field" }, push);
  const strings = (key: string, item: (s: string, at: string) => void) => {
    const list = v[key];
    if (list === undefined || isUnknown(list)) return;
    checkList(list, `${at}.${key}`, push, "must be a list of strings", (e, i) => {
      if (typeof e !== "string") push(i, "must be a string");
      else item(e, i);
    });
  };
  const nameservers = v.nameservers;
  if (Array.isArray(nameservers) && nameservers.length > 3) {
    push(`${at}.nameservers`, "must not have more than 3 nameservers");
  }
  strings("nameservers", (ns, i) => {
    const e = ipAddressError(ns);
    if (e) push(i, e);
  });
  const searches = v.searches;
  if (Array.isArray(searches)) {
    if (searches.length > 32) push(`${at}.searches`, "must not have more than 32 search paths");
    if (searches.every((x) => typeof x === "string") && searches.join(" ").length > 2048) {
      push(`${at}.searches`, "must not have more than 2048 characters (including spaces) in the search list");
    }
  }
  strings("searches", (d, i) => {
    for (const e of dns1123SubdomainErrors(d.replace(/\.$/, ""))) push(i, e);
  });
  if (v.options !== undefined && !isUnknown(v.options)) {
    checkList(v.options, `${at}.options`, push, "must be a list of {name, value}", (o, i) => {
      if (!isPlainObject(o)) push(i, "must be an object {name, value}");
      else {
        if (typeof o.name !== "string" || o.name === "") push(`${i}.name`, "must not be empty");
        if (o.value !== undefined && !isUnknown(o.value) && typeof o.value !== "string") {
          push(`${i}.value`, "must be a string");
        }
      }
    });
  }
  if (
    pc.dnsPolicy === "None" &&
    !isUnknown(nameservers) &&
    !(Array.isArray(nameservers) && nameservers.length > 0)
  ) {
    push(`${at}.nameservers`, "must provide at least one DNS nameserver when `dnsPolicy` is None");
  }
}

/** `dnsPolicy`; `None` needs a `dnsConfig`, which then gives every DNS setting of the Pod. */
function checkDnsPolicy(v: unknown, at: string, push: Push, pc: Record<string, unknown>): void {
  checkEnum(v, DNS_POLICIES, at, push);
  if (v === "None" && pc.dnsConfig === undefined) {
    push(
      at,
      "must provide `dnsConfig` when `dnsPolicy` is None: set dnsConfig with at least one nameserver, or choose another dnsPolicy",
    );
  }
}

/** ProxyClass `initContainer`: the `sysctler` init container's image, pull policy, env, resources, securityContext. */
function checkInitContainer(v: unknown, at: string, push: Push): void {
  if (!isPlainObject(v)) {
    push(at, "must be an object {image, imagePullPolicy, env, resources, securityContext}");
    return;
  }
  const { debug, ...rest } = v;
  if (debug !== undefined) {
    // As the operator's ProxyClass validation says (tailscale/tailscale@de9ec7ee k8s-operator/reconciler/proxyclass/proxyclass.go).
    push(`${at}.debug`, "debug settings cannot be configured on the init container; use enableDebug");
  }
  checkKnownKeys(
    rest,
    ["image", "imagePullPolicy", "env", "resources", "securityContext"],
    { at, what: "initContainer", noun: "a field" },
    push,
  );
  const field = (key: string, check: (value: unknown, at: string, push: Push) => void) => {
    if (v[key] !== undefined && !isUnknown(v[key])) check(v[key], `${at}.${key}`, push);
  };
  field("image", checkImage);
  field("imagePullPolicy", (x, a, p) => checkEnum(x, PULL_POLICIES, a, p));
  field("env", checkEnv);
  field("resources", checkResources);
  field("securityContext", checkObject);
}

/** ProxyClass `serviceMonitor`: `{ enable, labels }`, as the operator's `metrics.serviceMonitor`. */
function checkServiceMonitor(v: unknown, at: string, push: Push): void {
  if (!isPlainObject(v)) {
    push(at, "must be an object {enable, labels}");
    return;
  }
  checkKnownKeys(v, ["enable", "labels"], { at, what: "serviceMonitor", noun: "a field" }, push);
  if (v.enable === undefined) push(`${at}.enable`, "is required: true to create the ServiceMonitor");
  else checkBoolean(v.enable, `${at}.enable`, push);
  if (v.labels !== undefined && !isUnknown(v.labels)) checkLabels(v.labels, `${at}.labels`, push);
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
 * ProxyClass `staticEndpoints`: `{ nodePort: { ports: [{ port, endPort }], selector } }`, with the CRD's
 * rules (`nodePort` and `ports` required, at least one range; tailscale/tailscale@de9ec7ee
 * cmd/k8s-operator/deploy/crds/tailscale.com_proxyclasses.yaml) and the operator's ProxyClass
 * validation (k8s-operator/reconciler/proxyclass/proxyclass.go:413-466 validateNodePortRanges: a
 * valid range, inside the cluster's NodePort range, none overlapping), with Kubernetes' default range
 * for the cluster's. Enough ports for the replicas is the ProxyGroup's check (schema/proxyGroup.ts).
 */
function checkStaticEndpoints(v: unknown, at: string, push: Push): void {
  if (!isPlainObject(v)) {
    push(at, "must be an object { nodePort: { ports, selector } }");
    return;
  }
  checkKnownKeys(v, ["nodePort"], { at, what: "staticEndpoints", noun: "a field" }, push);
  const np = v.nodePort;
  const npAt = `${at}.nodePort`;
  if (np === undefined) {
    push(
      npAt,
      'is required: { ports: [{ port: 30000, endPort: 30005 }], selector: { "node-role": "edge" } }',
    );
    return;
  }
  if (isUnknown(np)) return;
  if (!isPlainObject(np)) {
    push(npAt, "must be an object { ports, selector }");
    return;
  }
  checkKnownKeys(
    np,
    ["ports", "selector"],
    { at: npAt, what: "staticEndpoints.nodePort", noun: "a field" },
    push,
  );
  if (np.selector !== undefined && !isUnknown(np.selector))
    checkStringMap(np.selector, `${npAt}.selector`, push, { values: "label" });
  const ports = np.ports;
  const portsAt = `${npAt}.ports`;
  if (ports === undefined || (Array.isArray(ports) && ports.length === 0)) {
    push(portsAt, "must list at least one port range, e.g. [{ port: 30000, endPort: 30005 }]");
    return;
  }
  const ranges: { port: number; endPort?: number; at: string }[] = [];
  const { min, max } = NODE_PORT_RANGE;
  checkList(ports, portsAt, push, "must be a list of port ranges { port, endPort }", (r, item) => {
    if (!isPlainObject(r)) {
      push(item, "must be a port range { port, endPort }, e.g. { port: 30000, endPort: 30005 }");
      return;
    }
    checkKnownKeys(r, ["port", "endPort"], { at: item, what: "a port range", noun: "a field" }, push);
    const num = (key: "port" | "endPort"): number | undefined => {
      const n = r[key];
      if (n === undefined || isUnknown(n)) return undefined;
      if (typeof n !== "number" || !Number.isInteger(n)) {
        push(`${item}.${key}`, `must be a whole number, got ${JSON.stringify(n)}`);
        return undefined;
      }
      if (n < min || n > max) {
        push(
          `${item}.${key}`,
          `${n} is not within the cluster's NodePort range ${min}-${max} (Kubernetes' default ` +
            "--service-node-port-range): choose ports inside it, and let UDP to them through the nodes' firewall",
        );
        return undefined;
      }
      return n;
    };
    if (r.port === undefined) push(`${item}.port`, "is required: the first port of the range");
    const port = num("port");
    const endPort = num("endPort");
    if (port === undefined || (r.endPort !== undefined && endPort === undefined)) return;
    if (endPort !== undefined && endPort < port) {
      push(
        `${item}.endPort`,
        `must be at least port (${port}), got ${endPort}: the range is port..endPort, inclusive`,
      );
      return;
    }
    ranges.push({ port, endPort, at: item });
  });
  const sorted = [...ranges].sort((a, b) => a.port - b.port);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.port <= (prev.endPort ?? prev.port)) {
      push(
        cur.at,
        `overlaps ${prev.at} (${portRangeText(prev)} and ${portRangeText(cur)}): list each port once`,
      );
    }
  }
}

/**
 * Every ProxyClass field, in the order check reports them. Typed over every key of ProxyClassInput: a
 * field added there without a declaration here does not compile.
 */
export const PROXY_CLASS = {
  image: { appliesTo: "podTemplate", check: checkImage },
  imagePullPolicy: {
    appliesTo: "podTemplate",
    check: (v, at, push) => checkEnum(v, PULL_POLICIES, at, push),
  },
  firewallMode: {
    appliesTo: "podTemplate",
    // Userspace proxies (standalone layer 7) have no firewall.
    only: ["ingress_service", "proxygroup_ingress"],
    check: (v, at, push) => checkEnum(v, ["auto", "iptables", "nftables"], at, push),
  },
  acceptRoutes: { appliesTo: "tailscaledConfig", check: checkBool },
  enableMetrics: { appliesTo: "podTemplate", check: checkBool },
  enableDebug: { appliesTo: "podTemplate", check: checkBool },
  serviceMonitor: {
    appliesTo: "serviceMonitor",
    check: checkServiceMonitor,
    requires: ["enableMetrics"],
    uses: (v) => isPlainObject(v) && v.enable === true,
  },
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
    check: (v, at, push) => checkString(v, at, push, dns1123SubdomainErrors),
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
  nodeName: {
    appliesTo: "podTemplate",
    check: (v, at, push) => checkString(v, at, push, dns1123SubdomainErrors),
  },
  dnsPolicy: { appliesTo: "podTemplate", check: checkDnsPolicy },
  dnsConfig: { appliesTo: "podTemplate", check: checkDnsConfig },
  initContainer: {
    appliesTo: "podTemplate",
    // Only kernel-networking proxies have the `sysctler` init container.
    only: ["ingress_service", "proxygroup_ingress"],
    check: checkInitContainer,
  },
  staticEndpoints: {
    appliesTo: "nodePortServices",
    // PORT in the Pod template, and the endpoints in each replica's tailscaled config.
    also: ["podTemplate", "tailscaledConfig"],
    // The operator reads it only for ProxyGroups (tailscale/tailscale@de9ec7ee cmd/k8s-operator/proxygroup.go:313;
    // its standalone proxies' sts.go never does).
    only: ["proxygroup_ingress"],
    refusedElsewhere:
      `static endpoints are for ProxyGroup replicas only (each gets a NodePort Service and advertises up to ${MAX_STATIC_ENDPOINTS} node addresses), as in the operator: ` +
      "set it on a ProxyGroup's proxyClass and put this resource on that group (proxyGroup), or remove it",
    check: checkStaticEndpoints,
  },
} as const satisfies Record<keyof ProxyClassInput, ProxyClassField>;

/**
 * Validates a ProxyClass at property path `at` (e.g. `proxyClass`): failures name fields below it
 * (`proxyClass.env[2].name`). An absent or unknown ProxyClass, or field, is not reported. `standalone`:
 * the ProxyClass of a standalone proxy, which refuses the fields that say `refusedElsewhere`.
 */
export function checkProxyClass(pc: unknown, at = "proxyClass", standalone = false): CheckFailure[] {
  const { failures, push } = failureList();
  if (pc === undefined || isUnknown(pc)) return failures;
  if (!isPlainObject(pc)) {
    push(at, "must be an object");
    return failures;
  }
  checkKnownKeys(pc, Object.keys(PROXY_CLASS), { at, what: "ProxyClass", noun: "a field" }, push);
  for (const [key, field] of Object.entries(PROXY_CLASS) as [string, ProxyClassField][]) {
    const v = pc[key];
    if (v === undefined || isUnknown(v)) continue;
    if (standalone && field.refusedElsewhere) {
      push(`${at}.${key}`, field.refusedElsewhere);
      continue;
    }
    field.check(v, `${at}.${key}`, push, pc);
    if (!(field.uses?.(v) ?? true)) continue;
    for (const req of field.requires ?? []) {
      if (pc[req] !== true && !isUnknown(pc[req])) {
        push(`${at}.${key}`, `can only be used with ${at}.${req}: true; set it, or remove ${key}`);
      }
    }
  }
  return failures;
}
