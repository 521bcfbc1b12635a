// biome-ignore-all lint/suspicious/noTemplateCurlyInString: serve config placeholders are literal strings that tailscaled expands
import assert from "node:assert/strict";
import type { BackendServiceFacts } from "../../provider/plan/backends";
import { PlanError } from "../../provider/plan/errors";
import type { TailnetIngressInput } from "../../provider/plan/inputs";
import {
  buildIngressServeConfig,
  resolveIngressHandlers,
  serializeServeConfig,
} from "../../provider/plan/serve-config";

const testSvc: BackendServiceFacts = {
  namespace: "default",
  name: "test",
  type: "ClusterIP",
  clusterIP: "1.2.3.4",
  clusterIPs: ["1.2.3.4"],
  ports: [{ name: "http", port: 8080, protocol: "TCP" }],
};
const facts = (...svcs: BackendServiceFacts[]) => new Map(svcs.map((s) => [`${s.namespace}/${s.name}`, s]));
const be = (port: number | string = 8080, name = "test") => ({
  service: { namespace: "default", name },
  port,
});
const serve = (
  input: Pick<
    TailnetIngressInput,
    "defaultBackend" | "rules" | "backendProtocol" | "funnel" | "httpRedirect"
  >,
  ...svcs: BackendServiceFacts[]
) =>
  serializeServeConfig(
    buildIngressServeConfig({
      handlers: resolveIngressHandlers(input, facts(...(svcs.length ? svcs : [testSvc]))),
      funnel: input.funnel,
      httpRedirect: input.httpRedirect,
    }),
  );

describe("serve config JSON (parity: byte-identical to the operator's)", () => {
  it("TestTailscaleIngress: basic", () => {
    assert.equal(
      serve({ defaultBackend: be() }),
      '{"TCP":{"443":{"HTTPS":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://1.2.3.4:8080/"}}}}}',
    );
  });
  it("TestTailscaleIngressWithHTTPRedirect", () => {
    assert.equal(
      serve({ defaultBackend: be(), httpRedirect: true }),
      '{"TCP":{"443":{"HTTPS":true},"80":{"HTTP":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://1.2.3.4:8080/"}}},"${TS_CERT_DOMAIN}:80":{"Handlers":{"/":{"Redirect":"301:https://${HOST}${REQUEST_URI}"}}}}}',
    );
  });
  it("TestTailscaleIngressIPv6: IPv6 cluster IP bracketed", () => {
    const v6: BackendServiceFacts = {
      namespace: "default",
      name: "test-ipv6",
      type: "ClusterIP",
      clusterIP: "fda9:e575:6e22:2::25",
      ports: [{ name: "http", port: 2283 }],
    };
    assert.equal(
      serve({ defaultBackend: be(2283, "test-ipv6") }, v6),
      '{"TCP":{"443":{"HTTPS":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://[fda9:e575:6e22:2::25]:2283/"}}}}}',
    );
  });
  it("funnel: AllowFunnel after Web, for 443", () => {
    assert.equal(
      serve({ defaultBackend: be(), funnel: true }),
      '{"TCP":{"443":{"HTTPS":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://1.2.3.4:8080/"}}}},"AllowFunnel":{"${TS_CERT_DOMAIN}:443":true}}',
    );
  });
  it("funnel + redirect: no AllowFunnel for :80 (differs: the operator sets it, but funnel cannot carry port 80)", () => {
    assert.equal(
      serve({ defaultBackend: be(), funnel: true, httpRedirect: true }),
      '{"TCP":{"443":{"HTTPS":true},"80":{"HTTP":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://1.2.3.4:8080/"}}},"${TS_CERT_DOMAIN}:80":{"Handlers":{"/":{"Redirect":"301:https://${HOST}${REQUEST_URI}"}}}},"AllowFunnel":{"${TS_CERT_DOMAIN}:443":true}}',
    );
  });
  it("handler keys sorted as Go strings; redirect on every mount point", () => {
    assert.equal(
      serve({
        defaultBackend: be(),
        rules: [
          {
            paths: [
              { path: "/b", backend: be() },
              { path: "/a/x", backend: be() },
            ],
          },
        ],
        httpRedirect: true,
      }),
      '{"TCP":{"443":{"HTTPS":true},"80":{"HTTP":true}},"Web":{"${TS_CERT_DOMAIN}:443":{"Handlers":{"/":{"Proxy":"http://1.2.3.4:8080/"},"/a/x":{"Proxy":"http://1.2.3.4:8080/a/x"},"/b":{"Proxy":"http://1.2.3.4:8080/b"}}},"${TS_CERT_DOMAIN}:80":{"Handlers":{"/":{"Redirect":"301:https://${HOST}${REQUEST_URI}"},"/a/x":{"Redirect":"301:https://${HOST}${REQUEST_URI}"},"/b":{"Redirect":"301:https://${HOST}${REQUEST_URI}"}}}}}',
    );
  });
  it("HA shapes: Services map, empty map omitted, null Handlers written", () => {
    assert.equal(serializeServeConfig({ Services: {} }), "{}");
    assert.equal(
      serializeServeConfig({
        Services: {
          "svc:my-svc": {
            TCP: { "443": { HTTPS: true } },
            Web: { "my-svc.tailxyz.ts.net:443": { Handlers: { "/": { Proxy: "http://10.0.0.1:8080/" } } } },
          },
        },
      }),
      '{"Services":{"svc:my-svc":{"TCP":{"443":{"HTTPS":true}},"Web":{"my-svc.tailxyz.ts.net:443":{"Handlers":{"/":{"Proxy":"http://10.0.0.1:8080/"}}}}}}}',
    );
    assert.equal(
      serializeServeConfig({ Web: { "h:443": { Handlers: null } } }),
      '{"Web":{"h:443":{"Handlers":null}}}',
    );
  });
  it("escapes <, >, & as Go does", () => {
    assert.equal(
      serializeServeConfig({ Web: { "h:443": { Handlers: { "/a&b": { Text: "<hi>" } } } } }),
      '{"Web":{"h:443":{"Handlers":{"/a\\u0026b":{"Text":"\\u003chi\\u003e"}}}}}',
    );
  });
});

describe("resolveIngressHandlers", () => {
  it("TestEmptyPath: empty path served at / (Prefix and ImplementationSpecific alike)", () => {
    for (const pathType of ["Prefix", "ImplementationSpecific"] as const) {
      const h = resolveIngressHandlers(
        { rules: [{ host: "foo.tailnetxyz.ts.net", paths: [{ path: "", pathType, backend: be() }] }] },
        facts(testSvc),
      );
      assert.deepEqual(h, [
        {
          path: "/",
          proxy: "http://1.2.3.4:8080/",
          source: "rules[0].paths[0]",
          service: { namespace: "default", name: "test" },
          port: 8080,
          scheme: "http",
        },
      ]);
    }
  });
  const schemeSvc: BackendServiceFacts = {
    namespace: "default",
    name: "test",
    type: "ClusterIP",
    clusterIP: "10.0.0.5",
    ports: [
      { name: "http", port: 8080 },
      { name: "https", port: 8443 },
      { name: "tls", port: 443 },
      { port: 9000 },
    ],
  };
  const schemes: {
    name: string;
    port: number | string;
    override?: "http" | "https" | "https+insecure";
    want: string;
  }[] = [
    { name: "port 443 → https+insecure", port: 443, want: "https+insecure://10.0.0.5:443/" },
    { name: "port named https → https+insecure", port: "https", want: "https+insecure://10.0.0.5:8443/" },
    {
      name: "numbered port whose Service port is named https → https+insecure (differs: operator uses http)",
      port: 8443,
      want: "https+insecure://10.0.0.5:8443/",
    },
    { name: "named port resolves to the Service port", port: "http", want: "http://10.0.0.5:8080/" },
    { name: "unnamed port → http", port: 9000, want: "http://10.0.0.5:9000/" },
    {
      name: "backendProtocol https overrides",
      port: 8080,
      override: "https",
      want: "https://10.0.0.5:8080/",
    },
    {
      name: "backendProtocol http overrides port 443",
      port: 443,
      override: "http",
      want: "http://10.0.0.5:443/",
    },
    {
      name: "backendProtocol https+insecure",
      port: 9000,
      override: "https+insecure",
      want: "https+insecure://10.0.0.5:9000/",
    },
  ];
  for (const c of schemes) {
    it(c.name, () => {
      const [h] = resolveIngressHandlers(
        { defaultBackend: be(c.port), backendProtocol: c.override },
        facts(schemeSvc),
      );
      assert.equal(h!.proxy, c.want);
    });
  }

  const errors: {
    name: string;
    svc?: BackendServiceFacts;
    port?: number | string;
    code: string;
    message: string;
  }[] = [
    {
      name: "Service missing",
      code: "BackendNotFound",
      message:
        'Service "default/test" (backend of defaultBackend) was not found: create it first, or correct the backend\'s service',
    },
    {
      name: "headless Service",
      svc: { ...testSvc, clusterIP: "None" },
      code: "HeadlessService",
      message:
        'Service "default/test" (backend of defaultBackend): headless Services are not supported; point the backend at a Service with a cluster IP',
    },
    {
      name: "ExternalName Service",
      svc: { ...testSvc, type: "ExternalName", clusterIP: "", externalName: "foo.com", ports: [] },
      code: "NoClusterIP",
      message:
        'Service "default/test" (backend of defaultBackend) has no cluster IP (type ExternalName): a TailnetIngress proxies to a Service\'s cluster IP; use a ClusterIP Service',
    },
    {
      name: "named port not on the Service",
      svc: testSvc,
      port: "https",
      code: "PortNotFound",
      message:
        'Service "default/test" (backend of defaultBackend) has no port named "https"; its ports are: http (8080)',
    },
    {
      name: "numbered port not on the Service",
      svc: testSvc,
      port: 8081,
      code: "PortNotFound",
      message:
        'Service "default/test" (backend of defaultBackend) has no port 8081; its ports are: http (8080)',
    },
  ];
  for (const c of errors) {
    it(`PlanError: ${c.name}`, () => {
      assert.throws(
        () => resolveIngressHandlers({ defaultBackend: be(c.port ?? 8080) }, c.svc ? facts(c.svc) : facts()),
        (e: unknown) => e instanceof PlanError && e.code === c.code && e.message === c.message,
      );
    });
  }
  it("PlanError lists every bad backend", () => {
    assert.throws(
      () =>
        resolveIngressHandlers(
          { defaultBackend: be(8080, "nope"), rules: [{ paths: [{ path: "/x", backend: be("grpc") }] }] },
          facts(testSvc),
        ),
      {
        name: "PlanError",
        message:
          'Service "default/nope" (backend of defaultBackend) was not found: create it first, or correct the backend\'s service; Service "default/test" (backend of rules[0].paths[0]) has no port named "grpc"; its ports are: http (8080)',
      },
    );
  });
  it("PlanError: no valid backends", () => {
    assert.throws(() => resolveIngressHandlers({}, facts(testSvc)), {
      name: "PlanError",
      message: "no valid backends: set defaultBackend, or rules with paths",
    });
  });
});
