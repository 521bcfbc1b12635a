/**
 * Input validation for TailnetService, TailnetIngress and ProxyClass, plus hostname derivation.
 *
 * Messages reuse the exact texts of the checks the Tailscale operator and Kubernetes run (dnsname.ValidLabel,
 * tailcfg.CheckTag, apimachinery's validation helpers), so that users can search for them, but they are
 * reported at `pulumi preview` time and name the input path, where the operator only emits an event.
 *
 * Every check tolerates the preview unknown sentinel ({@link UNKNOWN}) anywhere: an unknown value is
 * skipped, never reported.
 */
import type { CheckFailure } from "./errors";
import {
  type IngressBackendInput,
  type ProxyClassInput,
  type ServiceRefInput,
  type TailnetIngressInput,
  type TailnetServiceInput,
  UNKNOWN,
} from "./inputs";
import { MANAGED_LABEL_KEYS } from "./labels";

export type { CheckFailure } from "./errors";

/** Tags a proxy device (standalone) or Tailscale Service (HA) gets when `tags` is not set: the operator's `PROXY_TAGS` default. */
export const DEFAULT_TAGS: readonly string[] = ["tag:k8s"];

/** Ports on which Tailscale Funnel accepts public traffic. We serve HTTPS on 443 only, so funnel is always on 443. */
export const FUNNEL_PORTS: readonly number[] = [443, 8443, 10000];

/** Label keys a ProxyClass may not set, because the plan relies on them (selector, ownership). */
export const RESERVED_LABEL_KEYS: readonly string[] = MANAGED_LABEL_KEYS;

/** True when `v` is the Pulumi preview sentinel for a value not known yet. */
export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

/** True when `v` is, or contains at any depth, the preview unknown sentinel. */
export function containsUnknown(v: unknown): boolean {
  if (v === UNKNOWN) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}

/**
 * Quotes a string as Go's `%q` does for printable input: double quotes, with `"` and `\` escaped and
 * control characters written as escapes. Used so error texts match the operator's.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (c === 7) out += "\\a";
    else if (c === 8) out += "\\b";
    else if (c === 12) out += "\\f";
    else if (c === 10) out += "\\n";
    else if (c === 13) out += "\\r";
    else if (c === 9) out += "\\t";
    else if (c === 11) out += "\\v";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Go's `%q` of a single byte (a rune literal), as in dnsname's "contains invalid character" message. */
function goQuoteByte(b: number): string {
  if (b === 0x27) return "'\\''";
  if (b === 0x5c) return "'\\\\'";
  if (b < 0x20 || b === 0x7f) return `'\\x${b.toString(16).padStart(2, "0")}'`;
  return `'${String.fromCodePoint(b)}'`;
}

function isAlphaNumByte(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

/**
 * Tailscale's `dnsname.ValidLabel`: 1–63 bytes of `[A-Za-z0-9-]`, starting and ending alphanumeric
 * (uppercase allowed). Returns the operator's error text, or undefined when valid.
 */
export function validLabel(label: string): string | undefined {
  const bytes = Buffer.from(label, "utf8");
  if (bytes.length === 0) return "empty DNS label";
  if (bytes.length > 63) return `${goQuote(label)} is too long, max length is 63 bytes`;
  if (!isAlphaNumByte(bytes[0]!)) {
    return `${goQuote(label)} is not a valid DNS label: must start with a letter or number`;
  }
  if (!isAlphaNumByte(bytes[bytes.length - 1]!)) {
    return `${goQuote(label)} is not a valid DNS label: must end with a letter or number`;
  }
  for (let i = 1; i < bytes.length - 1; i++) {
    const b = bytes[i]!;
    if (!isAlphaNumByte(b) && b !== 0x2d) {
      return `${goQuote(label)} is not a valid DNS label: contains invalid character ${goQuoteByte(b)}`;
    }
  }
  return undefined;
}

/**
 * Tailscale's `tailcfg.CheckTag`: `tag:` then an ASCII letter, then letters, digits or dashes.
 * Returns the error text, or undefined when valid.
 */
export function checkTag(tag: string): string | undefined {
  if (!tag.startsWith("tag:")) return "tags must start with 'tag:'";
  const name = tag.slice(4);
  if (name === "") return "tag names must not be empty";
  if (!/^[A-Za-z]/.test(name)) return "tag names must start with a letter, after 'tag:'";
  if (!/^[A-Za-z0-9-]+$/.test(name)) return "tag names can only contain numbers, letters, or dashes";
  return undefined;
}

/** The first DNS label of a hostname or FQDN (`foo.tailnet.ts.net` → `foo`, `foo` → `foo`). */
export function firstLabel(hostOrFqdn: string): string {
  const dot = hostOrFqdn.indexOf(".");
  return dot < 0 ? hostOrFqdn : hostOrFqdn.slice(0, dot);
}

/** Where a proxy's tailnet hostname came from; decides the wording of a validation failure. */
export type HostnameSource = "hostname" | "rule-host" | "service" | "resource-name";

/** A tailnet hostname together with where it came from. */
export interface DerivedHostname {
  /** The DNS label (as the user spelled it; control lowercases it). */
  hostname: string;
  source: HostnameSource;
}

/**
 * The hostname of a TailnetService: the first label of `hostname` when set, else `<namespace>-<name>` of
 * the backend Service, as the operator derives it. Undefined when an input it depends on is unknown.
 */
export function serviceHostname(
  input: Pick<TailnetServiceInput, "hostname" | "service">,
): DerivedHostname | undefined {
  if (input.hostname !== undefined) {
    if (isUnknown(input.hostname)) return undefined;
    return { hostname: firstLabel(input.hostname), source: "hostname" };
  }
  const svc = input.service as ServiceRefInput | undefined;
  if (!svc || isUnknown(svc) || isUnknown(svc.namespace) || isUnknown(svc.name)) return undefined;
  return { hostname: `${svc.namespace}-${svc.name}`, source: "service" };
}

/** The Pulumi resource name: the last `/`-separated segment of an ownerId `<project>/<stack>/<name>`. */
export function resourceNameOf(ownerId: string): string {
  const i = ownerId.lastIndexOf("/");
  return i < 0 ? ownerId : ownerId.slice(i + 1);
}

/**
 * The hostname of a TailnetIngress: the first label of `hostname`; else of the first rule `host`; else the
 * Pulumi resource name. The operator uses `<namespace>-<name>-ingress`, which silently exceeds 63 bytes for
 * long names; we derive from the resource name and refuse an invalid result at check time instead.
 * Undefined when an input it depends on is unknown.
 */
export function ingressHostname(
  input: Pick<TailnetIngressInput, "hostname" | "rules" | "ownerId">,
): DerivedHostname | undefined {
  if (input.hostname !== undefined) {
    if (isUnknown(input.hostname)) return undefined;
    return { hostname: firstLabel(input.hostname), source: "hostname" };
  }
  if (isUnknown(input.rules)) return undefined;
  for (const rule of input.rules ?? []) {
    if (isUnknown(rule) || isUnknown(rule.host)) return undefined;
    if (rule.host) return { hostname: firstLabel(rule.host), source: "rule-host" };
  }
  if (isUnknown(input.ownerId) || typeof input.ownerId !== "string") return undefined;
  return { hostname: resourceNameOf(input.ownerId), source: "resource-name" };
}

/** The operator-style failure text for an invalid hostname, adapted to our inputs. */
function hostnameFailure(h: DerivedHostname, err: string): string {
  switch (h.source) {
    case "hostname":
      return `invalid Tailscale hostname specified ${goQuote(h.hostname)}: ${err}`;
    case "service":
      return `invalid Tailscale hostname ${goQuote(h.hostname)}, use "hostname" to override: ${err}`;
    case "rule-host":
      return `invalid Tailscale hostname ${goQuote(h.hostname)} taken from the first rule host, use "hostname" to override: ${err}`;
    case "resource-name":
      return `invalid Tailscale hostname ${goQuote(h.hostname)} derived from the resource name, use "hostname" to override: ${err}`;
  }
}

// ---- Kubernetes name and label syntax (apimachinery's texts) ----

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const MSG_DNS1123_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const MSG_DNS1035_LABEL =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const MSG_DNS1123_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const MSG_QUALIFIED_NAME =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const MSG_LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const MSG_ENV_VAR_NAME =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";

/** Kubernetes `IsDNS1123Label` (namespaces, most object names): the error texts, empty when valid. */
export function dns1123LabelErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push("must be no more than 63 characters");
  if (!DNS1123_LABEL.test(v)) errs.push(MSG_DNS1123_LABEL);
  return errs;
}

/** Kubernetes `IsDNS1035Label` (Service names). */
export function dns1035LabelErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push("must be no more than 63 characters");
  if (!DNS1035_LABEL.test(v)) errs.push(MSG_DNS1035_LABEL);
  return errs;
}

/** Kubernetes `IsDNS1123Subdomain` (Secret names, PriorityClass names). */
export function dns1123SubdomainErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push("must be no more than 253 characters");
  if (!DNS1123_SUBDOMAIN.test(v)) errs.push(MSG_DNS1123_SUBDOMAIN);
  return errs;
}

/** Kubernetes `IsQualifiedName` (label and annotation keys): `[prefix/]name`. */
export function qualifiedNameErrors(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else for (const e of dns1123SubdomainErrors(prefix)) errs.push(`prefix part ${e}`);
  } else {
    return [
      `a qualified name ${MSG_QUALIFIED_NAME.replace(/^name part /, "")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (name.length > 63) errs.push("name part must be no more than 63 characters");
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) errs.push(MSG_QUALIFIED_NAME);
  return errs;
}

/** Kubernetes `IsValidLabelValue`. */
export function labelValueErrors(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push("must be no more than 63 characters");
  if (!LABEL_VALUE.test(v)) errs.push(MSG_LABEL_VALUE);
  return errs;
}

/** Kubernetes `IsEnvVarName`. */
export function envVarNameErrors(v: string): string[] {
  return ENV_VAR_NAME.test(v) ? [] : [MSG_ENV_VAR_NAME];
}

/** Kubernetes `IsValidPortName` (IANA_SVC_NAME): the texts apimachinery returns. */
export function portNameErrors(port: string): string[] {
  const errs: string[] = [];
  if (port.length > 15) errs.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(port))
    errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/[a-z]/.test(port)) errs.push("must contain at least one letter (a-z)");
  if (port.includes("--")) errs.push("must not contain consecutive hyphens");
  if (port.startsWith("-") || port.endsWith("-")) errs.push("must not begin or end with a hyphen");
  return errs;
}

/** Kubernetes' "Unsupported value" text for an enum. */
export function unsupportedValue(v: unknown, supported: readonly string[]): string {
  return `Unsupported value: ${JSON.stringify(v)}: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}`;
}

// Image references, after github.com/distribution/reference's grammar.
const IMAGE_DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const IMAGE_DOMAIN = `(?:${IMAGE_DOMAIN_COMPONENT}(?:\\.${IMAGE_DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const IMAGE_PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const IMAGE_NAME = `(?:${IMAGE_DOMAIN}/)?${IMAGE_PATH_COMPONENT}(?:/${IMAGE_PATH_COMPONENT})*`;
const IMAGE_TAG = "[\\w][\\w.-]{0,127}";
const IMAGE_DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const IMAGE_REFERENCE = new RegExp(`^(${IMAGE_NAME})(?::(${IMAGE_TAG}))?(?:@(${IMAGE_DIGEST}))?$`);

/** Container image reference syntax (`[registry/]repository[:tag][@digest]`); the error text or undefined. */
export function imageReferenceError(image: string): string | undefined {
  const m = IMAGE_REFERENCE.exec(image);
  const hint = 'expected [registry/]repository[:tag][@digest], e.g. "tailscale/tailscale:v1.84.0"';
  if (!m) {
    const lower = image.toLowerCase();
    if (lower !== image && IMAGE_REFERENCE.test(lower)) {
      return `invalid image reference ${goQuote(image)}: repository name must be lowercase`;
    }
    return `invalid image reference ${goQuote(image)}: invalid reference format; ${hint}`;
  }
  if (m[1]!.length > 255)
    return `invalid image reference ${goQuote(image)}: repository name must not be more than 255 characters`;
  return undefined;
}

const QUANTITY =
  /^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;

/** Kubernetes resource quantity syntax (`500m`, `64Mi`, `1`); the error text or undefined. */
export function quantityError(q: string): string | undefined {
  return QUANTITY.test(q)
    ? undefined
    : `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`;
}

// ---- Check helpers ----

type Push = (property: string, reason: string) => void;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function checkStringMap(
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

function checkEnum(v: unknown, allowed: readonly string[], path: string, push: Push): void {
  if (v === undefined || isUnknown(v)) return;
  if (typeof v !== "string" || !allowed.includes(v)) push(path, unsupportedValue(v, allowed));
}

function checkBoolean(v: unknown, path: string, push: Push): void {
  if (v === undefined || isUnknown(v)) return;
  if (typeof v !== "boolean") push(path, `must be a boolean (true or false), got ${JSON.stringify(v)}`);
}

/**
 * Validates a ProxyClass. `prefix` is the property path it sits at (e.g. `proxyClass`); failures name
 * fields below it (`proxyClass.env[2].name`).
 */
export function checkProxyClass(pc: ProxyClassInput | undefined, prefix = "proxyClass"): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const push: Push = (property, reason) => failures.push({ property, reason });
  if (pc === undefined || isUnknown(pc)) return failures;
  if (!isPlainObject(pc)) {
    push(prefix, "must be an object");
    return failures;
  }
  const at = (f: string) => (prefix ? `${prefix}.${f}` : f);

  if (pc.image !== undefined && !isUnknown(pc.image)) {
    if (typeof pc.image !== "string") push(at("image"), "must be a string");
    else {
      const e = imageReferenceError(pc.image);
      if (e) push(at("image"), e);
    }
  }
  checkEnum(pc.imagePullPolicy, ["Always", "IfNotPresent", "Never"], at("imagePullPolicy"), push);
  checkEnum(pc.firewallMode, ["auto", "iptables", "nftables"], at("firewallMode"), push);
  checkBoolean(pc.acceptRoutes, at("acceptRoutes"), push);
  checkBoolean(pc.enableMetrics, at("enableMetrics"), push);
  checkBoolean(pc.useLetsEncryptStagingEnvironment, at("useLetsEncryptStagingEnvironment"), push);

  if (pc.imagePullSecrets !== undefined && !isUnknown(pc.imagePullSecrets)) {
    if (!Array.isArray(pc.imagePullSecrets)) push(at("imagePullSecrets"), "must be a list of Secret names");
    else
      pc.imagePullSecrets.forEach((s, i) => {
        if (isUnknown(s)) return;
        if (typeof s !== "string") push(at(`imagePullSecrets[${i}]`), "must be a Secret name (string)");
        else for (const e of dns1123SubdomainErrors(s)) push(at(`imagePullSecrets[${i}]`), e);
      });
  }
  if (pc.priorityClassName !== undefined && !isUnknown(pc.priorityClassName)) {
    if (typeof pc.priorityClassName !== "string") push(at("priorityClassName"), "must be a string");
    else for (const e of dns1123SubdomainErrors(pc.priorityClassName)) push(at("priorityClassName"), e);
  }

  checkStringMap(pc.nodeSelector, at("nodeSelector"), push, { values: "label" });
  checkStringMap(pc.podLabels, at("podLabels"), push, { values: "label", reserved: RESERVED_LABEL_KEYS });
  checkStringMap(pc.statefulSetLabels, at("statefulSetLabels"), push, {
    values: "label",
    reserved: RESERVED_LABEL_KEYS,
  });
  checkStringMap(pc.podAnnotations, at("podAnnotations"), push, { values: "any" });
  checkStringMap(pc.statefulSetAnnotations, at("statefulSetAnnotations"), push, { values: "any" });

  if (pc.env !== undefined && !isUnknown(pc.env)) {
    if (!Array.isArray(pc.env)) push(at("env"), "must be a list of {name, value}");
    else
      pc.env.forEach((e, i) => {
        if (isUnknown(e)) return;
        if (!isPlainObject(e)) {
          push(at(`env[${i}]`), "must be an object {name, value}");
          return;
        }
        if (!isUnknown(e.name)) {
          if (typeof e.name !== "string") push(at(`env[${i}].name`), "must be a string");
          else
            for (const m of envVarNameErrors(e.name))
              push(at(`env[${i}].name`), `invalid name ${JSON.stringify(e.name)}: ${m}`);
        }
        if (!isUnknown(e.value) && typeof e.value !== "string")
          push(at(`env[${i}].value`), "must be a string");
      });
  }

  if (pc.tolerations !== undefined && !isUnknown(pc.tolerations)) {
    if (!Array.isArray(pc.tolerations)) push(at("tolerations"), "must be a list of tolerations");
    else
      pc.tolerations.forEach((t, i) => {
        if (isUnknown(t)) return;
        checkEnum(t.operator, ["Exists", "Equal"], at(`tolerations[${i}].operator`), push);
        checkEnum(
          t.effect,
          ["NoSchedule", "PreferNoSchedule", "NoExecute"],
          at(`tolerations[${i}].effect`),
          push,
        );
        if (t.operator === "Exists" && typeof t.value === "string" && t.value !== "") {
          push(at(`tolerations[${i}].value`), "value must be empty when `operator` is 'Exists'");
        }
        if (typeof t.key === "string" && t.key !== "") {
          for (const m of qualifiedNameErrors(t.key)) push(at(`tolerations[${i}].key`), m);
        }
      });
  }

  const resources = pc.resources as ProxyClassInput["resources"];
  if (resources !== undefined && !isUnknown(resources)) {
    for (const kind of ["requests", "limits"] as const) {
      const m = resources[kind];
      if (m === undefined || isUnknown(m)) continue;
      if (!isPlainObject(m)) {
        push(at(`resources.${kind}`), "must be a map of resource name to quantity");
        continue;
      }
      for (const [name, q] of Object.entries(m)) {
        if (isUnknown(q)) continue;
        const e =
          typeof q === "string" ? quantityError(q) : 'must be a quantity string such as "500m" or "64Mi"';
        if (e) push(at(`resources.${kind}[${JSON.stringify(name)}]`), e);
      }
    }
  }
  for (const f of ["affinity", "securityContext", "podSecurityContext"] as const) {
    const v = pc[f];
    if (v !== undefined && !isUnknown(v) && !isPlainObject(v)) push(at(f), "must be an object");
  }
  return failures;
}

function checkServiceRef(ref: unknown, path: string, push: Push): void {
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

/**
 * Normalises a backend port as given (`8080`, `"8080"`, `"http"`): a number, a port name, or unknown.
 * A string of digits is taken as a number, since YAML and config values often arrive as strings.
 */
export function normalizePort(port: unknown): { number: number } | { name: string } | "unknown" | undefined {
  if (isUnknown(port)) return "unknown";
  if (typeof port === "number") return { number: port };
  if (typeof port === "string") return /^[0-9]+$/.test(port) ? { number: Number(port) } : { name: port };
  return undefined;
}

function checkBackend(b: unknown, path: string, push: Push): void {
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

/** Checks shared by TailnetService and TailnetIngress (everything from ProxyCommonInput except hostname). */
function checkCommon(
  news: TailnetServiceInput | TailnetIngressInput,
  push: Push,
  failures: CheckFailure[],
): void {
  if (news.ownerId === undefined || news.ownerId === "") {
    push(
      "ownerId",
      "is required: the SDK sets it to <project>/<stack>/<resource name>; construct the resource through the SDK",
    );
  } else if (!isUnknown(news.ownerId) && typeof news.ownerId !== "string")
    push("ownerId", "must be a string");

  if (news.namespace !== undefined && !isUnknown(news.namespace)) {
    if (typeof news.namespace !== "string") push("namespace", "must be a string");
    else for (const e of dns1123LabelErrors(news.namespace)) push("namespace", e);
  }

  if (news.tags !== undefined && !isUnknown(news.tags)) {
    if (!Array.isArray(news.tags)) push("tags", 'must be a list of ACL tags such as ["tag:k8s"]');
    else if (news.tags.length === 0) {
      push(
        "tags",
        'must not be empty: devices created with an OAuth client must be tagged; omit "tags" to use the default ["tag:k8s"]',
      );
    } else
      news.tags.forEach((t, i) => {
        if (isUnknown(t)) return;
        if (typeof t !== "string") push(`tags[${i}]`, 'must be a string such as "tag:k8s"');
        else {
          const e = checkTag(t);
          if (e) push(`tags[${i}]`, `invalid tag ${goQuote(t)}: ${e}`);
        }
      });
  }

  failures.push(...checkProxyClass(news.proxyClass, "proxyClass"));

  if (news.proxyGroup !== undefined && !isUnknown(news.proxyGroup)) {
    const pg = news.proxyGroup as unknown;
    if (!isPlainObject(pg)) push("proxyGroup", "must be {name, namespace} of a ProxyGroup");
    else {
      if (!isUnknown(pg.name)) {
        if (typeof pg.name !== "string") push("proxyGroup.name", "is required: the name of the ProxyGroup");
        else for (const e of dns1123LabelErrors(pg.name)) push("proxyGroup.name", e);
      }
      if (!isUnknown(pg.namespace)) {
        if (typeof pg.namespace !== "string")
          push("proxyGroup.namespace", "is required: the namespace of the ProxyGroup");
        else for (const e of dns1123LabelErrors(pg.namespace)) push("proxyGroup.namespace", e);
      }
    }
  }

  if (news.timeoutSeconds !== undefined && !isUnknown(news.timeoutSeconds)) {
    if (typeof news.timeoutSeconds !== "number" || !(news.timeoutSeconds > 0)) {
      push("timeoutSeconds", "must be a positive number of seconds");
    }
  }
}

function checkHostname(h: DerivedHostname | undefined, push: Push): void {
  if (!h) return;
  const err = validLabel(h.hostname);
  if (err) push("hostname", hostnameFailure(h, err));
}

/** Validates the inputs of a TailnetService (standalone or HA); an empty list means valid. */
export function checkTailnetService(news: TailnetServiceInput): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const push: Push = (property, reason) => failures.push({ property, reason });
  if (!isPlainObject(news)) return [{ property: "", reason: "inputs must be an object" }];

  if (news.service === undefined)
    push("service", "is required: the Service {namespace, name} to expose on the tailnet");
  else checkServiceRef(news.service, "service", push);
  if (news.hostname !== undefined && !isUnknown(news.hostname) && typeof news.hostname !== "string") {
    push("hostname", "must be a string");
  } else checkHostname(serviceHostname(news), push);
  checkCommon(news, push, failures);
  return failures;
}

/**
 * Validates the inputs of a TailnetIngress (standalone or HA); an empty list means valid.
 *
 * Deliberate differences from the operator, which accepts these and only emits events:
 * - a rule host whose first label differs from the ingress hostname is refused (the operator ignores the
 *   rule: "rule with host ... ignored, unsupported"); like the operator we serve one host per ingress;
 * - `pathType: Exact` is refused: tailscaled routes every path as a prefix, so accepting it would silently
 *   widen the match (`/api` would also serve `/api/v2`); use `Prefix` (or omit `pathType`);
 * - a path that is neither empty nor absolute is refused (tailscaled mount points start with `/`);
 * - the same path routed twice is refused (the operator keeps the last one silently).
 * An empty path is accepted and served at `/`, as the operator does.
 */
export function checkTailnetIngress(news: TailnetIngressInput): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const push: Push = (property, reason) => failures.push({ property, reason });
  if (!isPlainObject(news)) return [{ property: "", reason: "inputs must be an object" }];

  if (news.hostname !== undefined && !isUnknown(news.hostname) && typeof news.hostname !== "string") {
    push("hostname", "must be a string");
  }
  const host =
    typeof news.hostname === "string" || news.hostname === undefined ? ingressHostname(news) : undefined;
  checkHostname(host, push);

  const seenPaths = new Map<string, string>();
  let backends = 0;
  let sawUnknown = isUnknown(news.rules) || isUnknown(news.defaultBackend);
  if (news.defaultBackend !== undefined && !isUnknown(news.defaultBackend)) {
    backends++;
    checkBackend(news.defaultBackend, "defaultBackend", push);
    seenPaths.set("/", "defaultBackend");
  }
  if (news.rules !== undefined && !isUnknown(news.rules)) {
    if (!Array.isArray(news.rules)) push("rules", "must be a list of rules {host?, paths}");
    else
      news.rules.forEach((rule, i) => {
        const rp = `rules[${i}]`;
        if (isUnknown(rule)) {
          sawUnknown = true;
          return;
        }
        if (!isPlainObject(rule)) {
          push(rp, "must be an object {host?, paths}");
          return;
        }
        if (rule.host !== undefined && !isUnknown(rule.host) && rule.host !== "") {
          if (typeof rule.host !== "string") push(`${rp}.host`, "must be a string");
          else {
            const label = firstLabel(rule.host);
            const err = validLabel(label);
            if (err)
              push(
                `${rp}.host`,
                `invalid host ${goQuote(rule.host)}: its first label is not a valid Tailscale hostname: ${err}`,
              );
            else if (host && label.toLowerCase() !== host.hostname.toLowerCase()) {
              push(
                `${rp}.host`,
                `host ${goQuote(rule.host)} does not match the ingress hostname ${goQuote(host.hostname)}: a TailnetIngress serves a single host (as the Tailscale operator supports one host per Ingress); remove "host", set it to the ingress hostname, or use a second TailnetIngress`,
              );
            }
          }
        }
        if (isUnknown(rule.paths)) {
          sawUnknown = true;
          return;
        }
        if (!Array.isArray(rule.paths) || rule.paths.length === 0) {
          push(`${rp}.paths`, "a rule needs at least one path {path, backend}");
          return;
        }
        rule.paths.forEach((p, j) => {
          const pp = `${rp}.paths[${j}]`;
          if (isUnknown(p)) {
            sawUnknown = true;
            return;
          }
          if (!isPlainObject(p)) {
            push(pp, "must be an object {path, pathType?, backend}");
            return;
          }
          backends++;
          if (!isUnknown(p.path)) {
            if (typeof p.path !== "string") push(`${pp}.path`, 'must be a string such as "/" or "/api"');
            else if (p.path !== "" && !p.path.startsWith("/")) {
              push(`${pp}.path`, `path ${goQuote(p.path)} must be absolute (start with "/")`);
            } else {
              const mount = p.path === "" ? "/" : p.path;
              const prev = seenPaths.get(mount);
              if (prev !== undefined) {
                push(
                  `${pp}.path`,
                  `path ${goQuote(mount)} is already routed by ${prev}${prev === "defaultBackend" ? ' (the default backend is served at "/")' : ""}; each path may be routed once`,
                );
              } else seenPaths.set(mount, pp);
            }
          }
          if (p.pathType === "Exact") {
            push(
              `${pp}.pathType`,
              'pathType "Exact" is not supported: tailscaled routes every path as a prefix, so it would also match longer paths; use "Prefix" (or omit pathType)',
            );
          } else checkEnum(p.pathType, ["Prefix", "ImplementationSpecific", "Exact"], `${pp}.pathType`, push);
          if (p.backend === undefined)
            push(`${pp}.backend`, "is required: {service: {namespace, name}, port}");
          else checkBackend(p.backend, `${pp}.backend`, push);
        });
      });
  }
  if (backends === 0 && !sawUnknown) {
    push("rules", "a TailnetIngress needs at least one backend: set defaultBackend, or rules with paths");
  }
  checkBoolean(news.funnel, "funnel", push);
  checkBoolean(news.httpRedirect, "httpRedirect", push);
  checkBoolean(news.waitForCertificate, "waitForCertificate", push);
  checkEnum(news.backendProtocol, ["http", "https", "https+insecure"], "backendProtocol", push);
  checkCommon(news, push, failures);
  return failures;
}
