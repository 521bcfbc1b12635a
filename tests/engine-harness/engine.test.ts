import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  type BuiltinContext,
  type Builtins,
  createBackend,
  isSecret,
  type PropertyMap,
  StackHarness,
  type StepResult,
  UNKNOWN,
} from "../support/engine";

const FIXTURES = path.join(__dirname, "fixtures");

interface ToyCloud {
  objects: Record<string, { name: string; size: number }>;
  calls: { op: string; id: string | null; name?: string; changed?: string[] }[];
}

function readCloud(file: string): ToyCloud {
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { objects: {}, calls: [] };
}

function writeCloud(file: string, cloud: ToyCloud): void {
  fs.writeFileSync(file, JSON.stringify(cloud));
}

/** Index of the first operation matching kind and URN name (-1 when absent). */
function opIndex(r: StepResult, kind: string, name: string, id?: string): number {
  return r.operations.findIndex(
    (o) => o.kind === kind && o.urn.endsWith(`::${name}`) && (id === undefined || o.id === id),
  );
}

function stepOf(r: StepResult, name: string) {
  const s = r.steps.find((x) => x.name === name);
  assert.ok(s, `no step for ${name} in ${JSON.stringify(r.steps.map((x) => `${x.op} ${x.name}`))}`);
  return s;
}

function ops(r: StepResult): Record<string, string> {
  return Object.fromEntries(r.steps.map((s) => [s.name, s.op]));
}

function toyHarness(
  stack: string,
  cloudFile: string,
  extra: { backend?: ReturnType<typeof createBackend>; builtins?: Builtins } = {},
) {
  return new StackHarness({
    backend: extra.backend,
    project: "toy",
    stack,
    projectDir: path.join(FIXTURES, "toy"),
    env: { TOY_STATE_FILE: cloudFile },
    builtins: extra.builtins,
    config: { "toy:token": { secret: "tok-123" }, secretValue: { secret: "hunter2" }, warn: "true" },
  });
}

describe("engine harness: a toy program through the real dynamic-provider host", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "engine-harness-"));
  const cloudFile = path.join(tmp, "cloud.json");
  const backend = createBackend();
  const dev = toyHarness("dev", cloudFile, { backend });
  const thingCalls: { op: string; ctx: BuiltinContext; inputs?: PropertyMap }[] = [];
  const builtins: Builtins = {
    "toyb:index:Thing": {
      async create(inputs, ctx) {
        thingCalls.push({ op: "create", ctx, inputs });
        return { id: `thing-${inputs.color}`, outs: { ...inputs, shade: `dark-${inputs.color}` } };
      },
      async delete(_id, _props, ctx) {
        thingCalls.push({ op: "delete", ctx });
      },
    },
  };
  const consumerCloud = path.join(tmp, "consumer.json");
  const consumer = toyHarness("consumer", consumerCloud, { backend, builtins });
  const failCloud = path.join(tmp, "fail.json");
  const failing = toyHarness("fail", failCloud);
  let aId = "";

  after(async () => {
    await Promise.all([dev.close(), consumer.close(), failing.close()]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("preview shows creates with unknown computed outputs and never calls Create", async () => {
    const r = await dev.preview();
    assert.equal(r.failed, false, r.error);
    assert.deepEqual(ops(r), {
      "toy-dev": "create",
      group: "create",
      a: "create",
      b: "create",
      c: "create",
      d: "create",
    });
    const a = stepOf(r, "a");
    assert.equal(a.type, "pulumi-nodejs:dynamic/toy:Widget");
    assert.equal(a.outputs?.name, "alpha");
    assert.equal("generated" in (a.outputs ?? {}), false, "a computed output must not be known in preview");
    // b.label comes from a's computed output: unknown during preview, and the provider saw the sentinel in Check.
    // b.size comes from a.size, an input echoed as output, so the engine knows it.
    assert.equal(stepOf(r, "b").inputs?.label, UNKNOWN);
    assert.equal(stepOf(r, "b").inputs?.size, 2);
    assert.equal(r.outputs.aGenerated, UNKNOWN);
    assert.equal(r.operations.length, 0);
    const cloud = readCloud(cloudFile);
    assert.ok(cloud.calls.some((c) => c.op === "check"));
    assert.equal(
      cloud.calls.some((c) => c.op !== "check" && c.op !== "configure"),
      false,
    );
    assert.ok(r.logs.some((l) => l.severity === "warning" && l.message.includes("toy program warning")));
    assert.equal(dev.state.length, 0, "preview must not change the state");
  });

  it("up creates everything, keeps secrets secret in state and exports stack outputs", async () => {
    const r = await dev.up();
    assert.equal(r.failed, false, r.error);
    assert.deepEqual(ops(r), {
      "toy-dev": "create",
      group: "create",
      a: "create",
      b: "create",
      c: "create",
      d: "create",
    });
    const a = dev.resource("a");
    assert.ok(a?.id);
    aId = a.id;
    assert.equal(a.parent, dev.resource("group")?.urn);
    assert.equal(a.outputs.generated, `gen-${aId}`);
    assert.ok(isSecret(a.inputs.secretValue), "a secret input stays secret in state");
    assert.ok(
      isSecret(a.outputs.secretValue),
      "an output echoing a secret input is secret (annotateSecrets)",
    );
    assert.deepEqual(a.outputs.createdWithToken, {
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value: "to***",
    });
    assert.equal(
      a.provider?.split("::").slice(0, -1).join("::"),
      "urn:pulumi:dev::toy::pulumi:providers:pulumi-nodejs::default",
    );
    const b = dev.resource("b");
    assert.equal(b?.outputs.size, 2);
    assert.deepEqual(b?.propertyDependencies.size, [a.urn]);
    assert.ok(dev.resource("c")?.dependencies.includes(b?.urn ?? ""));
    assert.equal(r.outputs.aId, aId);
    assert.equal(r.outputs.plain, "plain-value");
    assert.ok(isSecret(r.outputs.secretOut));
    assert.equal(typeof dev.providerSource("a"), "string");
    assert.match(dev.providerSource("a") ?? "", /toy-dynprov/);
    assert.ok((dev.providerPid ?? 0) > 0);
    assert.ok(dev.peakRssKb() > 0);
    assert.equal(Object.keys(readCloud(cloudFile).objects).length, 4);
  });

  it("a second up with no change gives `same` and calls no Create/Update", async () => {
    const before = readCloud(cloudFile).calls.length;
    const r = await dev.up();
    assert.equal(r.failed, false, r.error);
    assert.ok(
      Object.values(ops(r)).every((op) => op === "same"),
      JSON.stringify(ops(r)),
    );
    assert.deepEqual(r.operations, []);
    const calls = readCloud(cloudFile).calls.slice(before);
    assert.deepEqual([...new Set(calls.map((c) => c.op))].sort(), ["check", "configure", "diff"]);
  });

  it("a config change gives an update of the affected resources only", async () => {
    dev.setConfig("size", "5");
    const r = await dev.up();
    assert.equal(r.failed, false, r.error);
    assert.equal(stepOf(r, "a").op, "update");
    assert.deepEqual(stepOf(r, "a").diffs, ["size"]);
    assert.equal(stepOf(r, "b").op, "update");
    assert.equal(stepOf(r, "c").op, "same");
    assert.equal(dev.resource("a")?.id, aId);
    assert.equal(dev.resource("a")?.outputs.size, 5);
    assert.equal(dev.resource("b")?.outputs.size, 6);
    assert.equal(readCloud(cloudFile).objects[aId].size, 5);
  });

  it("a replacing change creates the new object before deleting the old one, at the end, after dependents changed", async () => {
    dev.setConfig("aName", "alpha2");
    dev.setConfig("withD", "false");
    const r = await dev.up();
    assert.equal(r.failed, false, r.error);
    const a = stepOf(r, "a");
    assert.equal(a.op, "replace");
    assert.deepEqual(a.replaces, ["name"]);
    assert.equal(a.deleteBeforeReplace, false);
    const newId = dev.resource("a")?.id ?? "";
    assert.notEqual(newId, aId);
    const created = opIndex(r, "create", "a");
    const bUpdated = opIndex(r, "update", "b");
    const oldDeleted = opIndex(r, "delete", "a", aId);
    const dDeleted = opIndex(r, "delete", "d");
    assert.ok(created >= 0 && bUpdated > created && oldDeleted > bUpdated, JSON.stringify(r.operations));
    assert.equal(r.operations[oldDeleted].reason, "replace");
    // d left the program: deleted, and reported as a delete step.
    assert.ok(dDeleted > created);
    assert.equal(stepOf(r, "d").op, "delete");
    assert.equal(dev.resource("d"), undefined);
    assert.equal(
      dev.state.some((x) => x.pendingDelete),
      false,
    );
    assert.deepEqual(
      Object.keys(readCloud(cloudFile).objects).sort(),
      [dev.resource("b")?.id, dev.resource("c")?.id, newId].sort(),
    );
    aId = newId;
  });

  it("delete-before-replace from the provider's Diff deletes the old object first", async () => {
    dev.setConfig("aName", "alpha3");
    dev.setConfig("dbr", "true");
    const r = await dev.up();
    assert.equal(r.failed, false, r.error);
    const a = stepOf(r, "a");
    assert.equal(a.op, "replace");
    assert.equal(a.deleteBeforeReplace, true);
    const oldDeleted = opIndex(r, "delete", "a", aId);
    const created = opIndex(r, "create", "a");
    assert.ok(oldDeleted >= 0 && created > oldDeleted, JSON.stringify(r.operations));
    aId = dev.resource("a")?.id ?? "";
  });

  it("a StackReference reads another stack's outputs, secrets kept secret; builtins serve other types", async () => {
    // A one-part name is a stack of the current project (pkg/backend/diy/store.go:137-190).
    consumer.setConfig("refStack", "dev");
    consumer.setConfig("withB", "false");
    consumer.setConfig("withD", "false");
    consumer.setConfig("withThing", "true");
    const r = await consumer.up();
    assert.equal(r.failed, false, r.error);
    assert.equal(r.outputs.refPlain, "plain-value");
    assert.deepEqual(r.outputs.refSecret, {
      "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
      value: "top-secret",
    });
    const refs = r.steps.filter((s) => s.type === "pulumi:pulumi:StackReference");
    assert.deepEqual(
      refs.map((s) => s.op),
      ["read", "read"],
    );
    const thing = consumer.resource("thing", "toyb:index:Thing");
    assert.equal(thing?.outputs.shade, "dark-red");
    assert.equal(thing?.provider?.split("::")[2], "pulumi:providers:toyb");
    assert.equal(
      thingCalls[0].ctx.timeoutSeconds,
      120,
      "customTimeouts.create is passed as the create timeout",
    );
    assert.equal(thingCalls[0].ctx.config["toy:token"], "tok-123");
  });

  it("refresh drops an object deleted out of band and records drift, honouring ReadResult.inputs", async () => {
    const cloud = readCloud(cloudFile);
    const cId = dev.resource("c")?.id ?? "";
    delete cloud.objects[cId];
    cloud.objects[aId].size = 42;
    writeCloud(cloudFile, cloud);
    const r = await dev.refresh();
    assert.equal(r.failed, false, r.error);
    assert.equal(stepOf(r, "c").op, "delete");
    assert.equal(dev.resource("c"), undefined);
    const a = stepOf(r, "a");
    assert.equal(a.op, "update");
    assert.equal(a.refresh, true);
    // The toy's read returns inputs without `dbr`: the refreshed inputs lose it, and the step shows both.
    assert.deepEqual(a.diffs, ["dbr", "size"]);
    assert.equal(dev.resource("a")?.outputs.size, 42);
    assert.equal(dev.resource("a")?.inputs.size, 42);
    assert.ok(
      isSecret(dev.resource("a")?.outputs.createdWithToken),
      "additionalSecretOutputs still apply after a read",
    );
    assert.equal(stepOf(r, "b").op, "same");
    assert.deepEqual(stepOf(r, "b").diffs, []);
  });

  it("destroy deletes in reverse dependency order and empties the stack", async () => {
    const r = await dev.destroy();
    assert.equal(r.failed, false, r.error);
    const order = r.steps.map((s) => s.name);
    assert.ok(order.indexOf("b") < order.indexOf("a"), order.join(","));
    assert.ok(order.indexOf("a") < order.indexOf("group"), order.join(","));
    assert.ok(order.indexOf("group") < order.indexOf("toy-dev"), order.join(","));
    assert.ok(opIndex(r, "delete", "b") < opIndex(r, "delete", "a"));
    assert.equal(dev.state.length, 0);
    assert.deepEqual(dev.outputs, {});
    assert.deepEqual(readCloud(cloudFile).objects, {});
  });

  it("a failing create records partial state, fails the step and cancels the program; protect refuses delete", async () => {
    failing.setConfig("failCreate", "true");
    failing.setConfig("protectA", "true");
    failing.setConfig("withB", "false");
    failing.setConfig("withD", "false");
    const r = await failing.up();
    assert.equal(r.failed, true);
    assert.match(r.error ?? "", /toy create failed half-way/);
    assert.match(r.error ?? "", /the widget never became ready/);
    const f = failing.resource("f");
    assert.ok(f);
    assert.ok(f.id?.startsWith("foxtrot-"), JSON.stringify(f));
    assert.deepEqual(f.initErrors, ["toy: the widget never became ready"]);
    assert.equal(f.outputs.ready, false);
    assert.equal(typeof f.outputs.__provider, "string");
    assert.equal(stepOf(r, "f").error !== undefined, true);
    assert.equal(failing.resource("a")?.protect, true);
    assert.equal(failing.resource("g"), undefined, "nothing waiting on the failed resource was created");

    // destroy's preview already refuses the protected resource, so nothing is deleted (step.go:613-621).
    const refused = await failing.destroy();
    assert.equal(refused.failed, true);
    assert.match(refused.error ?? "", /cannot be deleted\nbecause it is protected/);
    assert.deepEqual(refused.operations, []);
    assert.ok(failing.resource("f"));

    const d = await failing.destroy({ skipPreview: true });
    assert.equal(d.failed, true);
    assert.match(d.error ?? "", /protected/);
    assert.equal(failing.resource("f"), undefined, "the unprotected dependent is deleted");
    assert.ok(failing.resource("a"), "the protected resource stays");
    assert.ok(failing.resource("group"), "its parent stays too");
    assert.deepEqual(Object.keys(readCloud(failCloud).objects), [failing.resource("a")?.id]);
  });
});
