import assert from "node:assert/strict";
import { diffProxyGroup } from "../../../provider/plan/diff";
import { UNKNOWN } from "../../../provider/plan/inputs";

const base = { ownerId: "p/s/pg", name: "pg", namespace: "tailscale", type: "ingress" };

describe("ha/diff: diffProxyGroup", () => {
  it("no change, and defaults spelled out are no change; credentials never diff, timeouts only when their durations do", () => {
    assert.deepEqual(diffProxyGroup(base, { ...base }), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
      detailedDiff: {},
    });
    assert.equal(
      diffProxyGroup(base, {
        ...base,
        replicas: 2,
        tags: ["tag:k8s"],
        hostnamePrefix: "",
        customTimeouts: {},
        credentials: {},
      }).changes,
      false,
    );
    const timed = { ...base, customTimeouts: { create: "1m", delete: "90s" } };
    assert.equal(
      diffProxyGroup(timed, { ...base, customTimeouts: { create: "60s", delete: "1m30s" } }).changes,
      false,
    );
    assert.deepEqual(
      diffProxyGroup(timed, { ...base, customTimeouts: { create: "1m", delete: "5m" } }).detailedDiff,
      {
        customTimeouts: {
          kind: "update",
          reason:
            "only how long the next create, update or delete may wait; recorded, nothing else is touched",
        },
      },
    );
    assert.equal(diffProxyGroup({ ...base, tags: [] }, base).changes, false);
  });

  it("a refreshed replica without a device asks for an in-place update that repairs it", () => {
    const device = (ordinal: number) => ({
      ordinal,
      deviceId: `n${ordinal}`,
      fqdn: `pg-${ordinal}.t.ts.net`,
    });
    const olds = { ...base, replicas: 3, devices: [device(0), device(2)] };
    const d = diffProxyGroup(olds, { ...base, replicas: 3 });
    assert.equal(d.changes, true);
    assert.deepEqual(d.replaces, []);
    assert.match(d.detailedDiff.devices!.reason, /^replica 1 of the last refresh has no tailnet device/);
    const whole = { ...olds, devices: [device(0), device(1), device(2)] };
    assert.equal(diffProxyGroup(whole, { ...base, replicas: 3 }).changes, false);
    for (const devices of [undefined, "x", [null, 5]]) {
      assert.doesNotThrow(() => diffProxyGroup({ ...base, replicas: 1, devices }, base));
    }
  });

  it("replicas scale in place, with the removed ordinals in the reason", () => {
    assert.deepEqual(diffProxyGroup({ ...base, replicas: 3 }, { ...base, replicas: 1 }), {
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
      detailedDiff: {
        replicas: {
          kind: "update",
          reason:
            "scaled down in place from 3 to 1: replicas 1..2 and their devices are removed; every pod restarts",
        },
      },
    });
    assert.equal(diffProxyGroup(base, { ...base, replicas: 4 }).detailedDiff.replicas!.kind, "add");
  });

  it("tags update in place and say they only reach new keys", () => {
    const d = diffProxyGroup(base, { ...base, tags: ["tag:edge"] });
    assert.deepEqual(d.replaces, []);
    assert.deepEqual(d.detailedDiff.tags, {
      kind: "add",
      reason:
        "updated in place, but tags only reach auth keys minted from now on (new replicas, re-issued keys): existing devices keep their current tags until they re-register",
    });
  });

  it("proxyClass, hostnamePrefix and ownerId are in place", () => {
    const d = diffProxyGroup(base, {
      ...base,
      proxyClass: { enableMetrics: true },
      hostnamePrefix: "edge",
      ownerId: "p/s/pg2",
    });
    assert.deepEqual(d.replaces, []);
    assert.deepEqual(Object.keys(d.detailedDiff).sort(), ["hostnamePrefix", "ownerId", "proxyClass"]);
  });

  it("namespace change replaces, delete first because the device hostnames stay the same", () => {
    const d = diffProxyGroup(base, { ...base, namespace: "edge" });
    assert.deepEqual(d.replaces, ["namespace"]);
    assert.equal(d.deleteBeforeReplace, true);
    assert.equal(
      d.detailedDiff.namespace!.reason,
      "the ProxyGroup's objects live in this namespace; the device hostnames stay the same, so the old ProxyGroup is deleted first (otherwise control would name the new devices with a -1 suffix)",
    );
  });

  it("name change replaces create-first (new device hostnames), unless hostnamePrefix pins them", () => {
    const d = diffProxyGroup(base, { ...base, name: "pg2" });
    assert.deepEqual(d.replaces, ["name"]);
    assert.equal(d.deleteBeforeReplace, false);
    const pinned = diffProxyGroup(
      { ...base, hostnamePrefix: "edge" },
      { ...base, name: "pg2", hostnamePrefix: "edge" },
    );
    assert.equal(pinned.deleteBeforeReplace, true);
  });

  it("an unknown value is a change, and a replacement for name/namespace/type", () => {
    const d = diffProxyGroup(base, { ...base, replicas: UNKNOWN, namespace: UNKNOWN });
    assert.equal(d.detailedDiff.replicas!.kind, "add");
    assert.match(d.detailedDiff.replicas!.reason, /\(not known until the update runs\)$/);
    assert.equal(d.detailedDiff.namespace!.kind, "update-replace");
    assert.deepEqual(d.replaces, ["namespace"]);
    assert.equal(d.deleteBeforeReplace, true);
    const unknownTags = diffProxyGroup(base, { ...base, tags: ["tag:a", UNKNOWN] });
    assert.equal(unknownTags.changes, true);
  });
});
