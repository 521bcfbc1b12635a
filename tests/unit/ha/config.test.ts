import assert from "node:assert/strict";
import {
  advertisedServicesFromConfig,
  authKeyFromConfig,
  readReplicaProfile,
  renderReplicaConfig,
  replicaAdvertises,
  tailnetDomainFromStates,
  withAdvertisedService,
} from "../../../provider/plan/ha";

describe("ha/config: cap-106.hujson", () => {
  it("renders the operator's bytes for a fresh replica (derived example of docs/operator-parity.md, section ProxyGroup)", () => {
    assert.equal(
      renderReplicaConfig({
        hostname: "ingress-pg-0",
        authKey: "tskey-auth-XXXX",
        controlUrl: "https://controlplane.tailscale.com",
      }),
      '{"Version":"alpha0","Locked":false,"ServerURL":"https://controlplane.tailscale.com","AuthKey":"tskey-auth-XXXX","Hostname":"ingress-pg-0","acceptDNS":false,"acceptRoutes":false}',
    );
  });

  it("verifyTailscaledConfig: {} → add svc:a, svc:b in insertion order → remove both", () => {
    let c = withAdvertisedService("{}", "svc:a", true);
    assert.equal(c, '{"Version":"","AdvertiseServices":["svc:a"]}');
    c = withAdvertisedService(c, "svc:b", true);
    assert.equal(c, '{"Version":"","AdvertiseServices":["svc:a","svc:b"]}');
    assert.equal(withAdvertisedService(c, "svc:a", true), c, "already advertised: input returned unchanged");
    c = withAdvertisedService(c, "svc:a", false);
    c = withAdvertisedService(c, "svc:b", false);
    assert.equal(c, '{"Version":""}');
  });

  it("editing our own config keeps every field in Go's order, including the auth key and unknown fields", () => {
    const ours =
      '{"Version":"alpha0","Locked":false,"AuthKey":"tskey-auth-k","Hostname":"pg-0","acceptDNS":false,"acceptRoutes":false,"NewField":1}';
    assert.equal(
      withAdvertisedService(ours, "svc:web", true),
      '{"Version":"alpha0","Locked":false,"AuthKey":"tskey-auth-k","Hostname":"pg-0","acceptDNS":false,"acceptRoutes":false,"AdvertiseServices":["svc:web"],"NewField":1}',
    );
  });

  it("an absent file is treated as {}", () => {
    assert.equal(
      withAdvertisedService(undefined, "svc:a", true),
      '{"Version":"","AdvertiseServices":["svc:a"]}',
    );
    assert.equal(withAdvertisedService(undefined, "svc:a", false), "{}");
  });

  it("reads AdvertiseServices and AuthKey (case-insensitive keys, as Go)", () => {
    assert.deepEqual(advertisedServicesFromConfig('{"advertiseservices":["svc1","svc2"]}'), ["svc1", "svc2"]);
    assert.deepEqual(advertisedServicesFromConfig(undefined), []);
    assert.equal(authKeyFromConfig('{"AuthKey":"existing-auth-key"}'), "existing-auth-key");
    assert.equal(authKeyFromConfig('{"AuthKey":""}'), undefined);
  });

  it("invalid JSON errors never echo the content (it may hold an auth key)", () => {
    assert.throws(
      () => withAdvertisedService('{"AuthKey":"tskey-auth-secret"', "svc:a", true),
      (e: unknown) =>
        e instanceof Error &&
        e.message.startsWith("tailscaled config cap-106.hujson is not valid JSON") &&
        !e.message.includes("tskey-auth-secret"),
    );
  });
});

describe("ha/config: state Secrets", () => {
  const state = {
    "_current-profile": "profile-abc",
    "profile-abc":
      '{"Config":{"NodeID":"nodeid-0","UserProfile":{"LoginName":"pg-0.tailxyz.ts.net"}},"AdvertiseServices":["svc:my-svc"]}',
  };

  it("reads the current profile's applied prefs", () => {
    assert.deepEqual(readReplicaProfile(state), {
      nodeId: "nodeid-0",
      loginName: "pg-0.tailxyz.ts.net",
      advertiseServices: ["svc:my-svc"],
    });
    assert.equal(replicaAdvertises(state, "svc:my-svc"), true);
    assert.equal(replicaAdvertises(state, "svc:other"), false);
    // The operator fixture's prefs: AdvertiseServices null.
    assert.equal(
      replicaAdvertises(
        {
          "_current-profile": "test",
          test: '{"Config":{"NodeID":"test","UserProfile":{"LoginName":"test.ts.net"}},"AdvertiseServices":null}',
        },
        "svc:my-svc",
      ),
      false,
    );
    assert.equal(readReplicaProfile({}), undefined);
    assert.equal(readReplicaProfile({ "_current-profile": "p", p: "{half" }), undefined);
  });

  it("tailnet domain from the first replica that has one (LoginName test.ts.net → ts.net)", () => {
    assert.equal(tailnetDomainFromStates([undefined, state]), "tailxyz.ts.net");
    assert.equal(
      tailnetDomainFromStates([
        {
          "_current-profile": "test",
          test: '{"Config":{"NodeID":"test","UserProfile":{"LoginName":"test.ts.net"}}}',
        },
      ]),
      "ts.net",
    );
    assert.equal(
      tailnetDomainFromStates([{ device_fqdn: "pg-1.tails-scales.ts.net." }]),
      "tails-scales.ts.net",
    );
    assert.equal(tailnetDomainFromStates([{}, undefined]), undefined);
  });
});
