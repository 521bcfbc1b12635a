import * as pulumi from "@pulumi/pulumi";
import { type CustomTimeoutsInput, customTimeoutsProblem } from "../provider/plan/duration";
import type { ServiceRefInput, ServiceRevisionInput } from "../provider/plan/inputs";

/**
 * A Kubernetes Service given by namespace and name. The Service must exist when `pulumi up` runs;
 * it is read then (never during preview) for its cluster IP, type and ports.
 */
export interface ServiceRef {
  /** Namespace of the Service. */
  namespace: pulumi.Input<string>;
  /** Name of the Service. */
  name: pulumi.Input<string>;
}

/**
 * Anything shaped like a `@pulumi/kubernetes` `core.v1.Service` (or any resource with Kubernetes
 * `metadata`). Passing the resource itself, rather than its name, makes Pulumi create the Service
 * first, and makes a replaced Service (a new `metadata.uid`) or a changed cluster IP, ExternalName or
 * port list an update of the proxy, which reads the Service again and follows it. A change to a Service
 * given as `{ namespace, name }` is seen only by `pulumi refresh` (standalone proxies), or reaches the
 * proxy at its next update for another reason: preview and diff make no API calls.
 */
export interface KubernetesServiceLike {
  /** The Service's metadata: `name` and `namespace` name it, `uid` tells a replacement apart. */
  metadata: pulumi.Output<{
    /** Name of the Service. */
    name?: string;
    /** Namespace of the Service; `default` when absent. */
    namespace?: string;
    /** The Service's UID, new for every Service created. */
    uid?: string;
  }>;
  /** The Service's spec: a change of its addresses or ports updates the proxy. */
  spec?: pulumi.Output<
    | {
        /** The Service's cluster IP (`None` when headless). */
        clusterIP?: string;
        /** Every cluster IP of a dual-stack Service. */
        clusterIPs?: string[];
        /** The DNS name of an ExternalName Service. */
        externalName?: string;
        /** The Service's ports. */
        ports?: {
          /** The port number. */
          port: number;
          /** The port's name. */
          name?: string;
          /** TCP, UDP or SCTP. */
          protocol?: string;
        }[];
      }
    | undefined
  >;
}

/** A backend Service: `{ namespace, name }` or a `@pulumi/kubernetes` `core.v1.Service`. */
export type BackendService = ServiceRef | KubernetesServiceLike;

/**
 * Credentials for one resource. Every field is optional: what is not given here is taken from the
 * stack configuration (`kubernetes:kubeconfig`, `kubernetes:context`, `tailscale:oauthClientId`,
 * `tailscale:oauthClientSecret`, `tailscale:identityToken`, `tailscale:audience`, `tailscale:apiKey`,
 * `tailscale:tailnet`, `tailscale:baseUrl`), and then from the environment (`KUBECONFIG`,
 * `TAILSCALE_OAUTH_CLIENT_ID`, `TAILSCALE_OAUTH_CLIENT_SECRET`, `TAILSCALE_IDENTITY_TOKEN`,
 * `TAILSCALE_AUDIENCE`, `TAILSCALE_API_KEY`, `TAILSCALE_TAILNET`, `TAILSCALE_BASE_URL`).
 *
 * The client ID, OAuth client secret, identity token, audience and API key may be `file:<path>`: the
 * file is read when the value is needed (the identity token at every exchange), as @pulumi/tailscale
 * reads such values.
 *
 * Prefer stack configuration or the environment: values given here are stored (encrypted) in state,
 * and `pulumi destroy` then uses the stored values even after they were rotated (a `file:` path is
 * stored as the path, and the file is read again).
 */
export interface Credentials {
  /** Kubeconfig YAML of the cluster the proxies run in (for example a `k8s.Provider`'s kubeconfig). */
  kubeconfig?: pulumi.Input<string>;
  /** Context to use from the kubeconfig. Defaults to its current context. */
  kubeContext?: pulumi.Input<string>;
  /**
   * Tailscale OAuth client ID, or a federated identity's client ID (scopes `auth_keys`, `devices:core`,
   * `services:read`; `services` for HA).
   */
  tailscaleOauthClientId?: pulumi.Input<string>;
  /** Tailscale OAuth client secret (`tskey-client-…`). */
  tailscaleOauthClientSecret?: pulumi.Input<string>;
  /**
   * Workload identity federation, instead of a client secret: the OIDC identity token (a JWT) that
   * Tailscale exchanges for an API token, or better `file:<path>` of a file that holds a fresh one (a
   * Kubernetes projected ServiceAccount token), read at every exchange.
   */
  tailscaleIdentityToken?: pulumi.Input<string>;
  /**
   * The audience the federated identity expects: checked against the identity token before it is sent;
   * without an identity token, in GitHub Actions, the token is requested from GitHub for this audience.
   */
  tailscaleAudience?: pulumi.Input<string>;
  /** Tailscale API access token (`tskey-api-…`), instead of an OAuth client. */
  tailscaleApiKey?: pulumi.Input<string>;
  /** Tailnet ID; defaults to the credential's own tailnet (`-`). */
  tailscaleTailnet?: pulumi.Input<string>;
  /** Tailscale API base URL; defaults to `https://api.tailscale.com`. */
  tailscaleBaseUrl?: pulumi.Input<string>;
}

function isKubernetesServiceLike(value: unknown): value is KubernetesServiceLike {
  return (
    typeof value === "object" &&
    value !== null &&
    pulumi.Output.isInstance((value as { metadata?: unknown }).metadata)
  );
}

/** Resolves a backend Service argument to the provider's `{ namespace, name }` input. */
export function serviceRefInput(
  service: pulumi.Input<BackendService>,
  argName: string,
): pulumi.Output<ServiceRefInput> {
  return pulumi.output(service as pulumi.Input<ServiceRef | KubernetesServiceLike>).apply((resolved) => {
    if (isKubernetesServiceLike(resolved)) {
      const spec = pulumi.Output.isInstance(resolved.spec) ? resolved.spec : pulumi.output(undefined);
      return pulumi.all([resolved.metadata, spec]).apply(([m, s]) => ({
        namespace: m.namespace ?? "default",
        name: m.name ?? "",
        revision: serviceRevision(m.uid, s),
      }));
    }
    const ref = resolved as unknown as { namespace?: string; name?: string } | undefined;
    if (!ref || typeof ref !== "object") {
      throw new Error(`${argName} must be { namespace, name } or a @pulumi/kubernetes core.v1.Service`);
    }
    return pulumi.output({ namespace: ref.namespace ?? "default", name: ref.name ?? "" });
  }) as pulumi.Output<ServiceRefInput>;
}

/**
 * What the Service resource's outputs say about it, without absent keys (so a value the resource does
 * not report is no change). Ports are kept in the Service's order: it is the order `spec.ports` has.
 */
function serviceRevision(
  uid: string | undefined,
  spec: pulumi.Unwrap<KubernetesServiceLike["spec"]>,
): ServiceRevisionInput {
  const out: ServiceRevisionInput = {};
  if (uid) out.uid = uid;
  const ips = spec?.clusterIPs?.length ? spec.clusterIPs : spec?.clusterIP ? [spec.clusterIP] : undefined;
  if (ips) out.clusterIPs = [...ips];
  if (spec?.externalName) out.externalName = spec.externalName;
  if (spec?.ports) {
    out.ports = spec.ports.map((p) => ({
      port: p.port,
      ...(p.name ? { name: p.name } : {}),
      ...(p.protocol ? { protocol: p.protocol } : {}),
    }));
  }
  return out;
}

/** `<project>/<stack>/<resource name>`: the identity written to every object the resource makes. */
export function ownerIdFor(name: string): string {
  return `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
}

/**
 * Refuses the `provider` and `providers` resource options. These resources are dynamic resources: the
 * engine runs them with Pulumi's Node.js dynamic provider (package `pulumi-nodejs`), and the SDK uses an
 * explicit provider only for resources of that provider's own package (pulumi/pulumi@a88168d8
 * sdk/nodejs/resource.ts: a `provider` of another package is taken as one for children), so a
 * `@pulumi/kubernetes` (or `@pulumi/tailscale`) provider would be dropped without a word and the proxies
 * would go to the ambient kubeconfig's cluster. A `k8s.Provider`
 * exposes no kubeconfig output to take the cluster from (its `kubeconfig` is an input only), so the
 * cluster must be named in `credentials` instead. Thrown at construction, so `preview` fails too.
 */
export function refuseProviderOptions(
  kind: string,
  name: string,
  opts: pulumi.CustomResourceOptions | undefined,
  cluster?: { credentials: unknown },
): void {
  const fix =
    "`credentials: { kubeconfig: <the kubeconfig YAML you give the " +
    "k8s.Provider>, kubeContext: <its context> }` (Tailscale: tailscaleOauthClientId / " +
    "tailscaleOauthClientSecret), or set the stack config `kubernetes:kubeconfig` / `kubernetes:context` for " +
    "every resource of the stack.";
  // `providers` is typed for components only, but plain JavaScript (or a spread of component options) can
  // pass it to any resource.
  const providers = (opts as pulumi.ComponentResourceOptions | undefined)?.providers;
  const given = opts?.provider ? "provider" : hasProviders(providers) ? "providers" : undefined;
  if (given) {
    throw new Error(
      `${kind} "${name}": the \`${given}\` resource option is not used by pulumi-tailnet resources (they run in ` +
        "Pulumi's dynamic provider, which would ignore it and fall back to the ambient kubeconfig and Tailscale " +
        `settings). Remove \`${given}\` and name the cluster in \`credentials\`: ${fix}`,
    );
  }
  // A parent's `providers` reach its children the same way, and are dropped the same way. Resources that
  // reach a cluster refuse them unless `credentials` name one; `Resource.getProvider` is the SDK's public
  // lookup of what a resource hands its children (pulumi/pulumi@a88168d8 sdk/nodejs/resource.ts).
  const parent = opts?.parent;
  if (!cluster || cluster.credentials !== undefined || !parent) return;
  const inherited = INHERITED_PACKAGES.filter((pkg) => parent.getProvider(`${pkg}:index:Provider`));
  if (inherited.length === 0) return;
  throw new Error(
    `${kind} "${name}": its parent passes a ${inherited.join(" and a ")} provider to its children, which ` +
      "pulumi-tailnet resources cannot use (they run in Pulumi's dynamic provider, which would ignore it and " +
      `fall back to the ambient kubeconfig and Tailscale settings). Name the cluster in this resource's ` +
      `\`credentials\`: ${fix}`,
  );
}

/** Packages whose providers would decide where these resources act, were they used. */
const INHERITED_PACKAGES = ["kubernetes", "tailscale"];

function hasProviders(providers: pulumi.ComponentResourceOptions["providers"]): boolean {
  if (!providers) return false;
  return Array.isArray(providers) ? providers.length > 0 : Object.keys(providers).length > 0;
}

/**
 * The resource's customTimeouts as an input (undefined when it has none). Pulumi's dynamic-provider
 * host does not pass timeouts to providers, so the SDK forwards them; each is parsed as the engine
 * parses it (Go's time.ParseDuration, provider/plan/duration.ts). A value that is not a duration throws
 * here, naming the option: the engine would refuse it too, but only as
 * `unable to parse customTimeout Value <text>`.
 */
export function customTimeoutsInput(
  opts: pulumi.CustomResourceOptions | undefined,
): CustomTimeoutsInput | undefined {
  const t = opts?.customTimeouts;
  if (!t) return undefined;
  const input: CustomTimeoutsInput = {};
  if (t.create) input.create = t.create;
  if (t.update) input.update = t.update;
  if (t.delete) input.delete = t.delete;
  const problem = customTimeoutsProblem(input);
  if (problem) throw new Error(problem);
  return Object.keys(input).length ? input : undefined;
}

/** The module of every pulumi-tailnet type token: `pulumi-nodejs:dynamic/tailnet:<kind>`. */
export const TYPE_MODULE = "tailnet";

/**
 * The resource's own URN, as the engine names it (`pulumi.createUrn`: stack, project, the parents'
 * types, the type token, the name), for the provider's progress lines: the dynamic-provider host gives
 * provider code no URN (provider/progress.ts). The parent's URN is taken without its dependencies: a
 * dependency on a component stands for every child of it, some of which wait for this resource.
 */
export function resourceUrnInput(
  name: string,
  kind: string,
  opts: pulumi.CustomResourceOptions | undefined,
): pulumi.Output<string> {
  const parent = opts?.parent;
  const parentUrn = parent
    ? pulumi.output(
        new Promise<string>((resolve) =>
          parent.urn.apply((urn) => {
            resolve(urn);
            return urn;
          }),
        ),
      )
    : undefined;
  return pulumi.createUrn(name, `pulumi-nodejs:dynamic/${TYPE_MODULE}:${kind}`, parentUrn);
}

/** Credentials as a secret input (or undefined), so they are encrypted in state. */
export function credentialsInput(credentials: pulumi.Input<Credentials> | undefined) {
  return credentials === undefined ? undefined : pulumi.secret(pulumi.output(credentials));
}

/**
 * Every output of a kind (provider/plan/outputs.ts), unset: a dynamic resource has the outputs its
 * arguments name, so the outputs that are not also inputs are passed as `undefined`.
 */
export function outputPlaceholders(keys: readonly string[]): Record<string, undefined> {
  return Object.fromEntries(keys.map((k) => [k, undefined]));
}
