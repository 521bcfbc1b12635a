/**
 * HA TailnetIngress: a Tailscale Service `svc:<hostname>` served by a ProxyGroup (docs/operator-parity.md,
 * "HA TailnetIngress").
 *
 * What the lifecycle writes, in the operator's provision order: the cert Secret + Role + RoleBinding,
 * the serve config entry (shared ConfigMap), the Tailscale Service, then `AdvertiseServices` in the
 * replicas' configs, all at once or replica 0 first as {@link shouldAdvertiseIngress} says.
 *
 * Differences on purpose: ownership is ours (ownership.ts), not the operator's owner-references; cert
 * objects carry our owner labels instead of the Ingress parent labels (there is no Ingress object), and
 * of the operator's labels only the three containerboot lists them by (common.ts `containerbootCertLabels`);
 * funnel is refused (the operator ignores it on HA Ingresses), and so is `httpEndpoint` together with
 * `httpRedirect` (the operator serves HTTP and ignores the redirect).
 */
import type { BackendServiceFacts } from "../backends";
import { PlanError } from "../errors";
import { ingressHostname } from "../hostnames";
import type { ProxyGroupRef, TailnetIngressInput } from "../inputs";
import { toLabelValue } from "../labels";
import type { PlannedRole, PlannedRoleBinding, PlannedSecret } from "../objects";
import {
  type HTTPHandler,
  httpsRedirects,
  resolveIngressHandlers,
  type ServeConfig,
  type ServiceConfig,
  serializeServeConfig,
} from "../serve-config";
import { effectiveTags } from "../tags";
import {
  containerbootCertLabels,
  LABEL_DOMAIN,
  LABEL_PROXY_GROUP,
  ownershipMetadata,
  PROXY_GROUP_SERVE_CONFIG_KEY,
  serviceNameFor,
} from "./common";
import { jsonEqual, parseJsonObject } from "./gostruct";
import {
  buildTailscaleService,
  checkOwnership,
  joinTokenFor,
  OwnershipConflictError,
  type ServiceOwner,
  type TailscaleService,
} from "./ownership";

/** Facts and identity an HA ingress plan needs beyond its inputs. */
export interface HAIngressContext {
  /** MagicDNS suffix (`tailxyz.ts.net`), from the replicas' state (`tailnetDomainFromStates`). */
  tailnetDomain?: string;
  /** Identity of this cluster, recorded with our ownership. */
  clusterId?: string;
  /** The Tailscale Service as it exists now; undefined when it does not exist. */
  existingService?: TailscaleService;
  /** Join token exported by an owner of an existing service; defaults to `input.joinToken`. */
  joinToken?: string;
}

/**
 * Why `httpEndpoint` needs `proxyGroup`: the operator serves plain HTTP only on ProxyGroup Ingresses
 * (tailscale/tailscale@de9ec7ee cmd/k8s-operator/ingress-for-pg.go `isHTTPEndpointEnabled`;
 * cmd/k8s-operator/ingress.go has no such annotation), and a standalone proxy's serve config always
 * holds HTTPS on 443 at the top level, which containerboot does not apply at all on a tailnet without
 * HTTPS (cmd/containerboot/serve.go `isValidHTTPSConfig`), the case plain HTTP is most wanted for. A
 * ProxyGroup's serve config holds its ports under `Services`, which that check does not look at.
 */
export const HTTP_ENDPOINT_STANDALONE =
  "httpEndpoint (plain HTTP on port 80) is only supported with proxyGroup, as in the Tailscale operator: set proxyGroup, or use httpRedirect to redirect port 80 to HTTPS";

/**
 * Both on port 80: the operator lets httpEndpoint win and logs a warning no Pulumi user sees
 * (ingress-for-pg.go); refusing says which one is meant.
 */
export const HTTP_ENDPOINT_AND_REDIRECT =
  "httpEndpoint and httpRedirect cannot both be set: port 80 either serves the routes over plain HTTP (httpEndpoint) or redirects them to HTTPS (httpRedirect); remove one of them";

/** Everything the lifecycle writes for one HA ingress. */
export interface HAIngressPlan {
  hostname: string;
  /** `svc:<hostname>`. */
  serviceName: string;
  /** `<hostname>.<tailnetDomain>`, when the domain is known. */
  dnsName?: string;
  /** PUT body of the Tailscale Service (existing addrs and foreign annotations kept). */
  tailscaleService: TailscaleService;
  /** Owners written to the service, this resource included. */
  owners: ServiceOwner[];
  /** The join token this resource exports for other stacks. */
  joinToken: string;
  /** Port 80 served too (HTTP endpoint or redirect). */
  http: boolean;
  /** `Services["svc:<hostname>"]` of `serve-config.json`; undefined until the tailnet domain is known. */
  serveConfigEntry?: ServiceConfig;
  /** `<dnsName>` TLS Secret (empty; replica 0 fills it). On update only its labels may be rewritten. */
  certSecret?: PlannedSecret;
  /** Role granting the ProxyGroup read/write on the cert Secret only. */
  certRole?: PlannedRole;
  certRoleBinding?: PlannedRoleBinding;
}

/** Where the serve config and cert objects of an ingress live: its ProxyGroup. */
function pgOf(input: TailnetIngressInput): ProxyGroupRef {
  const { name, namespace } = input.proxyGroup ?? {};
  if (!name || !namespace) {
    throw new PlanError(
      "InvalidInput",
      "an HA TailnetIngress needs proxyGroup {name, namespace}; set proxyGroup",
    );
  }
  return { name, namespace };
}

/** The HA ingress hostname (hostname input, else first rule host, else resource name). */
export function haIngressHostname(input: TailnetIngressInput): string {
  const h = ingressHostname(input);
  if (!h)
    throw new PlanError(
      "InvalidInput",
      "the ingress hostname is not known yet; resolve hostname before planning",
    );
  return h.hostname.toLowerCase();
}

/** Tailscale Service ports: `tcp:443`, plus `tcp:80` when port 80 is served (operator order). */
export function haIngressPorts(http: boolean): string[] {
  return http ? ["tcp:443", "tcp:80"] : ["tcp:443"];
}

/**
 * The `ServiceConfig` of an HA ingress: HTTPS on 443 to the handlers at `<dnsName>:443`; with
 * `httpEndpoint` the same handlers over HTTP on 80; else with `httpRedirect` a 301 to HTTPS on every
 * mount point on 80. With no handlers the Web entry is still written with `Handlers: null`.
 */
export function buildHAIngressServiceConfig(
  dnsName: string,
  handlers: readonly { path: string; proxy: string }[],
  opts: { httpEndpoint?: boolean; httpRedirect?: boolean },
): ServiceConfig {
  const proxies: Record<string, HTTPHandler> = {};
  for (const h of handlers) proxies[h.path] = { Proxy: h.proxy };
  const has = Object.keys(proxies).length > 0;
  const sc: ServiceConfig = {
    TCP: { "443": { HTTPS: true } },
    Web: { [`${dnsName}:443`]: { Handlers: has ? proxies : null } },
  };
  if (opts.httpEndpoint || opts.httpRedirect) {
    sc.TCP!["80"] = { HTTP: true };
    let port80: Record<string, HTTPHandler> | null = null;
    if (opts.httpEndpoint) port80 = has ? { ...proxies } : null;
    else if (has) port80 = httpsRedirects(Object.keys(proxies));
    sc.Web![`${dnsName}:80`] = { Handlers: port80 };
  }
  return sc;
}

/** Labels of the per-domain cert objects: the ProxyGroup and the domain, under our prefix, and ours. */
export function certResourceLabels(pg: string, dnsName: string, ownerId: string): Record<string, string> {
  return {
    [LABEL_PROXY_GROUP]: pg,
    [LABEL_DOMAIN]: toLabelValue(dnsName),
    ...ownershipMetadata(ownerId).labels,
  };
}

/**
 * Plan an HA TailnetIngress. Requires resolved inputs; resolves backends against `backends` (throws a
 * PlanError naming every bad backend) and checks ownership of the existing Tailscale Service (throws
 * {@link OwnershipConflictError}).
 */
export function planHAIngress(
  input: TailnetIngressInput,
  backends: ReadonlyMap<string, BackendServiceFacts>,
  ctx: HAIngressContext,
): HAIngressPlan {
  if (input.funnel) {
    throw new PlanError(
      "InvalidInput",
      "funnel is not supported with proxyGroup: Tailscale Services cannot be funnelled; remove funnel or proxyGroup",
    );
  }
  if (input.httpEndpoint && input.httpRedirect)
    throw new PlanError("InvalidInput", HTTP_ENDPOINT_AND_REDIRECT);
  const pg = pgOf(input);
  const ownerId = input.ownerId;
  const hostname = haIngressHostname(input);
  const serviceName = serviceNameFor(hostname);
  const check = checkOwnership(
    serviceName,
    ctx.existingService,
    { ownerId, clusterId: ctx.clusterId, proxyGroup: input.proxyGroup },
    ctx.joinToken ?? input.joinToken,
  );
  if (!check.ok) throw new OwnershipConflictError(check.reason);

  const http = input.httpEndpoint === true || input.httpRedirect === true;
  const tailscaleService = buildTailscaleService(
    serviceName,
    ctx.existingService,
    check.owners,
    haIngressPorts(http),
    effectiveTags(input.tags),
  );
  const handlers = resolveIngressHandlers(input, backends);

  const plan: HAIngressPlan = {
    hostname,
    serviceName,
    tailscaleService,
    owners: check.owners,
    joinToken: joinTokenFor(serviceName, ownerId),
    http,
  };
  if (!ctx.tailnetDomain) return plan;

  const dnsName = `${hostname}.${ctx.tailnetDomain}`;
  const labels = certResourceLabels(pg.name, dnsName, ownerId);
  const annotations = ownershipMetadata(ownerId).annotations;
  plan.dnsName = dnsName;
  plan.serveConfigEntry = buildHAIngressServiceConfig(dnsName, handlers, input);
  plan.certSecret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: dnsName,
      namespace: pg.namespace,
      labels: { ...labels, ...containerbootCertLabels(pg.name) },
      annotations: { ...annotations },
    },
    type: "kubernetes.io/tls",
    data: { "tls.crt": "", "tls.key": "" },
  };
  plan.certRole = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: {
      name: dnsName,
      namespace: pg.namespace,
      labels: { ...labels },
      annotations: { ...annotations },
    },
    rules: [
      {
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: [dnsName],
        verbs: ["get", "list", "patch", "update"],
      },
    ],
  };
  plan.certRoleBinding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: {
      name: dnsName,
      namespace: pg.namespace,
      labels: { ...labels },
      annotations: { ...annotations },
    },
    subjects: [{ kind: "ServiceAccount", name: pg.name, namespace: pg.namespace }],
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: dnsName },
  };
  return plan;
}

function parseServeConfig(json: string | undefined): ServeConfig {
  if (json === undefined || json === "") return {};
  return parseJsonObject(json, `ConfigMap key ${PROXY_GROUP_SERVE_CONFIG_KEY}`) as ServeConfig;
}

/**
 * Set `Services[name] = entry` in a ProxyGroup's `serve-config.json` (undefined = the ConfigMap has no
 * such key yet). Other services are kept. Returns `existingJson` itself when it already holds an equal
 * entry, so the caller skips the write by comparing strings; otherwise Go-formatted JSON.
 */
export function upsertServeConfigService(
  existingJson: string | undefined,
  name: string,
  entry: ServiceConfig,
): string {
  const sc = parseServeConfig(existingJson);
  if (existingJson !== undefined && jsonEqual(sc.Services?.[name], entry)) return existingJson;
  return serializeServeConfig({ ...sc, Services: { ...sc.Services, [name]: entry } });
}

/**
 * Remove `Services[name]` from `serve-config.json`. Returns `existingJson` unchanged when the entry is
 * absent; once no service is left the file is `{}` (Go omits the empty map), as the operator writes it.
 */
export function removeServeConfigService(existingJson: string | undefined, name: string): string | undefined {
  const sc = parseServeConfig(existingJson);
  if (!sc.Services || !(name in sc.Services)) return existingJson;
  const services = { ...sc.Services };
  delete services[name];
  return serializeServeConfig({ ...sc, Services: services });
}

/** The Tailscale Service names listed in a `serve-config.json` (for sweeps and status). */
export function serveConfigServiceNames(existingJson: string | undefined): string[] {
  return Object.keys(parseServeConfig(existingJson).Services ?? {});
}

/** Whether a cert Secret's decoded data holds both a certificate and a key (replica 0 has issued it). */
export function certIssued(certSecretData: Record<string, string> | undefined): boolean {
  return !!certSecretData?.["tls.crt"] && !!certSecretData?.["tls.key"];
}

/**
 * Whether every replica advertises an HA ingress at once; otherwise replica 0 alone advertises first,
 * obtains the certificate, and the others follow once it exists. At once when port 80 is served (the
 * operator's gate: HTTP needs no certificate) or when the certificate is already issued. HTTPS only and
 * no certificate yet: replica 0 first, whether or not the `up` asks for the certificate
 * (`waitForCertificate`), so no client reaches a replica that has no certificate and cannot get one:
 * a read-only replica serves only what the writer stored (tailscale/tailscale@de9ec7ee
 * ipn/store/kubestore/store_kube.go). The operator instead waits for the certificate before
 * advertising anywhere (tailscale/tailscale@de9ec7ee cmd/k8s-operator/ingress-for-pg.go, `hasCerts`;
 * docs/operator-parity.md, "HA TailnetIngress").
 */
export function shouldAdvertiseIngress(http: boolean, hasCert: boolean): boolean {
  return http || hasCert;
}
