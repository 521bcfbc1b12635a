/**
 * Facts about backend Services that the lifecycle reads from the cluster and hands to the pure planners,
 * and the rules that turn an ingress backend into a proxy target.
 */
import { PlanError, type PlanErrorCode } from "./errors";
import { goQuote } from "./gojson";
import {
  type IngressBackendInput,
  isUnknown,
  type ServiceRefInput,
  type TailnetIngressInput,
} from "./inputs";

/** One port of a backend Service (`spec.ports[]`). */
export interface BackendServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

/** What the planners need to know about a backend Service, as read from the cluster. */
export interface BackendServiceFacts {
  namespace: string;
  name: string;
  /** `spec.type`: ClusterIP, NodePort, LoadBalancer or ExternalName. */
  type: string;
  /** `spec.clusterIP`: an IP, `None` (headless) or empty (ExternalName). */
  clusterIP?: string;
  /**
   * `spec.clusterIPs` (dual-stack: one per family, the primary first). A standalone proxy forwards to
   * the primary `clusterIP` with TS_DEST_IP and to the other through its DNAT config; HA maps each family.
   */
  clusterIPs?: string[];
  /** `spec.externalName` of an ExternalName Service. */
  externalName?: string;
  ports: BackendServicePort[];
}

/**
 * Normalises a backend port as given (`8080`, `"8080"`, `"http"`): a number, a port name, or unknown.
 * A string of digits is taken as a number, since YAML and config values often arrive as strings.
 */
export function normalizePort(port: unknown): { number: number } | { name: string } | "unknown" | undefined {
  if (isUnknown(port)) return "unknown";
  if (typeof port === "number") return { number: port };
  if (typeof port === "string") return /^[0-9]+$/.test(port) ? { number: Number(port) } : { name: port };
  return undefined;
}

/** One backend of a TailnetIngress, where it is mounted, and the input it came from. */
export interface IngressBackendEntry {
  /** The mount point (`/` for the default backend and for an empty path). */
  path: string;
  backend: IngressBackendInput;
  /** The input it came from: `defaultBackend` or `rules[i].paths[j]`. */
  source: string;
  /** The input path of the backend itself: `defaultBackend` or `rules[i].paths[j].backend`. */
  at: string;
}

/** Every backend of an ingress: the default backend first, then each rule's paths, in input order. */
export function ingressBackends(
  input: Pick<TailnetIngressInput, "defaultBackend" | "rules">,
): IngressBackendEntry[] {
  const out: IngressBackendEntry[] = [];
  if (input.defaultBackend) {
    out.push({ path: "/", backend: input.defaultBackend, source: "defaultBackend", at: "defaultBackend" });
  }
  (input.rules ?? []).forEach((rule, i) => {
    (rule.paths ?? []).forEach((p, j) => {
      const source = `rules[${i}].paths[${j}]`;
      out.push({ path: p.path === "" ? "/" : p.path, backend: p.backend, source, at: `${source}.backend` });
    });
  });
  return out;
}

/**
 * Facts for a plan made without reading the cluster (a preview): every backend Service exists with the
 * placeholder address `0.0.0.0` and has every port the inputs name, so the planned objects follow the
 * inputs; the real addresses and ports are read at `up`.
 */
export function placeholderBackends(refs: readonly IngressBackendInput[]): Map<string, BackendServiceFacts> {
  const facts = new Map<string, BackendServiceFacts>();
  for (const { service, port } of refs) {
    const key = backendKey(service);
    const f = facts.get(key) ?? placeholderService(service);
    if (typeof port === "string") f.ports.push({ name: port, port: 1 });
    else f.ports.push({ port });
    facts.set(key, f);
  }
  return facts;
}

/** A ClusterIP Service at the placeholder address `0.0.0.0`, with no ports (see {@link placeholderBackends}). */
export function placeholderService(ref: ServiceRefInput): BackendServiceFacts {
  return { namespace: ref.namespace, name: ref.name, type: "ClusterIP", clusterIP: "0.0.0.0", ports: [] };
}

/** Map key of a Service: `<namespace>/<name>`. */
export function backendKey(ref: ServiceRefInput): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Scheme of the proxy URL to a backend. */
export type BackendScheme = "http" | "https" | "https+insecure";

/**
 * The scheme tailscaled uses to reach a backend. The operator's rule: `https+insecure` when the port is
 * 443 or the backend's port name is `https`, else `http`. We also take `https+insecure` when a numbered
 * port resolves to a Service port named `https` (the operator would speak plain HTTP to it, user pain
 * tailscale/tailscale#13226), and `backendProtocol` overrides everything.
 */
export function backendScheme(
  port: number,
  portName: string | undefined,
  override?: BackendScheme,
): BackendScheme {
  if (override) return override;
  return port === 443 || portName === "https" ? "https+insecure" : "http";
}

/** `host:port`, bracketing IPv6 addresses as Go's net.JoinHostPort does. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function portList(svc: BackendServiceFacts): string {
  if (svc.ports.length === 0) return "it has no ports";
  return `its ports are: ${svc.ports.map((p) => (p.name ? `${p.name} (${p.port})` : String(p.port))).join(", ")}`;
}

/** A backend resolved to a cluster IP and Service port. */
export interface ResolvedBackend {
  service: BackendServiceFacts;
  clusterIP: string;
  port: number;
  /** Name of the Service port, when it has one. */
  portName?: string;
}

/** A problem resolving one backend: the error kind and message. */
export interface BackendProblem {
  code: PlanErrorCode;
  message: string;
}

/**
 * Resolves an ingress backend against the cluster facts. `where` names the input (e.g. `rules[0].paths[1]`)
 * for the messages. Returns the resolved backend or a problem that says what to do.
 */
export function resolveIngressBackend(
  backend: IngressBackendInput,
  backends: ReadonlyMap<string, BackendServiceFacts>,
  where: string,
): ResolvedBackend | BackendProblem {
  const key = backendKey(backend.service);
  const svc = backends.get(key);
  const ref = `Service ${goQuote(key)} (backend of ${where})`;
  if (!svc) {
    return {
      code: "BackendNotFound",
      message: `${ref} was not found: create it first, or correct the backend's service`,
    };
  }
  if (svc.clusterIP === "None") {
    return {
      code: "HeadlessService",
      message: `${ref}: headless Services are not supported; point the backend at a Service with a cluster IP`,
    };
  }
  if (!svc.clusterIP) {
    return {
      code: "NoClusterIP",
      message: `${ref} has no cluster IP (type ${svc.type}): a TailnetIngress proxies to a Service's cluster IP; use a ClusterIP Service`,
    };
  }
  const p = normalizePort(backend.port);
  if (p === undefined || p === "unknown") {
    return { code: "InvalidInput", message: `${ref}: the port is not known; set a port number or name` };
  }
  if ("name" in p) {
    const found = svc.ports.find((sp) => sp.name === p.name);
    if (!found) {
      return {
        code: "PortNotFound",
        message: `${ref} has no port named ${goQuote(p.name)}; ${portList(svc)}`,
      };
    }
    return { service: svc, clusterIP: svc.clusterIP, port: found.port, portName: found.name };
  }
  const found = svc.ports.find((sp) => sp.port === p.number);
  // A Service always lists its ports; a port it does not list would receive no traffic through the
  // cluster IP, so refuse it rather than configure a proxy that cannot work (the operator does not check).
  if (!found && svc.ports.length > 0) {
    return { code: "PortNotFound", message: `${ref} has no port ${p.number}; ${portList(svc)}` };
  }
  return { service: svc, clusterIP: svc.clusterIP, port: p.number, portName: found?.name };
}

/** Throws one {@link PlanError} for a list of problems (the first problem's code, all messages). */
export function throwProblems(problems: BackendProblem[]): never {
  throw new PlanError(problems[0]!.code, problems.map((p) => p.message).join("; "));
}
