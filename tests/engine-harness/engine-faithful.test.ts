// The engine harness does what Pulumi's engine does wherever the product can feel it. Each case names the engine
// source it mirrors, at pulumi/pulumi@a88168d8 (tag v3.248.0, the pinned @pulumi/pulumi).
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  type Backend,
  type CommandResult,
  createBackend,
  generateAliases,
  isSecret,
  NO_RESPONSE_MESSAGE,
  type PropertyMap,
  type ResourceState,
  StackHarness,
  type StepResult,
} from "../support/engine";

const TOY = path.join(__dirname, "fixtures", "toy");
const WIDGET = "pulumi-nodejs:dynamic/toy:Widget";
const DEFAULT_PROVIDER = "pulumi:providers:pulumi-nodejs";

interface ToyCall {
  op: string;
  id: string | null;
  pid?: number;
  name?: string;
  token?: string | null;
  pluginConfig?: string | null;
  withOlds?: boolean;
  inputKeys?: string[];
  rootUrn?: string;
}
interface ToyCloud {
  objects: Record<string, { name: string; size: number; status?: string }>;
  calls: ToyCall[];
}

function toy(
  stack: string,
  cloudFile: string,
  o: { backend?: Backend; config?: Record<string, string>; env?: Record<string, string> } = {},
): StackHarness {
  return new StackHarness({
    backend: o.backend,
    project: "toy",
    stack,
    projectDir: TOY,
    env: { TOY_STATE_FILE: cloudFile, ...(o.env ?? {}) },
    config: {
      "toy:token": { secret: "tok-123" },
      secretValue: { secret: "hunter2" },
      warn: "true",
      ...(o.config ?? {}),
    },
  });
}

function cloudOf(file: string): ToyCloud {
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : { objects: {}, calls: [] };
}

/** Runs `fn` and returns the toy calls it caused. */
async function callsDuring<T>(file: string, fn: () => Promise<T>): Promise<{ result: T; calls: ToyCall[] }> {
  const before = cloudOf(file).calls.length;
  const result = await fn();
  return { result, calls: cloudOf(file).calls.slice(before) };
}

function ok(r: StepResult): void {
  assert.equal(r.failed, false, r.error);
}

function step(r: StepResult, name: string) {
  const s = r.steps.find((x) => x.name === name);
  assert.ok(s, `no step for ${name} in ${JSON.stringify(r.steps.map((x) => `${x.op} ${x.name}`))}`);
  return s;
}

function opsOf(r: StepResult): string[] {
  return r.operations.map((o) => `${o.kind} ${o.urn.split("::").pop()}${o.reason ? ` (${o.reason})` : ""}`);
}

function defaultProvider(h: StackHarness): ResourceState {
  const p = h.state.find((r) => r.type === DEFAULT_PROVIDER);
  assert.ok(p, "the default pulumi-nodejs provider is in state");
  return p;
}

function secretValue(v: unknown): unknown {
  assert.ok(isSecret(v), `expected a secret, got ${JSON.stringify(v)}`);
  return (v as { value: unknown }).value;
}

describe("engine harness: faithful to the Pulumi engine", function () {
  this.timeout(120_000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "engine-faithful-"));
  const harnesses: StackHarness[] = [];
  const make = (...args: Parameters<typeof toy>) => {
    const h = toy(...args);
    harnesses.push(h);
    return h;
  };
  after(async () => {
    for (const h of harnesses) await h.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe("config in state, a preview and a host per deployment, refresh", () => {
    const cloud = path.join(tmp, "cfg.json");
    const backend = createBackend();
    const h = make("cfg", cloud, { backend, config: { withD: "false", "pulumi-nodejs:flag": "on" } });
    let providerId = "";

    it("up previews first, each deployment with its own provider host; the default provider's inputs are the stack config", async () => {
      // pkg/backend/apply.go:279-320 (PreviewThenPromptThenExecute); pkg/engine/update.go:964-984 and
      // pkg/engine/deployment.go:195-206, 240-246 (a plugin host per deployment).
      const { result: r, calls } = await callsDuring(cloud, () => h.up());
      ok(r);
      assert.ok(r.preview, "the up result carries its preview");
      ok(r.preview);
      assert.equal(step(r.preview, "a").op, "create");
      assert.deepEqual(r.preview.operations, [], "the preview creates nothing");
      const configures = calls.filter((c) => c.op === "configure");
      assert.equal(configures.length, 2, JSON.stringify(configures));
      assert.notEqual(
        configures[0].pid,
        configures[1].pid,
        "preview and update run in different host processes",
      );
      assert.deepEqual(
        configures.map((c) => c.token),
        ["tok-123", "tok-123"],
      );
      // pkg/host/host.go:381-397: the plugin's PULUMI_CONFIG is its own namespace only, keys without it.
      assert.deepEqual(JSON.parse(configures[0].pluginConfig ?? "null"), { flag: "on" });
      // pkg/resource/deploy/target.go:46-72, default_providers.go:141-150: the whole config, namespaces kept,
      // secrets secret, recorded as the provider resource's inputs.
      const p = defaultProvider(h);
      assert.match(p.urn, /::pulumi:providers:pulumi-nodejs::default$/);
      providerId = p.id ?? "";
      assert.equal(secretValue(p.inputs["toy:token"]), "tok-123");
      assert.equal(secretValue(p.inputs["toy:secretValue"]), "hunter2");
      assert.equal(p.inputs["toy:warn"], "true");
      assert.equal(p.inputs["toy:withD"], "false");
      assert.deepEqual(p.outputs, p.inputs);
      assert.ok(h.state.every((x) => x.type !== WIDGET || x.provider === `${p.urn}::${providerId}`));
      // step_executor.go:518-565: additionalSecretOutputs are secret in the preview's outputs too.
      assert.equal(secretValue(step(r.preview, "c").outputs?.name), "charlie");
      assert.equal(secretValue(h.resource("c")?.outputs.name), "charlie");
      // pkg/cmd/pulumi/operations/up.go:69-90: --parallel defaults to 4 × GOMAXPROCS.
      assert.equal(r.outputs.parallel, String(4 * os.availableParallelism()));
    });

    it("refresh configures providers from the recorded config, reads, and diffs what it read against the inputs", async () => {
      // pkg/cmd/pulumi/operations/refresh.go:367 (no program by default); deployment.go:659-690 and
      // providers/registry.go:788-870 (EnsureProvider → Same: Configure with the stored inputs).
      h.setConfig("toy:token", { secret: "tok-456" });
      const state = cloudOf(cloud);
      const aId = h.resource("a")?.id ?? "";
      const bId = h.resource("b")?.id ?? "";
      state.objects[aId].status = "degraded";
      state.objects[bId].size = 9;
      fs.writeFileSync(cloud, JSON.stringify(state));
      const { result: r, calls } = await callsDuring(cloud, () => h.refresh());
      ok(r);
      assert.deepEqual(
        calls.filter((c) => c.op === "configure").map((c) => c.token),
        ["tok-123", "tok-123"],
        "preview and refresh are both configured with the config in state, not the current one",
      );
      assert.ok(
        r.preview?.operations.some((o) => o.kind === "read"),
        "refresh's preview reads too",
      );
      // step.go:1635-1671: Diff(read inputs and outputs → previous inputs); `same` when it finds nothing, even
      // though the outputs changed, and the read state is kept.
      const a = step(r, "a");
      assert.equal(a.op, "same");
      assert.equal(a.refresh, true);
      assert.equal(h.resource("a")?.outputs.status, "degraded");
      const b = step(r, "b");
      assert.equal(b.op, "update");
      assert.deepEqual(b.diffs, ["size"]);
      assert.equal(h.resource("b")?.inputs.size, 9);
      assert.ok(
        r.operations.some((o) => o.kind === "diff" && o.purpose === "refresh" && o.urn.endsWith("::a")),
        JSON.stringify(opsOf(r)),
      );
      assert.equal(
        secretValue(defaultProvider(h).inputs["toy:token"]),
        "tok-123",
        "refresh leaves the provider",
      );
    });

    it("PULUMI_ENABLE_LEGACY_REFRESH_DIFF (from the harness env) compares outputs instead", async () => {
      const state = cloudOf(cloud);
      state.objects[h.resource("a")?.id ?? ""].status = "broken";
      fs.writeFileSync(cloud, JSON.stringify(state));
      const legacy = make("cfg", cloud, {
        backend,
        config: { withD: "false", "pulumi-nodejs:flag": "on" },
        env: { PULUMI_ENABLE_LEGACY_REFRESH_DIFF: "true" },
      });
      const r = await legacy.refresh({ skipPreview: true });
      ok(r);
      assert.equal(r.preview, undefined);
      assert.equal(step(r, "a").op, "update");
      assert.deepEqual(step(r, "a").diffs, ["status"]);
    });

    it("up with changed config updates the default provider in place", async () => {
      // provider_plugin.go:760-825 (no DiffConfig: unknown, no replacement); providers/registry.go:732-775 (then
      // "changes" since old outputs and new inputs differ): an update, same id, resources diffed as usual.
      const { result: r, calls } = await callsDuring(cloud, () => h.up({ skipPreview: true }));
      ok(r);
      assert.equal(r.preview, undefined);
      assert.deepEqual(
        calls.filter((c) => c.op === "configure").map((c) => c.token),
        ["tok-456"],
      );
      const p = defaultProvider(h);
      assert.equal(p.id, providerId);
      assert.equal(secretValue(p.inputs["toy:token"]), "tok-456");
      assert.ok(
        r.steps.every((s) => s.type !== DEFAULT_PROVIDER),
        "the CLI does not show default providers",
      );
      assert.equal(step(r, "a").op, "same");
    });

    it("refresh --run-program configures providers with the current config and records it", async () => {
      h.setConfig("toy:token", { secret: "tok-789" });
      const { result: r, calls } = await callsDuring(cloud, () =>
        h.refresh({ runProgram: true, skipPreview: true }),
      );
      ok(r);
      assert.deepEqual(
        calls.filter((c) => c.op === "configure").map((c) => c.token),
        ["tok-789"],
      );
      assert.ok(calls.some((c) => c.op === "read"));
      assert.ok(!calls.some((c) => c.op === "create" || c.op === "update"), "a refresh changes no resource");
      assert.equal(secretValue(defaultProvider(h).inputs["toy:token"]), "tok-789");
    });

    it("destroy configures providers from the recorded config", async () => {
      h.setConfig("toy:token", { secret: "tok-000" });
      const { result: r, calls } = await callsDuring(cloud, () => h.destroy());
      ok(r);
      ok(r.preview as StepResult);
      // The host runs a provider's `configure` when a call first needs its code (dynamic-provider/index.ts:60-84):
      // the preview deletes nothing, so only the update's provider gets that far.
      assert.deepEqual(
        calls.filter((c) => c.op === "configure").map((c) => c.token),
        ["tok-789"],
      );
      assert.deepEqual(h.state, []);
      assert.deepEqual(cloudOf(cloud).objects, {});
    });
  });

  describe("delete-before-replace", () => {
    const cloud = path.join(tmp, "dbr.json");
    const h = make("dbr", cloud, { config: { withD: "false", withE: "true" } });

    it("probes dependents with Diff (property dependencies unknown), in preview too", async () => {
      ok(await h.up({ skipPreview: true }));
      h.setConfig("aName", "alpha2");
      h.setConfig("dbr", "true");
      // step_generator.go:1946-1950 (calculateDependentReplacements runs in preview as well), 3062-3070 (inputs
      // depending on the replace set become unknown).
      const p = await h.preview();
      ok(p);
      assert.equal(step(p, "a").op, "replace");
      assert.equal(step(p, "a").deleteBeforeReplace, true);
      const e = step(p, "e");
      assert.equal(e.op, "replace");
      assert.deepEqual(e.replaces, ["name"]);
      assert.equal(e.deleteBeforeReplace, true);
      // b's label depends on a too, but its Diff says update: not part of the cascade.
      assert.equal(step(p, "b").op, "update");
      const probes = p.operations
        .filter((o) => o.purpose === "dependent-replace")
        .map((o) => o.urn.split("::").pop());
      assert.deepEqual(probes.sort(), ["b", "e"]);
      assert.equal(
        p.operations.some((o) => o.kind !== "diff"),
        false,
      );
    });

    it("deletes the dependents that would be replaced first, then the root, and re-creates them", async () => {
      // step_generator.go:1958-2031 (deletes in reverse dependency order, then the root), 1379-1392 (the dependent is
      // re-created when registered again, with no Diff).
      const eId = h.resource("e")?.id;
      const bId = h.resource("b")?.id;
      const r = await h.up({ skipPreview: true });
      ok(r);
      const ops = opsOf(r).filter((o) => !o.startsWith("diff"));
      assert.deepEqual(
        ops.slice(0, 4),
        ["delete e (replace)", "delete a (replace)", "create a", "create e"],
        ops.join(", "),
      );
      assert.ok(ops.includes("update b"));
      assert.equal(step(r, "e").op, "replace");
      assert.notEqual(h.resource("e")?.id, eId);
      assert.equal(h.resource("e")?.inputs.name, `echo-gen-${h.resource("a")?.id}`);
      assert.equal(h.resource("b")?.id, bId, "b was updated in place");
      assert.equal(
        h.state.some((x) => x.pendingReplacement || x.pendingDelete),
        false,
      );
    });

    it("destroy --run-program configures providers with the current config", async () => {
      h.setConfig("toy:token", { secret: "tok-now" });
      const { result: r, calls } = await callsDuring(cloud, () =>
        h.destroy({ runProgram: true, skipPreview: true }),
      );
      ok(r);
      assert.deepEqual(
        calls.filter((c) => c.op === "configure").map((c) => c.token),
        ["tok-now"],
      );
      assert.deepEqual(h.state, []);
      assert.deepEqual(cloudOf(cloud).objects, {});
    });
  });

  describe("replacement Check, replaceOnChanges, customTimeouts, failed updates", () => {
    const cloud = path.join(tmp, "repl.json");
    const h = make("repl", cloud, { config: { withB: "false", withD: "false", stampCheck: "true" } });

    it("customTimeouts reach the host as the request's timeout (seconds), not the provider code; state keeps them", async () => {
      // step.go:342 (create: new state's), provider_plugin.go:1432; sdk/nodejs/cmd/dynamic-provider/index.ts:247-344
      // never reads `timeout`.
      const { result: r, calls } = await callsDuring(cloud, () => h.up({ skipPreview: true }));
      ok(r);
      const create = r.operations.find((o) => o.kind === "create" && o.urn.endsWith("::a"));
      assert.equal(create?.timeout, 120);
      const created = calls.find((c) => c.op === "create");
      assert.ok(
        created?.inputKeys && !created.inputKeys.some((k) => /timeout/i.test(k)),
        JSON.stringify(created),
      );
      assert.deepEqual(h.resource("a")?.customTimeouts, { create: 120, update: 90, delete: 60 });
      assert.equal(h.resource("a")?.inputs.checkedWithOlds, false);
    });

    it("replaceOnChanges has no effect on a dynamic resource whose Diff answers", async () => {
      // step_generator.go:2911-3000: applied through the provider's changed keys and detailed diff only, which the
      // dynamic host never forwards (index.ts:195-234).
      h.setConfig("replaceOnSize", "true");
      h.setConfig("size", "3");
      const r = await h.up({ skipPreview: true });
      ok(r);
      assert.equal(step(r, "a").op, "update");
      assert.equal(r.operations.find((o) => o.kind === "update")?.timeout, 90, "step.go:980: update timeout");
      assert.equal(h.resource("a")?.inputs.checkedWithOlds, true);
    });

    it("a replacement runs a second Check with empty olds and uses its result; the old copy is deleted with its own timeout", async () => {
      // step_generator.go:1882-1902; step.go:663 (delete: the old state's customTimeouts).
      h.setConfig("aName", "alpha2");
      h.setConfig("aDeleteTimeout", "5m");
      const { result: r, calls } = await callsDuring(cloud, () => h.up({ skipPreview: true }));
      ok(r);
      assert.equal(step(r, "a").op, "replace");
      const checks = calls.filter((c) => c.op === "check" && c.name === "alpha2").map((c) => c.withOlds);
      assert.deepEqual(checks, [true, false]);
      assert.equal(
        h.resource("a")?.inputs.checkedWithOlds,
        false,
        "the second Check's inputs are the new state's",
      );
      const del = r.operations.find((o) => o.kind === "delete");
      assert.equal(del?.reason, "replace");
      assert.equal(del?.timeout, 60);
      assert.equal(h.resource("a")?.customTimeouts?.delete, 300);
    });

    it("a partially failed update keeps the old inputs with the new outputs", async () => {
      // pkg/engine/update.go:1150-1172.
      h.setConfig("failUpdate", "true");
      h.setConfig("size", "4");
      const r = await h.up({ skipPreview: true });
      assert.equal(r.failed, true);
      assert.match(r.error ?? "", /toy update failed half-way/);
      const a = h.resource("a");
      assert.equal(a?.inputs.size, 3);
      assert.equal(a?.inputs.failUpdate, undefined);
      assert.equal(a?.outputs.size, 4);
      assert.deepEqual(a?.initErrors, ["toy: the update never finished"]);
    });
  });

  describe("the Engine service, for the program and the provider hosts", () => {
    const cloud = path.join(tmp, "log.json");
    const h = make("log", cloud, {
      config: { withB: "false", withD: "false", withL: "true", warn: "false" },
    });

    it("a provider host is given the Engine service's address; its Log calls keep their URN and ephemeral flag", async () => {
      // pkg/host/host_server.go:50-78 (one Engine server per plugin host), provider_plugin.go:282 (its address is a
      // resource plugin's argument), host_server.go:91-133 (Log, GetRootResource as SetRootResource stored it).
      const { result: r, calls } = await callsDuring(cloud, () => h.up({ skipPreview: true }));
      ok(r);
      const l = h.resource("l");
      assert.ok(l);
      const logged = r.logs
        .filter((x) => x.urn === l.urn)
        .map((x) => ({ message: x.message, source: x.source, ephemeral: x.ephemeral ?? false }));
      assert.deepEqual(logged, [
        { message: "toy: waiting", source: "engine", ephemeral: true },
        { message: "toy: done", source: "engine", ephemeral: false },
      ]);
      const stack = h.state.find((x) => x.type === "pulumi:pulumi:Stack");
      assert.equal(
        calls.find((c) => c.op === "log")?.rootUrn,
        stack?.urn,
        "the program's own Engine service",
      );
    });
  });

  describe("aliases and stack rename", () => {
    const cloud = path.join(tmp, "alias.json");
    const backend = createBackend();
    const h = make("alias", cloud, { backend });
    const changes = (r: StepResult) => r.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`);

    it("a rename (`aliases: [{ name }]`), a new parent (`{ parent: rootStackResource }`) and a URN alias keep the resources", async () => {
      // step_generator.go:505-672 (collapseAliasToUrn, generateAliases, getOldResource).
      ok(await h.up({ skipPreview: true }));
      const ids = Object.fromEntries(
        h.state.filter((x) => x.type === WIDGET).map((x) => [x.urn.split("::").pop(), x.id]),
      );
      h.setConfig("bName", "bravo-renamed");
      h.setConfig("dUnderGroup", "true");
      h.setConfig("cName", "charlie-renamed");
      h.setConfig("cOldName", "c");
      const r = await h.up({ skipPreview: true });
      ok(r);
      assert.deepEqual(changes(r), []);
      assert.deepEqual(r.operations, []);
      const b = h.resource("bravo-renamed");
      assert.equal(b?.id, ids.b);
      assert.deepEqual(b?.aliases, ["urn:pulumi:alias::toy::pulumi-nodejs:dynamic/toy:Widget::b"]);
      assert.equal(h.resource("charlie-renamed")?.id, ids.c);
      assert.deepEqual(h.resource("charlie-renamed")?.dependencies, [b?.urn]);
      const d = h.resource("d");
      assert.equal(d?.id, ids.d);
      assert.equal(d?.urn, "urn:pulumi:alias::toy::toy:index:Group$pulumi-nodejs:dynamic/toy:Widget::d");
      assert.equal(h.state.filter((x) => x.type === WIDGET).length, 4);
    });

    it("renameStack rewrites every URN as `pulumi stack rename` does; the next up changes nothing", async () => {
      // pkg/backend/diy/backend.go:1047-1100, pkg/resource/edit/operations.go RenameStack.
      const before = h.state.map((x) => x.id);
      h.renameStack("prod");
      assert.equal(h.stack, "prod");
      assert.ok(backend.names().includes("organization/toy/prod"));
      assert.ok(!backend.names().includes("organization/toy/alias"));
      assert.ok(h.state.every((x) => x.urn.startsWith("urn:pulumi:prod::toy::")));
      assert.ok(h.state.some((x) => x.urn === "urn:pulumi:prod::toy::pulumi:pulumi:Stack::toy-prod"));
      assert.ok(h.state.every((x) => !x.provider || x.provider.startsWith("urn:pulumi:prod::")));
      assert.ok(
        h.state.every((x) =>
          [...x.dependencies, x.parent ?? ""].every((u) => u === "" || u.startsWith("urn:pulumi:prod::")),
        ),
      );
      const r = await h.up({ skipPreview: true });
      ok(r);
      assert.deepEqual(changes(r), []);
      assert.deepEqual(
        h.state.map((x) => x.id),
        before,
      );
    });

    it("resolves project and stack aliases like collapseAliasToUrn (no program run)", () => {
      // step_generator.go:505-545: a parent's URN prefix wins over the alias's stack/project; the root stack adds
      // nothing; `noParent` drops the parent; inherited child aliases follow a renamed parent (550-578).
      const ctx = { stack: "prod", project: "toy", aliasOf: new Map<string, string>() };
      const T = WIDGET;
      assert.deepEqual(generateAliases(ctx, "x", T, "", [{ stack: "dev" }, { project: "old" }]), [
        `urn:pulumi:dev::toy::${T}::x`,
        `urn:pulumi:prod::old::${T}::x`,
      ]);
      const stackUrn = "urn:pulumi:prod::toy::pulumi:pulumi:Stack::toy-prod";
      assert.deepEqual(generateAliases(ctx, "x", T, "", [{ parentUrn: stackUrn, name: "y" }]), [
        `urn:pulumi:prod::toy::${T}::y`,
      ]);
      const group = "urn:pulumi:prod::toy::toy:index:Group::g";
      assert.deepEqual(generateAliases(ctx, "x", T, group, [{ stack: "dev" }, { noParent: true }]), [
        `urn:pulumi:prod::toy::toy:index:Group$${T}::x`,
        `urn:pulumi:prod::toy::${T}::x`,
      ]);
      const renamed = { ...ctx, aliasOf: new Map([[group, "urn:pulumi:prod::toy::toy:index:Group::old"]]) };
      assert.deepEqual(generateAliases(renamed, "g-child", T, group, []), [
        `urn:pulumi:prod::toy::toy:index:Group$${T}::old-child`,
      ]);
    });
  });

  describe("StackReference names", () => {
    it("resolve as the DIY backend does by default, fully qualified on Pulumi Cloud (no program run)", () => {
      // pkg/backend/diy/store.go:137-190; pkg/backend/httpstate/backend.go:2880-2893.
      const diy = createBackend();
      const rec = diy.stack("organization", "toy", "dev");
      diy.stack("organization", "other", "dev");
      assert.equal(diy.resolve("dev", "toy"), rec);
      assert.equal(diy.resolve("organization/dev", "toy"), rec);
      assert.equal(diy.resolve("organization/toy/dev", "toy"), rec);
      assert.notEqual(diy.resolve("dev", "other"), rec, "a one-part name is the current project's");
      assert.throws(() => diy.resolve("toy/dev", "toy"), /organization name must be 'organization'/);
      assert.throws(() => diy.resolve("acme/toy/dev", "toy"), /organization name must be 'organization'/);
      const cloud = createBackend({ kind: "cloud" });
      const acme = cloud.stack("acme", "toy", "dev");
      assert.equal(cloud.resolve("acme/toy/dev", "toy"), acme);
      assert.throws(
        () => cloud.resolve("dev", "toy"),
        /should be of the form '<organization>\/<project>\/<stack>'/,
      );
      assert.throws(
        () =>
          new StackHarness({ stack: "x", projectDir: TOY, backend: createBackend(), organization: "acme" }),
        /organization "organization"/,
      );
    });
  });

  describe("errors as the engine sees them", () => {
    const cloud = path.join(tmp, "err.json");
    const h = make("err", cloud, {
      config: { withB: "false", withD: "false", withH: "true", hFailCode: "0" },
      env: { PULUMI_PARALLEL: "3" },
    });

    it("a Read or Delete error whose numeric `code` is 0 loses its message, as over grpc-js to the Go engine", async () => {
      // sdk/nodejs/cmd/dynamic-provider/index.ts:297, 343 hand the raw error to grpc-js, which sends status 0 (OK)
      // with no response; the engine reports the missing response instead of the provider's text.
      const up = await h.up({ skipPreview: true });
      ok(up);
      assert.equal(up.outputs.parallel, "3", "PULUMI_PARALLEL from the harness env sets --parallel");
      const refresh = await h.refresh({ skipPreview: true });
      assert.equal(refresh.failed, true);
      assert.ok(refresh.error?.includes(NO_RESPONSE_MESSAGE), refresh.error);
      assert.ok(!refresh.error?.includes("toy read"), refresh.error);
      h.setConfig("withH", "false");
      const down: CommandResult = await h.up({ skipPreview: true });
      assert.equal(down.failed, true);
      assert.ok(down.error?.includes(NO_RESPONSE_MESSAGE), down.error);
      assert.ok(!down.error?.includes("connection reset"), down.error);
      assert.ok(h.resource("h"), "the resource whose delete failed stays in state");
    });

    it("an `import` of a dynamic resource fails in the host, in the preview, and the up stops there", async () => {
      // step.go:1863-1871 (Read with no inputs or state); floatdrop/require-from-string@v2.0.2 index.js:18-20;
      // pkg/backend/apply.go:293-296 (a failed preview ends the up).
      h.setConfig("importId", "india-1");
      const before: PropertyMap = structuredClone(h.state) as unknown as PropertyMap;
      const r = await h.up();
      assert.equal(r.failed, true);
      assert.ok(r.preview?.failed);
      assert.match(r.error ?? "", /code must be a string, not undefined/);
      assert.deepEqual(
        r.operations.filter((o) => o.kind !== "read"),
        [],
      );
      assert.deepEqual(h.state, before, "no update ran");
    });
  });
});
