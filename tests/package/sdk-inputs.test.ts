// Every input the SDK sends is one the provider declares, and every declared input a program or the
// SDK sets is sent: the SDK classes are constructed with every argument under Pulumi's mocks (in a
// process of their own, sdk-inputs.ts), and the keys of what they send are compared with the kinds'
// declarations (provider/plan/schema/). A key the SDK grows without a declaration fails here (and
// check would refuse it); a declared argument the SDK forgets to pass fails here too.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as path from "node:path";
import { promisify } from "node:util";
import { CERTIFICATE_BUDGET } from "../../provider/plan/schema/certificateBudget";
import type { KindSchema } from "../../provider/plan/schema/field";
import { PROXY_GROUP } from "../../provider/plan/schema/proxyGroup";
import { TAILNET_INGRESS } from "../../provider/plan/schema/tailnetIngress";
import { TAILNET_SERVICE } from "../../provider/plan/schema/tailnetService";

const ROOT = path.resolve(__dirname, "../..");

/** The keys a kind's SDK class sends: every declared field but those check derives. */
function expectedKeys(schema: KindSchema<any, any>): string[] {
  return Object.entries(schema.fields)
    .filter(([, spec]) => spec.origin !== "check")
    .map(([key]) => key)
    .sort();
}

describe("the SDK sends exactly the inputs the provider declares", function () {
  this.timeout(60_000);
  let sent: Record<string, string[]>;
  let urns: { sent: string; registered: string };

  before(async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--import", "tsx", path.join("tests", "package", "sdk-inputs.ts")],
      { cwd: ROOT },
    );
    ({ sent, urns } = JSON.parse(stdout));
  });

  for (const schema of [TAILNET_SERVICE, TAILNET_INGRESS, PROXY_GROUP, CERTIFICATE_BUDGET]) {
    it(schema.kind, () => {
      assert.ok(sent[schema.kind], `the SDK constructed no ${schema.kind}`);
      assert.deepEqual(sent[schema.kind], expectedKeys(schema));
    });
  }

  it("resourceUrn is the URN the resource is registered under, its parent's type included", () => {
    assert.equal(urns.sent, urns.registered);
    assert.equal(
      urns.sent,
      "urn:pulumi:dev::proj::test:index:Group$pulumi-nodejs:dynamic/tailnet:TailnetService::child",
    );
  });
});
