// `recorded` fields (ownerId): check keeps the value the resource recorded at create, so renames of
// the Pulumi resource or stack never replace it; a replacement's second Check (empty olds) takes the new.
import assert from "node:assert/strict";
import { UNKNOWN } from "../../provider/plan/inputs";
import { keepRecorded } from "../../provider/plan/schema/field";
import { PROXY_GROUP } from "../../provider/plan/schema/proxyGroup";
import { TAILNET_INGRESS } from "../../provider/plan/schema/tailnetIngress";
import { TAILNET_SERVICE } from "../../provider/plan/schema/tailnetService";

describe("recorded identity", () => {
  for (const schema of [TAILNET_SERVICE, TAILNET_INGRESS, PROXY_GROUP]) {
    it(`${schema.kind}: ownerId is kept from the recorded inputs`, () => {
      const news = { ownerId: "proj/prod/renamed", hostname: "x" };
      assert.deepEqual(keepRecorded(schema, { ownerId: "proj/dev/old" }, news), {
        ownerId: "proj/dev/old",
        hostname: "x",
      });
      assert.equal(news.ownerId, "proj/prod/renamed", "news itself is not changed");
    });
    it(`${schema.kind}: with no recorded value (create, replacement's second Check) the new one is used`, () => {
      const news = { ownerId: "proj/prod/renamed" };
      assert.equal(keepRecorded(schema, {}, news), news);
      assert.equal(keepRecorded(schema, { ownerId: UNKNOWN }, news).ownerId, "proj/prod/renamed");
      assert.equal(keepRecorded(schema, undefined, news), news);
    });
  }
  it("keeps nothing else: other fields take their new values", () => {
    const out = keepRecorded(
      TAILNET_SERVICE,
      { ownerId: "a/b/c", hostname: "old" },
      { ownerId: "a/b/d", hostname: "new" },
    );
    assert.equal(out.hostname, "new");
  });
});
