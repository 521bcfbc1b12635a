/**
 * The declaration of ProxyGroup: each input's default, validation and how a change is applied, in the
 * order check reports failures. See schema/field.ts for what is derived from it.
 *
 * Validation is stricter than the operator's, on purpose:
 * - `name` is limited to 52 characters (a longer StatefulSet name breaks its pods'
 *   `controller-revision-hash` label);
 * - the device hostnames `<hostnamePrefix|name>-<i>` must stay valid DNS labels for every ordinal
 *   (the CRD lets a 62-character prefix through, which overflows once `-<i>` is appended);
 * - `tags` may not be an empty list, as for every kind (plan/tags.ts).
 */
import { type CheckFailure, checkBoolean, checkOwnerId, type Push } from "../check";
import { fingerprintedObjects } from "../fingerprint";
import { goQuote, isPlainObject } from "../gojson";
import { DEFAULT_REPLICAS } from "../ha/common";
import { HEALTH_ENV_RESERVED, planProxyGroup, proxyGroupObjects } from "../ha/proxygroup";
import { portCount, portRangeText } from "../ha/staticEndpoints";
import {
  containsUnknown,
  type HostInputs,
  isUnknown,
  type PlannedInputs,
  type PortRangeInput,
  type ProxyGroupInput,
} from "../inputs";
import { MAX_STATEFULSET_NAME } from "../names";
import { PROXY_GROUP_OUTPUTS } from "../outputs";
import { LOCAL_ADDR_PORT } from "../proxyclass";
import { dns1123LabelErrors, unsupportedValue, validLabel } from "../syntax";
import { checkInputs, type Effect, type Fields, type KindSchema } from "./field";
import { checkProxyClassField, lastFields, planInputsKnown, tagsField } from "./shared";

type Input = ProxyGroupInput & HostInputs & PlannedInputs;

/** The CRD pattern of `spec.hostnamePrefix`. */
export const HOSTNAME_PREFIX_PATTERN = /^[a-z0-9][a-z0-9-]{0,61}$/;

/** Why a ProxyGroup name is invalid (empty when it is valid). */
function nameErrors(name: string): string[] {
  const errs = dns1123LabelErrors(name);
  if (errs.length === 0 && name.length > MAX_STATEFULSET_NAME) {
    errs.push(
      `must be no more than ${MAX_STATEFULSET_NAME} characters: it names the StatefulSet, whose pods carry a controller-revision-hash label "<name>-<hash>" limited to 63 characters`,
    );
  }
  return errs;
}

/** Why a replica count is invalid, or undefined. */
/** Most replicas one ProxyGroup may have. */
export const MAX_REPLICAS = 100;

function replicasError(v: unknown): string | undefined {
  if (typeof v !== "number" || !Number.isInteger(v))
    return `must be a whole number, got ${JSON.stringify(v)}`;
  if (v < 0) return `should be greater than or equal to 0, got ${v}`;
  // Each replica is a device, a Pod and two Secrets planned at check: a bound keeps a typo (100000) from
  // taking seconds and hundreds of MB in every preview. The operator's CRD has no bound; ours is generous.
  if (v > MAX_REPLICAS)
    return `must be at most ${MAX_REPLICAS} (each replica is a tailnet device and a Pod), got ${v}`;
  return undefined;
}

/** `hostnamePrefix`, and the device hostname of the last replica that the prefix (or the name) gives. */
function checkHostnamePrefix(news: Input, push: Push): void {
  const prefix = news.hostnamePrefix;
  let prefixOk = prefix === undefined || prefix === "";
  if (!prefixOk) {
    if (typeof prefix !== "string") push("hostnamePrefix", "must be a string");
    else if (!HOSTNAME_PREFIX_PATTERN.test(prefix)) {
      push(
        "hostnamePrefix",
        `should match '^[a-z0-9][a-z0-9-]{0,61}$': lowercase letters, digits and '-', starting with a letter or digit, at most 62 characters (got ${goQuote(prefix)})`,
      );
    } else prefixOk = true;
  }
  const replicasOk =
    news.replicas === undefined || (!isUnknown(news.replicas) && !replicasError(news.replicas));
  const nameOk = typeof news.name === "string" && !isUnknown(news.name) && nameErrors(news.name).length === 0;
  const base = prefix ? prefix : news.name;
  if (!prefixOk || !replicasOk || typeof base !== "string" || isUnknown(base) || !(prefix || nameOk)) return;
  const last = (news.replicas ?? DEFAULT_REPLICAS) - 1;
  if (last < 0) return;
  const err = validLabel(`${base}-${last}`);
  if (err) {
    push(
      prefix ? "hostnamePrefix" : "name",
      `the device hostname of replica ${last} would be invalid: ${err}; use a shorter ${prefix ? "hostnamePrefix" : "name or set hostnamePrefix"}`,
    );
  }
}

/**
 * ProxyClass `staticEndpoints` gives each replica a node port of its own: the ranges must hold one per
 * replica (the operator finds out only when it allocates, proxygroup.go:597-599). Ranges that are not
 * valid are reported by the ProxyClass check and not counted here.
 */
function checkEnoughNodePorts(pc: unknown, replicas: unknown, c: { at: string; push: Push }): void {
  const ports =
    isPlainObject(pc) && isPlainObject(pc.staticEndpoints) ? pc.staticEndpoints.nodePort : undefined;
  const list = isPlainObject(ports) ? ports.ports : undefined;
  if (!Array.isArray(list) || list.length === 0 || containsUnknown(list) || isUnknown(replicas)) return;
  const valid = list.every(
    (r) =>
      isPlainObject(r) &&
      Number.isInteger(r.port) &&
      (r.endPort === undefined ||
        (Number.isInteger(r.endPort) && (r.endPort as number) >= (r.port as number))),
  );
  const n = replicas ?? DEFAULT_REPLICAS;
  if (!valid || typeof n !== "number") return;
  const have = portCount(list as PortRangeInput[]);
  if (have < n) {
    c.push(
      `${c.at}.staticEndpoints.nodePort.ports`,
      `hold ${have} port${have === 1 ? "" : "s"} (${(list as PortRangeInput[]).map(portRangeText).join(", ")}) for ${n} replicas: ` +
        "each replica needs a node port of its own; widen the ranges or lower replicas",
    );
  }
}

const replace = (reason: string) => ({ kind: "replace", reason }) as const;

const fields: Fields<Input> = {
  ownerId: {
    origin: "sdk",
    recorded: true,
    check: (v, c) => checkOwnerId(v, c.at, c.push),
    change: { kind: "inPlace", target: "metadata", reason: "labels and annotations are rewritten in place" },
  },
  name: {
    check(v, c) {
      if (v === undefined || v === "") {
        c.push(c.at, "is required: the ProxyGroup's name, which names its StatefulSet and Secrets");
      } else if (typeof v !== "string") c.push(c.at, "must be a string");
      else for (const e of nameErrors(v)) c.push(c.at, e);
    },
    change: replace("every object of the ProxyGroup is named after it"),
  },
  namespace: {
    check(v, c) {
      if (v === undefined || v === "") c.push(c.at, "is required: the namespace of the ProxyGroup's objects");
      else if (typeof v !== "string") c.push(c.at, "must be a string");
      else for (const e of dns1123LabelErrors(v)) c.push(c.at, e);
    },
    change: replace("the ProxyGroup's objects live in this namespace"),
  },
  type: {
    check(v, c) {
      if (v === undefined) c.push(c.at, 'is required: "ingress"');
      else if (v !== "ingress") c.push(c.at, unsupportedValue(v, ["ingress"]));
    },
    change: replace("the proxy template depends on the type"),
  },
  replicas: {
    default: DEFAULT_REPLICAS,
    check(v, c) {
      const e = v === undefined ? undefined : replicasError(v);
      if (e) c.push(c.at, e);
    },
    change: {
      kind: "inPlace",
      target: "statefulSet",
      reason: (o, n) =>
        typeof o === "number" && typeof n === "number" && n < o
          ? `scaled down in place from ${o} to ${n}: replicas ${n}..${o - 1} and their devices are removed; every pod restarts`
          : "scaled in place: new replicas get their own config and state Secrets; every pod restarts",
    },
  },
  hostnamePrefix: {
    default: "",
    check: (_v, c) => checkHostnamePrefix(c.input, c.push),
    change: {
      kind: "inPlace",
      target: "replicaConfig",
      reason: "updated in place: tailscaled reloads its config and renames the devices",
    },
  },
  tags: tagsField<Input, Effect>({
    kind: "inPlace",
    target: "state",
    reason:
      "updated in place, but tags only reach auth keys minted from now on (new replicas, re-issued keys): " +
      "existing devices keep their current tags until they re-register",
  }),
  proxyClass: {
    check(v, c) {
      checkProxyClassField(v, c);
      const image = isPlainObject(v) ? v.image : undefined;
      if (typeof image === "string" && !isUnknown(image) && /(^|\/)k8s-proxy(:|@|$)/.test(image)) {
        c.push(
          `${c.at}.image`,
          `the configured ProxyClass specifies to use image ${goQuote(image)} but expected a "tailscale" image for ProxyGroup of type "ingress"`,
        );
      }
      checkEnoughNodePorts(v, c.input.replicas, c);
      const env = isPlainObject(v) && Array.isArray(v.env) ? v.env : [];
      env.forEach((e: unknown, i: number) => {
        const name = isPlainObject(e) ? e.name : undefined;
        if (typeof name === "string" && HEALTH_ENV_RESERVED.includes(name)) {
          c.push(
            `${c.at}.env[${i}].name`,
            `${name} is set by pulumi-tailnet on ProxyGroup replicas: their readiness probe reads containerboot's ` +
              `/healthz on port ${LOCAL_ADDR_PORT} of the Pod IP, which this would move or turn off; remove it`,
          );
        }
      });
    },
    change: {
      kind: "inPlace",
      target: "statefulSet",
      reason: "the pod template is updated in place (rolling restart)",
    },
  },
  shareAcmeAccount: {
    default: false,
    check: (v, c) => checkBoolean(v, c.at, c.push),
    change: {
      kind: "inPlace",
      target: "statefulSet",
      reason:
        "replica 0's environment and the replicas' Role change in place (a rolling restart); the shared Secret tailscale-acme-accounts is joined, or left (deleted when no other ProxyGroup uses it)",
    },
  },
  // What an `up` will write, object by object (no keys, no services yet: those are only known at
  // `up`), so a preview of a scale or ProxyClass change names the objects.
  ...lastFields<Input>((input) =>
    planInputsKnown(input)
      ? fingerprintedObjects({
          objects: proxyGroupObjects(planProxyGroup(input, { authKeys: {}, existingAdvertiseServices: {} })),
        })
      : undefined,
  ),
};

/** ProxyGroup's declaration. */
export const PROXY_GROUP: KindSchema<Input> = {
  kind: "ProxyGroup",
  fields,
  outputs: PROXY_GROUP_OUTPUTS,
};

/** Validates the inputs of a ProxyGroup; an empty list means valid. */
export function checkProxyGroup(news: ProxyGroupInput): CheckFailure[] {
  return checkInputs(PROXY_GROUP, news);
}
