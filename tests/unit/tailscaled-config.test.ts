import assert from "node:assert/strict";
import { renderTailscaledConfig, renderTailscaledConfigFiles } from "../../provider/plan/tailscaled-config";

describe("tailscaled config files (parity: testutils_test.go expected cap files)", () => {
  it("unit-test shape: key new-authkey, hostname default-test, no ServerURL", () => {
    assert.deepEqual(renderTailscaledConfigFiles({ hostname: "default-test", authKey: "new-authkey" }), {
      "cap-95.hujson":
        '{"Version":"alpha0","Locked":false,"AuthKey":"new-authkey","Hostname":"default-test","acceptDNS":false,"acceptRoutes":false,"NoStatefulFiltering":true}',
      "cap-107.hujson":
        '{"Version":"alpha0","Locked":false,"AuthKey":"new-authkey","Hostname":"default-test","acceptDNS":false,"acceptRoutes":false,"AppConnector":{"Advertise":false},"NoStatefulFiltering":true}',
    });
  });
  it("production shape: ServerURL before AuthKey", () => {
    assert.equal(
      renderTailscaledConfig(
        { hostname: "web", authKey: "tskey-auth-x", serverUrl: "https://controlplane.tailscale.com" },
        107,
      ),
      '{"Version":"alpha0","Locked":false,"ServerURL":"https://controlplane.tailscale.com","AuthKey":"tskey-auth-x","Hostname":"web","acceptDNS":false,"acceptRoutes":false,"AppConnector":{"Advertise":false},"NoStatefulFiltering":true}',
    );
  });
  it("parity Test_authKeyRemoval: without a key the AuthKey field is absent", () => {
    assert.equal(
      renderTailscaledConfig({ hostname: "default-test" }, 95),
      '{"Version":"alpha0","Locked":false,"Hostname":"default-test","acceptDNS":false,"acceptRoutes":false,"NoStatefulFiltering":true}',
    );
  });
  it("parity TestProxyClassForService: acceptRoutes from the ProxyClass", () => {
    assert.match(renderTailscaledConfig({ hostname: "h", acceptRoutes: true }, 107), /"acceptRoutes":true/);
  });
  it("escapes strings as Go does", () => {
    assert.match(renderTailscaledConfig({ hostname: "a<b>&" }, 95), /"Hostname":"a\\u003cb\\u003e\\u0026"/);
  });
});
