/**
 * The node port allocator's refusals of ports a client chose (`kubernetes/kubernetes`
 * pkg/registry/core/service/portallocator/allocator.go ErrNotInRange, ErrAllocated; storage/alloc.go
 * allocNodePorts renders them as `spec.ports[i].nodePort: Invalid value: <port>: <error>`), for the
 * ports `checked` selects.
 */
function nodePortErrors(obj: any, ctx: StrategyContext, checked: (port: number) => boolean): FieldError[] {
  if (!needsNodePort(obj)) return [];
  const self = `${obj.metadata?.namespace}/${obj.metadata?.name}`;
  const { min, max } = ctx.nodePortRange;
  const errs: FieldError[] = [];
  (obj.spec?.ports ?? []).forEach((p: any, i: number) => {
    const port = p?.nodePort;
    if (typeof port !== "number" || port === 0 || !checked(port)) return;
    const at = `spec.ports[${i}].nodePort`;
    if (port < min || port > max) {
      errs.push(
        invalidField(
          at,
          port,
          `provided port is not in the valid range. The range of valid ports is ${min}-${max}`,
        ),
      );
    } else if (ctx.nodePortInUse(port, self))
      errs.push(invalidField(at, port, "provided port is already allocated"));
  });
  return errs;
}

/** Service strategy (pkg/apis/core/v1/defaults.go, pkg/registry/core/service, ValidateService). */
import {
  duplicateField,
  type FieldError,
  invalid,
  invalidField,
  notSupportedField,
  requiredField,
} from "../errors";
import { familyOf, type IPFamily, inCidrRange, otherFamily } from "../ipfamily";
import {
  checkEnum,
  dns1035LabelErrors,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  invalidEach,
  isIP,
} from "../validation";
import type { KindStrategy, StrategyContext } from "./types";

const IP_FAMILIES = ["IPv4", "IPv6"];
const IP_FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"];

function needsClusterIP(svc: any): boolean {
  return svc?.spec?.type !== "ExternalName";
}

function needsNodePort(svc: any): boolean {
  return svc?.spec?.type === "NodePort" || svc?.spec?.type === "LoadBalancer";
}

/** Service: ClusterIP allocated from 10.96.0.0/12 unless headless; status writes only through /status. */
export const serviceStrategy: KindStrategy = {
  nameValidator: dns1035LabelErrors,
  statusSubresource: true,
  generation: false,
  defaults(obj) {
    const spec = obj.spec;
    if (!spec || typeof spec !== "object") return;
    spec.type ??= "ClusterIP";
    spec.sessionAffinity ??= "None";
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
      if (!p || typeof p !== "object") continue;
      p.protocol ??= "TCP";
      if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
    }
    if (spec.type !== "ExternalName") spec.internalTrafficPolicy ??= "Cluster";
    if (spec.type === "NodePort" || spec.type === "LoadBalancer") spec.externalTrafficPolicy ??= "Cluster";
    if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
    if (spec.clusterIP && !spec.clusterIPs) spec.clusterIPs = [spec.clusterIP];
  },
  initialStatus() {
    return { loadBalancer: {} };
  },
  prepareForCreate(obj, ctx) {
    const spec = obj.spec;
    if (!spec) return;
    if (needsClusterIP(obj)) {
      const errs = initIPFamilyFields(spec, ctx);
      if (errs.length > 0) throw invalid({ group: "", kind: "Service" }, obj.metadata?.name ?? "", errs);
      allocClusterIPs(spec, ctx);
    } else {
      // ExternalName Services have no IP family fields (alloc.go initIPFamilyFields resets them).
      delete spec.ipFamilyPolicy;
      delete spec.ipFamilies;
    }
    if (needsNodePort(obj)) {
      for (const p of spec.ports ?? []) p.nodePort ??= ctx.allocateNodePort();
    }
  },
  prepareForUpdate(obj, old) {
    // The Service REST layer copies allocated values the client left out (patchAllocatedValues),
    // then syncs clusterIPs with a changed clusterIP (normalizeClusterIPs), so that validation sees
    // an old client's change of clusterIP alone as the change of clusterIPs[0] it is
    // (`kubernetes/kubernetes pkg/registry/core/service/storage/storage.go` beginUpdate).
    const spec = obj.spec;
    if (!spec || !old.spec) return;
    if (!needsClusterIP(obj)) {
      // ExternalName Services have no IP family fields (alloc.go initIPFamilyFields resets them).
      delete spec.ipFamilyPolicy;
      delete spec.ipFamilies;
    }
    if (needsClusterIP(old) && needsClusterIP(obj)) {
      if (!spec.clusterIP) spec.clusterIP = old.spec.clusterIP;
      if (!spec.clusterIPs || spec.clusterIPs.length === 0) spec.clusterIPs = old.spec.clusterIPs;
      spec.ipFamilies ??= old.spec.ipFamilies;
      spec.ipFamilyPolicy ??= old.spec.ipFamilyPolicy;
    }
    const oldIPs: string[] = old.spec.clusterIPs ?? [];
    const sameIPs = () => JSON.stringify(spec.clusterIPs ?? []) === JSON.stringify(oldIPs);
    if (oldIPs.length > 0 && (spec.clusterIPs ?? []).length === 0 && old.spec.clusterIP === spec.clusterIP) {
      spec.clusterIPs = oldIPs;
    }
    if ((old.spec.clusterIP ?? "") !== (spec.clusterIP ?? "")) {
      if (old.spec.clusterIP && !spec.clusterIP) {
        if (sameIPs()) delete spec.clusterIPs;
      } else if (sameIPs()) spec.clusterIPs = [spec.clusterIP];
    }
    if (needsNodePort(old) && needsNodePort(obj)) {
      for (const p of spec.ports ?? []) {
        if (p.nodePort) continue;
        const prev = (old.spec.ports ?? []).find(
          (o: any) => (o.name ?? "") === (p.name ?? "") || (o.port === p.port && o.protocol === p.protocol),
        );
        if (prev?.nodePort) p.nodePort = prev.nodePort;
      }
    }
  },
  validate(obj) {
    const errs: FieldError[] = [];
    const spec = obj.spec ?? {};
    errs.push(
      ...checkEnum("spec.type", spec.type, ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]),
    );
    errs.push(...checkEnum("spec.sessionAffinity", spec.sessionAffinity, ["ClientIP", "None"]));
    const ports = Array.isArray(spec.ports) ? spec.ports : [];
    const headless = spec.clusterIP === "None";
    if (ports.length === 0 && spec.type !== "ExternalName" && !headless)
      errs.push(requiredField("spec.ports"));
    if (spec.type === "ExternalName" && !spec.externalName) errs.push(requiredField("spec.externalName"));
    const names = new Set<string>();
    const keys = new Set<string>();
    ports.forEach((p: any, i: number) => {
      const pp = `spec.ports[${i}]`;
      if (ports.length > 1 && !p?.name) errs.push(requiredField(`${pp}.name`));
      if (p?.name) {
        // A DNS-1123 label (validateServicePort: ValidateDNS1123Label); the 15-character IANA_SVC_NAME
        // rule is a container port's, not a Service port's (the operator's `static-endpoint-port` has 20).
        errs.push(...invalidEach(`${pp}.name`, p.name, dns1123LabelErrors(p.name)));
        if (names.has(p.name)) errs.push(duplicateField(`${pp}.name`, p.name));
        names.add(p.name);
      }
      if (typeof p?.port !== "number" || p.port < 1 || p.port > 65535) {
        errs.push(invalidField(`${pp}.port`, p?.port ?? 0, "must be between 1 and 65535, inclusive"));
      }
      errs.push(...checkEnum(`${pp}.protocol`, p?.protocol, ["SCTP", "TCP", "UDP"]));
      const key = `${p?.port}/${p?.protocol}`;
      if (keys.has(key)) errs.push(duplicateField(pp, { port: p.port, protocol: p.protocol }));
      keys.add(key);
      if (typeof p?.targetPort === "number" && (p.targetPort < 1 || p.targetPort > 65535)) {
        errs.push(invalidField(`${pp}.targetPort`, p.targetPort, "must be between 1 and 65535, inclusive"));
      }
    });
    if (spec.type !== "ExternalName") {
      errs.push(...clusterIPsRelatedErrors(spec));
      if (!spec.ipFamilyPolicy) errs.push(requiredField("spec.ipFamilyPolicy"));
    }
    errs.push(...validateLoadBalancerStatus(obj.status));
    return errs;
  },
  admitUpdate(obj, old, ctx) {
    // The update transaction allocates the node ports the update adds (storage.go beginUpdate,
    // alloc.go updateNodePorts): the same portallocator errors as a create's.
    const had = new Set((old.spec?.ports ?? []).map((p: any) => p.nodePort).filter(Boolean));
    return nodePortErrors(obj, ctx, (p) => !had.has(p));
  },
  admitCreate(obj, ctx) {
    const portErrs = nodePortErrors(obj, ctx, () => true);
    if (portErrs.length > 0) return portErrs;
    // The ClusterIP allocator of BeginCreate: an IP the client chose must be in the service CIDR and
    // free (`pkg/registry/core/service/storage/alloc.go` allocIPs; ipallocator's ErrNotInRange and
    // ErrAllocated texts).
    const spec = obj.spec ?? {};
    if (!needsClusterIP(obj)) return [];
    const ips: string[] = (spec.clusterIPs ?? []).filter((ip: string) => ip && ip !== "None");
    for (const ip of ips) {
      const cidr = ctx.serviceCIDRs.find((c) => c.family === familyOf(ip));
      let why: string | undefined;
      if (!cidr) why = `no ${familyOf(ip)} service CIDR is configured`;
      else if (!inCidrRange(ip, cidr)) {
        why = `provided IP is not in the valid range. The range of valid IPs is ${cidr.text}`;
      } else if (ctx.clusterIPInUse(ip)) why = "provided IP is already allocated";
      if (why)
        return [invalidField("spec.clusterIPs", spec.clusterIPs, `failed to allocate IP ${ip}: ${why}`)];
    }
    return [];
  },
  validateUpdate(obj, old) {
    const errs: FieldError[] = [];
    const was = old.spec?.clusterIPs ?? [];
    const now = obj.spec?.clusterIPs ?? [];
    if (!needsClusterIP(old) && needsClusterIP(obj)) {
      // A real server allocates cluster IPs when an ExternalName Service becomes another type; this
      // stand-in allocates only on create, so it says so rather than storing a Service without them.
      errs.push(
        invalidField(
          "spec.type",
          obj.spec?.type,
          "changing an ExternalName Service to another type is not modelled by the local kube-api (no cluster IP allocation on update); recreate the Service instead",
        ),
      );
      return errs;
    }
    if (needsClusterIP(old) && needsClusterIP(obj) && was.length > 0) {
      if (now.length === 0 || now[0] === "") {
        errs.push(invalidField("spec.clusterIPs[0]", now, "primary clusterIP can not be unset"));
      } else if (now[0] !== was[0]) {
        errs.push(invalidField("spec.clusterIPs[0]", now, "may not change once set"));
      }
    }
    // A real server upgrades and downgrades a Service between single- and dual-stack on update
    // (alloc.go initIPFamilyFields, validateUpgradeDowngradeClusterIPs); this stand-in does not model
    // it, so it refuses any such change rather than answering differently (README.md).
    if (needsClusterIP(old) && needsClusterIP(obj)) {
      const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
      const recreate = "is not modelled by the local kube-api; recreate the Service instead";
      if (!same(obj.spec?.ipFamilyPolicy, old.spec?.ipFamilyPolicy)) {
        errs.push(
          invalidField(
            "spec.ipFamilyPolicy",
            obj.spec?.ipFamilyPolicy ?? null,
            `changing the IP family policy of a Service ${recreate}`,
          ),
        );
      } else if (
        !same(obj.spec?.ipFamilies, old.spec?.ipFamilies) ||
        (was.length > 0 && now.length !== was.length)
      ) {
        errs.push(
          invalidField(
            "spec.ipFamilies",
            obj.spec?.ipFamilies ?? null,
            `adding or releasing an IP family of a Service ${recreate}`,
          ),
        );
      } else {
        for (let i = 1; i < was.length; i++) {
          if (now[i] !== was[i])
            errs.push(invalidField(`spec.clusterIPs[${i}]`, now, "may not change once set"));
        }
      }
    }
    return errs;
  },
  validateStatus(obj) {
    return validateLoadBalancerStatus(obj.status);
  },
};

/** ValidateLoadBalancerStatus: ingress ip must be an IP, hostname a DNS name and not an IP. */
export function validateLoadBalancerStatus(status: any): FieldError[] {
  const errs: FieldError[] = [];
  const ingress = status?.loadBalancer?.ingress;
  (Array.isArray(ingress) ? ingress : []).forEach((ing: any, i: number) => {
    const p = `status.loadBalancer.ingress[${i}]`;
    if (ing?.ip !== undefined && ing.ip !== "") {
      if (!isIP(ing.ip)) errs.push(invalidField(`${p}.ip`, ing.ip, "must be a valid IP address"));
    }
    if (ing?.ipMode !== undefined) {
      if (!ing.ip) errs.push(requiredField(`${p}.ipMode`, "must be specified when `ip` is set"));
      errs.push(...checkEnum(`${p}.ipMode`, ing.ipMode, ["Proxy", "VIP"]));
    }
    if (ing?.hostname !== undefined && ing.hostname !== "") {
      errs.push(...invalidEach(`${p}.hostname`, ing.hostname, dns1123SubdomainErrors(ing.hostname)));
      if (isIP(ing.hostname)) {
        errs.push(invalidField(`${p}.hostname`, ing.hostname, "must be a DNS name, not an IP address"));
      }
    }
  });
  return errs;
}

/**
 * ValidateServiceClusterIPsRelatedFields for a Service with cluster IPs: clusterIP and clusterIPs[0]
 * are one field, families and policy are known values, at most one IP per family, and each IP of the
 * family `ipFamilies` gives at its index (`kubernetes/kubernetes pkg/apis/core/validation/validation.go`).
 */
function clusterIPsRelatedErrors(spec: any): FieldError[] {
  const errs: FieldError[] = [];
  const ips: string[] = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
  const families: string[] = Array.isArray(spec.ipFamilies) ? spec.ipFamilies : [];
  if (spec.clusterIP) {
    if (ips.length === 0) errs.push(requiredField("spec.clusterIPs"));
    else if (ips[0] !== spec.clusterIP) {
      errs.push(invalidField("spec.clusterIPs", ips, "first value must match `clusterIP`"));
    }
  } else if (ips.length > 0) {
    errs.push(invalidField("spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified"));
  }
  const seen = new Set<string>();
  families.forEach((f, i) => {
    if (!IP_FAMILIES.includes(f)) errs.push(notSupportedField(`spec.ipFamilies[${i}]`, f, IP_FAMILIES));
    if (seen.has(f)) errs.push(duplicateField(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  if (spec.ipFamilyPolicy !== undefined && !IP_FAMILY_POLICIES.includes(spec.ipFamilyPolicy)) {
    errs.push(notSupportedField("spec.ipFamilyPolicy", spec.ipFamilyPolicy, IP_FAMILY_POLICIES));
  }
  let badIPs = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === "None") {
      if (ips.length > 1) {
        badIPs = true;
        errs.push(invalidField("spec.clusterIPs", ips, "'None' must be the first and only value"));
      }
      return;
    }
    if (!isIP(ip)) {
      badIPs = true;
      errs.push(
        invalidField(
          `spec.clusterIPs[${i}]`,
          ip,
          "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
      );
    }
  });
  if (ips.length > 2) errs.push(invalidField("spec.clusterIPs", ips, "may only hold up to 2 values"));
  if (badIPs) return errs;
  if (ips.length > 1 && new Set(ips.map(familyOf)).size !== ips.length) {
    errs.push(invalidField("spec.clusterIPs", ips, "may specify no more than one IP for each IP family"));
  }
  const headless = ips.length === 1 && ips[0] === "None";
  if (!headless) {
    ips.forEach((ip, i) => {
      if (i >= families.length) return;
      if (families[i] === "IPv4" && familyOf(ip) === "IPv6") {
        errs.push(
          invalidField(
            `spec.clusterIPs[${i}]`,
            ip,
            `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``,
          ),
        );
      }
      if (families[i] === "IPv6" && familyOf(ip) === "IPv4") {
        errs.push(
          invalidField(
            `spec.clusterIPs[${i}]`,
            ip,
            `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``,
          ),
        );
      }
    });
  }
  return errs;
}

/**
 * The create half of initIPFamilyFields (`kubernetes/kubernetes pkg/registry/core/service/storage/alloc.go`):
 * defaults `ipFamilyPolicy` (RequireDualStack for a headless Service without selector, else SingleStack),
 * infers `ipFamilies` from given cluster IPs, refuses families the cluster does not serve, and adds the
 * other family when the policy asks for dual-stack and the cluster has both. Returns field errors.
 */
function initIPFamilyFields(spec: any, ctx: StrategyContext): FieldError[] {
  const clusterFamilies = ctx.serviceCIDRs.map((c) => c.family);
  const headlessSelectorless =
    spec.clusterIP === "None" && (!spec.selector || Object.keys(spec.selector).length === 0);
  spec.ipFamilyPolicy ??= headlessSelectorless ? "RequireDualStack" : "SingleStack";
  // The allocator validates these fields before it reads them.
  const pre = clusterIPsRelatedErrors(spec);
  if (pre.length > 0) return pre;
  const errs: FieldError[] = [];
  const ips: string[] = spec.clusterIPs ?? [];
  spec.ipFamilies ??= [];
  const families: IPFamily[] = spec.ipFamilies;
  if (spec.ipFamilyPolicy === "SingleStack") {
    if (ips.length === 2) {
      errs.push(
        invalidField(
          "spec.ipFamilyPolicy",
          spec.ipFamilyPolicy,
          "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified",
        ),
      );
    }
    if (families.length === 2) {
      errs.push(
        invalidField(
          "spec.ipFamilyPolicy",
          spec.ipFamilyPolicy,
          "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified",
        ),
      );
    }
  }
  for (let i = 0; i < ips.length; i++) {
    const ip = ips[i]!;
    if (ip === "None") break;
    if (i < families.length) continue;
    const fam = familyOf(ip);
    if (!clusterFamilies.includes(fam)) {
      errs.push(invalidField(`spec.clusterIPs[${i}]`, ips, `${fam} is not configured on this cluster`));
    } else families.push(fam);
  }
  if (errs.length > 0) return errs;
  if (headlessSelectorless) {
    if (families.length === 0) families.push(clusterFamilies[0]!);
    if (families.length < 2 && spec.ipFamilyPolicy !== "SingleStack")
      families.push(otherFamily(families[0]!));
    return [];
  }
  if (spec.ipFamilyPolicy === "RequireDualStack" && clusterFamilies.length < 2) {
    errs.push(
      invalidField(
        "spec.ipFamilyPolicy",
        spec.ipFamilyPolicy,
        "this cluster is not configured for dual-stack services",
      ),
    );
  }
  families.forEach((f, i) => {
    if (!clusterFamilies.includes(f))
      errs.push(invalidField(`spec.ipFamilies[${i}]`, f, "not configured on this cluster"));
  });
  if (errs.length > 0) return errs;
  if (families.length === 0) families.push(clusterFamilies[0]!);
  if (spec.ipFamilyPolicy !== "SingleStack" && families.length === 1 && clusterFamilies.length === 2) {
    families.push(otherFamily(families[0]!));
  }
  return [];
}

/** allocClusterIPs: one cluster IP per family not given yet; none for a headless Service. */
function allocClusterIPs(spec: any, ctx: StrategyContext): void {
  const ips: string[] = spec.clusterIPs ?? [];
  if (ips[0] === "None") return;
  spec.ipFamilies.forEach((f: IPFamily, i: number) => {
    if (!ips[i]) ips[i] = ctx.allocateClusterIP(f);
  });
  spec.clusterIPs = ips;
  spec.clusterIP = ips[0];
}
