/**
 * The declaration of TailnetIngress (layer 7): each input's default, validation and how a change is
 * applied, in the order check reports failures. See schema/field.ts for what is derived from it.
 *
 * Deliberate differences from the operator, which accepts these and only emits events:
 * - a rule host whose first label differs from the ingress hostname is refused (the operator ignores the
 *   rule: "rule with host ... ignored, unsupported"); like the operator we serve one host per ingress;
 * - `pathType: Exact` is refused: tailscaled routes every path as a prefix, so accepting it would silently
 *   widen the match (`/api` would also serve `/api/v2`); use `Prefix` (or omit `pathType`);
 * - a path that is neither empty nor absolute is refused (tailscaled mount points start with `/`);
 * - the same path routed twice is refused (the operator keeps the last one silently);
 * - `funnel` with `proxyGroup` is refused (the operator ignores funnel on ProxyGroup Ingresses);
 * - `httpEndpoint` with `httpRedirect` is refused (the operator serves HTTP and ignores the redirect).
 * An empty path is accepted and served at `/`, as the operator does.
 */
import { ingressBackends, placeholderBackends } from "../backends";
import { type CheckFailure, checkBackend, checkBoolean, checkEnum, checkHostname, type Push } from "../check";
import { goQuote, isPlainObject } from "../gojson";
import { HTTP_ENDPOINT_AND_REDIRECT, HTTP_ENDPOINT_STANDALONE } from "../ha/ingress";
import { type DerivedHostname, firstLabel, ingressHostname } from "../hostnames";
import {
  containsUnknown,
  type HostInputs,
  isUnknown,
  type PlannedInputs,
  type TailnetIngressInput,
} from "../inputs";
import { TAILNET_INGRESS_OUTPUTS } from "../outputs";
import { planStandaloneIngress, standaloneIngressNamespace } from "../standalone";
import { validLabel } from "../syntax";
import { checkInputs, type Effect, type Fields } from "./field";
import { commonProxyFields, type ProxyEffect, type ProxySchema } from "./proxy";

type Input = TailnetIngressInput & HostInputs & PlannedInputs;

/** The ingress hostname the inputs give, as check sees it (undefined when `hostname` is not a string). */
function checkedHostname(news: Input): DerivedHostname | undefined {
  return typeof news.hostname === "string" || news.hostname === undefined ? ingressHostname(news) : undefined;
}

/** What checking the rules keeps track of across them. */
interface RulesCheck {
  push: Push;
  /** The ingress hostname, which a rule host must match. */
  host: DerivedHostname | undefined;
  /** Mount point → the input that routes it. */
  seenPaths: Map<string, string>;
  backends: number;
  sawUnknown: boolean;
}

/** Whether `v` is an object to check further; an unknown one is noted, anything else refused. */
function isObjectAt(r: RulesCheck, v: unknown, at: string, message: string): v is Record<string, any> {
  if (isUnknown(v)) r.sawUnknown = true;
  else if (!isPlainObject(v)) r.push(at, message);
  else return true;
  return false;
}

/** A rule's host: when given, it must be this ingress's own name. */
function checkRuleHost(r: RulesCheck, host: unknown, at: string): void {
  if (host === undefined || isUnknown(host) || host === "") return;
  if (typeof host !== "string") {
    r.push(at, "must be a string");
    return;
  }
  const label = firstLabel(host);
  const err = validLabel(label);
  if (err) {
    r.push(at, `invalid host ${goQuote(host)}: its first label is not a valid Tailscale hostname: ${err}`);
  } else if (r.host && label.toLowerCase() !== r.host.hostname.toLowerCase()) {
    r.push(
      at,
      `host ${goQuote(host)} does not match the ingress hostname ${goQuote(r.host.hostname)}: a TailnetIngress serves a single host (as the Tailscale operator supports one host per Ingress); remove "host", set it to the ingress hostname, or use a second TailnetIngress`,
    );
  }
}

/** One path of a rule: absolute, routed once, a prefix, with a backend. */
function checkPath(r: RulesCheck, p: Record<string, any>, pp: string): void {
  r.backends++;
  if (!isUnknown(p.path)) {
    if (typeof p.path !== "string") r.push(`${pp}.path`, 'must be a string such as "/" or "/api"');
    else if (p.path !== "" && !p.path.startsWith("/")) {
      r.push(`${pp}.path`, `path ${goQuote(p.path)} must be absolute (start with "/")`);
    } else {
      const mount = p.path === "" ? "/" : p.path;
      const prev = r.seenPaths.get(mount);
      if (prev !== undefined) {
        r.push(
          `${pp}.path`,
          `path ${goQuote(mount)} is already routed by ${prev}${prev === "defaultBackend" ? ' (the default backend is served at "/")' : ""}; each path may be routed once`,
        );
      } else r.seenPaths.set(mount, pp);
    }
  }
  if (p.pathType === "Exact") {
    r.push(
      `${pp}.pathType`,
      'pathType "Exact" is not supported: tailscaled routes every path as a prefix, so it would also match longer paths; use "Prefix" (or omit pathType)',
    );
  } else checkEnum(p.pathType, ["Prefix", "ImplementationSpecific", "Exact"], `${pp}.pathType`, r.push);
  if (p.backend === undefined) r.push(`${pp}.backend`, "is required: {service: {namespace, name}, port}");
  else checkBackend(p.backend, `${pp}.backend`, r.push);
}

/**
 * `rules`, with what depends on the other inputs: a rule host must be the ingress's own name, a path is
 * routed once (the default backend holds `/`), and the ingress needs at least one backend.
 */
function checkRules(news: Input, push: Push): void {
  const r: RulesCheck = {
    push,
    host: checkedHostname(news),
    seenPaths: new Map(),
    backends: 0,
    sawUnknown: isUnknown(news.rules) || isUnknown(news.defaultBackend),
  };
  if (news.defaultBackend !== undefined && !isUnknown(news.defaultBackend)) {
    r.backends++;
    r.seenPaths.set("/", "defaultBackend");
  }
  if (news.rules !== undefined && !isUnknown(news.rules)) {
    if (!Array.isArray(news.rules)) push("rules", "must be a list of rules {host?, paths}");
    else
      news.rules.forEach((rule, i) => {
        const rp = `rules[${i}]`;
        if (!isObjectAt(r, rule, rp, "must be an object {host?, paths}")) return;
        checkRuleHost(r, rule.host, `${rp}.host`);
        if (isUnknown(rule.paths)) {
          r.sawUnknown = true;
          return;
        }
        if (!Array.isArray(rule.paths) || rule.paths.length === 0) {
          push(`${rp}.paths`, "a rule needs at least one path {path, backend}");
          return;
        }
        rule.paths.forEach((p: unknown, j: number) => {
          const pp = `${rp}.paths[${j}]`;
          if (isObjectAt(r, p, pp, "must be an object {path, pathType?, backend}")) checkPath(r, p, pp);
        });
      });
  }
  if (r.backends === 0 && !r.sawUnknown) {
    push("rules", "a TailnetIngress needs at least one backend: set defaultBackend, or rules with paths");
  }
}

/** A change that only rewrites the serve config, in both modes. */
const serveConfigChange: Effect = {
  kind: "inPlace",
  target: "serveConfig",
  reason: "only the serve config changes; tailscaled reloads it without a restart",
};

const fields: Fields<Input, ProxyEffect> = {
  hostname: {
    check(v, c) {
      if (v !== undefined && typeof v !== "string") c.push(c.at, "must be a string");
      checkHostname(checkedHostname(c.input), c.push);
    },
    change: { kind: "tailnetName" },
  },
  defaultBackend: {
    check(v, c) {
      if (v !== undefined) checkBackend(v, c.at, c.push);
    },
    change: serveConfigChange,
  },
  rules: {
    check: (_v, c) => checkRules(c.input, c.push),
    change: serveConfigChange,
  },
  funnel: {
    default: false,
    check(v, c) {
      checkBoolean(v, c.at, c.push);
      if (c.input.proxyGroup !== undefined && v === true) {
        c.push(
          c.at,
          "funnel is not supported with proxyGroup: Tailscale Services cannot be funnelled; remove funnel or proxyGroup",
        );
      }
    },
    change: {
      standalone: serveConfigChange,
      ha: { kind: "refused", reason: "check refuses funnel with proxyGroup" },
    },
  },
  httpRedirect: {
    default: false,
    check: (v, c) => checkBoolean(v, c.at, c.push),
    change: serveConfigChange,
  },
  httpEndpoint: {
    default: false,
    check(v, c) {
      checkBoolean(v, c.at, c.push);
      if (v !== true) return;
      if (c.input.proxyGroup === undefined) c.push(c.at, HTTP_ENDPOINT_STANDALONE);
      else if (c.input.httpRedirect === true) c.push(c.at, HTTP_ENDPOINT_AND_REDIRECT);
    },
    change: {
      standalone: { kind: "refused", reason: "check refuses httpEndpoint without proxyGroup" },
      ha: {
        kind: "inPlace",
        target: "serveConfig",
        reason:
          "port 80 of the serve config and the Tailscale Service's ports (tcp:80) are rewritten in place; tailscaled reloads them without a restart",
      },
    },
  },
  waitForCertificate: {
    default: true,
    check: (v, c) => checkBoolean(v, c.at, c.push),
    change: { kind: "inPlace", target: "state", reason: "changes only how the next update waits" },
  },
  backendProtocol: {
    check: (v, c) => checkEnum(v, ["http", "https", "https+insecure"], c.at, c.push),
    change: serveConfigChange,
  },
  ...commonProxyFields<Input>({
    hostnameOf: ingressHostname,
    // During preview a backend may still be unknown; the namespace is then known only at `up`.
    namespaceOf: (input) =>
      input.proxyGroup || containsUnknown([input.defaultBackend, input.rules])
        ? undefined
        : standaloneIngressNamespace(input),
    // Against placeholder Services that have every named port, so the fingerprints follow the inputs.
    plan: (input) =>
      planStandaloneIngress(input, placeholderBackends(ingressBackends(input).map((e) => e.backend)), {}),
  }),
};

/** The namespace of the first backend, when the ingress proxy's namespace defaults from it. */
function firstBackendNamespace(i: Partial<Input>): string | "unknown" | undefined {
  if (containsUnknown(i.defaultBackend) || containsUnknown(i.rules)) return "unknown";
  if (i.defaultBackend) return i.defaultBackend.service?.namespace;
  for (const r of Array.isArray(i.rules) ? i.rules : [])
    for (const p of Array.isArray(r?.paths) ? r.paths : []) return p?.backend?.service?.namespace;
  return undefined;
}

/** TailnetIngress's declaration. */
export const TAILNET_INGRESS: ProxySchema<Input> = {
  kind: "TailnetIngress",
  fields,
  outputs: TAILNET_INGRESS_OUTPUTS,
  hostnameOf: ingressHostname,
  nameDependsOn: ["ownerId"],
  // With no explicit hostname, the name is the first rule host's, else the resource name's.
  nameSources: ["rules", "ownerId"],
  defaultNamespace: firstBackendNamespace,
  // The namespace defaults to the first backend's: the default backend's when there is one.
  namespaceSource: (olds, news) =>
    news.defaultBackend !== undefined || olds.defaultBackend !== undefined ? "defaultBackend" : "rules",
};

/** Validates the inputs of a TailnetIngress (standalone or HA); an empty list means valid. */
export function checkTailnetIngress(news: TailnetIngressInput): CheckFailure[] {
  return checkInputs(TAILNET_INGRESS, news);
}
