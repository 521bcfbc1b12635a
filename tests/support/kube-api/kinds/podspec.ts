/**
 * PodSpec defaulting and validation shared by Pod and StatefulSet templates, after
 * kubernetes/kubernetes pkg/apis/core/v1/defaults.go and pkg/apis/core/validation.
 */
import {
  duplicateField,
  type FieldError,
  invalidField,
  notFoundField,
  notSupportedField,
  requiredField,
} from "../errors";
import {
  checkEnum,
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  invalidEach,
  isIP,
  qualifiedNameErrors,
  validateLabelSelector,
  validateLabels,
} from "../validation";

/** imagePullPolicy default: Always for `:latest` or an untagged image, else IfNotPresent. */
export function defaultPullPolicy(image: string | undefined): string {
  if (!image) return "IfNotPresent";
  if (image.includes("@")) return "IfNotPresent";
  const lastSlash = image.lastIndexOf("/");
  const tail = image.slice(lastSlash + 1);
  const colon = tail.lastIndexOf(":");
  if (colon < 0) return "Always";
  return tail.slice(colon + 1) === "latest" ? "Always" : "IfNotPresent";
}

function defaultProbe(p: any): void {
  if (!p || typeof p !== "object") return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  if (p.httpGet && typeof p.httpGet === "object") p.httpGet.scheme ??= "HTTP";
}

function defaultContainer(c: any): void {
  if (!c || typeof c !== "object") return;
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  // ResourceRequirements is a struct, not a pointer, so it is always serialised.
  c.resources ??= {};
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (p && typeof p === "object") p.protocol ??= "TCP";
  for (const e of Array.isArray(c.env) ? c.env : []) {
    const fr = e?.valueFrom?.fieldRef;
    if (fr && typeof fr === "object") fr.apiVersion ??= "v1";
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

function defaultVolume(v: any): void {
  if (!v || typeof v !== "object") return;
  if (v.secret && typeof v.secret === "object") v.secret.defaultMode ??= 420;
  if (v.configMap && typeof v.configMap === "object") v.configMap.defaultMode ??= 420;
  if (v.projected && typeof v.projected === "object") v.projected.defaultMode ??= 420;
  if (v.downwardAPI && typeof v.downwardAPI === "object") v.downwardAPI.defaultMode ??= 420;
  if (v.hostPath && typeof v.hostPath === "object") v.hostPath.type ??= "";
}

/** SetDefaults_PodSpec plus container and volume defaults. */
export function defaultPodSpec(spec: any): void {
  if (!spec || typeof spec !== "object") return;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.schedulerName ??= "default-scheduler";
  // The v1 conversion mirrors serviceAccountName into the deprecated serviceAccount field.
  if (spec.serviceAccountName && !spec.serviceAccount) spec.serviceAccount = spec.serviceAccountName;
  for (const list of ["containers", "initContainers"]) {
    for (const c of Array.isArray(spec[list]) ? spec[list] : []) defaultContainer(c);
  }
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) defaultVolume(v);
}

const VOLUME_SOURCES = [
  "hostPath",
  "emptyDir",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "secret",
  "nfs",
  "iscsi",
  "glusterfs",
  "persistentVolumeClaim",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "downwardAPI",
  "fc",
  "azureFile",
  "configMap",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "projected",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "csi",
  "ephemeral",
  "image",
];

const NOT_POSITIVE = "must be greater than zero";

/**
 * validateTopologySpreadConstraints (kubernetes/kubernetes pkg/apis/core/validation/validation.go):
 * maxSkew and minDomains positive, minDomains only with DoNotSchedule, one constraint per
 * {topologyKey, whenUnsatisfiable}, the node inclusion policies, matchLabelKeys, the label selector.
 */
function validateSpread(list: any[], path: string): FieldError[] {
  const errs: FieldError[] = [];
  list.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!(typeof c?.maxSkew === "number" && c.maxSkew > 0))
      errs.push(invalidField(`${p}.maxSkew`, c?.maxSkew ?? 0, NOT_POSITIVE));
    if (!c?.topologyKey) errs.push(requiredField(`${p}.topologyKey`, "can not be empty"));
    const when = c?.whenUnsatisfiable ?? "";
    if (when !== "DoNotSchedule" && when !== "ScheduleAnyway")
      errs.push(notSupportedField(`${p}.whenUnsatisfiable`, when, ["DoNotSchedule", "ScheduleAnyway"]));
    if (list.slice(i + 1).some((o) => o?.topologyKey === c?.topologyKey && o?.whenUnsatisfiable === when))
      errs.push(duplicateField(`${p}.{topologyKey, whenUnsatisfiable}`, `{${c?.topologyKey}, ${when}}`));
    if (c?.minDomains !== undefined) {
      if (!(c.minDomains > 0)) errs.push(invalidField(`${p}.minDomains`, c.minDomains, NOT_POSITIVE));
      if (when !== "DoNotSchedule")
        errs.push(
          invalidField(
            `${p}.minDomains`,
            c.minDomains,
            `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${when}`,
          ),
        );
    }
    for (const f of ["nodeAffinityPolicy", "nodeTaintsPolicy"])
      errs.push(...checkEnum(`${p}.${f}`, c?.[f], ["Honor", "Ignore"]));
    const keys: string[] = Array.isArray(c?.matchLabelKeys) ? c.matchLabelKeys : [];
    if (keys.length > 0 && !c?.labelSelector)
      errs.push(requiredField(`${p}.labelSelector`, "must be specified when matchLabelKeys is set"));
    keys.forEach((k, j) => {
      errs.push(...invalidEach(`${p}.matchLabelKeys[${j}]`, k, qualifiedNameErrors(String(k))));
      if (c?.labelSelector?.matchLabels && k in c.labelSelector.matchLabels)
        errs.push(
          invalidField(`${p}.matchLabelKeys[${j}]`, k, "exists in both matchLabelKeys and labelSelector"),
        );
    });
    errs.push(...validateLabelSelector(c?.labelSelector, `${p}.labelSelector`));
  });
  return errs;
}

const HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"];

/** IsValidPortName (k8s.io/apimachinery pkg/util/validation): an IANA_SVC_NAME. */
function portNameErrors(v: string): string[] {
  const out: string[] = [];
  if (v.length < 1 || v.length > 15) out.push("must be no more than 15 characters");
  if (!/^[-a-z0-9]+$/.test(v))
    out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (v.includes("--")) out.push("must not contain consecutive hyphens");
  if (!/[a-z]/.test(v)) out.push("must contain at least one letter (a-z)");
  if (v.startsWith("-") || v.endsWith("-")) out.push("must not begin or end with a hyphen");
  return out;
}

/** validateProbe and validateHandler (pkg/apis/core/validation), the parts that matter here. */
function validateProbe(probe: any, path: string, kind: "liveness" | "readiness" | "startup"): FieldError[] {
  if (!probe || typeof probe !== "object") return [];
  const errs: FieldError[] = [];
  const set = HANDLERS.filter((h) => probe[h] !== undefined && probe[h] !== null);
  if (set.length === 0) errs.push(requiredField(path, "must specify a handler type"));
  else if (set.length > 1)
    errs.push({
      type: "FieldValueForbidden",
      field: `${path}.${set[1]}`,
      body: "Forbidden: may not specify more than 1 handler type",
    });
  for (const f of [
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
  ]) {
    if (typeof probe[f] === "number" && probe[f] < 0)
      errs.push(invalidField(`${path}.${f}`, probe[f], "must be greater than or equal to 0"));
  }
  if (kind !== "readiness" && probe.successThreshold !== undefined && probe.successThreshold !== 1)
    errs.push(invalidField(`${path}.successThreshold`, probe.successThreshold, "must be 1"));
  if (kind === "readiness" && probe.terminationGracePeriodSeconds !== undefined)
    errs.push(
      invalidField(
        `${path}.terminationGracePeriodSeconds`,
        probe.terminationGracePeriodSeconds,
        "must not be set for readinessProbes",
      ),
    );
  const handler = probe.httpGet ? "httpGet" : "tcpSocket";
  if (probe.httpGet || probe.tcpSocket) {
    const port = probe[handler].port;
    const at = `${path}.${handler}.port`;
    if (typeof port === "number") {
      if (port < 1 || port > 65535)
        errs.push(invalidField(at, port, "must be between 1 and 65535, inclusive"));
    } else errs.push(...invalidEach(at, port, portNameErrors(String(port ?? ""))));
  }
  if (probe.httpGet)
    errs.push(...checkEnum(`${path}.httpGet.scheme`, probe.httpGet.scheme, ["HTTP", "HTTPS"]));
  return errs;
}

const ENV_NAME_MSG =
  "a valid environment variable name must consist only of printable ASCII characters other than '='";

function validateContainers(
  list: any[],
  path: string,
  volumeNames: Set<string>,
  seen: Set<string>,
): FieldError[] {
  const errs: FieldError[] = [];
  list.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!c?.name) errs.push(requiredField(`${p}.name`));
    else {
      errs.push(...invalidEach(`${p}.name`, c.name, dns1123LabelErrors(c.name)));
      if (seen.has(c.name)) errs.push(duplicateField(`${p}.name`, c.name));
      seen.add(c.name);
    }
    if (!c?.image) errs.push(requiredField(`${p}.image`));
    errs.push(...checkEnum(`${p}.imagePullPolicy`, c?.imagePullPolicy, ["Always", "IfNotPresent", "Never"]));
    errs.push(
      ...checkEnum(`${p}.terminationMessagePolicy`, c?.terminationMessagePolicy, [
        "File",
        "FallbackToLogsOnError",
      ]),
    );
    (Array.isArray(c?.env) ? c.env : []).forEach((e: any, j: number) => {
      const ep = `${p}.env[${j}].name`;
      if (!e?.name) errs.push(requiredField(ep));
      else if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(e.name)) errs.push(invalidField(ep, e.name, ENV_NAME_MSG));
    });
    const portNames = new Set<string>();
    (Array.isArray(c?.ports) ? c.ports : []).forEach((port: any, j: number) => {
      const pp = `${p}.ports[${j}]`;
      const n = port?.containerPort;
      if (typeof n !== "number" || n < 1 || n > 65535) {
        errs.push(invalidField(`${pp}.containerPort`, n ?? 0, "must be between 1 and 65535, inclusive"));
      }
      if (port?.name) {
        if (portNames.has(port.name)) errs.push(duplicateField(`${pp}.name`, port.name));
        portNames.add(port.name);
      }
      errs.push(...checkEnum(`${pp}.protocol`, port?.protocol, ["SCTP", "TCP", "UDP"]));
    });
    errs.push(...validateProbe(c?.livenessProbe, `${p}.livenessProbe`, "liveness"));
    errs.push(...validateProbe(c?.readinessProbe, `${p}.readinessProbe`, "readiness"));
    errs.push(...validateProbe(c?.startupProbe, `${p}.startupProbe`, "startup"));
    const mountPaths = new Set<string>();
    (Array.isArray(c?.volumeMounts) ? c.volumeMounts : []).forEach((m: any, j: number) => {
      const mp = `${p}.volumeMounts[${j}]`;
      if (!m?.name) errs.push(requiredField(`${mp}.name`));
      else if (!volumeNames.has(m.name)) errs.push(notFoundField(`${mp}.name`, m.name));
      if (!m?.mountPath) errs.push(requiredField(`${mp}.mountPath`));
      else {
        if (mountPaths.has(m.mountPath))
          errs.push(invalidField(`${mp}.mountPath`, m.mountPath, "must be unique"));
        mountPaths.add(m.mountPath);
      }
    });
  });
  return errs;
}

/**
 * ValidatePodSpec, the parts that matter here. `extraVolumes` are names that mounts may reference besides
 * `volumes` (a StatefulSet's volumeClaimTemplates).
 */
export function validatePodSpec(
  spec: any,
  path: string,
  opts: { extraVolumes?: string[] } = {},
): FieldError[] {
  const errs: FieldError[] = [];
  if (!spec || typeof spec !== "object") return [requiredField(path)];
  const volumeNames = new Set<string>();
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: any, i: number) => {
    const vp = `${path}.volumes[${i}]`;
    if (!v?.name) errs.push(requiredField(`${vp}.name`));
    else {
      errs.push(...invalidEach(`${vp}.name`, v.name, dns1123LabelErrors(v.name)));
      if (volumeNames.has(v.name)) errs.push(duplicateField(`${vp}.name`, v.name));
      volumeNames.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v?.[s] !== undefined && v?.[s] !== null);
    if (sources.length === 0) errs.push(requiredField(vp, "must specify a volume type"));
    else if (sources.length > 1) {
      errs.push({
        type: "FieldValueForbidden",
        field: `${vp}.${sources[1]}`,
        body: "Forbidden: may not specify more than 1 volume type",
      });
    }
  });
  for (const n of opts.extraVolumes ?? []) volumeNames.add(n);
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0) errs.push(requiredField(`${path}.containers`));
  const seen = new Set<string>();
  errs.push(...validateContainers(containers, `${path}.containers`, volumeNames, seen));
  errs.push(
    ...validateContainers(
      Array.isArray(spec.initContainers) ? spec.initContainers : [],
      `${path}.initContainers`,
      volumeNames,
      seen,
    ),
  );
  errs.push(...checkEnum(`${path}.restartPolicy`, spec.restartPolicy, ["Always", "OnFailure", "Never"]));
  errs.push(
    ...checkEnum(`${path}.dnsPolicy`, spec.dnsPolicy, [
      "ClusterFirstWithHostNet",
      "ClusterFirst",
      "Default",
      "None",
    ]),
  );
  if (typeof spec.terminationGracePeriodSeconds === "number" && spec.terminationGracePeriodSeconds < 0) {
    errs.push(
      invalidField(
        `${path}.terminationGracePeriodSeconds`,
        spec.terminationGracePeriodSeconds,
        "must be greater than or equal to 0",
      ),
    );
  }
  if (spec.nodeSelector) errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  if (Array.isArray(spec.topologySpreadConstraints))
    errs.push(...validateSpread(spec.topologySpreadConstraints, `${path}.topologySpreadConstraints`));
  if (spec.nodeName)
    errs.push(...invalidEach(`${path}.nodeName`, spec.nodeName, dns1123SubdomainErrors(spec.nodeName)));
  errs.push(...validateDnsConfig(spec.dnsConfig, spec.dnsPolicy, `${path}.dnsConfig`));
  return errs;
}

/**
 * validatePodDNSConfig (kubernetes/kubernetes pkg/apis/core/validation/validation.go; limits
 * MaxDNSNameservers 3, MaxDNSSearchPaths 32, MaxDNSSearchListChars 2048).
 */
function validateDnsConfig(cfg: any, policy: unknown, path: string): FieldError[] {
  if (policy === "None") {
    if (!cfg) return [requiredField(path, "must provide `dnsConfig` when `dnsPolicy` is None")];
    if ((cfg.nameservers ?? []).length === 0) {
      return [
        requiredField(
          `${path}.nameservers`,
          "must provide at least one DNS nameserver when `dnsPolicy` is None",
        ),
      ];
    }
  }
  if (!cfg || typeof cfg !== "object") return [];
  const errs: FieldError[] = [];
  const nameservers: string[] = Array.isArray(cfg.nameservers) ? cfg.nameservers : [];
  if (nameservers.length > 3) {
    errs.push(invalidField(`${path}.nameservers`, nameservers, "must not have more than 3 nameservers"));
  }
  nameservers.forEach((ns, i) => {
    if (!isIP(ns)) {
      errs.push(
        invalidField(
          `${path}.nameservers[${i}]`,
          ns,
          "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
      );
    }
  });
  const searches: string[] = Array.isArray(cfg.searches) ? cfg.searches : [];
  if (searches.length > 32) {
    errs.push(invalidField(`${path}.searches`, searches, "must not have more than 32 search paths"));
  }
  if (searches.join(" ").length > 2048) {
    errs.push(
      invalidField(
        `${path}.searches`,
        searches,
        "must not have more than 2048 characters (including spaces) in the search list",
      ),
    );
  }
  searches.forEach((d, i) => {
    // A trailing dot is fine.
    const name = String(d).replace(/\.$/, "");
    errs.push(...invalidEach(`${path}.searches[${i}]`, name, dns1123SubdomainErrors(name)));
  });
  (Array.isArray(cfg.options) ? cfg.options : []).forEach((o: any, i: number) => {
    if (!o?.name) errs.push(requiredField(`${path}.options[${i}]`, "must not be empty"));
  });
  return errs;
}
