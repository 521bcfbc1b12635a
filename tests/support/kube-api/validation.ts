/**
 * Hand-written apimachinery validators (names, labels, annotations, ownerReferences, finalizers) with the
 * real server's messages. kubernetes-models does not check any of these.
 */
import {
  type FieldError,
  forbiddenField,
  invalidField,
  notSupportedField,
  requiredField,
  tooLongField,
} from "./errors";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const MSG_LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const MSG_SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const MSG_1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const MSG_QUALIFIED_NAME_PART =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const MSG_QUALIFIED_NAME =
  "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const MSG_LABEL_VALUE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const MSG_CONFIG_KEY =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** IsDNS1123Label: the messages for a value that is not a DNS label. */
export function dns1123LabelErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push("must be no more than 63 characters");
  if (!DNS1123_LABEL.test(v)) out.push(MSG_LABEL);
  return out;
}

/** IsDNS1123Subdomain. */
export function dns1123SubdomainErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push("must be no more than 253 characters");
  if (!DNS1123_SUBDOMAIN.test(v)) out.push(MSG_SUBDOMAIN);
  return out;
}

/** IsDNS1035Label. */
export function dns1035LabelErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push("must be no more than 63 characters");
  if (!DNS1035_LABEL.test(v)) out.push(MSG_1035);
  return out;
}

/** ValidatePathSegmentName (RBAC object names). */
export function pathSegmentNameErrors(v: string): string[] {
  if (v === "." || v === "..") return [`may not be '${v}'`];
  for (const bad of ["/", "%"]) if (v.includes(bad)) return [`may not contain '${bad}'`];
  return [];
}

/** IsQualifiedName: label and annotation keys. */
export function qualifiedNameErrors(v: string): string[] {
  const parts = v.split("/");
  let name: string;
  const out: string[] = [];
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (prefix.length === 0) out.push("prefix part must be non-empty");
    else for (const m of dns1123SubdomainErrors(prefix)) out.push(`prefix part ${m}`);
  } else {
    return [MSG_QUALIFIED_NAME];
  }
  if (name.length === 0) out.push("name part must be non-empty");
  else if (name.length > 63) out.push("name part must be no more than 63 characters");
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) out.push(MSG_QUALIFIED_NAME_PART);
  return out;
}

/** IsValidLabelValue. */
export function labelValueErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 63) out.push("must be no more than 63 characters");
  if (!LABEL_VALUE.test(v)) out.push(MSG_LABEL_VALUE);
  return out;
}

/** IsConfigMapKey: Secret and ConfigMap data keys. */
export function configKeyErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length > 253) out.push("must be no more than 253 characters");
  if (!CONFIG_KEY.test(v)) out.push(MSG_CONFIG_KEY);
  if (v === ".") out.push("must not be '.'");
  else if (v === "..") out.push("must not be '..'");
  else if (v.startsWith("..")) out.push("must not start with '..'");
  return out;
}

/** IsValidIP (no leading zeros, as the strict parser since 1.33 requires for new objects). */
export function isIP(v: string): boolean {
  const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  if (v4.test(v)) return true;
  if (!v.includes(":")) return false;
  // Delegate IPv6 syntax to the URL parser, which rejects anything malformed.
  try {
    new URL(`http://[${v}]/`);
    return /^[0-9a-fA-F:.]+$/.test(v);
  } catch {
    return false;
  }
}

/** Applies a list of messages at one field as Invalid errors. */
export function invalidEach(field: string, value: unknown, msgs: string[]): FieldError[] {
  return msgs.map((m) => invalidField(field, value, m));
}

/** The shape of the name check each kind uses. */
export type NameValidator = (name: string) => string[];

const TOTAL_ANNOTATION_SIZE = 256 * 1024;

/** ValidateObjectMeta: name/generateName, labels, annotations, ownerReferences, finalizers. */
export function validateObjectMeta(
  meta: any,
  opts: { namespaced: boolean; nameValidator: NameValidator },
  path = "metadata",
): FieldError[] {
  const errs: FieldError[] = [];
  if (!meta || typeof meta !== "object")
    return [requiredField(`${path}.name`, "name or generateName is required")];
  if (!meta.name) {
    if (!meta.generateName) errs.push(requiredField(`${path}.name`, "name or generateName is required"));
  } else {
    errs.push(...invalidEach(`${path}.name`, meta.name, opts.nameValidator(meta.name)));
  }
  if (opts.namespaced) {
    if (!meta.namespace) errs.push(requiredField(`${path}.namespace`));
  } else if (meta.namespace) {
    errs.push(forbiddenField(`${path}.namespace`, "not allowed on this type"));
  }
  errs.push(...validateLabels(meta.labels, `${path}.labels`));
  errs.push(...validateAnnotations(meta.annotations, `${path}.annotations`));
  errs.push(...validateOwnerReferences(meta.ownerReferences, `${path}.ownerReferences`));
  errs.push(...validateFinalizers(meta.finalizers, `${path}.finalizers`));
  return errs;
}

/** ValidateLabels. */
export function validateLabels(labels: Record<string, string> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.push(...invalidEach(field, k, qualifiedNameErrors(k)));
    errs.push(...invalidEach(field, v, labelValueErrors(String(v))));
  }
  return errs;
}

/** ValidateAnnotations: keys are qualified names (lower-cased), total size ≤ 256 KiB. */
export function validateAnnotations(ann: Record<string, string> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(ann ?? {})) {
    errs.push(...invalidEach(field, k, qualifiedNameErrors(k.toLowerCase())));
    size += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  }
  if (size > TOTAL_ANNOTATION_SIZE) errs.push(tooLongField(field, TOTAL_ANNOTATION_SIZE));
  return errs;
}

/** ValidateOwnerReferences (wording as recorded from a 1.36 server). */
export function validateOwnerReferences(refs: any[] | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const controllers: string[] = [];
  for (const r of refs ?? []) {
    const apiVersion = String(r?.apiVersion ?? "");
    const version = apiVersion.includes("/") ? apiVersion.split("/")[1] : apiVersion;
    if (!version) errs.push(invalidField(`${field}.apiVersion`, apiVersion, "version must not be empty"));
    if (!r?.kind) errs.push(invalidField(`${field}.kind`, r?.kind ?? "", "kind must not be empty"));
    if (!r?.name) errs.push(invalidField(`${field}.name`, r?.name ?? "", "name must not be empty"));
    if (!r?.uid) errs.push(invalidField(`${field}.uid`, r?.uid ?? "", "must not be empty"));
    if (r?.controller === true) controllers.push(`${r.kind}/${r.name}`);
  }
  if (controllers.length > 1) {
    errs.push(
      invalidField(
        field,
        refs,
        `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(" and ")}`,
      ),
    );
  }
  return errs;
}

/** ValidateFinalizers: qualified names, no duplicates are tolerated silently, foreground+orphan conflict. */
export function validateFinalizers(fins: string[] | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const list = fins ?? [];
  list.forEach((f, i) => {
    errs.push(...invalidEach(`${field}[${i}]`, f, qualifiedNameErrors(f)));
  });
  if (list.includes("orphan") && list.includes("foregroundDeletion")) {
    errs.push(
      invalidField(
        field,
        list,
        "finalizer orphan and foregroundDeletion cannot be both set in an object's finalizers",
      ),
    );
  }
  return errs;
}

/** Enum check helper. */
export function checkEnum(field: string, v: unknown, allowed: string[]): FieldError[] {
  if (v === undefined) return [];
  return allowed.includes(v as string) ? [] : [notSupportedField(field, v, allowed)];
}

/**
 * ValidateLabelSelector and ValidateLabelSelectorRequirement (kubernetes/apimachinery@eed236ce
 * pkg/apis/meta/v1/validation/validation.go:64-103). A missing selector is valid.
 */
export function validateLabelSelector(sel: any, field: string): FieldError[] {
  if (sel === undefined || sel === null) return [];
  const errs = validateLabels(sel.matchLabels, `${field}.matchLabels`);
  (Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []).forEach((r: any, i: number) => {
    const p = `${field}.matchExpressions[${i}]`;
    const values: unknown[] = Array.isArray(r?.values) ? r.values : [];
    if (r?.operator === "In" || r?.operator === "NotIn") {
      if (values.length === 0)
        errs.push(requiredField(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
    } else if (r?.operator === "Exists" || r?.operator === "DoesNotExist") {
      if (values.length > 0)
        errs.push(
          forbiddenField(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
        );
    } else errs.push(invalidField(`${p}.operator`, r?.operator ?? "", "not a valid selector operator"));
    errs.push(...invalidEach(`${p}.key`, r?.key ?? "", qualifiedNameErrors(String(r?.key ?? ""))));
    values.forEach((v, j) => {
      errs.push(...invalidEach(`${p}.values[${j}]`, v, labelValueErrors(String(v))));
    });
  });
  return errs;
}
