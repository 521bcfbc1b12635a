// The provider shim: one provider object per resource kind, so Pulumi serialises its code once per kind
// and not once per resource (the SDK caches serialisations per provider object).
import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { providerFor } from "../../sdk/shim";

describe("sdk provider shim", () => {
  it("returns the same object for a kind, and a different one per kind", () => {
    assert.equal(providerFor("TailnetIngress"), providerFor("TailnetIngress"));
    assert.notEqual(providerFor("TailnetIngress"), providerFor("TailnetService"));
  });

  it("serialises to code that captures only the kind and the implementation's module name", async () => {
    const provider = providerFor("TailnetService");
    const closure = await pulumi.runtime.serializeFunction(() => provider, { isFactoryFunction: false });
    assert.match(closure.text, /"pulumi-tailnet\/provider"/);
    assert.match(closure.text, /"TailnetService"/);
    assert.doesNotMatch(closure.text, /providers|newProvider\(|Map\(/);
  });
});
