// What the simulated tailscaled answers one HTTP request with (tests/support/cluster-sim/tailnet.ts),
// against the rules of tailscale/tailscale@de9ec7ee ipn/ipnlocal/serve.go: which handler a path
// reaches, and what a redirect or a reverse proxy makes of the request.
import assert from "node:assert/strict";
import { answer, findHandler, listener } from "../support/cluster-sim/tailnet";

describe("cluster-sim: a proxy's answer to a tailnet request", () => {
  const handlers = {
    "/": { Proxy: "http://10.96.0.30:80/" },
    "/api": { Proxy: "http://10.96.0.31:8080/api" },
    "/docs/": { Proxy: "http://10.96.0.32:80" },
  };
  const found: [path: string, mount: string | undefined][] = [
    ["/", "/"],
    ["/x/y", "/"],
    ["/api", "/api"],
    ["/api/v1/users", "/api"],
    ["/apix", "/"],
    ["/docs", "/docs/"],
    ["/docs/a/b", "/docs/"],
    ["/./api/../docs/x", "/docs/"],
  ];
  for (const [path, mount] of found) {
    it(`${path} is served by the handler at ${mount}`, () => {
      assert.equal(findHandler(handlers, path)?.mount, mount);
    });
  }
  it("no handler at / leaves other paths unserved (a 404)", () => {
    assert.equal(findHandler({ "/api": handlers["/api"] }, "/other"), undefined);
    assert.equal(findHandler(null, "/"), undefined);
  });

  const proxied: [path: string, target: string][] = [
    ["/", "http://10.96.0.30:80/"],
    ["/x/y?q=1", "http://10.96.0.30:80/x/y?q=1"],
    ["/api", "http://10.96.0.31:8080/api"],
    ["/api/v1/users", "http://10.96.0.31:8080/api/v1/users"],
    ["/docs/a", "http://10.96.0.32:80/a"],
  ];
  for (const [uri, target] of proxied) {
    it(`a proxy sends ${uri} on as ${target}`, () => {
      const path = uri.split("?")[0]!;
      const h = findHandler(handlers, path)!;
      assert.deepEqual(answer(h.handler, h.mount, "web.t.ts.net", uri), { kind: "proxy", target });
    });
  }

  it("https+insecure is HTTPS to the backend; a redirect expands HOST and REQUEST_URI; an empty handler is a 500", () => {
    assert.deepEqual(answer({ Proxy: "https+insecure://10.0.0.1:443/" }, "/", "h", "/a"), {
      kind: "proxy",
      target: "https://10.0.0.1:443/a",
    });
    assert.deepEqual(
      answer({ Redirect: `301:https://$${"{HOST}"}$${"{REQUEST_URI}"}` }, "/", "web.t.ts.net", "/a?b=1"),
      { kind: "redirect", status: 301, location: "https://web.t.ts.net/a?b=1" },
    );
    assert.deepEqual(answer({}, "/", "h", "/"), { kind: "text", status: 500, body: "empty handler" });
  });

  it("listens only where the serve config has the port: a service's under Services, a device's at the top", () => {
    const serve = {
      TCP: { "443": { HTTPS: true } },
      Web: { "node.t.ts.net:443": { Handlers: handlers } },
      Services: {
        "svc:web": {
          TCP: { "443": { HTTPS: true }, "80": { HTTP: true } },
          Web: { "web.t.ts.net:80": { Handlers: handlers } },
        },
      },
    };
    assert.deepEqual(listener(serve, "web.t.ts.net", 80, "svc:web"), {
      tcp: { HTTP: true },
      web: { Handlers: handlers },
    });
    assert.equal(listener(serve, "web.t.ts.net", 8080, "svc:web"), undefined);
    assert.equal(listener(serve, "node.t.ts.net", 80, undefined), undefined);
    assert.deepEqual(listener(serve, "node.t.ts.net", 443, undefined)?.tcp, { HTTPS: true });
  });
});
