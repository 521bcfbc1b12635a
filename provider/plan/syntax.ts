/**
 * Syntax of the values the inputs name, with the texts of the upstream checks, so that users can search
 * for them: Tailscale's DNS labels and ACL tags (tailscale/tailscale@de9ec7ee util/dnsname/dnsname.go
 * `ValidLabel`, tailcfg/tailcfg.go `CheckTag`), and Kubernetes' names, label keys and values, port
 * names, environment variable names, quantities (kubernetes/apimachinery pkg/util/validation) and
 * image references (distribution/reference's grammar). Each function returns the error texts, or
 * nothing when the value is valid. Pure.
 */
import { goQuote, goQuoteByte } from "./gojson";

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

/** apimachinery's two checks of a name: its length, then its pattern, each with its own text. */
function lengthAndPattern(v: string, max: number, pattern: RegExp, message: string): string[] {
  const errs: string[] = [];
  if (v.length > max) errs.push(`must be no more than ${max} characters`);
  if (!pattern.test(v)) errs.push(message);
  return errs;
}

/** Kubernetes `IsDNS1123Label` (namespaces, most object names): the error texts, empty when valid. */
export function dns1123LabelErrors(v: string): string[] {
  return lengthAndPattern(v, 63, DNS1123_LABEL, MSG_DNS1123_LABEL);
}

/** Kubernetes `IsDNS1035Label` (Service names). */
export function dns1035LabelErrors(v: string): string[] {
  return lengthAndPattern(v, 63, DNS1035_LABEL, MSG_DNS1035_LABEL);
}

/** Kubernetes `IsDNS1123Subdomain` (Secret names, PriorityClass names). */
export function dns1123SubdomainErrors(v: string): string[] {
  return lengthAndPattern(v, 253, DNS1123_SUBDOMAIN, MSG_DNS1123_SUBDOMAIN);
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
  return lengthAndPattern(v, 63, LABEL_VALUE, MSG_LABEL_VALUE);
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

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv6(v: string): boolean {
  let s = v;
  let groups = 8;
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    // A trailing dotted IPv4 takes the place of the last two groups (`::ffff:10.0.0.1`).
    if (!IPV4.test(s.slice(lastColon + 1))) return false;
    s = `${s.slice(0, lastColon + 1)}0`;
    groups = 7;
  }
  const halves = s.split("::");
  if (halves.length > 2) return false;
  const parts = halves.map((h) => (h === "" ? [] : h.split(":")));
  if (!parts.every((p) => p.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)))) return false;
  const n = parts.reduce((k, p) => k + p.length, 0);
  return halves.length === 2 ? n < groups : n === groups;
}

/**
 * Kubernetes `IsValidIP` (as for a Pod's `dnsConfig.nameservers`): an IPv4 address without leading
 * zeros or an IPv6 address; the apimachinery error text, or undefined when valid.
 */
export function ipAddressError(v: string): string | undefined {
  return IPV4.test(v) || isIPv6(v)
    ? undefined
    : "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)";
}
