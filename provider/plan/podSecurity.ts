/**
 * Pod Security: whether a namespace's enforced level admits the proxy Pod a StatefulSet would create.
 * Pure. The API server accepts a StatefulSet whatever its template (Pod Security only warns about
 * templates) and refuses the controller's Pod creates, so without this check `up` would wait for a proxy
 * that never starts (https://kubernetes.io/docs/concepts/security/pod-security-admission/#workload-resources-and-pod-templates).
 *
 * The level comes from the `pod-security.kubernetes.io/enforce` label as kubernetes/pod-security-admission
 * reads it (`api/helpers.go` PolicyToEvaluate: no label is `privileged`, an invalid value is `restricted`),
 * and the checks are those of the Pod Security Standards
 * (https://kubernetes.io/docs/concepts/security/pod-security-standards/) at their latest version, over the
 * fields a proxy Pod template can carry (what the planners write and what a ProxyClass can set: the
 * containers' and the Pod's securityContext, volumes, ports, annotations). A pinned
 * `enforce-version` older than a check is evaluated as latest, so this can only be stricter than the
 * server there. What it cannot see: a cluster-wide default level set in the API server's admission
 * configuration, and exemptions.
 */
import type { V1PodTemplateSpec } from "@kubernetes/client-node";

/** A Pod Security Standards level. */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** The enforce label and its version label. */
export const POD_SECURITY_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";
export const POD_SECURITY_ENFORCE_VERSION_LABEL = "pod-security.kubernetes.io/enforce-version";

/** The enforced level of a namespace, from its labels. */
export interface EnforcedPodSecurity {
  level: PodSecurityLevel;
  /** `latest` unless `enforce-version` pins one. */
  version: string;
  /** The label as set (`<key>=<value>`), or undefined when the namespace has none (the default, privileged). */
  label?: string;
}

/** The enforced level a namespace's labels select. */
export function enforcedPodSecurity(labels: Record<string, string> | undefined): EnforcedPodSecurity {
  const value = labels?.[POD_SECURITY_ENFORCE_LABEL];
  const version = labels?.[POD_SECURITY_ENFORCE_VERSION_LABEL] ?? "latest";
  if (value === undefined) return { level: "privileged", version };
  const level: PodSecurityLevel =
    value === "privileged" || value === "baseline" || value === "restricted" ? value : "restricted";
  return { level, version, label: `${POD_SECURITY_ENFORCE_LABEL}=${value}` };
}

/** One broken rule: the Pod Security Standards control, and which fields of which containers break it. */
export interface PodSecurityViolation {
  control: string;
  detail: string;
}

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
const BASELINE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
]);
const RESTRICTED_VOLUME_TYPES = [
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

type Json = Record<string, any>;

const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(", ");
const list = (what: string, names: string[]) => `${what}${names.length === 1 ? "" : "s"} ${quoted(names)}`;

/**
 * What a Pod with this template breaks at `level`, in the order the admission plugin reports
 * (baseline controls, then the restricted ones); empty when it is admitted.
 */
export function podSecurityViolations(
  level: PodSecurityLevel,
  template: V1PodTemplateSpec,
): PodSecurityViolation[] {
  if (level === "privileged") return [];
  const spec = (template.spec ?? {}) as Json;
  const annotations = (template.metadata?.annotations ?? {}) as Record<string, string>;
  const podSc = (spec.securityContext ?? {}) as Json;
  const containers: Json[] = [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  const restricted = level === "restricted";
  const out: PodSecurityViolation[] = [];
  const add = (control: string, names: string[], what: string) => {
    if (names.length > 0) out.push({ control, detail: `${list("container", names)} ${what}` });
  };
  const names = (pred: (c: Json) => boolean) => containers.filter(pred).map((c) => String(c.name));
  const sc = (c: Json): Json => c.securityContext ?? {};

  // Baseline (also part of restricted).
  const apparmorOk = (t: unknown) => t === undefined || t === "RuntimeDefault" || t === "Localhost";
  add(
    "AppArmor",
    names((c) => !apparmorOk(sc(c).appArmorProfile?.type)),
    "must not set an AppArmor profile type other than RuntimeDefault or Localhost",
  );
  if (!apparmorOk(podSc.appArmorProfile?.type)) {
    out.push({
      control: "AppArmor",
      detail: "the Pod must not set an AppArmor profile type other than RuntimeDefault or Localhost",
    });
  }
  if (!restricted) {
    const extra = names((c) =>
      (sc(c).capabilities?.add ?? []).some((a: string) => !BASELINE_CAPABILITIES.has(a)),
    );
    add("Capabilities", extra, "must not add capabilities beyond the default set");
  }
  const host = ["hostNetwork", "hostPID", "hostIPC"].filter((k) => spec[k] === true);
  if (host.length > 0)
    out.push({ control: "Host Namespaces", detail: host.map((k) => `${k}=true`).join(", ") });
  if (!restricted) {
    const hp = (spec.volumes ?? []).filter((v: Json) => v.hostPath).map((v: Json) => String(v.name));
    if (hp.length > 0) out.push({ control: "HostPath Volumes", detail: list("volume", hp) });
  }
  add(
    "Host Ports",
    names((c) => (c.ports ?? []).some((p: Json) => p.hostPort)),
    "must not set hostPort",
  );
  add(
    "Probes and lifecycle hooks",
    names((c) =>
      [c.livenessProbe, c.readinessProbe, c.startupProbe, c.lifecycle?.postStart, c.lifecycle?.preStop].some(
        (h) => h?.httpGet?.host || h?.tcpSocket?.host,
      ),
    ),
    "must not set a probe or lifecycle host",
  );
  add(
    "Privileged Containers",
    names((c) => sc(c).privileged === true),
    "must not set securityContext.privileged=true",
  );
  add(
    "/proc Mount Type",
    names((c) => sc(c).procMount !== undefined && sc(c).procMount !== "Default"),
    "must not set securityContext.procMount",
  );
  const selinuxBad = (o: Json | undefined) =>
    !!o &&
    (!["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"].includes(
      o.type ?? "",
    ) ||
      !!o.user ||
      !!o.role);
  if (selinuxBad(podSc.seLinuxOptions))
    out.push({ control: "SELinux", detail: "the Pod sets forbidden seLinuxOptions" });
  add(
    "SELinux",
    names((c) => selinuxBad(sc(c).seLinuxOptions)),
    "set forbidden securityContext.seLinuxOptions",
  );
  const seccompOk = (t: unknown) => t === "RuntimeDefault" || t === "Localhost";
  if (podSc.seccompProfile && !seccompOk(podSc.seccompProfile.type)) {
    out.push({
      control: "Seccomp",
      detail: `the Pod must not set securityContext.seccompProfile.type to "${podSc.seccompProfile.type}"`,
    });
  }
  add(
    "Seccomp",
    names((c) => !!sc(c).seccompProfile && !seccompOk(sc(c).seccompProfile.type)),
    "must not set securityContext.seccompProfile.type other than RuntimeDefault or Localhost",
  );
  // The seccomp annotations counted only before the field existed (policy version 1.0); the AppArmor
  // annotations still count.
  for (const [k, v] of Object.entries(annotations)) {
    if (
      k.startsWith("container.apparmor.security.beta.kubernetes.io/") &&
      !(v === "" || v === "runtime/default" || v.startsWith("localhost/"))
    ) {
      out.push({ control: "AppArmor", detail: `annotation ${k}=${JSON.stringify(v)}` });
    }
  }
  const sysctls = (podSc.sysctls ?? [])
    .map((s: Json) => String(s.name))
    .filter((n: string) => !BASELINE_SYSCTLS.has(n));
  if (sysctls.length > 0) out.push({ control: "Sysctls", detail: sysctls.join(", ") });
  if (
    podSc.windowsOptions?.hostProcess === true ||
    containers.some((c) => sc(c).windowsOptions?.hostProcess === true)
  ) {
    out.push({
      control: "HostProcess",
      detail: "must not set securityContext.windowsOptions.hostProcess=true",
    });
  }
  if (!restricted) return out;

  // Restricted.
  const windows = spec.os?.name === "windows";
  const userNs = spec.hostUsers === false;
  if (!windows) {
    add(
      "Privilege Escalation",
      names((c) => sc(c).allowPrivilegeEscalation !== false),
      "must set securityContext.allowPrivilegeEscalation=false",
    );
    add(
      "Capabilities",
      names((c) => !(sc(c).capabilities?.drop ?? []).includes("ALL")),
      'must set securityContext.capabilities.drop=["ALL"]',
    );
    add(
      "Capabilities",
      names((c) => (sc(c).capabilities?.add ?? []).some((a: string) => a !== "NET_BIND_SERVICE")),
      "must not add capabilities other than NET_BIND_SERVICE",
    );
  }
  const badVolumes = (spec.volumes ?? [])
    .filter((v: Json) => !RESTRICTED_VOLUME_TYPES.some((t) => v[t]))
    .map((v: Json) => String(v.name));
  if (badVolumes.length > 0) out.push({ control: "Volume Types", detail: list("volume", badVolumes) });
  if (!userNs) {
    if (podSc.runAsNonRoot === false)
      out.push({
        control: "Running as Non-root",
        detail: "the Pod must not set securityContext.runAsNonRoot=false",
      });
    add(
      "Running as Non-root",
      names((c) => sc(c).runAsNonRoot === false),
      "must not set securityContext.runAsNonRoot=false",
    );
    if (podSc.runAsNonRoot !== true) {
      add(
        "Running as Non-root",
        names((c) => sc(c).runAsNonRoot === undefined),
        "or the Pod must set securityContext.runAsNonRoot=true",
      );
    }
    if (podSc.runAsUser === 0)
      out.push({ control: "Running as Non-root user", detail: "the Pod must not set runAsUser=0" });
    add(
      "Running as Non-root user",
      names((c) => sc(c).runAsUser === 0),
      "must not set runAsUser=0",
    );
  }
  if (!windows && !(podSc.seccompProfile && seccompOk(podSc.seccompProfile.type))) {
    add(
      "Seccomp",
      names((c) => !sc(c).seccompProfile),
      'or the Pod must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"',
    );
  }
  return out;
}

/**
 * The error for a proxy Pod the namespace's enforced level would refuse, or undefined when it is admitted.
 * `what` names the proxy's StatefulSet; `fix` says which level this proxy kind needs and how to get there.
 */
export function podSecurityRefusal(o: {
  namespace: string;
  labels: Record<string, string> | undefined;
  template: V1PodTemplateSpec;
  what: string;
  fix: string;
}): string | undefined {
  const enforced = enforcedPodSecurity(o.labels);
  const violations = podSecurityViolations(enforced.level, o.template);
  if (violations.length === 0) return undefined;
  const found = violations.map((v) => `${v.control} (${v.detail})`).join("; ");
  return (
    `namespace "${o.namespace}" enforces Pod Security level "${enforced.level}:${enforced.version}" ` +
    `(label ${enforced.label}), which would refuse the Pods of ${o.what}: ${found}. ` +
    `Kubernetes would accept the StatefulSet and then refuse every Pod it creates, so nothing was created. ${o.fix}`
  );
}
