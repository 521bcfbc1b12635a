/** Secret and ConfigMap strategies (pkg/registry/core/secret, configmap; pkg/apis/core/validation). */
import { type FieldError, forbiddenField, invalidField, requiredField, tooLongField } from "../errors";
import { configKeyErrors, dns1123SubdomainErrors, invalidEach } from "../validation";
import type { KindStrategy } from "./types";

const MAX_SIZE = 1024 * 1024;

const REQUIRED_KEYS: Record<string, string[]> = {
  "kubernetes.io/dockercfg": [".dockercfg"],
  "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
  "kubernetes.io/ssh-auth": ["ssh-privatekey"],
  "kubernetes.io/tls": ["tls.crt", "tls.key"],
};

function dataKeyErrors(map: Record<string, unknown> | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of Object.keys(map ?? {})) errs.push(...invalidEach(`${field}[${k}]`, k, configKeyErrors(k)));
  return errs;
}

function immutableErrors(obj: any, old: any, fields: string[]): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (obj.immutable !== true)
    errs.push(forbiddenField("immutable", "field is immutable when `immutable` is set"));
  for (const f of fields) {
    if (JSON.stringify(sorted(obj[f])) !== JSON.stringify(sorted(old[f]))) {
      errs.push(forbiddenField(f, "field is immutable when `immutable` is set"));
    }
  }
  return errs;
}

function sorted(m: Record<string, unknown> | undefined): [string, unknown][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Secret: type defaults to Opaque; stringData is write-only and folded into data. */
export const secretStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: false,
  generation: false,
  defaults(obj) {
    obj.type ||= "Opaque";
    if (obj.stringData && typeof obj.stringData === "object") {
      obj.data = obj.data && typeof obj.data === "object" ? obj.data : {};
      for (const [k, v] of Object.entries(obj.stringData)) {
        obj.data[k] = Buffer.from(String(v), "utf8").toString("base64");
      }
    }
    delete obj.stringData;
    if (obj.data && Object.keys(obj.data).length === 0) delete obj.data;
  },
  validate(obj) {
    const errs = dataKeyErrors(obj.data, "data");
    let size = 0;
    for (const v of Object.values<string>(obj.data ?? {})) size += Buffer.from(String(v), "base64").length;
    if (size > MAX_SIZE) errs.push(tooLongField("data", MAX_SIZE));
    const data = obj.data ?? {};
    for (const key of REQUIRED_KEYS[obj.type] ?? []) {
      if (!(key in data)) errs.push(requiredField(`data[${key}]`));
    }
    for (const key of [".dockercfg", ".dockerconfigjson"]) {
      if (REQUIRED_KEYS[obj.type]?.[0] === key && key in data) {
        try {
          JSON.parse(Buffer.from(String(data[key]), "base64").toString("utf8"));
        } catch (e) {
          errs.push(invalidField(`data[${key}]`, "<secret contents redacted>", (e as Error).message));
        }
      }
    }
    if (obj.type === "kubernetes.io/basic-auth" && !("username" in data) && !("password" in data)) {
      errs.push(requiredField("data[username]"), requiredField("data[password]"));
    }
    if (obj.type === "kubernetes.io/service-account-token") {
      if (!obj.metadata?.annotations?.["kubernetes.io/service-account.name"]) {
        errs.push(requiredField("metadata.annotations[kubernetes.io/service-account.name]"));
      }
    }
    return errs;
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    if (obj.type !== old.type) errs.push(invalidField("type", obj.type, "field is immutable"));
    errs.push(...immutableErrors(obj, old, ["data"]));
    return errs;
  },
};

/** ConfigMap: keys in data and binaryData must not overlap; total size ≤ 1 MiB. */
export const configMapStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: false,
  generation: false,
  defaults() {},
  validate(obj) {
    const errs: FieldError[] = [];
    let size = 0;
    for (const [k, v] of Object.entries<string>(obj.data ?? {})) {
      errs.push(...invalidEach(`data[${k}]`, k, configKeyErrors(k)));
      if (obj.binaryData && k in obj.binaryData) {
        errs.push(invalidField(`data[${k}]`, k, "duplicate of key present in binaryData"));
      }
      size += Buffer.byteLength(String(v));
    }
    for (const [k, v] of Object.entries<string>(obj.binaryData ?? {})) {
      errs.push(...dataKeyErrors({ [k]: v }, "binaryData"));
      size += Buffer.from(String(v), "base64").length;
    }
    if (size > MAX_SIZE) errs.push(tooLongField("", MAX_SIZE));
    return errs;
  },
  validateUpdate(obj, old) {
    return immutableErrors(obj, old, ["data", "binaryData"]);
  },
};
