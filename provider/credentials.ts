/**
 * Where the provider's Kubernetes and Tailscale credentials come from, at run time, in this order
 * (README.md, "Where credentials come from"; sdk/shim.ts says why nothing may be captured):
 *   1. the resource's own `credentials` input;
 *   2. provider configuration stored by `configure()` (the official providers' keys, {@link PROVIDER_CONFIG_KEYS});
 *   3. the environment (`KUBECONFIG` / in-cluster / ~/.kube/config, and each Tailscale setting's variable in
 *      {@link TAILSCALE_SETTINGS}).
 *
 * The Tailscale settings are named as @pulumi/tailscale names them (pulumi/pulumi-tailscale@f4935cef
 * sdk/nodejs/config/vars.ts), so one stack config serves both packages. Values marked `file` there may be
 * `file:<path>` (provider/credentialValues.ts).
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
import {
  type IdentityTokenIo,
  type IdentityTokenSource,
  identityTokenOrigin,
  identityTokenSetting,
  readIdentityToken,
  settingValue,
} from "./credentialValues";
import { Kube } from "./kube/kube";
import { type CredentialsInput, UNKNOWN } from "./plan/inputs";
import { TailscaleClient, type TailscaleClientOptions } from "./tailscale/client";

/**
 * Every Tailscale setting, as each place names it: the `credentials` input, the stack config key and the
 * environment variable (tailscale/terraform-provider-tailscale@0a85227d tailscale/provider_framework.go:118-157
 * reads the same variables). `file`: a `file:<path>` value is read from the file.
 */
export const TAILSCALE_SETTINGS = {
  oauthClientId: {
    input: "tailscaleOauthClientId",
    config: "tailscale:oauthClientId",
    env: "TAILSCALE_OAUTH_CLIENT_ID",
    file: true,
  },
  oauthClientSecret: {
    input: "tailscaleOauthClientSecret",
    config: "tailscale:oauthClientSecret",
    env: "TAILSCALE_OAUTH_CLIENT_SECRET",
    file: true,
  },
  identityToken: {
    input: "tailscaleIdentityToken",
    config: "tailscale:identityToken",
    env: "TAILSCALE_IDENTITY_TOKEN",
    file: true,
  },
  audience: {
    input: "tailscaleAudience",
    config: "tailscale:audience",
    env: "TAILSCALE_AUDIENCE",
    file: true,
  },
  apiKey: { input: "tailscaleApiKey", config: "tailscale:apiKey", env: "TAILSCALE_API_KEY", file: true },
  tailnet: { input: "tailscaleTailnet", config: "tailscale:tailnet", env: "TAILSCALE_TAILNET", file: false },
  baseUrl: { input: "tailscaleBaseUrl", config: "tailscale:baseUrl", env: "TAILSCALE_BASE_URL", file: false },
} as const satisfies Record<
  string,
  { input: keyof CredentialsInput; config: string; env: string; file: boolean }
>;

export type TailscaleSetting = keyof typeof TAILSCALE_SETTINGS;

/**
 * Stack config naming the environment variable that holds the identity token, for platforms that put it
 * in a variable of their own (@pulumi/tailscale's `identityTokenEnvironmentVariableName`). Read in the
 * stack config's place, after `tailscale:identityToken`.
 */
export const IDENTITY_TOKEN_VARIABLE_KEY = "tailscale:identityTokenEnvironmentVariableName";

/** The provider configuration keys read by {@link configure}. */
export const PROVIDER_CONFIG_KEYS: readonly string[] = [
  "kubernetes:kubeconfig",
  "kubernetes:context",
  ...Object.values(TAILSCALE_SETTINGS).map((s) => s.config),
  IDENTITY_TOKEN_VARIABLE_KEY,
];

/** What the dynamic-provider host hands to `configure()`. */
export interface ProviderConfigSource {
  get(key: string): string | undefined;
}

/** Environment variables read (all optional). */
export type Environment = Record<string, string | undefined>;

let providerConfig: Record<string, string> = {};

/** Stores the provider configuration values. Never throws and never does I/O. */
export function configure(config: ProviderConfigSource): void {
  const next: Record<string, string> = {};
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

/**
 * Tailscale credentials after lookup: an OAuth client (id + secret), a federated identity (id + identity
 * token source), or an API key.
 */
export interface ResolvedTailscaleCredentials {
  oauthClientId?: string;
  oauthClientSecret?: string;
  apiKey?: string;
  /** Workload identity federation: where the identity token is read, at every exchange. */
  identityToken?: IdentityTokenSource;
  /** The audience the federated identity expects, when set, and the setting it came from. */
  audience?: { value: string; setting: string };
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

/** No credentials could be found, or they are incomplete; the message lists the places to set them. */
export class MissingCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingCredentialsError";
  }
}

/** A value as found, with the name of the setting it was found in (messages name that, never the value). */
export interface Found {
  value: string;
  setting: string;
}

/** The Tailscale settings found in one place. */
export interface TailscaleLayer {
  source: CredentialSource;
  settings: Partial<Record<TailscaleSetting, Found>>;
  /** Why a setting the user pointed at is absent, for the message when the layer is incomplete. */
  notes?: string[];
}

interface Layer {
  source: CredentialSource;
  kubeconfig?: string;
  context?: string;
  tailscale: TailscaleLayer;
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

function tailscaleLayer(
  source: CredentialSource,
  get: (s: (typeof TAILSCALE_SETTINGS)[TailscaleSetting]) => Found | undefined,
): TailscaleLayer {
  const settings: TailscaleLayer["settings"] = {};
  for (const [name, s] of Object.entries(TAILSCALE_SETTINGS) as [
    TailscaleSetting,
    (typeof TAILSCALE_SETTINGS)[TailscaleSetting],
  ][]) {
    const found = get(s);
    if (found) settings[name] = found;
  }
  return { source, settings };
}

function found(value: string | undefined, setting: string): Found | undefined {
  return value ? { value, setting } : undefined;
}

function layers(input: CredentialsInput | undefined, env: Environment): Layer[] {
  const c = input ?? {};
  const config = tailscaleLayer("provider config", (s) => found(providerConfig[s.config], s.config));
  const variable = providerConfig[IDENTITY_TOKEN_VARIABLE_KEY];
  if (variable && !config.settings.identityToken) {
    const setting = `${variable} (named by ${IDENTITY_TOKEN_VARIABLE_KEY})`;
    if (env[variable]) config.settings.identityToken = { value: env[variable]!, setting };
    else config.notes = [`${IDENTITY_TOKEN_VARIABLE_KEY} names ${variable}, which is not set`];
  }
  return [
    {
      source: "resource credentials",
      kubeconfig: clean(c.kubeconfig, "credentials.kubeconfig"),
      context: clean(c.kubeContext, "credentials.kubeContext"),
      tailscale: tailscaleLayer("resource credentials", (s) =>
        found(clean(c[s.input], `credentials.${s.input}`), `credentials.${s.input}`),
      ),
    },
    {
      source: "provider config",
      kubeconfig: providerConfig["kubernetes:kubeconfig"],
      context: providerConfig["kubernetes:context"],
      tailscale: config,
    },
    {
      source: "environment",
      tailscale: tailscaleLayer("environment", (s) => found(env[s.env] || undefined, s.env)),
    },
  ];
}

const TAILSCALE_WHERE =
  "Set them in one of these places: (1) the resource's `credentials` input " +
  "(tailscaleOauthClientId with tailscaleOauthClientSecret or tailscaleIdentityToken, or tailscaleApiKey); " +
  "(2) stack config: `pulumi config set tailscale:oauthClientId <id>` and " +
  "`pulumi config set --secret tailscale:oauthClientSecret <secret>` (a federated identity: " +
  "`pulumi config set tailscale:identityToken file:<path>`, or `tailscale:audience` in GitHub Actions; or " +
  "`--secret tailscale:apiKey`); (3) environment: TAILSCALE_OAUTH_CLIENT_ID with TAILSCALE_OAUTH_CLIENT_SECRET " +
  "or TAILSCALE_IDENTITY_TOKEN (or TAILSCALE_AUDIENCE), or TAILSCALE_API_KEY. Secrets and tokens may be " +
  "given as file:<path>.";

/** Which credential a place holds; the Tailscale settings it came with are in `layer`. */
export interface TailscaleChoice {
  kind: "oauth" | "federated" | "apiKey";
  layer: TailscaleLayer;
}

/**
 * Picks the credential: the first place that has a secret decides, with the client ID from the same
 * place. An OAuth client secret or an identity token (or, for a token requested from GitHub Actions, an
 * audience) is preferred over an API key in the same place; a secret together with an identity token or
 * an audience is refused, as Terraform's provider refuses it
 * (tailscale/terraform-provider-tailscale@0a85227d tailscale/provider_sdk.go:18-32). Pure.
 */
export function chooseTailscaleCredential(ls: readonly TailscaleLayer[]): TailscaleChoice {
  for (const l of ls) {
    const s = l.settings;
    const where = `the ${l.source}`;
    const federated = s.identityToken ?? s.audience;
    if (s.oauthClientSecret && federated) {
      throw new MissingCredentialsError(
        `Both an OAuth client secret (${s.oauthClientSecret.setting}) and ${s.identityToken ? "an identity token" : "an audience"} ` +
          `(${federated.setting}) are set in ${where}; set one of them: the secret for an OAuth client, the identity ` +
          "token (or, in GitHub Actions, the audience) for a federated identity.",
      );
    }
    if (s.oauthClientSecret || federated) {
      const what = s.oauthClientSecret
        ? "OAuth client secret"
        : s.identityToken
          ? "identity token"
          : "audience";
      if (!s.oauthClientId) {
        throw new MissingCredentialsError(
          `A Tailscale ${what} is set in ${where} (${(s.oauthClientSecret ?? federated)!.setting}) but its client ` +
            `id is not; set both in the same place${s.oauthClientSecret ? "" : " (the client id is the federated identity's ID)"}. ${TAILSCALE_WHERE}`,
        );
      }
      return { kind: s.oauthClientSecret ? "oauth" : "federated", layer: l };
    }
    if (s.apiKey) return { kind: "apiKey", layer: l };
    if (s.oauthClientId) {
      const notes = l.notes?.length ? ` (${l.notes.join("; ")})` : "";
      throw new MissingCredentialsError(
        `A Tailscale client id is set in ${where} (${s.oauthClientId.setting}) but neither its OAuth client secret ` +
          `nor an identity token is${notes}; set one of them in the same place. ${TAILSCALE_WHERE}`,
      );
    }
  }
  throw new MissingCredentialsError(`No Tailscale credentials were found. ${TAILSCALE_WHERE}`);
}

/** The value of a setting found in `l`, read from its file when it is a `file:` one. */
function settingOf(l: TailscaleLayer, name: TailscaleSetting): string | undefined {
  const f = l.settings[name];
  if (!f) return undefined;
  return TAILSCALE_SETTINGS[name].file ? settingValue(f.value, f.setting) : f.value;
}

/** Where a federated identity's token comes from: the setting, else GitHub Actions for the audience. */
function identityTokenSource(l: TailscaleLayer, env: Environment): IdentityTokenSource {
  const token = l.settings.identityToken;
  if (token) return identityTokenSetting(token.value, token.setting);
  const audience = l.settings.audience!;
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !requestToken) {
    throw new MissingCredentialsError(
      `${audience.setting} is set without an identity token, so the token would be requested from GitHub Actions, ` +
        "but ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: in GitHub Actions give the " +
        "job `permissions: id-token: write`; anywhere else set the identity token in the same place as the " +
        `audience (${TAILSCALE_SETTINGS.identityToken.config} or ${TAILSCALE_SETTINGS.identityToken.env}, its value ` +
        "or file:<path>, e.g. a projected ServiceAccount token). Tokens of AWS and Google Cloud are not requested " +
        "by this provider.",
    );
  }
  return {
    from: "github-actions",
    requestUrl,
    requestToken,
    audience: settingOf(l, "audience")!,
    setting: audience.setting,
  };
}

/**
 * Finds the Tailscale credentials ({@link chooseTailscaleCredential}) and reads the `file:` values among
 * them; an identity token is only located here, and read at every exchange. `tailnet` and `baseUrl` are
 * looked up on their own, in the same order.
 */
export function resolveTailscaleCredentials(
  input?: CredentialsInput,
  env: Environment = process.env,
): ResolvedTailscaleCredentials {
  const ls = layers(input, env).map((l) => l.tailscale);
  const tailnet = ls.find((l) => l.settings.tailnet)?.settings.tailnet?.value ?? "-";
  const baseUrl = ls.find((l) => l.settings.baseUrl)?.settings.baseUrl?.value;
  const { kind, layer } = chooseTailscaleCredential(ls);
  const common = { tailnet, baseUrl, source: layer.source };
  switch (kind) {
    case "apiKey":
      return { apiKey: settingOf(layer, "apiKey"), ...common };
    case "oauth":
      return {
        oauthClientId: settingOf(layer, "oauthClientId"),
        oauthClientSecret: settingOf(layer, "oauthClientSecret"),
        ...common,
      };
    case "federated": {
      const audience = layer.settings.audience;
      return {
        oauthClientId: settingOf(layer, "oauthClientId"),
        identityToken: identityTokenSource(layer, env),
        ...(audience
          ? { audience: { value: settingOf(layer, "audience")!, setting: audience.setting } }
          : {}),
        ...common,
      };
    }
  }
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

/** The client's view of a federated identity's token: read anew for every exchange. */
function federation(
  source: IdentityTokenSource,
  audience: ResolvedTailscaleCredentials["audience"],
  io: IdentityTokenIo,
): TailscaleClientOptions["identityFederation"] {
  return {
    identityToken: () => readIdentityToken(source, { fetch: io.fetch, sleep: io.sleep }),
    origin: identityTokenOrigin(source),
    audience,
  };
}

/**
 * The Tailscale client for a resource's credentials, built on first use and shared by every
 * resource with the same credential set (so the API token is fetched once). A federated identity's
 * token file is part of the set by its path, not its content: a rotated file keeps the client, which
 * reads the new token at its next exchange.
 */
export function tailscaleClientFor(
  input?: CredentialsInput,
  options: Omit<
    TailscaleClientOptions,
    "oauthClientId" | "oauthClientSecret" | "apiKey" | "identityFederation" | "tailnet" | "baseUrl"
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
      identityFederation: creds.identityToken && federation(creds.identityToken, creds.audience, options),
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
