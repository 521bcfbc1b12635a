/**
 * Where the provider's Kubernetes and Tailscale credentials come from, at run time, in this order
 * (README.md, "Where credentials come from"; sdk/shim.ts says why nothing may be captured):
 *   1. the resource's own `credentials` input;
 *   2. provider configuration stored by `configure()` (the official providers' keys:
 *      `kubernetes:kubeconfig`, `kubernetes:context`, `tailscale:oauthClientId`,
 *      `tailscale:oauthClientSecret`, `tailscale:apiKey`, `tailscale:tailnet`, `tailscale:baseUrl`);
 *   3. the environment (`KUBECONFIG` / in-cluster / ~/.kube/config, `TAILSCALE_OAUTH_CLIENT_ID`,
 *      `TAILSCALE_OAUTH_CLIENT_SECRET`, `TAILSCALE_API_KEY`, `TAILSCALE_TAILNET`, `TAILSCALE_BASE_URL`).
 *
 * Nothing here is captured in a closure or written to state. `configure()` only copies values (the
 * host never retries a failing configure, and calls may run before it finished); clients are
 * built on first use and memoised per distinct credential set, keyed by a hash so the map never
 * holds a secret as a key.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { CredentialSource } from "./credentialSource";
import { Kube } from "./kube/kube";
import { type CredentialsInput, UNKNOWN } from "./plan/inputs";
import { TailscaleClient, type TailscaleClientOptions } from "./tailscale/client";

/** The provider configuration keys read by {@link configure}. */
export const PROVIDER_CONFIG_KEYS = [
  "kubernetes:kubeconfig",
  "kubernetes:context",
  "tailscale:oauthClientId",
  "tailscale:oauthClientSecret",
  "tailscale:apiKey",
  "tailscale:tailnet",
  "tailscale:baseUrl",
] as const;

type ProviderConfigKey = (typeof PROVIDER_CONFIG_KEYS)[number];

/** What the dynamic-provider host hands to `configure()`. */
export interface ProviderConfigSource {
  get(key: string): string | undefined;
}

/** Environment variables read (all optional). */
export type Environment = Record<string, string | undefined>;

let providerConfig: Partial<Record<ProviderConfigKey, string>> = {};

/** Stores the provider configuration values. Never throws and never does I/O. */
export function configure(config: ProviderConfigSource): void {
  const next: Partial<Record<ProviderConfigKey, string>> = {};
  for (const key of PROVIDER_CONFIG_KEYS) {
    let value: string | undefined;
    try {
      value = config.get(key);
    } catch {
      value = undefined;
    }
    if (typeof value === "string" && value !== "") next[key] = value;
  }
  providerConfig = next;
}

/** Forgets the stored provider configuration and every memoised client (tests). */
export function resetCredentials(): void {
  providerConfig = {};
  tailscaleClients.clear();
  kubeClients.clear();
}

export type { CredentialSource };

/** Tailscale credentials after lookup. Exactly one of the OAuth pair or `apiKey` is set. */
export interface ResolvedTailscaleCredentials {
  oauthClientId?: string;
  oauthClientSecret?: string;
  apiKey?: string;
  /** `-` when not set anywhere. */
  tailnet: string;
  baseUrl?: string;
  source: CredentialSource;
}

/** Kubernetes credentials after lookup. */
export type ResolvedKubeCredentials =
  | { kind: "kubeconfig"; kubeconfig: string; context?: string; source: CredentialSource }
  | { kind: "files"; files: string[]; context?: string; source: CredentialSource }
  | { kind: "in-cluster"; source: CredentialSource };

/** No credentials could be found; the message lists the three places to set them. */
export class MissingCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingCredentialsError";
  }
}

interface Layer {
  source: CredentialSource;
  kubeconfig?: string;
  context?: string;
  oauthClientId?: string;
  oauthClientSecret?: string;
  apiKey?: string;
  tailnet?: string;
  baseUrl?: string;
}

function clean(value: string | undefined, what: string): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === UNKNOWN) {
    throw new Error(
      `credentials: ${what} is not known yet (it depends on a resource that is still to be created); ` +
        "it is only needed during pulumi up, not preview",
    );
  }
  return value;
}

function layers(input: CredentialsInput | undefined, env: Environment): Layer[] {
  const c = input ?? {};
  return [
    {
      source: "resource credentials",
      kubeconfig: clean(c.kubeconfig, "credentials.kubeconfig"),
      context: clean(c.kubeContext, "credentials.kubeContext"),
      oauthClientId: clean(c.tailscaleOauthClientId, "credentials.tailscaleOauthClientId"),
      oauthClientSecret: clean(c.tailscaleOauthClientSecret, "credentials.tailscaleOauthClientSecret"),
      apiKey: clean(c.tailscaleApiKey, "credentials.tailscaleApiKey"),
      tailnet: clean(c.tailscaleTailnet, "credentials.tailscaleTailnet"),
      baseUrl: clean(c.tailscaleBaseUrl, "credentials.tailscaleBaseUrl"),
    },
    {
      source: "provider config",
      kubeconfig: providerConfig["kubernetes:kubeconfig"],
      context: providerConfig["kubernetes:context"],
      oauthClientId: providerConfig["tailscale:oauthClientId"],
      oauthClientSecret: providerConfig["tailscale:oauthClientSecret"],
      apiKey: providerConfig["tailscale:apiKey"],
      tailnet: providerConfig["tailscale:tailnet"],
      baseUrl: providerConfig["tailscale:baseUrl"],
    },
    {
      source: "environment",
      oauthClientId: env.TAILSCALE_OAUTH_CLIENT_ID || undefined,
      oauthClientSecret: env.TAILSCALE_OAUTH_CLIENT_SECRET || undefined,
      apiKey: env.TAILSCALE_API_KEY || undefined,
      tailnet: env.TAILSCALE_TAILNET || undefined,
      baseUrl: env.TAILSCALE_BASE_URL || undefined,
    },
  ];
}

const TAILSCALE_WHERE =
  "Set them in one of these places: (1) the resource's `credentials` input " +
  "(tailscaleOauthClientId + tailscaleOauthClientSecret, or tailscaleApiKey); " +
  "(2) stack config: `pulumi config set tailscale:oauthClientId <id>` and " +
  "`pulumi config set --secret tailscale:oauthClientSecret <secret>` (or `--secret tailscale:apiKey`); " +
  "(3) environment: TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET (or TAILSCALE_API_KEY).";

/**
 * Finds the Tailscale credentials. The secret and its client id are taken together from the first
 * place that has a secret (an OAuth client is preferred over an API key in the same place);
 * `tailnet` and `baseUrl` are looked up on their own, in the same order.
 */
export function resolveTailscaleCredentials(
  input?: CredentialsInput,
  env: Environment = process.env,
): ResolvedTailscaleCredentials {
  const ls = layers(input, env);
  const tailnet = ls.find((l) => l.tailnet)?.tailnet ?? "-";
  const baseUrl = ls.find((l) => l.baseUrl)?.baseUrl;
  for (const l of ls) {
    if (l.oauthClientSecret) {
      if (!l.oauthClientId) {
        throw new MissingCredentialsError(
          `A Tailscale OAuth client secret is set in the ${l.source} but its client id is not; set both in the same place. ${TAILSCALE_WHERE}`,
        );
      }
      return {
        oauthClientId: l.oauthClientId,
        oauthClientSecret: l.oauthClientSecret,
        tailnet,
        baseUrl,
        source: l.source,
      };
    }
    if (l.apiKey) return { apiKey: l.apiKey, tailnet, baseUrl, source: l.source };
    if (l.oauthClientId) {
      throw new MissingCredentialsError(
        `A Tailscale OAuth client id is set in the ${l.source} but its secret is not; set both in the same place. ${TAILSCALE_WHERE}`,
      );
    }
  }
  throw new MissingCredentialsError(`No Tailscale credentials were found. ${TAILSCALE_WHERE}`);
}

const KUBE_WHERE =
  "Set it in one of these places: (1) the resource's `credentials.kubeconfig` input (YAML text or a path; " +
  "`credentials.kubeContext` picks a context); (2) stack config: `pulumi config set --secret kubernetes:kubeconfig " +
  "<yaml or path>` (and optionally `kubernetes:context`); (3) environment: KUBECONFIG (one or more paths), " +
  "the in-cluster service account, or ~/.kube/config.";

const IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/** Finds the kubeconfig; `context` is looked up on its own in the same order. */
export function resolveKubeCredentials(
  input?: CredentialsInput,
  env: Environment = process.env,
): ResolvedKubeCredentials {
  const ls = layers(input, env);
  const context = ls.find((l) => l.context)?.context;
  for (const l of ls) {
    if (l.kubeconfig) return { kind: "kubeconfig", kubeconfig: l.kubeconfig, context, source: l.source };
  }
  if (env.KUBECONFIG) {
    const listed = env.KUBECONFIG.split(path.delimiter).filter((f) => f !== "");
    const files = listed.filter((f) => fs.existsSync(f));
    if (files.length === 0) {
      throw new MissingCredentialsError(
        `KUBECONFIG names ${listed.length === 1 ? "a file that does" : "files that do"} not exist (${listed.join(", ")}). ${KUBE_WHERE}`,
      );
    }
    return { kind: "files", files, context, source: "environment" };
  }
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && fs.existsSync(IN_CLUSTER_TOKEN)) {
    return { kind: "in-cluster", source: "environment" };
  }
  const home = env.HOME || env.USERPROFILE || os.homedir();
  const defaultFile = path.join(home, ".kube", "config");
  if (fs.existsSync(defaultFile))
    return { kind: "files", files: [defaultFile], context, source: "environment" };
  throw new MissingCredentialsError(`No kubeconfig was found. ${KUBE_WHERE}`);
}

const tailscaleClients = new Map<string, TailscaleClient>();
const kubeClients = new Map<string, Kube>();

function keyOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/**
 * The Tailscale client for a resource's credentials, built on first use and shared by every
 * resource with the same credential set (so the OAuth token is fetched once).
 */
export function tailscaleClientFor(
  input?: CredentialsInput,
  options: Omit<
    TailscaleClientOptions,
    "oauthClientId" | "oauthClientSecret" | "apiKey" | "tailnet" | "baseUrl"
  > = {},
  env: Environment = process.env,
): TailscaleClient {
  const creds = resolveTailscaleCredentials(input, env);
  // The source is part of the key: a rejected credential's message says where it came from.
  const key = keyOf({ creds, servicesPath: options.servicesPath });
  let client = tailscaleClients.get(key);
  if (!client) {
    client = new TailscaleClient({
      userAgent: "pulumi-tailnet",
      ...options,
      oauthClientId: creds.oauthClientId,
      oauthClientSecret: creds.oauthClientSecret,
      apiKey: creds.apiKey,
      tailnet: creds.tailnet,
      baseUrl: creds.baseUrl,
      credentialSource: creds.source,
    });
    tailscaleClients.set(key, client);
  }
  return client;
}

/** The Kubernetes client for a resource's credentials, built on first use and memoised. */
export function kubeFor(input?: CredentialsInput, env: Environment = process.env): Kube {
  const creds = resolveKubeCredentials(input, env);
  // The source is part of the key: a 401's message says where the kubeconfig came from.
  const key = keyOf(creds);
  let kube = kubeClients.get(key);
  if (!kube) {
    switch (creds.kind) {
      case "kubeconfig":
        kube = Kube.fromKubeconfig(creds.kubeconfig, creds.context, { credentialSource: creds.source });
        break;
      case "files":
        kube = Kube.fromKubeconfigFiles(creds.files, creds.context, { credentialSource: creds.source });
        break;
      case "in-cluster":
        kube = Kube.inCluster({ credentialSource: creds.source });
        break;
    }
    kubeClients.set(key, kube);
  }
  return kube;
}
