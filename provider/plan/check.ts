/**
 * The validators the declarations in `schema/` are built from: each checks one value at a property path
 * and pushes a failure that names the path, the cause and the fix. The texts reuse the upstream checks'
 * (syntax.ts). Every validator skips the preview unknown sentinel, at any depth: an unknown value is
 * never reported. Pure.
 */
import { normalizePort } from "./backends";
import type { CheckFailure } from "./errors";
import { goQuote, isPlainObject } from "./gojson";
import { type DerivedHostname, hostnameFailure } from "./hostnames";
import { type IngressBackendInput, isUnknown } from "./inputs";
import {
  dns1035LabelErrors,
  dns1123LabelErrors,
  labelValueErrors,
  portNameErrors,
  qualifiedNameErrors,
  unsupportedValue,
  validLabel,
} from "./syntax";

export type { CheckFailure } from "./errors";

/** Records one failure: the property path (`rules[0].paths[1].path`) and the reason. */
export type Push = (property: string, reason: string) => void;

/** A failure list and the {@link Push} that fills it. */
export function failureList(): { failures: CheckFailure[]; push: Push } {
  const failures: CheckFailure[] = [];
  return { failures, push: (property, reason) => failures.push({ property, reason }) };
}

/**
 * Refuses the keys of `obj` that are not in `known`: a key nothing reads would be silently ignored
 * (a misspelt argument, or one sent by a newer SDK than this provider). `at` is the path of `obj`
 * (empty for the top level); `what` names it and `noun` its keys in the reason, e.g. `"tolerationz" is
 * not a field of ProxyClass`.
 */
export function checkKnownKeys(
  obj: Record<string, unknown>,
  known: readonly string[],
  o: { at: string; what: string; noun: "an input" | "a field" },
  push: Push,
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    push(
      o.at ? `${o.at}.${key}` : key,
      `${goQuote(key)} is not ${o.noun} of ${o.what}, so it would be ignored: remove it or correct its spelling ` +
        `(${o.noun === "an input" ? "inputs" : "fields"}: ${known.join(", ")}). A program built with a newer ` +
        "pulumi-tailnet than the one the provider runs sends what this version does not know: use one version for both.",
    );
  }
}

/** A list at `at`: refused with `notList` unless it is one; each known item is given to `item`, with its path. */
export function checkList(
  v: unknown,
  at: string,
  push: Push,
  notList: string,
  item: (value: any, at: string) => void,
): void {
  if (!Array.isArray(v)) {
    push(at, notList);
    return;
  }
  v.forEach((e, i) => {
    if (!isUnknown(e)) item(e, `${at}[${i}]`);
  });
}

/** A value of an enumeration, when given. */
export function checkEnum(v: unknown, allowed: readonly string[], path: string, push: Push): void {
  if (v === undefined || isUnknown(v)) return;
  if (typeof v !== "string" || !allowed.includes(v)) push(path, unsupportedValue(v, allowed));
}

/** A boolean, when given. */
export function checkBoolean(v: unknown, path: string, push: Push): void {
  if (v === undefined || isUnknown(v)) return;
  if (typeof v !== "boolean") push(path, `must be a boolean (true or false), got ${JSON.stringify(v)}`);
}

/**
 * A map of string keys to string values (labels, annotations, a node selector), when given: keys are
 * qualified names, `reserved` keys refused, values label values when `values` is `label`.
 */
export function checkStringMap(
  v: unknown,
  path: string,
  push: Push,
  opts: { values: "label" | "any"; reserved?: readonly string[] },
): void {
  if (v === undefined || isUnknown(v)) return;
  if (!isPlainObject(v)) {
    push(path, "must be a map of string keys to string values");
    return;
  }
  for (const [k, val] of Object.entries(v)) {
    const p = `${path}[${JSON.stringify(k)}]`;
    for (const e of qualifiedNameErrors(k)) push(p, `invalid key ${JSON.stringify(k)}: ${e}`);
    if (opts.reserved?.includes(k)) {
      push(
        p,
        `key ${JSON.stringify(k)} is managed by pulumi-tailnet (it identifies the proxy) and cannot be set here`,
      );
    }
    if (isUnknown(val)) continue;
    if (typeof val !== "string") {
      push(p, "value must be a string");
      continue;
    }
    if (opts.values === "label")
      for (const e of labelValueErrors(val)) push(p, `invalid value ${JSON.stringify(val)}: ${e}`);
  }
}

/** A `{namespace, name}` reference to a Kubernetes Service at `path`. */
export function checkServiceRef(ref: unknown, path: string, push: Push): void {
  if (isUnknown(ref)) return;
  if (!isPlainObject(ref)) {
    push(path, "must be {namespace, name} of a Kubernetes Service");
    return;
  }
  if (ref.namespace === undefined) push(`${path}.namespace`, "is required: the namespace of the Service");
  else if (!isUnknown(ref.namespace)) {
    if (typeof ref.namespace !== "string") push(`${path}.namespace`, "must be a string");
    else for (const e of dns1123LabelErrors(ref.namespace)) push(`${path}.namespace`, e);
  }
  if (ref.name === undefined) push(`${path}.name`, "is required: the name of the Service");
  else if (!isUnknown(ref.name)) {
    if (typeof ref.name !== "string") push(`${path}.name`, "must be a string");
    else for (const e of dns1035LabelErrors(ref.name)) push(`${path}.name`, e);
  }
}

/** An ingress backend `{service, port}` at `path`. */
export function checkBackend(b: unknown, path: string, push: Push): void {
  if (isUnknown(b)) return;
  if (!isPlainObject(b)) {
    push(path, "must be {service: {namespace, name}, port}");
    return;
  }
  const backend = b as unknown as IngressBackendInput;
  if (backend.service === undefined)
    push(`${path}.service`, "is required: the backend Service {namespace, name}");
  else checkServiceRef(backend.service, `${path}.service`, push);
  if (backend.port === undefined) {
    push(`${path}.port`, "is required: a Service port number (1-65535) or port name");
    return;
  }
  const p = normalizePort(backend.port);
  if (p === "unknown") return;
  if (p === undefined) push(`${path}.port`, "must be a port number (1-65535) or a port name");
  else if ("number" in p) {
    if (!Number.isInteger(p.number) || p.number < 1 || p.number > 65535) {
      push(
        `${path}.port`,
        `port ${JSON.stringify(backend.port)} is out of range: must be an integer between 1 and 65535, inclusive`,
      );
    }
  } else {
    for (const e of portNameErrors(p.name))
      push(`${path}.port`, `invalid port name ${JSON.stringify(p.name)}: ${e}`);
  }
}

/** `ownerId`: set by the SDK to `<project>/<stack>/<resource name>`. */
export function checkOwnerId(v: unknown, at: string, push: Push): void {
  if (v === undefined || v === "") {
    push(
      at,
      "is required: the SDK sets it to <project>/<stack>/<resource name>; construct the resource through the SDK",
    );
  } else if (!isUnknown(v) && typeof v !== "string") push(at, "must be a string");
}

/** A Kubernetes namespace (or other DNS-1123 label) name, when given. */
export function checkDnsLabel(v: unknown, at: string, push: Push): void {
  if (v === undefined || isUnknown(v)) return;
  if (typeof v !== "string") push(at, "must be a string");
  else for (const e of dns1123LabelErrors(v)) push(at, e);
}

/** `proxyGroup`: `{name, namespace}` of a ProxyGroup. */
export function checkProxyGroupRef(v: unknown, at: string, push: Push): void {
  if (v === undefined || isUnknown(v)) return;
  if (!isPlainObject(v)) {
    push(at, "must be {name, namespace} of a ProxyGroup");
    return;
  }
  if (!isUnknown(v.name)) {
    if (typeof v.name !== "string") push(`${at}.name`, "is required: the name of the ProxyGroup");
    else for (const e of dns1123LabelErrors(v.name)) push(`${at}.name`, e);
  }
  if (!isUnknown(v.namespace)) {
    if (typeof v.namespace !== "string")
      push(`${at}.namespace`, "is required: the namespace of the ProxyGroup");
    else for (const e of dns1123LabelErrors(v.namespace)) push(`${at}.namespace`, e);
  }
}

/** A derived tailnet hostname (undefined while unknown), reported at `hostname`. */
export function checkHostname(h: DerivedHostname | undefined, push: Push): void {
  if (!h) return;
  const err = validLabel(h.hostname);
  if (err) push("hostname", hostnameFailure(h, err));
}
