/**
 * Pod Security admission, as the built-in `PodSecurity` plugin runs it with the default configuration
 * (every mode `privileged:latest`, no exemptions): the policy comes from a namespace's
 * `pod-security.kubernetes.io/<mode>[-version]` labels; a Pod's create (and an update that changes an image)
 * is refused when it breaks the `enforce` level; a workload's pod template (StatefulSet here) is only
 * evaluated for `warn` (Warning headers) and `audit` (audit annotations), so the controller's Pod creates are
 * what get refused. Namespace writes with an invalid label value are 422; raising `enforce` on a namespace
 * warns about the existing Pods that break it.
 *
 * Source: kubernetes/pod-security-admission@8f84a87c `admission/admission.go` (Validate, ValidateNamespace,
 * ValidatePod, ValidatePodController, EvaluatePod, EvaluatePodsInNamespace, isSignificantPodUpdate),
 * `api/helpers.go` (PolicyToEvaluate, ParseLevel, ParseVersion), `policy/registry.go` (which checks run at a
 * level and version, in what order), `policy/checks.go` (how results are joined) and `policy/check_*.go`
 * (one check each). The checks are those of a 1.36 server: the newest version of each check up to 1.36.
 */
import { type FieldError, forbidden, invalid, invalidField, type StatusError } from "./errors";

/** A Pod Security Standards level. */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** A level at a version (`latest` or `v1.<minor>`), printed as `<level>:<version>`. */
export interface LevelVersion {
  level: PodSecurityLevel;
  /** `latest` or `v1.<minor>`. */
  version: string;
}

/** The policy of one namespace: what each mode evaluates. */
export interface PodSecurityPolicy {
  enforce: LevelVersion;
  audit: LevelVersion;
  warn: LevelVersion;
}

/** The label names (`api/constants.go`). */
export const POD_SECURITY_LABELS = {
  enforce: "pod-security.kubernetes.io/enforce",
  enforceVersion: "pod-security.kubernetes.io/enforce-version",
  audit: "pod-security.kubernetes.io/audit",
  auditVersion: "pod-security.kubernetes.io/audit-version",
  warn: "pod-security.kubernetes.io/warn",
  warnVersion: "pod-security.kubernetes.io/warn-version",
} as const;

/** The server's own minor version: `latest`, and any newer `v1.x`, evaluate the checks as of this one. */
const SERVER_MINOR = 36;

const LEVELS: PodSecurityLevel[] = ["privileged", "baseline", "restricted"];
const RANK: Record<PodSecurityLevel, number> = { privileged: 0, baseline: 1, restricted: 2 };

/** `<level>:<version>` as LevelVersion.String() prints it. */
export function levelString(lv: LevelVersion): string {
  return `${lv.level}:${lv.version}`;
}

/** The minor version a version string selects checks at, or undefined when it is not valid. */
function minorOf(version: string): number | undefined {
  if (version === "latest") return SERVER_MINOR;
  const m = /^v1\.([0-9]|[1-9][0-9]*)$/.exec(version);
  if (!m) return undefined;
  return Math.min(Number(m[1]), SERVER_MINOR);
}

/**
 * PolicyToEvaluate: the namespace's policy and the label errors. Invalid values leave enforce at
 * `restricted` (fail closed) and audit and warn at `privileged` (fail open); a valid `enforce` without a
 * `warn` label raises warn to the enforce level (and version, unless `warn-version` is set).
 */
export function policyFromLabels(labels: Record<string, string> | undefined): {
  policy: PodSecurityPolicy;
  errors: FieldError[];
} {
  const dflt = (): LevelVersion => ({ level: "privileged", version: "latest" });
  const policy: PodSecurityPolicy = { enforce: dflt(), audit: dflt(), warn: dflt() };
  const errors: FieldError[] = [];
  const l = labels ?? {};
  const level = (key: string, failOpen: boolean): PodSecurityLevel | undefined => {
    const v = l[key];
    if (v === undefined) return undefined;
    if ((LEVELS as string[]).includes(v)) return v as PodSecurityLevel;
    errors.push(
      invalidField(`metadata.labels[${key}]`, v, "must be one of privileged, baseline, restricted"),
    );
    return failOpen ? "privileged" : "restricted";
  };
  const version = (key: string): string | undefined => {
    const v = l[key];
    if (v === undefined) return undefined;
    if (minorOf(v) !== undefined) return v;
    errors.push(invalidField(`metadata.labels[${key}]`, v, 'must be "latest" or "v1.x"'));
    return "latest";
  };
  const el = level(POD_SECURITY_LABELS.enforce, false);
  const enforceValid = el !== undefined && (LEVELS as string[]).includes(l[POD_SECURITY_LABELS.enforce]!);
  if (el) policy.enforce.level = el;
  const ev = version(POD_SECURITY_LABELS.enforceVersion);
  if (ev) policy.enforce.version = ev;
  const al = level(POD_SECURITY_LABELS.audit, true);
  if (al) policy.audit.level = al;
  const av = version(POD_SECURITY_LABELS.auditVersion);
  if (av) policy.audit.version = av;
  const wl = level(POD_SECURITY_LABELS.warn, true);
  if (wl) policy.warn.level = wl;
  const wv = version(POD_SECURITY_LABELS.warnVersion);
  if (wv) policy.warn.version = wv;
  if (wl === undefined && enforceValid && RANK[policy.enforce.level] > RANK[policy.warn.level]) {
    policy.warn.level = policy.enforce.level;
    if (wv === undefined) policy.warn.version = policy.enforce.version;
  }
  return { policy, errors };
}

// ------------------------------------------------------------------ checks

interface CheckResult {
  reason: string;
  detail: string;
}

type CheckFn = (meta: any, spec: any) => CheckResult | undefined;

interface CheckVersion {
  /** The first minor version this implementation applies from. */
  since: number;
  fn: CheckFn;
  /** Baseline checks this restricted check replaces at this version. */
  overrides?: string[];
}

interface Check {
  id: string;
  level: "baseline" | "restricted";
  versions: CheckVersion[];
}

const joinQuote = (items: string[]): string => (items.length === 0 ? "" : `"${items.join('", "')}"`);
const plural = (one: string, many: string, n: number): string => (n === 1 ? one : many);
const sortedUnique = (items: Iterable<string>): string[] => [...new Set(items)].sort();
/** Go's %q of a string (enough for annotation values: JSON escapes match for printable text). */
const goQuote = (s: string): string => JSON.stringify(s);

/** initContainers, containers, then ephemeralContainers (`policy/visitor.go`). */
function containers(spec: any): any[] {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? []), ...(spec?.ephemeralContainers ?? [])];
}

const isWindows = (spec: any): boolean => spec?.os?.name === "windows";
/** `hostUsers: false` (a user namespace) relaxes some checks from 1.35 (`policy/helpers.go`). */
const userNamespace = (spec: any): boolean => spec?.hostUsers === false;

/** "container \"a\"" / "containers \"a\", \"b\"". */
function containersPhrase(names: string[]): string {
  return `${plural("container", "containers", names.length)} ${joinQuote(names)}`;
}

const privileged: CheckFn = (_m, spec) => {
  const bad = containers(spec)
    .filter((c) => c.securityContext?.privileged === true)
    .map((c) => c.name);
  if (bad.length === 0) return undefined;
  return {
    reason: "privileged",
    detail: `${containersPhrase(bad)} must not set securityContext.privileged=true`,
  };
};

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

const capabilitiesBaseline: CheckFn = (_m, spec) => {
  const bad: string[] = [];
  const caps: string[] = [];
  for (const c of containers(spec)) {
    const added: string[] = c.securityContext?.capabilities?.add ?? [];
    const extra = added.filter((a) => !BASELINE_CAPABILITIES.has(a));
    if (extra.length > 0) {
      bad.push(c.name);
      caps.push(...extra);
    }
  }
  if (bad.length === 0) return undefined;
  return {
    reason: "non-default capabilities",
    detail: `${containersPhrase(bad)} must not include ${joinQuote(sortedUnique(caps))} in securityContext.capabilities.add`,
  };
};

const capabilitiesRestricted: CheckFn = (_m, spec) => {
  if (isWindows(spec)) return undefined;
  const missingDrop: string[] = [];
  const adding: string[] = [];
  const caps: string[] = [];
  for (const c of containers(spec)) {
    const capabilities = c.securityContext?.capabilities;
    if (!capabilities) {
      missingDrop.push(c.name);
      continue;
    }
    if (!(capabilities.drop ?? []).includes("ALL")) missingDrop.push(c.name);
    const extra = (capabilities.add ?? []).filter((a: string) => a !== "NET_BIND_SERVICE");
    if (extra.length > 0) {
      adding.push(c.name);
      caps.push(...extra);
    }
  }
  const details: string[] = [];
  if (missingDrop.length > 0) {
    details.push(`${containersPhrase(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`);
  }
  if (adding.length > 0) {
    details.push(
      `${containersPhrase(adding)} must not include ${joinQuote(sortedUnique(caps))} in securityContext.capabilities.add`,
    );
  }
  if (details.length === 0) return undefined;
  return { reason: "unrestricted capabilities", detail: details.join("; ") };
};

const hostNamespaces: CheckFn = (_m, spec) => {
  const set: string[] = [];
  if (spec?.hostNetwork === true) set.push("hostNetwork=true");
  if (spec?.hostPID === true) set.push("hostPID=true");
  if (spec?.hostIPC === true) set.push("hostIPC=true");
  if (set.length === 0) return undefined;
  return { reason: "host namespaces", detail: set.join(", ") };
};

const hostPathVolumes: CheckFn = (_m, spec) => {
  const bad = (spec?.volumes ?? []).filter((v: any) => v.hostPath).map((v: any) => v.name);
  if (bad.length === 0) return undefined;
  return {
    reason: "hostPath volumes",
    detail: `${plural("volume", "volumes", bad.length)} ${joinQuote(bad)}`,
  };
};

const hostPorts: CheckFn = (_m, spec) => {
  const bad: string[] = [];
  const ports: string[] = [];
  for (const c of containers(spec)) {
    const hp = (c.ports ?? []).filter((p: any) => p.hostPort).map((p: any) => String(p.hostPort));
    if (hp.length > 0) {
      bad.push(c.name);
      ports.push(...hp);
    }
  }
  if (bad.length === 0) return undefined;
  const uniq = sortedUnique(ports);
  return {
    reason: "hostPort",
    detail: `${containersPhrase(bad)} ${plural("uses", "use", bad.length)} ${plural("hostPort", "hostPorts", uniq.length)} ${uniq.join(", ")}`,
  };
};

const hostProbesAndHostLifecycle: CheckFn = (_m, spec) => {
  const bad = new Set<string>();
  const hosts = new Set<string>();
  const hostsOf = (h: any): string[] =>
    h ? [h.httpGet?.host, h.tcpSocket?.host].filter((x): x is string => !!x) : [];
  for (const c of containers(spec)) {
    for (const h of [
      c.livenessProbe,
      c.readinessProbe,
      c.startupProbe,
      c.lifecycle?.postStart,
      c.lifecycle?.preStop,
    ]) {
      const found = hostsOf(h);
      if (found.length > 0) {
        bad.add(c.name);
        for (const f of found) hosts.add(f);
      }
    }
  }
  if (bad.size === 0) return undefined;
  const names = sortedUnique(bad);
  const hs = sortedUnique(hosts);
  return {
    reason: "probe or lifecycle host",
    detail: `${containersPhrase(names)} ${plural("uses", "use", names.length)} ${plural("probe or lifecycle host", "probe or lifecycle hosts", hs.length)} ${joinQuote(hs)}`,
  };
};

const APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/";

const appArmorProfile: CheckFn = (meta, spec) => {
  const okType = (t: string) => t === "RuntimeDefault" || t === "Localhost";
  const setters: string[] = [];
  const values = new Set<string>();
  const podType = spec?.securityContext?.appArmorProfile?.type;
  if (spec?.securityContext?.appArmorProfile && !okType(podType)) {
    setters.push("pod");
    values.add(String(podType ?? ""));
  }
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const p = c.securityContext?.appArmorProfile;
    if (p && !okType(p.type)) {
      bad.push(c.name);
      values.add(String(p.type ?? ""));
    }
  }
  if (bad.length > 0) setters.push(containersPhrase(bad));
  const annotations = Object.entries(meta?.annotations ?? {})
    .filter(
      ([k, v]) =>
        k.startsWith(APPARMOR_ANNOTATION_PREFIX) &&
        !(v === "" || v === "runtime/default" || String(v).startsWith("localhost/")),
    )
    .map(([k, v]) => `${k}=${goQuote(String(v))}`)
    .sort();
  const list = [...sortedUnique(values), ...annotations];
  if (annotations.length > 0) setters.push(plural("annotation", "annotations", annotations.length));
  if (setters.length === 0) return undefined;
  return {
    reason: plural("forbidden AppArmor profile", "forbidden AppArmor profiles", list.length),
    detail: `${setters.join(" and ")} must not set AppArmor profile type to ${joinQuote(list)}`,
  };
};

const procMount: CheckFn = (_m, spec) => {
  const bad: string[] = [];
  const types: string[] = [];
  for (const c of containers(spec)) {
    const pm = c.securityContext?.procMount;
    if (pm !== undefined && pm !== null && pm !== "Default") {
      bad.push(c.name);
      types.push(pm);
    }
  }
  if (bad.length === 0) return undefined;
  return {
    reason: "procMount",
    detail: `${containersPhrase(bad)} must not set securityContext.procMount to ${joinQuote(sortedUnique(types))}`,
  };
};

const SELINUX_TYPES_1_0 = ["", "container_t", "container_init_t", "container_kvm_t"];
const SELINUX_TYPES_1_31 = [...SELINUX_TYPES_1_0, "container_engine_t"];

const seLinuxOptions =
  (allowedTypes: string[]): CheckFn =>
  (_m, spec) => {
    const setters: string[] = [];
    const types = new Set<string>();
    let user = false;
    let role = false;
    const valid = (o: any): boolean => {
      let ok = true;
      const t = o.type ?? "";
      if (!allowedTypes.includes(t)) {
        ok = false;
        types.add(t);
      }
      if (o.user) {
        ok = false;
        user = true;
      }
      if (o.role) {
        ok = false;
        role = true;
      }
      return ok;
    };
    if (spec?.securityContext?.seLinuxOptions && !valid(spec.securityContext.seLinuxOptions))
      setters.push("pod");
    const bad = containers(spec)
      .filter((c) => c.securityContext?.seLinuxOptions && !valid(c.securityContext.seLinuxOptions))
      .map((c) => c.name);
    if (bad.length > 0) setters.push(containersPhrase(bad));
    if (setters.length === 0) return undefined;
    const data: string[] = [];
    if (types.size > 0) data.push(`${plural("type", "types", types.size)} ${joinQuote(sortedUnique(types))}`);
    if (user) data.push("user may not be set");
    if (role) data.push("role may not be set");
    return {
      reason: "seLinuxOptions",
      detail: `${setters.join(" and ")} set forbidden securityContext.seLinuxOptions: ${data.join("; ")}`,
    };
  };

const validSeccomp = (t: unknown) => t === "RuntimeDefault" || t === "Localhost";

/** Bad explicit seccomp types, and the containers that leave it unset. */
function seccompFindings(spec: any): {
  setters: string[];
  values: string[];
  implicit: string[];
  podSet: boolean;
} {
  const setters: string[] = [];
  const values = new Set<string>();
  const pod = spec?.securityContext?.seccompProfile;
  let podSet = false;
  if (pod) {
    if (!validSeccomp(pod.type)) {
      setters.push("pod");
      values.add(String(pod.type ?? ""));
    } else podSet = true;
  }
  const bad: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const p = c.securityContext?.seccompProfile;
    if (p) {
      if (!validSeccomp(p.type)) {
        bad.push(c.name);
        values.add(String(p.type ?? ""));
      }
    } else if (!podSet) implicit.push(c.name);
  }
  if (bad.length > 0) setters.push(containersPhrase(bad));
  return { setters, values: sortedUnique(values), implicit, podSet };
}

const seccompBaseline: CheckFn = (_m, spec) => {
  const f = seccompFindings(spec);
  if (f.setters.length === 0) return undefined;
  return {
    reason: "seccompProfile",
    detail: `${f.setters.join(" and ")} must not set securityContext.seccompProfile.type to ${joinQuote(f.values)}`,
  };
};

const seccompRestricted: CheckFn = (_m, spec) => {
  if (isWindows(spec)) return undefined;
  const f = seccompFindings(spec);
  if (f.setters.length > 0) {
    return {
      reason: "seccompProfile",
      detail: `${f.setters.join(" and ")} must not set securityContext.seccompProfile.type to ${joinQuote(f.values)}`,
    };
  }
  if (f.implicit.length === 0) return undefined;
  return {
    reason: "seccompProfile",
    detail: `pod or ${containersPhrase(f.implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
  };
};

const SYSCTLS_1_0 = [
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
];
const SYSCTLS_1_27 = [...SYSCTLS_1_0, "net.ipv4.ip_local_reserved_ports"];
const SYSCTLS_1_29 = [
  ...SYSCTLS_1_27,
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
];
const SYSCTLS_1_32 = [...SYSCTLS_1_29, "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"];

const sysctls =
  (allowed: string[]): CheckFn =>
  (_m, spec) => {
    const bad = (spec?.securityContext?.sysctls ?? [])
      .map((s: any) => s.name)
      .filter((n: string) => !allowed.includes(n));
    if (bad.length === 0) return undefined;
    return { reason: "forbidden sysctls", detail: bad.join(", ") };
  };

const windowsHostProcess: CheckFn = (_m, spec) => {
  const setters: string[] = [];
  if (spec?.securityContext?.windowsOptions?.hostProcess === true) setters.push("pod");
  const bad = containers(spec)
    .filter((c) => c.securityContext?.windowsOptions?.hostProcess === true)
    .map((c) => c.name);
  if (bad.length > 0) setters.push(containersPhrase(bad));
  if (setters.length === 0) return undefined;
  return {
    reason: "hostProcess",
    detail: `${setters.join(" and ")} must not set securityContext.windowsOptions.hostProcess=true`,
  };
};

const allowPrivilegeEscalation =
  (windowsExempt: boolean): CheckFn =>
  (_m, spec) => {
    if (windowsExempt && isWindows(spec)) return undefined;
    const bad = containers(spec)
      .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
      .map((c) => c.name);
    if (bad.length === 0) return undefined;
    return {
      reason: "allowPrivilegeEscalation != false",
      detail: `${containersPhrase(bad)} must set securityContext.allowPrivilegeEscalation=false`,
    };
  };

const runAsNonRoot =
  (relax: boolean): CheckFn =>
  (_m, spec) => {
    if (relax && userNamespace(spec)) return undefined;
    const setters: string[] = [];
    let podNonRoot = false;
    const podValue = spec?.securityContext?.runAsNonRoot;
    if (podValue === false) setters.push("pod");
    else if (podValue === true) podNonRoot = true;
    const explicit: string[] = [];
    const implicit: string[] = [];
    for (const c of containers(spec)) {
      const v = c.securityContext?.runAsNonRoot;
      if (v === false) explicit.push(c.name);
      else if (v !== true && !podNonRoot) implicit.push(c.name);
    }
    if (explicit.length > 0) setters.push(containersPhrase(explicit));
    if (setters.length > 0) {
      return {
        reason: "runAsNonRoot != true",
        detail: `${setters.join(" and ")} must not set securityContext.runAsNonRoot=false`,
      };
    }
    if (implicit.length === 0) return undefined;
    return {
      reason: "runAsNonRoot != true",
      detail: `pod or ${containersPhrase(implicit)} must set securityContext.runAsNonRoot=true`,
    };
  };

const runAsUser =
  (relax: boolean): CheckFn =>
  (_m, spec) => {
    if (relax && userNamespace(spec)) return undefined;
    const setters: string[] = [];
    if (spec?.securityContext?.runAsUser === 0) setters.push("pod");
    const bad = containers(spec)
      .filter((c) => c.securityContext?.runAsUser === 0)
      .map((c) => c.name);
    if (bad.length > 0) setters.push(containersPhrase(bad));
    if (setters.length === 0) return undefined;
    return { reason: "runAsUser=0", detail: `${setters.join(" and ")} must not set runAsUser=0` };
  };

const restrictedVolumes: CheckFn = (_m, spec) => {
  const allowed = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
  ];
  const known = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
  ];
  const bad: string[] = [];
  const types: string[] = [];
  for (const v of spec?.volumes ?? []) {
    if (allowed.some((k) => v[k])) continue;
    bad.push(v.name);
    types.push(known.find((k) => v[k]) ?? "unknown");
  }
  if (bad.length === 0) return undefined;
  const uniq = sortedUnique(types);
  return {
    reason: "restricted volume types",
    detail: `${plural("volume", "volumes", bad.length)} ${joinQuote(bad)} ${plural("uses", "use", bad.length)} ${plural("restricted volume type", "restricted volume types", uniq.length)} ${joinQuote(uniq)}`,
  };
};

/** The seccomp annotations the 1.0 baseline check looked at (before the field existed). */
const seccompAnnotations: CheckFn = (meta, spec) => {
  const ok = (v: string) => v === "runtime/default" || v === "docker/default" || v.startsWith("localhost/");
  const bad = new Set<string>();
  const ann = meta?.annotations ?? {};
  const podKey = "seccomp.security.alpha.kubernetes.io/pod";
  if (ann[podKey] !== undefined && !ok(ann[podKey])) bad.add(`${podKey}=${goQuote(ann[podKey])}`);
  for (const c of containers(spec)) {
    const k = `container.seccomp.security.alpha.kubernetes.io/${c.name}`;
    if (ann[k] !== undefined && !ok(ann[k])) bad.add(`${k}=${goQuote(ann[k])}`);
  }
  if (bad.size === 0) return undefined;
  return {
    reason: "seccompProfile",
    detail: `forbidden ${plural("annotation", "annotations", bad.size)} ${sortedUnique(bad).join(", ")}`,
  };
};

const CHECKS: Check[] = [
  {
    id: "allowPrivilegeEscalation",
    level: "restricted",
    versions: [
      { since: 8, fn: allowPrivilegeEscalation(false) },
      { since: 25, fn: allowPrivilegeEscalation(true) },
    ],
  },
  { id: "appArmorProfile", level: "baseline", versions: [{ since: 0, fn: appArmorProfile }] },
  { id: "capabilities_baseline", level: "baseline", versions: [{ since: 0, fn: capabilitiesBaseline }] },
  {
    id: "capabilities_restricted",
    level: "restricted",
    versions: [{ since: 22, fn: capabilitiesRestricted, overrides: ["capabilities_baseline"] }],
  },
  { id: "hostNamespaces", level: "baseline", versions: [{ since: 0, fn: hostNamespaces }] },
  { id: "hostPathVolumes", level: "baseline", versions: [{ since: 0, fn: hostPathVolumes }] },
  { id: "hostPorts", level: "baseline", versions: [{ since: 0, fn: hostPorts }] },
  {
    id: "hostProbesAndHostLifecycle",
    level: "baseline",
    versions: [{ since: 34, fn: hostProbesAndHostLifecycle }],
  },
  { id: "privileged", level: "baseline", versions: [{ since: 0, fn: privileged }] },
  {
    id: "procMount",
    level: "baseline",
    versions: [
      { since: 0, fn: procMount },
      { since: 35, fn: (m, s) => (userNamespace(s) ? undefined : procMount(m, s)) },
    ],
  },
  {
    id: "procMount_restricted",
    level: "restricted",
    versions: [{ since: 35, fn: procMount, overrides: ["procMount"] }],
  },
  {
    id: "restrictedVolumes",
    level: "restricted",
    versions: [{ since: 0, fn: restrictedVolumes, overrides: ["hostPathVolumes"] }],
  },
  {
    id: "runAsNonRoot",
    level: "restricted",
    versions: [
      { since: 0, fn: runAsNonRoot(false) },
      { since: 35, fn: runAsNonRoot(true) },
    ],
  },
  {
    id: "runAsUser",
    level: "restricted",
    versions: [
      { since: 23, fn: runAsUser(false) },
      { since: 35, fn: runAsUser(true) },
    ],
  },
  {
    id: "seLinuxOptions",
    level: "baseline",
    versions: [
      { since: 0, fn: seLinuxOptions(SELINUX_TYPES_1_0) },
      { since: 31, fn: seLinuxOptions(SELINUX_TYPES_1_31) },
    ],
  },
  {
    id: "seccompProfile_baseline",
    level: "baseline",
    versions: [
      { since: 0, fn: seccompAnnotations },
      { since: 19, fn: seccompBaseline },
    ],
  },
  {
    id: "seccompProfile_restricted",
    level: "restricted",
    versions: [{ since: 19, fn: seccompRestricted, overrides: ["seccompProfile_baseline"] }],
  },
  {
    id: "sysctls",
    level: "baseline",
    versions: [
      { since: 0, fn: sysctls(SYSCTLS_1_0) },
      { since: 27, fn: sysctls(SYSCTLS_1_27) },
      { since: 29, fn: sysctls(SYSCTLS_1_29) },
      { since: 32, fn: sysctls(SYSCTLS_1_32) },
    ],
  },
  { id: "windowsHostProcess", level: "baseline", versions: [{ since: 0, fn: windowsHostProcess }] },
];

/** The implementation of a check at a minor version, if it exists there. */
function at(check: Check, minor: number): CheckVersion | undefined {
  let found: CheckVersion | undefined;
  for (const v of check.versions) if (v.since <= minor) found = v;
  return found;
}

/**
 * The checks of a level at a version, in the registry's order: baseline IDs sorted, then restricted IDs
 * sorted; at `restricted`, a baseline check a restricted one overrides at that version is left out.
 */
function checksFor(lv: LevelVersion): CheckFn[] {
  if (lv.level === "privileged") return [];
  const minor = minorOf(lv.version) ?? SERVER_MINOR;
  const sortIds = (a: Check, b: Check) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const baseline = CHECKS.filter((c) => c.level === "baseline").sort(sortIds);
  const restricted = CHECKS.filter((c) => c.level === "restricted").sort(sortIds);
  if (lv.level === "baseline") {
    return baseline.flatMap((c) => {
      const v = at(c, minor);
      return v ? [v.fn] : [];
    });
  }
  const overridden = new Set(restricted.flatMap((c) => at(c, minor)?.overrides ?? []));
  return [...baseline.filter((c) => !overridden.has(c.id)), ...restricted].flatMap((c) => {
    const v = at(c, minor);
    return v ? [v.fn] : [];
  });
}

/** The violations of a pod (metadata and spec) at a level, as AggregateCheckResults joins them. */
export function evaluatePod(
  lv: LevelVersion,
  meta: any,
  spec: any,
): { allowed: boolean; reason: string; detail: string } {
  const results = checksFor(lv)
    .map((fn) => fn(meta ?? {}, spec ?? {}))
    .filter((r): r is CheckResult => !!r);
  return {
    allowed: results.length === 0,
    reason: results.map((r) => r.reason).join(", "),
    detail: results.map((r) => (r.detail ? `${r.reason} (${r.detail})` : r.reason)).join(", "),
  };
}

// ------------------------------------------------------------------ admission

/** What one admission call gives besides a refusal: Warning headers and audit annotations. */
export interface AdmissionOutcome {
  warnings: string[];
  /** `pod-security.kubernetes.io/<key>` audit annotations (keys without the prefix). */
  audit: Record<string, string>;
}

/** The kinds whose pod template the plugin evaluates for warn and audit (only these are served here). */
const TEMPLATE_KINDS = new Set(["StatefulSet"]);

/**
 * Runs Pod Security admission on a create or update that passed validation, adding its warnings and audit
 * annotations to `out` (also when it refuses). Throws the 403 (Pods) or 422 (Namespaces) the plugin answers.
 */
export function admitPodSecurity(
  kind: string,
  operation: "create" | "update",
  obj: any,
  old: any | undefined,
  namespaceLabels: (ns: string) => Record<string, string> | undefined,
  listPods: (ns: string) => any[],
  out: AdmissionOutcome,
): AdmissionOutcome {
  if (kind === "Namespace") {
    const { policy, errors } = policyFromLabels(obj.metadata?.labels);
    if (operation === "create") {
      if (errors.length > 0)
        throw invalid({ group: "", kind: "Namespace" }, obj.metadata?.name ?? "", errors);
      return out;
    }
    const before = policyFromLabels(old?.metadata?.labels);
    if (
      errors.length > 0 &&
      (before.errors.length === 0 || JSON.stringify(errors) !== JSON.stringify(before.errors))
    ) {
      throw invalid({ group: "", kind: "Namespace" }, obj.metadata?.name ?? "", errors);
    }
    const e = policy.enforce;
    const o = before.policy.enforce;
    if (e.level === o.level && e.version === o.version) return out;
    if (e.level === "privileged") return out;
    if (e.version === o.version && RANK[e.level] <= RANK[o.level]) return out;
    out.warnings.push(...podsViolating(obj.metadata.name, e, listPods(obj.metadata.name)));
    return out;
  }
  const ns: string = obj.metadata?.namespace ?? "";
  if (kind === "Pod") {
    if (operation === "update" && !significantPodUpdate(obj, old)) return out;
    const { policy, errors } = policyFromLabels(namespaceLabels(ns));
    if (errors.length === 0 && isFullyPrivileged(policy)) {
      out.audit["enforce-policy"] = "privileged:latest";
      return out;
    }
    return evaluate(policy, errors, obj.metadata, obj.spec, true, obj.metadata?.name ?? "", out);
  }
  if (!TEMPLATE_KINDS.has(kind)) return out;
  const { policy, errors } = policyFromLabels(namespaceLabels(ns));
  if (errors.length === 0 && policy.warn.level === "privileged" && policy.audit.level === "privileged")
    return out;
  const template = obj.spec?.template;
  if (!template) return out;
  return evaluate(policy, errors, template.metadata, template.spec, false, obj.metadata?.name ?? "", out);
}

function isFullyPrivileged(p: PodSecurityPolicy): boolean {
  return p.enforce.level === "privileged" && p.audit.level === "privileged" && p.warn.level === "privileged";
}

/** EvaluatePod: enforce (Pods only), then audit, then warn when allowed. */
function evaluate(
  policy: PodSecurityPolicy,
  labelErrors: FieldError[],
  meta: any,
  spec: any,
  enforce: boolean,
  name: string,
  out: AdmissionOutcome,
): AdmissionOutcome {
  if (labelErrors.length > 0) {
    out.audit.error = `Failed to parse policy: ${labelErrors.map((e) => `${e.field}: ${e.body}`).join(", ")}`;
  }
  const cache = new Map<string, ReturnType<typeof evaluatePod>>();
  const run = (lv: LevelVersion) => {
    const key = levelString(lv);
    let r = cache.get(key);
    if (!r) {
      r = evaluatePod(lv, meta, spec);
      cache.set(key, r);
    }
    return r;
  };
  let refusal: StatusError | undefined;
  if (enforce) {
    out.audit["enforce-policy"] = levelString(policy.enforce);
    const r = run(policy.enforce);
    if (!r.allowed) {
      refusal = forbidden(
        { group: "", resource: "pods" },
        name,
        `violates PodSecurity "${levelString(policy.enforce)}": ${r.detail}`,
      );
    }
  }
  const a = run(policy.audit);
  if (!a.allowed) {
    out.audit["audit-violations"] = `would violate PodSecurity "${levelString(policy.audit)}": ${a.detail}`;
  }
  if (refusal) throw refusal;
  const w = run(policy.warn);
  if (!w.allowed) out.warnings.push(`would violate PodSecurity "${levelString(policy.warn)}": ${w.detail}`);
  return out;
}

/** The only Pod update the plugin evaluates: one that changes the container count or an image. */
function significantPodUpdate(pod: any, old: any): boolean {
  const c = pod.spec?.containers ?? [];
  const oc = old?.spec?.containers ?? [];
  const ic = pod.spec?.initContainers ?? [];
  const oic = old?.spec?.initContainers ?? [];
  if (c.length !== oc.length || ic.length !== oic.length) return true;
  if (c.some((x: any, i: number) => x.image !== oc[i].image)) return true;
  if (ic.some((x: any, i: number) => x.image !== oic[i].image)) return true;
  for (const e of pod.spec?.ephemeralContainers ?? []) {
    const prev = (old?.spec?.ephemeralContainers ?? []).find((o: any) => o.name === e.name);
    if (!prev || prev.image !== e.image) return true;
  }
  return false;
}

/** EvaluatePodsInNamespace: the warnings a raised enforce level gives about the Pods already there. */
function podsViolating(namespace: string, enforce: LevelVersion, pods: any[]): string[] {
  // Pods of one controller after the others (prioritizePods), in the lister's order otherwise.
  const seen = new Set<string>();
  const first: any[] = [];
  const dupes: any[] = [];
  for (const p of pods) {
    const ctrl = (p.metadata?.ownerReferences ?? []).find((r: any) => r.controller === true);
    if (!ctrl) first.push(p);
    else if (seen.has(ctrl.uid)) dupes.push(p);
    else {
      seen.add(ctrl.uid);
      first.push(p);
    }
  }
  const counts = new Map<string, { pod: string; n: number }>();
  const order: string[] = [];
  for (const p of [...first, ...dupes]) {
    const r = evaluatePod(enforce, p.metadata, p.spec);
    if (r.allowed) continue;
    const c = counts.get(r.reason);
    if (!c) {
      counts.set(r.reason, { pod: p.metadata.name, n: 1 });
      order.push(r.reason);
    } else {
      c.n++;
      if (p.metadata.name < c.pod) c.pod = p.metadata.name;
    }
  }
  if (order.length === 0) return [];
  const decorated = order
    .map((w) => {
      const c = counts.get(w)!;
      if (c.n === 1) return `${c.pod}: ${w}`;
      if (c.n === 2) return `${c.pod} (and 1 other pod): ${w}`;
      return `${c.pod} (and ${c.n - 1} other pods): ${w}`;
    })
    .sort();
  return [
    `existing pods in namespace "${namespace}" violate the new PodSecurity enforce level "${levelString(enforce)}"`,
    ...decorated,
  ];
}
