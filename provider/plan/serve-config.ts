/**
 * tailscaled serve config (`ipn.ServeConfig`) for layer-7 proxies: the model, a serialiser that writes
 * byte-for-byte what Go's `encoding/json` writes, and the handlers of a TailnetIngress.
 */

import {
  type BackendProblem,
  type BackendServiceFacts,
  backendScheme,
  ingressBackends,
  joinHostPort,
  resolveIngressBackend,
  throwProblems,
} from "./backends";
import { goJsonMap, goJsonString } from "./gojson";
import type { TailnetIngressInput } from "./inputs";

/** The magic host containerboot replaces with the proxy's certificate domain (its MagicDNS name). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a literal placeholder that containerboot expands
export const CERT_DOMAIN_PLACEHOLDER = "${TS_CERT_DOMAIN}";

/** The redirect target the operator uses for HTTP → HTTPS (expanded by tailscaled). */
// biome-ignore lint/suspicious/noTemplateCurlyInString: literal placeholders that tailscaled expands
export const HTTPS_REDIRECT = "301:https://${HOST}${REQUEST_URI}";

/** `ipn.HTTPHandler`; fields in Go declaration order, all omitted when empty. */
export interface HTTPHandler {
  Path?: string;
  Proxy?: string;
  Text?: string;
  AcceptAppCaps?: string[];
  Redirect?: string;
}

/** `ipn.WebServerConfig`; `Handlers` is written even when null (no omitempty in Go). */
export interface WebServerConfig {
  Handlers: Record<string, HTTPHandler> | null;
}

/** `ipn.TCPPortHandler`; fields in Go declaration order, all omitted when empty. */
export interface TCPPortHandler {
  HTTPS?: boolean;
  HTTP?: boolean;
  TCPForward?: string;
  TerminateTLS?: string;
  ProxyProtocol?: number;
}

/** `ipn.ServiceConfig` (one Tailscale Service inside `Services`). */
export interface ServiceConfig {
  TCP?: Record<string, TCPPortHandler>;
  Web?: Record<string, WebServerConfig>;
  Tun?: boolean;
}

/** `ipn.ServeConfig`. Map keys of `TCP` are port numbers written as strings. */
export interface ServeConfig {
  TCP?: Record<string, TCPPortHandler>;
  Web?: Record<string, WebServerConfig>;
  Services?: Record<string, ServiceConfig>;
  AllowFunnel?: Record<string, boolean>;
  Foreground?: Record<string, ServeConfig>;
}

type Field = [name: string, text: string | undefined];

function obj(fields: Field[]): string {
  return `{${fields
    .filter((f): f is [string, string] => f[1] !== undefined)
    .map(([k, v]) => `"${k}":${v}`)
    .join(",")}}`;
}

/** Go omitempty for a map: omitted when nil or empty. */
function optMap<T>(m: Record<string, T> | undefined, value: (v: T) => string): string | undefined {
  return m && Object.keys(m).length > 0 ? goJsonMap(m, value) : undefined;
}

const optBool = (b: boolean | undefined) => (b ? "true" : undefined);
const optStr = (s: string | undefined) => (s ? goJsonString(s) : undefined);

function httpHandlerJson(h: HTTPHandler): string {
  return obj([
    ["Path", optStr(h.Path)],
    ["Proxy", optStr(h.Proxy)],
    ["Text", optStr(h.Text)],
    [
      "AcceptAppCaps",
      h.AcceptAppCaps?.length ? `[${h.AcceptAppCaps.map(goJsonString).join(",")}]` : undefined,
    ],
    ["Redirect", optStr(h.Redirect)],
  ]);
}

function webJson(w: WebServerConfig): string {
  return obj([["Handlers", w.Handlers === null ? "null" : goJsonMap(w.Handlers, httpHandlerJson)]]);
}

function tcpJson(t: TCPPortHandler): string {
  return obj([
    ["HTTPS", optBool(t.HTTPS)],
    ["HTTP", optBool(t.HTTP)],
    ["TCPForward", optStr(t.TCPForward)],
    ["TerminateTLS", optStr(t.TerminateTLS)],
    ["ProxyProtocol", t.ProxyProtocol ? String(t.ProxyProtocol) : undefined],
  ]);
}

function serviceJson(s: ServiceConfig): string {
  return obj([
    ["TCP", optMap(s.TCP, tcpJson)],
    ["Web", optMap(s.Web, webJson)],
    ["Tun", optBool(s.Tun)],
  ]);
}

/**
 * Serialises a serve config exactly as Go's `encoding/json` does: struct fields in declaration order
 * (TCP, Web, Services, AllowFunnel, Foreground), empty ones omitted, map keys sorted as strings (so `"443"`
 * sorts before `"80"`), no whitespace, HTML characters escaped.
 */
export function serializeServeConfig(sc: ServeConfig): string {
  return obj([
    ["TCP", optMap(sc.TCP, tcpJson)],
    ["Web", optMap(sc.Web, webJson)],
    ["Services", optMap(sc.Services, serviceJson)],
    ["AllowFunnel", optMap(sc.AllowFunnel, (b) => (b ? "true" : "false"))],
    ["Foreground", optMap(sc.Foreground, serializeServeConfig)],
  ]);
}

/** One mount point of an ingress, resolved to its proxy target. */
export interface ResolvedHandler {
  /** The mount point (`/` for an empty path). */
  path: string;
  /** The proxy URL: scheme, `clusterIP:port` (IPv6 bracketed) and the path. */
  proxy: string;
  /** The input it came from: `defaultBackend` or `rules[i].paths[j]`. */
  source: string;
  service: { namespace: string; name: string };
  /** The Service port traffic goes to (the Service port, not the targetPort). */
  port: number;
  scheme: "http" | "https" | "https+insecure";
}

/**
 * The handlers of a TailnetIngress, in input order (defaultBackend at `/` first, then each rule's paths),
 * as the operator's handlersForIngress computes them. Backends that the cluster facts reject (missing,
 * headless, no cluster IP, port not on the Service) make this throw a PlanError listing every problem:
 * unlike the operator, which skips them with an event, a declared backend that cannot work is an error.
 */
export function resolveIngressHandlers(
  input: Pick<TailnetIngressInput, "defaultBackend" | "rules" | "backendProtocol">,
  backends: ReadonlyMap<string, BackendServiceFacts>,
): ResolvedHandler[] {
  const problems: BackendProblem[] = [];
  const handlers: ResolvedHandler[] = [];
  for (const e of ingressBackends(input)) {
    const r = resolveIngressBackend(e.backend, backends, e.source);
    if ("code" in r) {
      problems.push(r);
      continue;
    }
    const scheme = backendScheme(r.port, r.portName, input.backendProtocol);
    handlers.push({
      path: e.path,
      proxy: `${scheme}://${joinHostPort(r.clusterIP, r.port)}${e.path}`,
      source: e.source,
      service: { namespace: r.service.namespace, name: r.service.name },
      port: r.port,
      scheme,
    });
  }
  if (problems.length > 0) throwProblems(problems);
  if (handlers.length === 0) {
    throwProblems([
      { code: "NoValidBackends", message: "no valid backends: set defaultBackend, or rules with paths" },
    ]);
  }
  return handlers;
}

/** Port-80 handlers that redirect each mount point to HTTPS (`httpRedirect`). */
export function httpsRedirects(paths: readonly string[]): Record<string, HTTPHandler> {
  const redirects: Record<string, HTTPHandler> = {};
  for (const path of paths) redirects[path] = { Redirect: HTTPS_REDIRECT };
  return redirects;
}

/** Options of {@link buildIngressServeConfig}. */
export interface IngressServeOptions {
  /** Mount point → handler. Later entries with the same path win, as in the operator's map. */
  handlers: readonly Pick<ResolvedHandler, "path" | "proxy">[];
  funnel?: boolean;
  httpRedirect?: boolean;
}

/**
 * The serve config of a standalone layer-7 proxy (docs/operator-parity.md, "Standalone proxies"):
 * HTTPS on 443 with the handlers, `AllowFunnel` for 443 when `funnel`, and with `httpRedirect` an HTTP
 * listener on 80 that redirects every mount point to HTTPS.
 *
 * Deliberate difference: with funnel and httpRedirect the operator also sets `AllowFunnel` for port 80.
 * Funnel only carries ports 443, 8443 and 10000, so that entry cannot work; we leave it out and the
 * redirect stays tailnet-only.
 */
export function buildIngressServeConfig(opts: IngressServeOptions): ServeConfig {
  const host = CERT_DOMAIN_PLACEHOLDER;
  const handlers: Record<string, HTTPHandler> = {};
  for (const h of opts.handlers) handlers[h.path] = { Proxy: h.proxy };
  const sc: ServeConfig = {
    TCP: { "443": { HTTPS: true } },
    Web: { [`${host}:443`]: { Handlers: handlers } },
  };
  if (opts.httpRedirect) {
    sc.TCP!["80"] = { HTTP: true };
    sc.Web![`${host}:80`] = { Handlers: httpsRedirects(Object.keys(handlers)) };
  }
  if (opts.funnel) sc.AllowFunnel = { [`${host}:443`]: true };
  return sc;
}
