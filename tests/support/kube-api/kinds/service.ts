/** Service strategy (pkg/apis/core/v1/defaults.go, pkg/registry/core/service, ValidateService). */
import { duplicateField, type FieldError, invalidField, requiredField } from "../errors";
import { checkEnum, dns1035LabelErrors, dns1123SubdomainErrors, invalidEach, isIP } from "../validation";
import type { KindStrategy } from "./types";

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
      if (!spec.clusterIP) {
        spec.clusterIP = ctx.allocateClusterIP();
        spec.clusterIPs = [spec.clusterIP];
      }
      const headless = spec.clusterIP === "None";
      spec.ipFamilies ??= ["IPv4"];
      spec.ipFamilyPolicy ??= headless && !spec.selector ? "RequireDualStack" : "SingleStack";
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
        errs.push(...invalidEach(`${pp}.name`, p.name, dns1035Like(p.name)));
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
      // validateServiceClusterIPsRelatedFields: clusterIP and clusterIPs[0] are one field.
      const ips: string[] = Array.isArray(spec.clusterIPs) ? spec.clusterIPs : [];
      if (spec.clusterIP) {
        if (ips.length === 0) errs.push(requiredField("spec.clusterIPs"));
        else if (ips[0] !== spec.clusterIP) {
          errs.push(invalidField("spec.clusterIPs", ips, "first value must match `clusterIP`"));
        }
      } else if (ips.length > 0) {
        errs.push(invalidField("spec.clusterIPs", ips, "must be empty when `clusterIP` is not specified"));
      }
      ips.forEach((ip, i) => {
        if (i === 0 && ip === "None") {
          if (ips.length > 1) {
            errs.push(invalidField("spec.clusterIPs", ips, "'None' must be the first and only value"));
          }
          return;
        }
        if (!isIP(ip)) {
          errs.push(
            invalidField(
              `spec.clusterIPs[${i}]`,
              ip,
              "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ),
          );
        }
      });
    }
    errs.push(...validateLoadBalancerStatus(obj.status));
    return errs;
  },
  admitCreate(obj, ctx) {
    // The ClusterIP allocator of BeginCreate: an IP the client chose must be in the service CIDR and
    // free (`pkg/registry/core/service/storage/alloc.go` allocIPs; ipallocator's ErrNotInRange and
    // ErrAllocated texts).
    const spec = obj.spec ?? {};
    if (!needsClusterIP(obj)) return [];
    const ips: string[] = (spec.clusterIPs ?? []).filter((ip: string) => ip && ip !== "None");
    for (const ip of ips) {
      let why: string | undefined;
      if (!inServiceRange(ip, ctx.serviceCIDR)) {
        why = `provided IP is not in the valid range. The range of valid IPs is ${ctx.serviceCIDR}`;
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
    if (needsClusterIP(old) && needsClusterIP(obj) && was.length > 0) {
      if (now.length === 0 || now[0] === "") {
        errs.push(invalidField("spec.clusterIPs[0]", now, "primary clusterIP can not be unset"));
      } else if (now[0] !== was[0]) {
        errs.push(invalidField("spec.clusterIPs[0]", now, "may not change once set"));
      }
    }
    return errs;
  },
  validateStatus(obj) {
    return validateLoadBalancerStatus(obj.status);
  },
};

function dns1035Like(v: string): string[] {
  // Port names are IANA service names, which follow DNS-1035-ish rules with a 15-char limit.
  const out: string[] = [];
  if (v.length > 15) out.push("must be no more than 15 characters");
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v)) {
    out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (!/[a-z]/.test(v)) out.push("must contain at least one letter (a-z)");
  return out;
}

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

function ipv4ToInt(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

/** Whether an IPv4 address is allocatable in the CIDR (the network and broadcast addresses are not). */
function inServiceRange(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const b = ipv4ToInt(base ?? "");
  const n = ipv4ToInt(ip);
  if (b === undefined || n === undefined) return false;
  const size = 2 ** (32 - Number(bits));
  return n > b && n < b + size - 1;
}
