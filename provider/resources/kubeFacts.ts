/**
 * Reading what only the cluster knows, for the pure planners: backend Services and proxy state.
 */
import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import { type Kube, type KubeObject, type ObjectRef, selectorOf } from "../kube";
import { type BackendServiceFacts, backendKey, ingressBackends } from "../plan/backends";
import type { ServiceRefInput, TailnetIngressInput } from "../plan/inputs";
import type { Selection } from "../plan/objects";
import { podSecurityRefusal } from "../plan/podSecurity";
import { BACKENDS, type BackendRecord, backendRecord } from "../plan/refresh";

/** The objects a selection names (in every namespace without one), labelled by this version or an older one, each once. */
export async function listSelection(
  kube: Kube,
  sel: Omit<Selection, "namespace"> & { namespace?: string },
): Promise<KubeObject[]> {
  const lists = await Promise.all(
    [sel.labels, ...(sel.legacyLabels ? [sel.legacyLabels] : [])].map((labels) =>
      kube.list(sel.apiVersion, sel.kind, sel.namespace, selectorOf(labels)),
    ),
  );
  const seen = new Set<string>();
  return lists.flat().filter((o) => {
    const key = o.metadata.uid ?? `${o.metadata.namespace}/${o.metadata.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Reference of a core/v1 object. */
export function coreRef(kind: string, namespace: string | undefined, name: string): ObjectRef {
  return { apiVersion: "v1", kind, namespace, name };
}

/** The backend Service's facts; a missing Service is an error naming it and the input to fix. */
export async function readBackendService(
  kube: Kube,
  ref: ServiceRefInput,
  argument: string,
): Promise<BackendServiceFacts> {
  const svc = await kube.get(coreRef("Service", ref.namespace, ref.name));
  if (!svc) {
    throw new Error(
      `${argument}: Service ${ref.namespace}/${ref.name} was not found in the cluster; create it first ` +
        `(pass the @pulumi/kubernetes Service resource so Pulumi orders them) or fix ${argument}`,
    );
  }
  const spec = (svc.spec ?? {}) as {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
  return {
    namespace: ref.namespace,
    name: ref.name,
    type: spec.type ?? "ClusterIP",
    clusterIP: spec.clusterIP,
    clusterIPs: spec.clusterIPs,
    externalName: spec.externalName,
    ports: (spec.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
  };
}

/**
 * A namespace the proxy's objects go to must exist: we never create or delete namespaces. Returns its
 * labels (they carry its Pod Security levels).
 */
export async function requireNamespace(
  kube: Kube,
  namespace: string,
  argument: string,
): Promise<Record<string, string>> {
  const ns = await kube.get(coreRef("Namespace", undefined, namespace));
  if (!ns) {
    throw new Error(
      `namespace "${namespace}" does not exist in the cluster: create it (e.g. a @pulumi/kubernetes Namespace) or set ${argument}`,
    );
  }
  return ((ns.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {}) as Record<
    string,
    string
  >;
}

/**
 * Refuses, before anything is written, a proxy whose Pod the namespace's enforced Pod Security level would
 * refuse: the StatefulSet would be accepted and its Pod never created, so `up` would wait until its timeout
 * (provider/plan/podSecurity.ts).
 */
export function requireAdmittedProxyPod(o: {
  namespace: string;
  labels: Record<string, string>;
  statefulSet: { spec?: { template?: V1PodTemplateSpec } };
  what: string;
  fix: string;
}): void {
  const refusal = podSecurityRefusal({
    namespace: o.namespace,
    labels: o.labels,
    template: o.statefulSet.spec?.template ?? {},
    what: o.what,
    fix: o.fix,
  });
  if (refusal) throw new Error(refusal);
}

/** The string values of a Secret's `data` (base64-decoded). */
export function secretData(secret: KubeObject | undefined): Record<string, string> {
  const data = (secret?.data ?? {}) as Record<string, string>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = Buffer.from(v, "base64").toString("utf8");
  return out;
}

/** What containerboot writes back into a proxy's state Secret once the device is up. */
export interface ProxyDeviceState {
  deviceId: string;
  /** MagicDNS name without the trailing dot. */
  fqdn: string;
  tailnetIPs: string[];
  /** `https_endpoint` (layer 7): the cert domain, `no-https`, or undefined until serve config is applied. */
  httpsEndpoint?: string;
}

/** The device state in a proxy state Secret, or undefined until all of it is written. */
export function deviceStateOf(data: Record<string, string>): ProxyDeviceState | undefined {
  if (!data.device_id || !data.device_fqdn || !data.device_ips) return undefined;
  let ips: string[];
  try {
    ips = JSON.parse(data.device_ips);
  } catch {
    return undefined;
  }
  return {
    deviceId: data.device_id,
    fqdn: data.device_fqdn.replace(/\.$/, ""),
    tailnetIPs: ips,
    httpsEndpoint: data.https_endpoint || undefined,
  };
}

/** The IPs of a Pod (`status.podIPs`, else `status.podIP`). */
export function podIPsOf(pod: KubeObject | undefined): string[] {
  const status = (pod?.status ?? {}) as { podIP?: string; podIPs?: { ip: string }[] };
  if (status.podIPs && status.podIPs.length > 0) return status.podIPs.map((p) => p.ip);
  return status.podIP ? [status.podIP] : [];
}

/** `Kind/namespace/name` of an object, for outputs and messages. */
export function objectPath(obj: { kind?: string; metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.kind}/${obj.metadata?.namespace}/${obj.metadata?.name}`;
}

/** The facts of every backend Service of an ingress, by `<namespace>/<name>`; each read once. */
export async function readIngressBackends(
  kube: Kube,
  input: Pick<TailnetIngressInput, "defaultBackend" | "rules">,
): Promise<Map<string, BackendServiceFacts>> {
  const facts = new Map<string, BackendServiceFacts>();
  for (const { backend, at } of ingressBackends(input)) {
    const key = backendKey(backend.service);
    if (!facts.has(key)) facts.set(key, await readBackendService(kube, backend.service, `${at}.service`));
  }
  return facts;
}

/**
 * The backend Services as a refresh reads them (`backendsRead`, plan/refresh.ts `records`), and their
 * facts: as they are now, or, when they cannot be read (deleted, say), the Services the proxy was
 * written from (`props.backends`) each with why and no facts, so the Diff after the refresh reports
 * that too.
 */
export async function backendsAsRead(
  read: () => Promise<Map<string, BackendServiceFacts>>,
  props: Record<string, unknown>,
): Promise<{ facts?: Map<string, BackendServiceFacts>; records: BackendRecord[] }> {
  try {
    const facts = await read();
    return { facts, records: backendRecord(facts.values()) };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    const written = (props[BACKENDS] as BackendRecord[] | undefined) ?? [];
    return { records: backendRecord(written.map((r) => ({ namespace: r.namespace, name: r.name, error }))) };
  }
}
