import assert from "node:assert/strict";
import { HTTP_ENDPOINT_STANDALONE } from "../../provider/plan/ha/ingress";
import { ingressHostname, serviceHostname } from "../../provider/plan/hostnames";
import type { TailnetIngressInput, TailnetServiceInput } from "../../provider/plan/inputs";
import { containsUnknown, UNKNOWN } from "../../provider/plan/inputs";
import { checkProxyClass } from "../../provider/plan/schema/proxyClass";
import { checkTailnetIngress } from "../../provider/plan/schema/tailnetIngress";
import { checkTailnetService } from "../../provider/plan/schema/tailnetService";
import { checkTag, imageReferenceError, portNameErrors, validLabel } from "../../provider/plan/syntax";

const K8S_DNS1123 =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const K8S_DNS1035 =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

describe("validLabel (parity: dnsname.ValidLabel texts)", () => {
  const long = "a".repeat(64);
  const cases: [string, string | undefined][] = [
    ["default-test", undefined],
    ["a", undefined],
    ["Reindeer-Flotilla", undefined],
    ["a".repeat(63), undefined],
    ["", "empty DNS label"],
    [long, `"${long}" is too long, max length is 63 bytes`],
    ["-abc", '"-abc" is not a valid DNS label: must start with a letter or number'],
    ["abc-", '"abc-" is not a valid DNS label: must end with a letter or number'],
    ["a_b", "\"a_b\" is not a valid DNS label: contains invalid character '_'"],
    ["a.b", "\"a.b\" is not a valid DNS label: contains invalid character '.'"],
    ["aé", '"aé" is not a valid DNS label: must end with a letter or number'],
    ['a"b', '"a\\"b" is not a valid DNS label: contains invalid character \'"\''],
    ["a'b", "\"a'b\" is not a valid DNS label: contains invalid character '\\''"],
  ];
  for (const [label, want] of cases) {
    it(`${JSON.stringify(label.length > 20 ? `${label.slice(0, 10)}…(${label.length})` : label)} → ${want ?? "valid"}`, () => {
      assert.equal(validLabel(label), want);
    });
  }
  it("counts bytes, not characters (multi-byte UTF-8 counts toward 63)", () => {
    const label = `a${"é".repeat(31)}a`; // 1 + 62 + 1 = 64 bytes, 33 characters
    assert.equal(validLabel(label), `"${label}" is too long, max length is 63 bytes`);
  });
});

describe("checkTag (parity: tailcfg.CheckTag texts)", () => {
  const cases: [string, string | undefined][] = [
    ["tag:k8s", undefined],
    ["tag:k8s-operator", undefined],
    ["tag:A1", undefined],
    ["k8s", "tags must start with 'tag:'"],
    ["Tag:k8s", "tags must start with 'tag:'"],
    ["tag:", "tag names must not be empty"],
    ["tag:1abc", "tag names must start with a letter, after 'tag:'"],
    ["tag:-abc", "tag names must start with a letter, after 'tag:'"],
    ["tag:invalid!", "tag names can only contain numbers, letters, or dashes"],
    ["tag:a_b", "tag names can only contain numbers, letters, or dashes"],
    ["tag:a b", "tag names can only contain numbers, letters, or dashes"],
  ];
  for (const [tag, want] of cases) {
    it(`${JSON.stringify(tag)} → ${want ?? "valid"}`, () => assert.equal(checkTag(tag), want));
  }
});

describe("port names (Kubernetes IANA_SVC_NAME texts)", () => {
  const cases: [string, string[]][] = [
    ["http", []],
    ["https-alt", []],
    ["a-very-long-port-name", ["must be no more than 15 characters"]],
    [
      "HTTP",
      [
        "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        "must contain at least one letter (a-z)",
      ],
    ],
    ["80-90", ["must contain at least one letter (a-z)"]],
    ["a--b", ["must not contain consecutive hyphens"]],
    ["-ab", ["must not begin or end with a hyphen"]],
  ];
  for (const [name, want] of cases) it(`${name}`, () => assert.deepEqual(portNameErrors(name), want));
});

describe("image references", () => {
  const valid = [
    "tailscale/tailscale",
    "tailscale/tailscale:stable",
    "ghcr.io/my-repo/tailscale:v0.01testsomething",
    "localhost:5000/tailscale:v1",
    `tailscale/tailscale@sha256:${"a".repeat(64)}`,
    `docker.io/tailscale/tailscale:v1.84.0@sha256:${"0".repeat(64)}`,
  ];
  for (const image of valid)
    it(`accepts ${image.slice(0, 50)}`, () => assert.equal(imageReferenceError(image), undefined));
  const invalid: [string, string][] = [
    [
      "tailscale/tailscale:",
      'invalid image reference "tailscale/tailscale:": invalid reference format; expected [registry/]repository[:tag][@digest], e.g. "tailscale/tailscale:v1.84.0"',
    ],
    [
      "Tailscale/Tailscale",
      'invalid image reference "Tailscale/Tailscale": repository name must be lowercase',
    ],
    [
      "tailscale tailscale",
      'invalid image reference "tailscale tailscale": invalid reference format; expected [registry/]repository[:tag][@digest], e.g. "tailscale/tailscale:v1.84.0"',
    ],
  ];
  for (const [image, want] of invalid)
    it(`refuses ${JSON.stringify(image)}`, () => assert.equal(imageReferenceError(image), want));
});

describe("hostname derivation", () => {
  it("TailnetService: <namespace>-<name> as the operator", () => {
    assert.deepEqual(serviceHostname({ service: { namespace: "default", name: "test" } }), {
      hostname: "default-test",
      source: "service",
    });
  });
  it("TailnetService: first label of an explicit hostname (parity: TestCustomHostname)", () => {
    assert.deepEqual(
      serviceHostname({ hostname: "reindeer-flotilla", service: { namespace: "default", name: "test" } }),
      {
        hostname: "reindeer-flotilla",
        source: "hostname",
      },
    );
    assert.equal(
      serviceHostname({ hostname: "db.tail1234.ts.net", service: { namespace: "a", name: "b" } })?.hostname,
      "db",
    );
  });
  it("TailnetIngress: hostname, else first rule host, else the resource name (differs: operator uses <ns>-<name>-ingress)", () => {
    assert.equal(ingressHostname({ ownerId: "p/s/web", hostname: "foo.tailnetxyz.ts.net" })?.hostname, "foo");
    assert.equal(
      ingressHostname({
        ownerId: "p/s/web",
        rules: [{ paths: [] }, { host: "bar.tailnetxyz.ts.net", paths: [] }],
      })?.hostname,
      "bar",
    );
    assert.deepEqual(ingressHostname({ ownerId: "proj/dev/web" }), {
      hostname: "web",
      source: "resource-name",
    });
  });
  it("is undefined while an input it depends on is unknown", () => {
    assert.equal(serviceHostname({ service: { namespace: UNKNOWN, name: "x" } }), undefined);
    assert.equal(ingressHostname({ ownerId: "p/s/x", hostname: UNKNOWN }), undefined);
    assert.equal(ingressHostname({ ownerId: "p/s/x", rules: UNKNOWN as never }), undefined);
  });
  it("containsUnknown finds the sentinel at any depth", () => {
    assert.equal(containsUnknown({ a: [{ b: UNKNOWN }] }), true);
    assert.equal(containsUnknown({ a: [{ b: "x" }] }), false);
  });
});

const svc = (over: Partial<TailnetServiceInput> = {}): TailnetServiceInput => ({
  ownerId: "proj/dev/db",
  service: { namespace: "default", name: "test" },
  ...over,
});

describe("checkTailnetService", () => {
  const long = "a".repeat(60);
  const cases: { name: string; input: TailnetServiceInput; want: { property: string; reason: string }[] }[] =
    [
      { name: "valid minimal", input: svc(), want: [] },
      {
        name: "valid full",
        input: svc({ hostname: "db", tags: ["tag:k8s", "tag:db"], namespace: "proxies" }),
        want: [],
      },
      {
        name: "derived hostname too long (operator text, our field name)",
        input: svc({ service: { namespace: "default", name: long } }),
        want: [
          {
            property: "hostname",
            reason: `invalid Tailscale hostname "default-${long}", use "hostname" to override: "default-${long}" is too long, max length is 63 bytes`,
          },
        ],
      },
      {
        name: "explicit invalid hostname",
        input: svc({ hostname: "my_db" }),
        want: [
          {
            property: "hostname",
            reason:
              'invalid Tailscale hostname specified "my_db": "my_db" is not a valid DNS label: contains invalid character \'_\'',
          },
        ],
      },
      {
        name: "FQDN hostname whose first label is invalid",
        input: svc({ hostname: "-db.tail1234.ts.net" }),
        want: [
          {
            property: "hostname",
            reason:
              'invalid Tailscale hostname specified "-db": "-db" is not a valid DNS label: must start with a letter or number',
          },
        ],
      },
      {
        name: "invalid tags, each named by index",
        input: svc({ tags: ["tag:ok", "k8s", "tag:invalid!"] }),
        want: [
          { property: "tags[1]", reason: "invalid tag \"k8s\": tags must start with 'tag:'" },
          {
            property: "tags[2]",
            reason: 'invalid tag "tag:invalid!": tag names can only contain numbers, letters, or dashes',
          },
        ],
      },
      {
        name: "empty tags",
        input: svc({ tags: [] }),
        want: [
          {
            property: "tags",
            reason:
              'must not be empty: devices created with an OAuth client must be tagged; omit "tags" to use the default ["tag:k8s"]',
          },
        ],
      },
      {
        name: "invalid namespace and Service name",
        input: svc({ namespace: "Proxies", service: { namespace: "default", name: "1db" } }),
        want: [
          { property: "service.name", reason: K8S_DNS1035 },
          { property: "namespace", reason: K8S_DNS1123 },
        ],
      },
      {
        name: "missing service",
        input: { ownerId: "p/s/x" } as TailnetServiceInput,
        want: [
          {
            property: "service",
            reason: "is required: the Service {namespace, name} to expose on the tailnet",
          },
        ],
      },
      {
        name: "missing ownerId",
        input: { service: { namespace: "default", name: "test" } } as TailnetServiceInput,
        want: [
          {
            property: "ownerId",
            reason:
              "is required: the SDK sets it to <project>/<stack>/<resource name>; construct the resource through the SDK",
          },
        ],
      },
      {
        name: "customTimeouts not in Go duration syntax, and a bad proxyGroup name",
        input: svc({
          customTimeouts: { create: "0s", delete: "5min" },
          proxyGroup: { name: "PG", namespace: "tailscale" },
        }),
        want: [
          { property: "proxyGroup.name", reason: K8S_DNS1123 },
          { property: "customTimeouts.create", reason: '"0s" must be longer than zero' },
          {
            property: "customTimeouts.delete",
            reason:
              '"5min" is not a duration (unknown unit "min" in duration "5min"); use Go duration syntax such as "5m", "1h30m" or "90s"',
          },
        ],
      },
    ];
  for (const c of cases) it(c.name, () => assert.deepEqual(checkTailnetService(c.input), c.want));

  it("skips every check on unknown values", () => {
    assert.deepEqual(
      checkTailnetService({
        ownerId: UNKNOWN,
        service: { namespace: UNKNOWN, name: UNKNOWN },
        hostname: UNKNOWN,
        tags: [UNKNOWN, "tag:ok"],
        namespace: UNKNOWN,
        proxyClass: UNKNOWN as never,
      }),
      [],
    );
    assert.deepEqual(
      checkTailnetService({ ownerId: "p/s/x", service: UNKNOWN as never, tags: UNKNOWN as never }),
      [],
    );
  });
});

const ing = (over: Partial<TailnetIngressInput> = {}): TailnetIngressInput => ({
  ownerId: "proj/dev/web",
  defaultBackend: { service: { namespace: "default", name: "test" }, port: 8080 },
  ...over,
});
const PG = { name: "ingress", namespace: "tailscale" };
const be = (port: number | string = 8080) => ({ service: { namespace: "default", name: "test" }, port });

describe("checkTailnetIngress", () => {
  const cases: { name: string; input: TailnetIngressInput; want: { property: string; reason: string }[] }[] =
    [
      { name: "valid default backend", input: ing(), want: [] },
      {
        name: "valid rules with host equal to the hostname, empty path (served at /)",
        input: ing({
          defaultBackend: undefined,
          hostname: "foo",
          rules: [
            { host: "foo.tailnetxyz.ts.net", paths: [{ path: "", pathType: "Prefix", backend: be() }] },
          ],
        }),
        want: [],
      },
      {
        name: "no backend at all",
        input: ing({ defaultBackend: undefined }),
        want: [
          {
            property: "rules",
            reason: "a TailnetIngress needs at least one backend: set defaultBackend, or rules with paths",
          },
        ],
      },
      {
        name: "rule without paths",
        input: ing({ rules: [{ paths: [] }] }),
        want: [{ property: "rules[0].paths", reason: "a rule needs at least one path {path, backend}" }],
      },
      {
        name: "two different hosts (one host per ingress, as the operator)",
        input: ing({
          defaultBackend: undefined,
          rules: [
            { host: "a.tailnetxyz.ts.net", paths: [{ path: "/", backend: be() }] },
            { host: "b.tailnetxyz.ts.net", paths: [{ path: "/b", backend: be() }] },
          ],
        }),
        want: [
          {
            property: "rules[1].host",
            reason:
              'host "b.tailnetxyz.ts.net" does not match the ingress hostname "a": a TailnetIngress serves a single host (as the Tailscale operator supports one host per Ingress); remove "host", set it to the ingress hostname, or use a second TailnetIngress',
          },
        ],
      },
      {
        name: "rule host whose first label is not a valid hostname",
        input: ing({ rules: [{ host: "my_app.example.com", paths: [{ path: "/x", backend: be() }] }] }),
        want: [
          {
            property: "hostname",
            reason:
              'invalid Tailscale hostname "my_app" taken from the first rule host, use "hostname" to override: "my_app" is not a valid DNS label: contains invalid character \'_\'',
          },
          {
            property: "rules[0].host",
            reason:
              'invalid host "my_app.example.com": its first label is not a valid Tailscale hostname: "my_app" is not a valid DNS label: contains invalid character \'_\'',
          },
        ],
      },
      {
        name: "resource name that is not a DNS label: tells the user to set hostname",
        input: ing({ ownerId: "proj/dev/my_web" }),
        want: [
          {
            property: "hostname",
            reason:
              'invalid Tailscale hostname "my_web" derived from the resource name, use "hostname" to override: "my_web" is not a valid DNS label: contains invalid character \'_\'',
          },
        ],
      },
      {
        name: "resource name longer than 63 bytes",
        input: ing({ ownerId: `proj/dev/${"w".repeat(64)}` }),
        want: [
          {
            property: "hostname",
            reason: `invalid Tailscale hostname "${"w".repeat(64)}" derived from the resource name, use "hostname" to override: "${"w".repeat(64)}" is too long, max length is 63 bytes`,
          },
        ],
      },
      {
        name: "path not absolute",
        input: ing({
          rules: [
            {
              paths: [
                { path: "/a", backend: be() },
                { path: "api", backend: be() },
              ],
            },
          ],
        }),
        want: [
          { property: "rules[0].paths[1].path", reason: 'path "api" must be absolute (start with "/")' },
        ],
      },
      {
        name: "pathType Exact is refused (tailscaled matches prefixes)",
        input: ing({ rules: [{ paths: [{ path: "/a", pathType: "Exact", backend: be() }] }] }),
        want: [
          {
            property: "rules[0].paths[0].pathType",
            reason:
              'pathType "Exact" is not supported: tailscaled routes every path as a prefix, so it would also match longer paths; use "Prefix" (or omit pathType)',
          },
        ],
      },
      {
        name: "unknown pathType",
        input: ing({ rules: [{ paths: [{ path: "/a", pathType: "Regex" as never, backend: be() }] }] }),
        want: [
          {
            property: "rules[0].paths[0].pathType",
            reason:
              'Unsupported value: "Regex": supported values: "Prefix", "ImplementationSpecific", "Exact"',
          },
        ],
      },
      {
        name: "path routed twice, and / clashes with the default backend",
        input: ing({
          rules: [
            {
              paths: [
                { path: "/", backend: be() },
                { path: "/a", backend: be() },
                { path: "/a", backend: be() },
              ],
            },
          ],
        }),
        want: [
          {
            property: "rules[0].paths[0].path",
            reason:
              'path "/" is already routed by defaultBackend (the default backend is served at "/"); each path may be routed once',
          },
          {
            property: "rules[0].paths[2].path",
            reason: 'path "/a" is already routed by rules[0].paths[1]; each path may be routed once',
          },
        ],
      },
      {
        name: "ports out of range, not integers, and invalid names",
        input: ing({
          defaultBackend: be(0),
          rules: [
            {
              paths: [
                { path: "/a", backend: be(65536) },
                { path: "/b", backend: be("HTTP_") },
                { path: "/c", backend: be(80.5) },
              ],
            },
          ],
        }),
        want: [
          {
            property: "defaultBackend.port",
            reason: "port 0 is out of range: must be an integer between 1 and 65535, inclusive",
          },
          {
            property: "rules[0].paths[0].backend.port",
            reason: "port 65536 is out of range: must be an integer between 1 and 65535, inclusive",
          },
          {
            property: "rules[0].paths[1].backend.port",
            reason:
              'invalid port name "HTTP_": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
          },
          {
            property: "rules[0].paths[1].backend.port",
            reason: 'invalid port name "HTTP_": must contain at least one letter (a-z)',
          },
          {
            property: "rules[0].paths[2].backend.port",
            reason: "port 80.5 is out of range: must be an integer between 1 and 65535, inclusive",
          },
        ],
      },
      {
        name: "numeric port string is taken as a number",
        input: ing({ defaultBackend: be("8080") }),
        want: [],
      },
      {
        name: "backendProtocol enum, funnel/httpRedirect booleans",
        input: ing({ backendProtocol: "grpc" as never, funnel: "true" as never, httpRedirect: 1 as never }),
        want: [
          { property: "funnel", reason: 'must be a boolean (true or false), got "true"' },
          { property: "httpRedirect", reason: "must be a boolean (true or false), got 1" },
          {
            property: "backendProtocol",
            reason: 'Unsupported value: "grpc": supported values: "http", "https", "https+insecure"',
          },
        ],
      },
      {
        name: "funnel with httpRedirect is accepted (funnel serves 443 only; the redirect stays tailnet-only)",
        input: ing({ funnel: true, httpRedirect: true }),
        want: [],
      },
      {
        name: "httpEndpoint with proxyGroup is accepted, alone or beside httpRedirect: false",
        input: ing({ proxyGroup: PG, httpEndpoint: true, httpRedirect: false }),
        want: [],
      },
      {
        name: "httpEndpoint without proxyGroup: refused, naming the field and the way out",
        input: ing({ httpEndpoint: true }),
        want: [{ property: "httpEndpoint", reason: HTTP_ENDPOINT_STANDALONE }],
      },
      {
        name: "httpEndpoint: false is accepted without proxyGroup (the default)",
        input: ing({ httpEndpoint: false }),
        want: [],
      },
      {
        name: "httpEndpoint with httpRedirect: refused, naming both (the operator ignores the redirect)",
        input: ing({ proxyGroup: PG, httpEndpoint: true, httpRedirect: true }),
        want: [
          {
            property: "httpEndpoint",
            reason:
              "httpEndpoint and httpRedirect cannot both be set: port 80 either serves the routes over plain HTTP (httpEndpoint) or redirects them to HTTPS (httpRedirect); remove one of them",
          },
        ],
      },
      {
        name: "httpEndpoint must be a boolean",
        input: ing({ proxyGroup: PG, httpEndpoint: "enabled" as never }),
        want: [{ property: "httpEndpoint", reason: 'must be a boolean (true or false), got "enabled"' }],
      },
      {
        name: "backend Service reference checked",
        input: ing({ defaultBackend: { service: { namespace: "Default", name: "" }, port: 80 } }),
        want: [
          { property: "defaultBackend.service.namespace", reason: K8S_DNS1123 },
          { property: "defaultBackend.service.name", reason: K8S_DNS1035 },
        ],
      },
      {
        name: "invalid tags named by index (HA and standalone alike)",
        input: ing({ tags: ["tag:"] }),
        want: [{ property: "tags[0]", reason: 'invalid tag "tag:": tag names must not be empty' }],
      },
    ];
  for (const c of cases) it(c.name, () => assert.deepEqual(checkTailnetIngress(c.input), c.want));

  it("skips checks on unknown values anywhere, and does not ask for a backend when rules are unknown", () => {
    assert.deepEqual(checkTailnetIngress({ ownerId: "p/s/web", rules: UNKNOWN as never }), []);
    assert.deepEqual(
      checkTailnetIngress({
        ownerId: "p/s/web",
        hostname: UNKNOWN,
        rules: [
          {
            host: UNKNOWN,
            paths: [
              {
                path: UNKNOWN,
                pathType: UNKNOWN as never,
                backend: { service: UNKNOWN as never, port: UNKNOWN },
              },
            ],
          },
          { paths: UNKNOWN as never },
        ],
        funnel: UNKNOWN as never,
        backendProtocol: UNKNOWN as never,
      }),
      [],
    );
  });
});

describe("checkProxyClass", () => {
  it("accepts the operator's all-fields ProxyClass", () => {
    assert.deepEqual(
      checkProxyClass({
        image: "ghcr.io/my-repo/tailscale:v0.01testsomething",
        imagePullPolicy: "IfNotPresent",
        imagePullSecrets: ["docker-creds"],
        resources: { limits: { cpu: "1000m", memory: "128Mi" }, requests: { cpu: "500m", memory: "64Mi" } },
        nodeSelector: { "beta.kubernetes.io/os": "linux" },
        tolerations: [{ operator: "Exists" }],
        priorityClassName: "high-priority",
        podLabels: { foo: "bar" },
        podAnnotations: { "foo.io/bar": "some-val" },
        statefulSetLabels: { foo: "bar" },
        statefulSetAnnotations: { "bar.io/foo": "some-val" },
        env: [
          { name: "foo", value: "bar" },
          { name: "TS_USERSPACE", value: "true" },
          { name: "bar", value: "" },
        ],
        podSecurityContext: { runAsUser: 0 },
        firewallMode: "nftables",
        acceptRoutes: true,
        enableMetrics: true,
        useLetsEncryptStagingEnvironment: true,
      }),
      [],
    );
  });
  it("reports every invalid field by path", () => {
    assert.deepEqual(
      checkProxyClass({
        image: "tailscale/Tailscale",
        imagePullPolicy: "Sometimes" as never,
        firewallMode: "ipfw" as never,
        imagePullSecrets: ["Docker_Creds"],
        podLabels: { app: "mine", "bad key!": "v", ok: "bad value!" },
        statefulSetAnnotations: { "example.com/": "x" },
        env: [{ name: "1BAD", value: "x" }],
        resources: { requests: { cpu: "lots" } },
        tolerations: [{ operator: "Exists", value: "x", effect: "Never" as never }],
      }),
      [
        {
          property: "proxyClass.image",
          reason: 'invalid image reference "tailscale/Tailscale": repository name must be lowercase',
        },
        {
          property: "proxyClass.imagePullPolicy",
          reason: 'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
        },
        {
          property: "proxyClass.firewallMode",
          reason: 'Unsupported value: "ipfw": supported values: "auto", "iptables", "nftables"',
        },
        {
          property: "proxyClass.imagePullSecrets[0]",
          reason:
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        },
        {
          property: 'proxyClass.podLabels["app"]',
          reason: 'key "app" is managed by pulumi-tailnet (it identifies the proxy) and cannot be set here',
        },
        {
          property: 'proxyClass.podLabels["bad key!"]',
          reason:
            "invalid key \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        },
        {
          property: 'proxyClass.podLabels["ok"]',
          reason:
            "invalid value \"bad value!\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
        },
        {
          property: 'proxyClass.statefulSetAnnotations["example.com/"]',
          reason: 'invalid key "example.com/": name part must be non-empty',
        },
        {
          property: "proxyClass.env[0].name",
          reason:
            "invalid name \"1BAD\": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
        },
        {
          property: "proxyClass.tolerations[0].effect",
          reason:
            'Unsupported value: "Never": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
        },
        {
          property: "proxyClass.tolerations[0].value",
          reason: "value must be empty when `operator` is 'Exists'",
        },
        {
          property: 'proxyClass.resources.requests["cpu"]',
          reason:
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        },
      ],
    );
  });
  it("topologySpreadConstraints: the API server's rules, by path", () => {
    assert.deepEqual(
      checkProxyClass({
        topologySpreadConstraints: [
          { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule" },
          {
            maxSkew: 2,
            topologyKey: "topology.kubernetes.io/zone",
            whenUnsatisfiable: "ScheduleAnyway",
            nodeTaintsPolicy: "Honor",
            nodeAffinityPolicy: "Ignore",
            labelSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["edge"] }] },
            matchLabelKeys: ["pod-template-hash"],
          },
        ],
      }),
      [],
    );
    assert.deepEqual(
      checkProxyClass({
        topologySpreadConstraints: [
          { maxSkew: 0, topologyKey: "", whenUnsatisfiable: "Never" as never, minDomains: 0 },
          {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "ScheduleAnyway",
            minDomains: 2,
            nodeTaintsPolicy: "honor" as never,
            labelSelector: {
              matchLabels: { "bad key!": "v" },
              matchExpressions: [
                { key: "app", operator: "In" },
                { key: "tier", operator: "Exists", values: ["x"] },
              ],
            },
            skew: 1,
          } as never,
          { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway" },
        ],
      }),
      [
        {
          property: "proxyClass.topologySpreadConstraints[0].maxSkew",
          reason: "must be a whole number greater than zero, got 0",
        },
        {
          property: "proxyClass.topologySpreadConstraints[0].topologyKey",
          reason: 'is required: a node label, e.g. "kubernetes.io/hostname"',
        },
        {
          property: "proxyClass.topologySpreadConstraints[0].whenUnsatisfiable",
          reason: 'Unsupported value: "Never": supported values: "DoNotSchedule", "ScheduleAnyway"',
        },
        {
          property: "proxyClass.topologySpreadConstraints[0].minDomains",
          reason: "must be a whole number greater than zero, got 0",
        },
        {
          property: "proxyClass.topologySpreadConstraints[1].skew",
          reason:
            '"skew" is not a field of a topology spread constraint, so it would be ignored: remove it or correct its spelling (fields: maxSkew, topologyKey, whenUnsatisfiable, labelSelector, minDomains, nodeAffinityPolicy, nodeTaintsPolicy, matchLabelKeys). A program built with a newer pulumi-tailnet than the one the provider runs sends what this version does not know: use one version for both.',
        },
        {
          property: "proxyClass.topologySpreadConstraints[1].minDomains",
          reason: "can only be set with whenUnsatisfiable DoNotSchedule",
        },
        {
          property: "proxyClass.topologySpreadConstraints[1].nodeTaintsPolicy",
          reason: 'Unsupported value: "honor": supported values: "Honor", "Ignore"',
        },
        {
          property: 'proxyClass.topologySpreadConstraints[1].labelSelector.matchLabels["bad key!"]',
          reason:
            "invalid key \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        },
        {
          property: "proxyClass.topologySpreadConstraints[1].labelSelector.matchExpressions[0].values",
          reason: "must be non-empty when operator is In",
        },
        {
          property: "proxyClass.topologySpreadConstraints[1].labelSelector.matchExpressions[1].values",
          reason: "must be empty when operator is Exists",
        },
        {
          property: "proxyClass.topologySpreadConstraints[2]",
          reason: 'repeats topologyKey "kubernetes.io/hostname" with whenUnsatisfiable ScheduleAnyway',
        },
      ],
    );
  });
  it("tolerates unknown values", () => {
    assert.deepEqual(
      checkProxyClass({
        image: UNKNOWN,
        env: [{ name: UNKNOWN, value: UNKNOWN }],
        podLabels: { a: UNKNOWN },
        serviceMonitor: { enable: true, labels: UNKNOWN as never },
        enableMetrics: UNKNOWN as never,
        dnsConfig: { nameservers: UNKNOWN as never },
        initContainer: { image: UNKNOWN },
      }),
      [],
    );
  });

  // The fields of nodes, DNS, the init container, debug and the ServiceMonitor: what each refuses.
  const cases: { name: string; pc: Record<string, unknown>; want: [string, string][] }[] = [
    {
      name: "valid: the operator's dnsConfig, nodeName, initContainer, debug, ServiceMonitor",
      pc: {
        nodeName: "some-node",
        dnsPolicy: "ClusterFirstWithHostNet",
        dnsConfig: {
          nameservers: ["1.1.1.1", "2001:db8::53"],
          searches: ["example.com", "test.local."],
          options: [{ name: "ndots", value: "2" }, { name: "edns0" }],
        },
        initContainer: { image: "tailscale/tailscale:v1.84.0", env: [{ name: "A", value: "1" }] },
        enableDebug: true,
        enableMetrics: true,
        serviceMonitor: { enable: true, labels: { release: "prometheus" } },
      },
      want: [],
    },
    {
      name: "a ServiceMonitor without metrics",
      pc: { serviceMonitor: { enable: true } },
      want: [
        [
          "proxyClass.serviceMonitor",
          "can only be used with proxyClass.enableMetrics: true; set it, or remove serviceMonitor",
        ],
      ],
    },
    {
      name: "a disabled ServiceMonitor needs no metrics",
      pc: { serviceMonitor: { enable: false } },
      want: [],
    },
    {
      name: "serviceMonitor: enable missing, a bad label, an unknown field",
      pc: { enableMetrics: true, serviceMonitor: { labels: { "bad key!": "v" }, selector: {} } },
      want: [
        [
          "proxyClass.serviceMonitor.selector",
          '"selector" is not a field of serviceMonitor, so it would be ignored: remove it or correct its spelling (fields: enable, labels). A program built with a newer pulumi-tailnet than the one the provider runs sends what this version does not know: use one version for both.',
        ],
        ["proxyClass.serviceMonitor.enable", "is required: true to create the ServiceMonitor"],
        [
          'proxyClass.serviceMonitor.labels["bad key!"]',
          "invalid key \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ],
      ],
    },
    {
      name: "enableDebug must be a boolean",
      pc: { enableDebug: "yes" },
      want: [["proxyClass.enableDebug", 'must be a boolean (true or false), got "yes"']],
    },
    {
      name: "nodeName must be a DNS subdomain",
      pc: { nodeName: "Node_1" },
      want: [
        [
          "proxyClass.nodeName",
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ],
      ],
    },
    {
      name: "dnsPolicy None needs dnsConfig",
      pc: { dnsPolicy: "None" },
      want: [
        [
          "proxyClass.dnsPolicy",
          "must provide `dnsConfig` when `dnsPolicy` is None: set dnsConfig with at least one nameserver, or choose another dnsPolicy",
        ],
      ],
    },
    {
      name: "dnsPolicy None needs a nameserver",
      pc: { dnsPolicy: "None", dnsConfig: { nameservers: [] } },
      want: [
        [
          "proxyClass.dnsConfig.nameservers",
          "must provide at least one DNS nameserver when `dnsPolicy` is None",
        ],
      ],
    },
    {
      name: "dnsPolicy None needs a nameserver, also when dnsConfig has none at all",
      pc: { dnsPolicy: "None", dnsConfig: { searches: ["example.com"] } },
      want: [
        [
          "proxyClass.dnsConfig.nameservers",
          "must provide at least one DNS nameserver when `dnsPolicy` is None",
        ],
      ],
    },
    {
      name: "an unsupported dnsPolicy",
      pc: { dnsPolicy: "Google" },
      want: [
        [
          "proxyClass.dnsPolicy",
          'Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
        ],
      ],
    },
    {
      name: "dnsConfig: too many nameservers, a bad address, a bad search domain, an option without a name",
      pc: {
        dnsConfig: {
          nameservers: ["1.1.1.1", "1.0.0.1", "8.8.8.8", "1.2.3.04"],
          searches: ["Example.com"],
          options: [{ value: "2" }],
        },
      },
      want: [
        ["proxyClass.dnsConfig.nameservers", "must not have more than 3 nameservers"],
        [
          "proxyClass.dnsConfig.nameservers[3]",
          "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ],
        [
          "proxyClass.dnsConfig.searches[0]",
          "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        ],
        ["proxyClass.dnsConfig.options[0].name", "must not be empty"],
      ],
    },
    {
      name: "dnsConfig: 33 search domains",
      pc: { dnsConfig: { searches: Array.from({ length: 33 }, (_, i) => `d${i}.example`) } },
      want: [["proxyClass.dnsConfig.searches", "must not have more than 32 search paths"]],
    },
    {
      name: "initContainer: debug is refused as the operator does, and its fields are checked",
      pc: {
        initContainer: {
          debug: { enable: true },
          image: "Bad Image",
          imagePullPolicy: "Maybe",
          resources: { limits: { cpu: "lots" } },
          command: ["sh"],
        },
      },
      want: [
        [
          "proxyClass.initContainer.debug",
          "debug settings cannot be configured on the init container; use enableDebug",
        ],
        [
          "proxyClass.initContainer.command",
          '"command" is not a field of initContainer, so it would be ignored: remove it or correct its spelling (fields: image, imagePullPolicy, env, resources, securityContext). A program built with a newer pulumi-tailnet than the one the provider runs sends what this version does not know: use one version for both.',
        ],
        [
          "proxyClass.initContainer.image",
          'invalid image reference "Bad Image": invalid reference format; expected [registry/]repository[:tag][@digest], e.g. "tailscale/tailscale:v1.84.0"',
        ],
        [
          "proxyClass.initContainer.imagePullPolicy",
          'Unsupported value: "Maybe": supported values: "Always", "IfNotPresent", "Never"',
        ],
        [
          'proxyClass.initContainer.resources.limits["cpu"]',
          "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(
        checkProxyClass(c.pc).map((f) => [f.property, f.reason]),
        c.want,
      );
    });
  }
});
