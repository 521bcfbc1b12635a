/** Namespace, ServiceAccount, Pod, EndpointSlice and Event strategies. */
import { type FieldError, forbiddenField, invalidField, requiredField } from "../errors";
import { checkEnum, dns1123LabelErrors, dns1123SubdomainErrors, invalidEach, isIP } from "../validation";
import { defaultPodSpec, validatePodSpec } from "./podspec";
import type { KindStrategy } from "./types";

/** Namespace: DNS-1123 label names, the `kubernetes` finalizer, the metadata.name label. */
export const namespaceStrategy: KindStrategy = {
  nameValidator: dns1123LabelErrors,
  statusSubresource: true,
  generation: false,
  defaults(obj) {
    // The immutable kubernetes.io/metadata.name label is set on every write (NamespaceDefaultLabelName).
    if (obj.metadata?.name) {
      obj.metadata.labels = {
        ...(obj.metadata.labels ?? {}),
        "kubernetes.io/metadata.name": obj.metadata.name,
      };
    }
  },
  prepareForCreate(obj) {
    obj.spec = { finalizers: ["kubernetes"] };
  },
  prepareForUpdate(obj, old) {
    obj.spec = old.spec;
  },
  initialStatus() {
    return { phase: "Active" };
  },
  validate() {
    return [];
  },
};

/**
 * Node: cluster-scoped; "Nodes allow *all* fields, including status, to be set on create"
 * (`kubernetes/kubernetes` pkg/registry/core/node/strategy.go PrepareForCreate), so a create keeps the
 * status it is given; afterwards only `/status` writes it. Validated: each `status.addresses` entry's
 * type and a non-empty address (pkg/apis/core/validation ValidateNodeSpecificAnnotations/validateNodeAddresses
 * are not modelled further).
 */
export const nodeStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: true,
  generation: false,
  defaults() {},
  initialStatus(obj) {
    return obj.status ?? {};
  },
  validate(obj) {
    const errs: FieldError[] = [];
    (Array.isArray(obj.status?.addresses) ? obj.status.addresses : []).forEach((a: any, i: number) => {
      const at = `status.addresses[${i}]`;
      errs.push(
        ...checkEnum(`${at}.type`, a?.type, [
          "Hostname",
          "InternalIP",
          "ExternalIP",
          "InternalDNS",
          "ExternalDNS",
        ]),
      );
      if (!a?.address) errs.push(requiredField(`${at}.address`));
    });
    return errs;
  },
  validateStatus(obj) {
    return nodeStrategy.validate(obj);
  },
};

/** ServiceAccount: nothing kind-specific (no token Secrets since 1.24). */
export const serviceAccountStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: false,
  generation: false,
  defaults() {},
  validate() {
    return [];
  },
};

function qosClass(spec: any): string {
  let requests = 0;
  let limits = 0;
  let guaranteed = true;
  for (const c of spec?.containers ?? []) {
    const r = c.resources ?? {};
    const req = Object.keys(r.requests ?? {}).length;
    const lim = Object.keys(r.limits ?? {}).length;
    requests += req;
    limits += lim;
    if (!(r.limits?.cpu && r.limits?.memory)) guaranteed = false;
    for (const k of Object.keys(r.requests ?? {})) if (r.requests[k] !== r.limits?.[k]) guaranteed = false;
  }
  if (requests === 0 && limits === 0) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

const POD_MUTABLE_MSG =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** Pod: pod defaults plus what admission adds (service account, priority, tolerations); spec mostly frozen. */
export const podStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: true,
  generation: true,
  deleteReturnsObject: true,
  defaults(obj) {
    const spec = obj.spec;
    if (!spec || typeof spec !== "object") return;
    defaultPodSpec(spec);
    spec.enableServiceLinks ??= true;
    // Admission: ServiceAccount, Priority and DefaultTolerationSeconds plugins.
    spec.serviceAccountName ??= "default";
    spec.serviceAccount ??= spec.serviceAccountName;
    spec.priority ??= 0;
    spec.preemptionPolicy ??= "PreemptLowerPriority";
    spec.tolerations ??= [
      {
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
      {
        key: "node.kubernetes.io/unreachable",
        operator: "Exists",
        effect: "NoExecute",
        tolerationSeconds: 300,
      },
    ];
  },
  initialStatus(obj) {
    return { phase: "Pending", qosClass: qosClass(obj.spec) };
  },
  specOf(obj) {
    return obj.spec;
  },
  validate(obj) {
    return validatePodSpec(obj.spec, "spec");
  },
  validateUpdate(obj, old) {
    const strip = (spec: any) => {
      const c = JSON.parse(JSON.stringify(spec ?? {}));
      for (const l of ["containers", "initContainers"]) for (const x of c[l] ?? []) delete x.image;
      delete c.activeDeadlineSeconds;
      delete c.tolerations;
      delete c.terminationGracePeriodSeconds;
      return JSON.stringify(c);
    };
    return strip(obj.spec) === strip(old.spec) ? [] : [forbiddenField("spec", POD_MUTABLE_MSG)];
  },
  validateStatus(obj) {
    const errs: FieldError[] = [];
    errs.push(
      ...checkEnum("status.phase", obj.status?.phase, [
        "Pending",
        "Running",
        "Succeeded",
        "Failed",
        "Unknown",
      ]),
    );
    (obj.status?.podIPs ?? []).forEach((p: any, i: number) => {
      if (!isIP(p?.ip ?? ""))
        errs.push(invalidField(`status.podIPs[${i}].ip`, p?.ip ?? "", "must be a valid IP address"));
    });
    return errs;
  },
};

/** EndpointSlice: addressType required, addresses validated per type; ports default protocol TCP. */
export const endpointSliceStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: false,
  generation: true,
  defaults(obj) {
    for (const p of Array.isArray(obj.ports) ? obj.ports : []) {
      if (!p || typeof p !== "object") continue;
      p.name ??= "";
      p.protocol ??= "TCP";
    }
  },
  specOf(obj) {
    return { endpoints: obj.endpoints, ports: obj.ports, addressType: obj.addressType };
  },
  validate(obj) {
    const errs: FieldError[] = [];
    if (!obj.addressType) errs.push(requiredField("addressType"));
    else errs.push(...checkEnum("addressType", obj.addressType, ["IPv4", "IPv6", "FQDN"]));
    (Array.isArray(obj.endpoints) ? obj.endpoints : []).forEach((e: any, i: number) => {
      const addrs = Array.isArray(e?.addresses) ? e.addresses : [];
      if (addrs.length === 0)
        errs.push(requiredField(`endpoints[${i}].addresses`, "must contain at least 1 address"));
      addrs.forEach((a: string, j: number) => {
        const f = `endpoints[${i}].addresses[${j}]`;
        if (obj.addressType === "IPv4" && !(isIP(a) && !a.includes(":"))) {
          errs.push(invalidField(f, a, "must be a valid IPv4 address"));
        } else if (obj.addressType === "IPv6" && !(isIP(a) && a.includes(":"))) {
          errs.push(invalidField(f, a, "must be a valid IPv6 address"));
        } else if (obj.addressType === "FQDN") errs.push(...invalidEach(f, a, dns1123SubdomainErrors(a)));
      });
    });
    return errs;
  },
  validateUpdate(obj, old) {
    return obj.addressType === old.addressType
      ? []
      : [invalidField("addressType", obj.addressType, "field is immutable")];
  },
};

/** Event (core/v1): involvedObject namespace must match; otherwise permissive. */
export const eventStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: false,
  generation: false,
  defaults() {},
  validate(obj) {
    const ns = obj.involvedObject?.namespace;
    if (ns && ns !== obj.metadata?.namespace) {
      return [invalidField("involvedObject.namespace", ns, "does not match event.namespace")];
    }
    return [];
  },
};
