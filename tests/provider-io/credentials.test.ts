import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  configure,
  kubeFor,
  MissingCredentialsError,
  resetCredentials,
  resolveKubeCredentials,
  resolveTailscaleCredentials,
  tailscaleClientFor,
} from "../../provider/credentials";
import { UNKNOWN } from "../../provider/plan/inputs";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";
import { startTailscaleApi, type TailscaleApiServer } from "../support/tailscale-api";

function kubeconfigYaml(server: string, contexts: string[] = ["main"]): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: c",
    "  cluster:",
    `    server: ${server}`,
    "users:",
    "- name: u",
    "  user:",
    "    token: kubeconfig-token-should-stay-secret",
    "contexts:",
    ...contexts.flatMap((name) => [
      `- name: ${name}`,
      "  context:",
      "    cluster: c",
      "    user: u",
      `    namespace: ns-${name}`,
    ]),
    `current-context: ${contexts[0]}`,
    "",
  ].join("\n");
}

function config(values: Record<string, string>) {
  return { get: (key: string) => values[key] };
}

describe("credentials", () => {
  let dir: string;
  const emptyEnv = () => ({ HOME: dir });

  beforeEach(() => {
    resetCredentials();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tailnet-creds-"));
  });

  afterEach(() => {
    resetCredentials();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe("Tailscale", () => {
    it("prefers the resource input, then provider config, then the environment", () => {
      const env = { TAILSCALE_API_KEY: "tskey-api-env", TAILSCALE_TAILNET: "Tenv" };
      assert.equal(resolveTailscaleCredentials(undefined, env).apiKey, "tskey-api-env");
      assert.equal(resolveTailscaleCredentials(undefined, env).source, "environment");

      configure(
        config({ "tailscale:oauthClientId": "kcfg", "tailscale:oauthClientSecret": "tskey-client-cfg" }),
      );
      const fromConfig = resolveTailscaleCredentials(undefined, env);
      assert.equal(fromConfig.source, "provider config");
      assert.equal(fromConfig.oauthClientSecret, "tskey-client-cfg");
      assert.equal(fromConfig.apiKey, undefined);
      assert.equal(fromConfig.tailnet, "Tenv", "tailnet is looked up on its own");

      const fromInput = resolveTailscaleCredentials(
        { tailscaleApiKey: "tskey-api-res", tailscaleTailnet: "Tres" },
        env,
      );
      assert.equal(fromInput.source, "resource credentials");
      assert.equal(fromInput.apiKey, "tskey-api-res");
      assert.equal(fromInput.tailnet, "Tres");
    });

    it("defaults the tailnet to '-' and reads the base URL", () => {
      const r = resolveTailscaleCredentials(undefined, {
        TAILSCALE_OAUTH_CLIENT_ID: "k1",
        TAILSCALE_OAUTH_CLIENT_SECRET: "tskey-client-1",
        TAILSCALE_BASE_URL: "http://127.0.0.1:9",
      });
      assert.equal(r.tailnet, "-");
      assert.equal(r.baseUrl, "http://127.0.0.1:9");
    });

    it("says where to set credentials when there are none, without inventing any", () => {
      assert.throws(
        () => resolveTailscaleCredentials(undefined, {}),
        (e: unknown) =>
          e instanceof MissingCredentialsError &&
          /credentials` input/.test(e.message) &&
          /tailscale:oauthClientId/.test(e.message) &&
          /TAILSCALE_OAUTH_CLIENT_SECRET/.test(e.message),
      );
    });

    it("refuses a secret without its client id, naming where it was found but not the secret", () => {
      configure(config({ "tailscale:oauthClientSecret": "tskey-client-lonely" }));
      assert.throws(
        () => resolveTailscaleCredentials(undefined, {}),
        (e: unknown) =>
          e instanceof MissingCredentialsError &&
          /provider config/.test(e.message) &&
          !e.message.includes("tskey-client-lonely"),
      );
    });

    it("rejects a preview unknown with a clear message", () => {
      assert.throws(() => resolveTailscaleCredentials({ tailscaleApiKey: UNKNOWN }, {}), /not known yet/);
    });

    it("builds clients lazily and memoises them per credential set", () => {
      configure(config({ "tailscale:apiKey": "tskey-api-a" }));
      const a1 = tailscaleClientFor(undefined, {}, {});
      const a2 = tailscaleClientFor(undefined, {}, {});
      const b = tailscaleClientFor({ tailscaleApiKey: "tskey-api-b" }, {}, {});
      assert.equal(a1, a2);
      assert.notEqual(a1, b);
      assert.equal(a1.requestCount, 0, "building a client sends nothing");
    });

    it("configure only stores values and ignores a throwing config source", () => {
      configure({
        get: () => {
          throw new Error("boom");
        },
      });
      assert.throws(() => resolveTailscaleCredentials(undefined, {}), MissingCredentialsError);
    });
  });

  describe("Kubernetes", () => {
    it("takes kubeconfig YAML or a path from the resource, then provider config", () => {
      const file = path.join(dir, "kc.yaml");
      fs.writeFileSync(file, kubeconfigYaml("https://127.0.0.1:6443"));
      configure(config({ "kubernetes:kubeconfig": file, "kubernetes:context": "main" }));
      const fromConfig = resolveKubeCredentials(undefined, emptyEnv());
      assert.deepEqual(fromConfig, {
        kind: "kubeconfig",
        kubeconfig: file,
        context: "main",
        source: "provider config",
      });
      const yaml = kubeconfigYaml("https://127.0.0.1:7443");
      const fromInput = resolveKubeCredentials({ kubeconfig: yaml }, emptyEnv());
      assert.equal(fromInput.kind, "kubeconfig");
      assert.equal(fromInput.source, "resource credentials");
      assert.equal(kubeFor({ kubeconfig: yaml }, emptyEnv()).server, "https://127.0.0.1:7443");
      assert.equal(kubeFor(undefined, emptyEnv()).server, "https://127.0.0.1:6443");
    });

    it("reads KUBECONFIG path lists and merges the files", () => {
      const a = path.join(dir, "a.yaml");
      const b = path.join(dir, "b.yaml");
      fs.writeFileSync(a, kubeconfigYaml("https://127.0.0.1:1111", ["one"]));
      fs.writeFileSync(b, kubeconfigYaml("https://127.0.0.1:1111", ["two"]));
      const env = { ...emptyEnv(), KUBECONFIG: [a, path.join(dir, "missing.yaml"), b].join(path.delimiter) };
      const r = resolveKubeCredentials({ kubeContext: "two" }, env);
      assert.deepEqual(r, { kind: "files", files: [a, b], context: "two", source: "environment" });
      assert.equal(kubeFor({ kubeContext: "two" }, env).server, "https://127.0.0.1:1111");
    });

    it("falls back to ~/.kube/config", () => {
      fs.mkdirSync(path.join(dir, ".kube"));
      fs.writeFileSync(path.join(dir, ".kube", "config"), kubeconfigYaml("https://127.0.0.1:2222"));
      assert.equal(kubeFor(undefined, emptyEnv()).server, "https://127.0.0.1:2222");
    });

    it("lists the three places when no kubeconfig exists", () => {
      assert.throws(
        () => resolveKubeCredentials(undefined, emptyEnv()),
        (e: unknown) =>
          e instanceof MissingCredentialsError &&
          /credentials.kubeconfig/.test(e.message) &&
          /kubernetes:kubeconfig/.test(e.message) &&
          /KUBECONFIG/.test(e.message),
      );
      assert.throws(
        () => resolveKubeCredentials(undefined, { ...emptyEnv(), KUBECONFIG: path.join(dir, "nope") }),
        /KUBECONFIG names a file that does not exist/,
      );
    });

    it("memoises per credential set and reports an unknown context with the available ones", () => {
      const yaml = kubeconfigYaml("https://127.0.0.1:3333", ["main", "other"]);
      const k1 = kubeFor({ kubeconfig: yaml }, emptyEnv());
      assert.equal(kubeFor({ kubeconfig: yaml }, emptyEnv()), k1);
      assert.notEqual(kubeFor({ kubeconfig: yaml, kubeContext: "other" }, emptyEnv()), k1);
      assert.throws(
        () => kubeFor({ kubeconfig: yaml, kubeContext: "nope" }, emptyEnv()),
        (e: unknown) =>
          e instanceof Error &&
          /no context "nope" \(available: main, other\)/.test(e.message) &&
          !e.message.includes("kubeconfig-token-should-stay-secret"),
      );
    });

    it("reports a missing kubeconfig path", () => {
      assert.throws(
        () => kubeFor({ kubeconfig: path.join(dir, "absent.yaml") }, emptyEnv()),
        /does not exist; set kubernetes:kubeconfig/,
      );
    });
  });
});

describe("credentials wired to the local servers", () => {
  let kubeApi: KubeApiServer;
  let tsApi: TailscaleApiServer;

  before(async () => {
    [kubeApi, tsApi] = await Promise.all([startKubeApiServer(), startTailscaleApi()]);
  });

  after(async () => {
    resetCredentials();
    await Promise.all([kubeApi?.stop(), tsApi?.stop()]);
  });

  it("builds working clients from provider config, once per credential set", async () => {
    resetCredentials();
    const oauth = tsApi.createOAuthClient({
      scopes: ["devices:core", "auth_keys"],
      tags: ["tag:k8s-operator"],
    });
    configure(
      config({
        "kubernetes:kubeconfig": kubeApi.kubeconfig(),
        "tailscale:oauthClientId": oauth.clientId,
        "tailscale:oauthClientSecret": oauth.clientSecret,
        "tailscale:baseUrl": tsApi.url,
      }),
    );
    const kube = kubeFor(undefined, {});
    const ns = await kube.get({ apiVersion: "v1", kind: "Namespace", name: "default" });
    assert.equal(ns?.metadata.name, "default");
    const ts = tailscaleClientFor(undefined, {}, {});
    assert.deepEqual(
      (await ts.listDevices()).map((d) => d.name),
      ["hello.ts.net"],
      "a new tailnet lists only the shared-in hello device",
    );
    assert.equal(tailscaleClientFor(undefined, {}, {}), ts);
    assert.equal(kubeFor(undefined, {}), kube);
  });

  it("a 401 from the cluster says where the kubeconfig came from and how to replace it there", async () => {
    resetCredentials();
    const revoked = kubeApi.kubeconfig().replace(/token: .*/, "token: revoked-token-never-in-messages");
    assert.notEqual(revoked, kubeApi.kubeconfig(), "the kubeconfig authenticates with a token");
    const ref = { apiVersion: "v1", kind: "Namespace", name: "default" };
    const failure = async (kube: ReturnType<typeof kubeFor>) => {
      const err = await kube.get(ref).then(
        () => undefined,
        (e: Error & { code?: number }) => e,
      );
      assert.equal(err?.code, 401, String(err));
      assert.ok(!err.message.includes("revoked-token-never-in-messages"), "the token stays out");
      return err.message;
    };

    configure(config({ "kubernetes:kubeconfig": revoked }));
    const recorded = await failure(kubeFor(undefined, {}));
    assert.match(recorded, /stack configuration \(kubernetes:kubeconfig \/ kubernetes:context\)/);
    assert.match(recorded, /recorded in the state at the last `pulumi up`/);
    assert.match(
      recorded,
      /run `pulumi up` first .* or run `pulumi refresh --run-program` \/ `pulumi destroy --run-program`/,
    );

    const input = await failure(kubeFor({ kubeconfig: revoked }, {}));
    assert.match(input, /the resource's `credentials` input/);

    configure(config({}));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kube401-"));
    const file = path.join(dir, "config");
    fs.writeFileSync(file, revoked);
    const env = await failure(kubeFor(undefined, { KUBECONFIG: file }));
    assert.match(env, /rejected the kubeconfig's credentials .*: refresh them in KUBECONFIG/);
    assert.doesNotMatch(env, /--run-program/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
