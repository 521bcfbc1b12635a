// The simulated containerboot's layer-3 configuration, as containerboot reads and applies it
// (tailscale/tailscale@de9ec7ee cmd/containerboot settings.go, forwarding.go, ingressservices.go).
import assert from "node:assert/strict";
import {
  ingressRules,
  parseIngressConfigs,
  podIPsFromEnv,
  statusToRecord,
} from "../support/cluster-sim/ingress-proxy";

describe("cluster-sim containerboot: POD_IPS and the ingress proxy config", () => {
  it("POD_IPS: unset is none; at most two addresses, each an IP; sorted into the two families", () => {
    assert.deepEqual(podIPsFromEnv({}), {});
    assert.deepEqual(podIPsFromEnv({ POD_IPS: "10.244.0.5,fd00:10:244::5" }), {
      v4: "10.244.0.5",
      v6: "fd00:10:244::5",
    });
    assert.deepEqual(podIPsFromEnv({ POD_IPS: "fd00:10:244::5" }), { v6: "fd00:10:244::5" });
    assert.match(String(podIPsFromEnv({ POD_IPS: "" })), /error parsing IP address/, "set but empty");
    assert.match(String(podIPsFromEnv({ POD_IPS: "1.1.1.1,2.2.2.2,::3" })), /at most 2 IPs, got 3/);
  });

  const v6 = { TailscaleServiceIP: "fd7a:115c:a1e0::7", ClusterIP: "fd00:10:96::28" };
  const cases: [string, string | undefined, ReturnType<typeof parseIngressConfigs> | RegExp][] = [
    ["a missing file is no config", undefined, null],
    ["an empty file is no config", "", null],
    ["JSON null is no config", "null", null],
    ["an empty object is a config with no entries", "{}", {}],
    ["a mapping", JSON.stringify({ db: { IPv6Mapping: v6 } }), { db: { IPv6Mapping: v6 } }],
    ["whitespace only is not JSON", " ", /JSON/],
    ["an array is refused", "[]", /cannot unmarshal array/],
    [
      "an address that is not an IP",
      JSON.stringify({ db: { IPv6Mapping: { ...v6, ClusterIP: "x" } } }),
      /ParseAddr/,
    ],
    [
      "an address that is not a string",
      JSON.stringify({ db: { IPv4Mapping: { TailscaleServiceIP: 1 } } }),
      /netip\.Addr/,
    ],
  ];
  for (const [what, text, want] of cases) {
    it(`getConfigs: ${what}`, () => {
      if (want instanceof RegExp) assert.throws(() => parseIngressConfigs(text), want);
      else assert.deepEqual(parseIngressConfigs(text), want);
    });
  }

  it("EnsureDNATRuleForSvc: one rule per mapping; the zero address or two families fail the sync", () => {
    assert.deepEqual(ingressRules({ db: { IPv6Mapping: v6 } }), [
      { tailnetIP: v6.TailscaleServiceIP, destination: v6.ClusterIP },
    ]);
    assert.deepEqual(ingressRules(null), []);
    assert.throws(() => ingressRules({ db: { IPv6Mapping: { ...v6, ClusterIP: "10.96.0.1" } } }), /db/);
    assert.throws(() => ingressRules(parseIngressConfigs('{"db":{"IPv4Mapping":{}}}')), /invalid IP/);
  });

  it("recordStatus: Go's JSON, written when the configs or the Pod differ; nothing with no config and no status", () => {
    const pod = { v4: "10.244.0.5", v6: "fd00:10:244::5" };
    const configs = { db: { IPv6Mapping: v6 } };
    const status = `{"configs":{"db":{"IPv6Mapping":{"TailscaleServiceIP":"${v6.TailscaleServiceIP}","ClusterIP":"${v6.ClusterIP}"}}},"podIPv4":"10.244.0.5","podIPv6":"fd00:10:244::5"}`;
    assert.equal(statusToRecord(configs, pod, undefined), status);
    assert.equal(statusToRecord(configs, pod, status), undefined, "already recorded by this Pod");
    assert.equal(statusToRecord(configs, { v4: pod.v4 }, status)?.includes("podIPv6"), false, "another Pod");
    assert.equal(statusToRecord(null, pod, undefined), undefined);
    assert.equal(statusToRecord(null, pod, status), '{"podIPv4":"10.244.0.5","podIPv6":"fd00:10:244::5"}');
    assert.equal(statusToRecord({}, {}, undefined), "{}", "an empty config is recorded, configs omitted");
  });
});
