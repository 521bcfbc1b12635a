// Service IP families on IPv4-only, IPv6-only and dual-stack clusters: ipFamilyPolicy defaulting,
// ipFamilies and clusterIPs allocation from the service CIDRs, and the 422s a real server gives
// (`kubernetes/kubernetes pkg/registry/core/service/storage/alloc.go` initIPFamilyFields,
// `pkg/apis/core/validation/validation.go` ValidateServiceClusterIPsRelatedFields).
import assert from "node:assert/strict";
import { DUAL_STACK_SERVICE_CIDRS, IPV6_SERVICE_CIDRS } from "../support/kube-api";
import { type Harness, harness, raw } from "./helpers";

const SVC = "/api/v1/namespaces/default/services";
const V4 = /^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/;
const V6 = /^fd00:10:96::[0-9a-f]{1,4}$/;

type Stack = "ipv4" | "ipv6" | "dual";
type Expect = { families: string[]; policy: string } | { message: string };

const cidrs: Record<Stack, string[] | undefined> = {
  ipv4: undefined,
  ipv6: IPV6_SERVICE_CIDRS,
  dual: DUAL_STACK_SERVICE_CIDRS,
};

const notDual = (name: string) =>
  `Service "${name}" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services`;

/** What a create with only `ipFamilyPolicy` (or none) gives on each cluster. */
const POLICY_CASES: { stack: Stack; policy?: string; expect: Expect }[] = [
  { stack: "ipv4", expect: { families: ["IPv4"], policy: "SingleStack" } },
  { stack: "ipv4", policy: "PreferDualStack", expect: { families: ["IPv4"], policy: "PreferDualStack" } },
  { stack: "ipv4", policy: "RequireDualStack", expect: { message: notDual("s") } },
  { stack: "ipv6", expect: { families: ["IPv6"], policy: "SingleStack" } },
  { stack: "ipv6", policy: "PreferDualStack", expect: { families: ["IPv6"], policy: "PreferDualStack" } },
  { stack: "ipv6", policy: "RequireDualStack", expect: { message: notDual("s") } },
  { stack: "dual", expect: { families: ["IPv4"], policy: "SingleStack" } },
  { stack: "dual", policy: "SingleStack", expect: { families: ["IPv4"], policy: "SingleStack" } },
  {
    stack: "dual",
    policy: "PreferDualStack",
    expect: { families: ["IPv4", "IPv6"], policy: "PreferDualStack" },
  },
  {
    stack: "dual",
    policy: "RequireDualStack",
    expect: { families: ["IPv4", "IPv6"], policy: "RequireDualStack" },
  },
];

describe("kube-api: Service IP families", function () {
  this.timeout(30_000);
  const servers = {} as Record<Stack, Harness>;
  before(async () => {
    for (const stack of Object.keys(cidrs) as Stack[])
      servers[stack] = await harness({ serviceCIDRs: cidrs[stack] });
  });
  after(async () => {
    for (const h of Object.values(servers)) await h.server.stop();
  });
  let n = 0;
  const create = (stack: Stack, spec: Record<string, unknown>, name = `s${n++}`) =>
    raw(servers[stack].server, "POST", SVC, {
      metadata: { name },
      spec: { ports: [{ port: 80 }], selector: { app: "web" }, ...spec },
    });

  for (const c of POLICY_CASES) {
    it(`${c.stack} cluster, ipFamilyPolicy ${c.policy ?? "unset"}`, async () => {
      const name = `p${n++}`;
      const r = await create(c.stack, c.policy ? { ipFamilyPolicy: c.policy } : {}, name);
      if ("message" in c.expect) {
        assert.equal(r.status, 422, r.text);
        assert.equal(r.json.reason, "Invalid");
        assert.equal(r.json.message, c.expect.message.replace('"s"', `"${name}"`));
        return;
      }
      assert.equal(r.status, 201, r.text);
      const spec = r.json.spec;
      assert.equal(spec.ipFamilyPolicy, c.expect.policy);
      assert.deepEqual(spec.ipFamilies, c.expect.families);
      assert.equal(spec.clusterIPs.length, c.expect.families.length);
      assert.equal(spec.clusterIPs[0], spec.clusterIP, "clusterIPs[0] is clusterIP");
      c.expect.families.forEach((f, i) => {
        assert.match(spec.clusterIPs[i], f === "IPv4" ? V4 : V6);
      });
    });
  }

  it("dual-stack: ipFamilies [IPv6] makes IPv6 the primary family; PreferDualStack adds IPv4 second", async () => {
    const single = await create("dual", { ipFamilies: ["IPv6"] });
    assert.equal(single.status, 201, single.text);
    assert.deepEqual(single.json.spec.ipFamilies, ["IPv6"]);
    assert.match(single.json.spec.clusterIP, V6);
    const both = await create("dual", { ipFamilies: ["IPv6"], ipFamilyPolicy: "PreferDualStack" });
    assert.equal(both.status, 201, both.text);
    assert.deepEqual(both.json.spec.ipFamilies, ["IPv6", "IPv4"]);
    assert.match(both.json.spec.clusterIPs[0], V6);
    assert.match(both.json.spec.clusterIPs[1], V4);
  });

  it("infers ipFamilies from the given cluster IPs, in their order", async () => {
    const r = await create("dual", {
      clusterIP: "fd00:10:96::99",
      clusterIPs: ["fd00:10:96::99", "10.96.9.99"],
      ipFamilyPolicy: "RequireDualStack",
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json.spec.ipFamilies, ["IPv6", "IPv4"]);
    assert.deepEqual(r.json.spec.clusterIPs, ["fd00:10:96::99", "10.96.9.99"]);
  });

  it("refuses a family the cluster does not serve, and two IPs with SingleStack, with the real messages", async () => {
    const cases: [Stack, Record<string, unknown>, (name: string) => string][] = [
      [
        "ipv4",
        { ipFamilies: ["IPv6"] },
        (s) =>
          `Service "${s}" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster`,
      ],
      [
        "ipv6",
        { clusterIP: "10.96.0.50" },
        (s) =>
          `Service "${s}" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.0.50"]: IPv4 is not configured on this cluster`,
      ],
      [
        "dual",
        {
          clusterIP: "10.96.0.51",
          clusterIPs: ["10.96.0.51", "fd00:10:96::51"],
          ipFamilyPolicy: "SingleStack",
        },
        (s) =>
          `Service "${s}" is invalid: spec.ipFamilyPolicy: Invalid value: "SingleStack": must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified`,
      ],
      [
        "dual",
        {
          clusterIP: "10.96.0.52",
          clusterIPs: ["10.96.0.52", "10.96.0.53"],
          ipFamilyPolicy: "RequireDualStack",
        },
        (s) =>
          `Service "${s}" is invalid: spec.clusterIPs: Invalid value: ["10.96.0.52","10.96.0.53"]: may specify no more than one IP for each IP family`,
      ],
      [
        "dual",
        { clusterIP: "10.96.0.54", ipFamilies: ["IPv6"] },
        (s) =>
          `Service "${s}" is invalid: spec.clusterIPs[0]: Invalid value: "10.96.0.54": expected an IPv6 value as indicated by \`ipFamilies[0]\``,
      ],
    ];
    for (const [stack, spec, message] of cases) {
      const name = `bad${n++}`;
      const r = await create(stack, spec, name);
      assert.equal(r.status, 422, `${stack} ${JSON.stringify(spec)}: ${r.text}`);
      assert.equal(r.json.message, message(name));
    }
  });

  it("headless: with a selector it follows the policy; without one it defaults to RequireDualStack on any cluster", async () => {
    const withSelector = await create("dual", { clusterIP: "None", ipFamilyPolicy: "PreferDualStack" });
    assert.equal(withSelector.status, 201, withSelector.text);
    assert.deepEqual(withSelector.json.spec.clusterIPs, ["None"]);
    assert.deepEqual(withSelector.json.spec.ipFamilies, ["IPv4", "IPv6"]);
    const v6Selector = await create("ipv6", { clusterIP: "None", ipFamilyPolicy: "PreferDualStack" });
    assert.deepEqual(v6Selector.json.spec.ipFamilies, ["IPv6"]);
    const selectorless = await raw(servers.ipv4.server, "POST", SVC, {
      metadata: { name: "headless-no-selector" },
      spec: { clusterIP: "None", ports: [{ port: 80 }] },
    });
    assert.equal(selectorless.status, 201, selectorless.text);
    assert.equal(selectorless.json.spec.ipFamilyPolicy, "RequireDualStack");
    assert.deepEqual(selectorless.json.spec.ipFamilies, ["IPv4", "IPv6"]);
  });

  it("the kubernetes Service takes the first address of the primary service CIDR", async () => {
    assert.equal(
      servers.ipv4.server.getObject("v1", "Service", "default", "kubernetes").spec.clusterIP,
      "10.96.0.1",
    );
    assert.equal(
      servers.ipv6.server.getObject("v1", "Service", "default", "kubernetes").spec.clusterIP,
      "fd00:10:96::1",
    );
  });

  it("refuses changing a Service's IP families on update (not modelled: stricter than a real server)", async () => {
    const made = await create("dual", {}, "grow");
    assert.equal(made.status, 201, made.text);
    const r = await raw(
      servers.dual.server,
      "PATCH",
      `${SVC}/grow`,
      { spec: { ipFamilyPolicy: "PreferDualStack" } },
      "application/merge-patch+json",
    );
    assert.equal(r.status, 422, r.text);
    assert.match(
      r.json.message,
      /spec\.ipFamilyPolicy: .*not modelled by the local kube-api; recreate the Service/,
    );
  });

  it("an ExternalName Service has no IP family fields; turning it into a ClusterIP Service is refused as not modelled", async () => {
    const made = await raw(servers.dual.server, "POST", SVC, {
      metadata: { name: "ext" },
      spec: { type: "ExternalName", externalName: "db.example.com", ipFamilyPolicy: "PreferDualStack" },
    });
    assert.equal(made.status, 201, made.text);
    assert.equal(made.json.spec.ipFamilyPolicy, undefined);
    assert.equal(made.json.spec.ipFamilies, undefined);
    const r = await raw(
      servers.dual.server,
      "PATCH",
      `${SVC}/ext`,
      { spec: { type: "ClusterIP", externalName: null, ports: [{ port: 80 }] } },
      "application/merge-patch+json",
    );
    assert.equal(r.status, 422, r.text);
    assert.match(r.json.message, /spec\.type: .*not modelled by the local kube-api/);
  });
});
