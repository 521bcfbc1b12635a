/**
 * The real `@pulumi/pulumi/cmd/dynamic-provider` host, started and called over gRPC the way the engine does
 * (`provider_plugin.go`): one process per provider the deployment loads, GetPluginInfo, Configure with the provider
 * resource's inputs (for the default provider: the whole stack config), then Check/Diff/Create/Read/Update/Delete with
 * secrets stripped.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import type * as pluginproto from "@pulumi/pulumi/proto/plugin_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as statusproto from "@pulumi/pulumi/proto/status_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { fromStruct, type PropertyMap, stripSecrets, toStruct } from "./marshal";
import { locateModule } from "./project";

/** What a provider's Diff answered, in engine terms. */
export interface ProviderDiff {
  changes: "unknown" | "none" | "some";
  replaces: string[];
  stables: string[];
  diffs: string[];
  deleteBeforeReplace: boolean;
  detailedDiff?: Record<string, { kind: string; inputDiff: boolean }>;
}

/** A Create/Update that failed after the object came into existence (`ErrorResourceInitFailed`). */
export class ResourceInitError extends Error {
  /** @param message the provider's error message @param id the id of the object that exists @param properties its outputs @param reasons why initialization failed */
  constructor(
    message: string,
    readonly id: string,
    readonly properties: PropertyMap,
    readonly reasons: string[],
    readonly inputs?: PropertyMap,
  ) {
    super(message);
  }
}

/** Options for {@link DynamicProviderHost.start}. */
export interface DynamicProviderHostOptions {
  /**
   * Address of the deployment's Engine service, the plugin's only argument as the CLI starts resource plugins
   * (`[]string{host.ServerAddr()}`, pulumi/pulumi@a88168d8 sdk/go/common/resource/plugin/provider_plugin.go:282).
   */
  engineAddress: string;
  /** Working directory of the host: the engine starts plugins in the program directory. */
  cwd: string;
  /** Project name, exported as PULUMI_NODEJS_PROJECT / PULUMI_PROJECT. */
  project: string;
  /** Environment added on top of this process's environment (the CLI's own environment passes through). */
  env?: Record<string, string>;
  /** Called with every line the host writes after its port line. */
  onOutput?: (stream: "stdout" | "stderr", line: string) => void;
}

type Callback<R> = (err: grpc.ServiceError | null, res: R) => void;

/** A running dynamic-provider host process with a gRPC client to it. */
export class DynamicProviderHost {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: provrpc.ResourceProviderClient,
    readonly port: number,
  ) {}

  /** The host's process id. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Starts the host and waits for the port it prints as its first stdout line. */
  static async start(o: DynamicProviderHostOptions): Promise<DynamicProviderHost> {
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      PULUMI_NODEJS_PROJECT: o.project,
      PULUMI_PROJECT: o.project,
      ...(o.env ?? {}),
    };
    // As `pulumi-resource-pulumi-nodejs` does: resolve the host script from the program directory and run it there,
    // with no NODE_PATH and no links added, so `require("pulumi-tailnet/provider")` in the serialized provider code
    // resolves from the program's node_modules chain only (sdk/nodejs/dist/pulumi-resource-pulumi-nodejs;
    // sdk/go/common/resource/plugin/provider_plugin.go:238-286 at pulumi/pulumi@a88168d8).
    const script = locateModule("@pulumi/pulumi/cmd/dynamic-provider", o.cwd);
    // The host itself only checks that the address is there (sdk/nodejs/cmd/dynamic-provider/index.ts:487-493); code
    // it loads may connect to it.
    const child = spawn(process.execPath, [script, o.engineAddress], {
      cwd: o.cwd,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      let buf = "";
      let errBuf = "";
      let resolved = false;
      const onExit = (code: number | null) => {
        if (!resolved)
          reject(
            new Error(
              `dynamic-provider host exited with code ${code} before printing its port: ${errBuf.slice(-2000)}`,
            ),
          );
      };
      child.once("exit", onExit);
      child.once("error", reject);
      child.stderr?.on("data", (d: Buffer) => {
        const text = d.toString();
        if (!resolved) errBuf += text;
        for (const line of text.split("\n")) if (line) o.onOutput?.("stderr", line);
      });
      child.stdout?.on("data", (d: Buffer) => {
        buf += d.toString();
        if (!resolved) {
          const nl = buf.indexOf("\n");
          if (nl < 0) return;
          const first = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          const n = Number(first);
          if (!Number.isInteger(n) || n <= 0) {
            reject(new Error(`dynamic-provider host printed "${first}" instead of its port`));
            return;
          }
          resolved = true;
          resolve(n);
        }
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        for (const line of lines) if (line) o.onOutput?.("stdout", line);
      });
    });
    const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new DynamicProviderHost(child, client, port);
  }

  private call<Req, Res>(method: string, req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const fn = (this.client as unknown as Record<string, (r: Req, cb: Callback<Res>) => void>)[method];
      fn.call(this.client, req, (err, res) => (err ? reject(asEngineSees(err)) : resolve(res)));
    });
  }

  /** GetPluginInfo: the SDK version the host reports. */
  async pluginVersion(): Promise<string> {
    const res = await this.call<Empty, pluginproto.PluginInfo>("getPluginInfo", new Empty());
    return res.getVersion();
  }

  /**
   * Configure with the provider resource's inputs, secret values secret-wrapped. For the default `pulumi-nodejs`
   * provider those are the whole stack config, namespaces kept (`project:key`). As `provider_plugin.go:1022-1132`
   * builds it: `variables` keyed `pulumi-nodejs:config:<key>` with secrets removed and non-strings as JSON, `args`
   * the inputs, and the provider's URN, name, type and id.
   */
  async configure(
    inputs: PropertyMap,
    provider?: { urn: string; id: string },
  ): Promise<{ acceptSecrets: boolean }> {
    const req = new provproto.ConfigureRequest();
    req.setArgs(toStruct(inputs));
    const vars = req.getVariablesMap();
    for (const [k, v] of Object.entries(inputs)) {
      if (k === "version") continue;
      const plain = stripSecrets(v);
      vars.set(`pulumi-nodejs:config:${k}`, typeof plain === "string" ? plain : JSON.stringify(plain));
    }
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    req.setSendsOldInputs(true);
    req.setSendsOldInputsToDelete(true);
    if (provider) {
      req.setUrn(provider.urn);
      req.setName(urnName(provider.urn));
      req.setType(urnType(provider.urn));
      req.setId(provider.id);
    }
    const res = await this.call<provproto.ConfigureRequest, provproto.ConfigureResponse>("configure", req);
    return { acceptSecrets: res.getAcceptsecrets() };
  }

  /** Check(olds = previous inputs, news = new inputs). Values must already be secret-free. */
  async check(
    urn: string,
    olds: PropertyMap,
    news: PropertyMap,
  ): Promise<{ inputs: PropertyMap; failures: { property: string; reason: string }[] }> {
    const req = new provproto.CheckRequest();
    req.setUrn(urn);
    req.setName(urnName(urn));
    req.setType(urnType(urn));
    req.setOlds(toStruct(olds));
    req.setNews(toStruct(news));
    const res = await this.call<provproto.CheckRequest, provproto.CheckResponse>("check", req);
    return {
      inputs: res.hasInputs() ? fromStruct(res.getInputs()) : news,
      failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  /** Diff(olds = previous OUTPUTS, news = checked inputs), as `provider_plugin.go` sends it. */
  async diff(
    urn: string,
    id: string,
    oldOutputs: PropertyMap,
    newInputs: PropertyMap,
    oldInputs: PropertyMap,
    ignoreChanges: string[],
  ): Promise<ProviderDiff> {
    const req = new provproto.DiffRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setName(urnName(urn));
    req.setType(urnType(urn));
    req.setOlds(toStruct(oldOutputs));
    req.setNews(toStruct(newInputs));
    req.setOldInputs(toStruct(oldInputs));
    req.setIgnorechangesList(ignoreChanges);
    const res = await this.call<provproto.DiffRequest, provproto.DiffResponse>("diff", req);
    const C = provproto.DiffResponse.DiffChanges;
    const changes =
      res.getChanges() === C.DIFF_SOME ? "some" : res.getChanges() === C.DIFF_NONE ? "none" : "unknown";
    let detailedDiff: ProviderDiff["detailedDiff"];
    if (res.getHasdetaileddiff()) {
      detailedDiff = {};
      const kinds = Object.entries(provproto.PropertyDiff.Kind);
      for (const [k, v] of res.getDetaileddiffMap().entries()) {
        detailedDiff[k] = {
          kind: kinds.find(([, n]) => n === v.getKind())?.[0] ?? String(v.getKind()),
          inputDiff: v.getInputdiff(),
        };
      }
    }
    return {
      changes,
      replaces: res.getReplacesList(),
      stables: res.getStablesList(),
      diffs: res.getDiffsList(),
      deleteBeforeReplace: res.getDeletebeforereplace(),
      detailedDiff,
    };
  }

  /** Create; a partial failure throws {@link ResourceInitError}. */
  async create(
    urn: string,
    properties: PropertyMap,
    timeoutSeconds: number,
  ): Promise<{ id: string; properties: PropertyMap }> {
    const req = new provproto.CreateRequest();
    req.setUrn(urn);
    req.setName(urnName(urn));
    req.setType(urnType(urn));
    req.setProperties(toStruct(properties));
    req.setTimeout(timeoutSeconds);
    req.setPreview(false);
    try {
      const res = await this.call<provproto.CreateRequest, provproto.CreateResponse>("create", req);
      return { id: res.getId(), properties: fromStruct(res.getProperties()) };
    } catch (e) {
      throw toInitError(e);
    }
  }

  /**
   * Read(id, properties = outputs, inputs); an empty id in the answer means the object is gone. An import sends no
   * inputs and empty properties (`provider_plugin.go:1514-1528`, `step.go:1863-1871`).
   */
  async read(
    urn: string,
    id: string,
    outputs: PropertyMap,
    inputs: PropertyMap | undefined,
  ): Promise<{ id: string; properties: PropertyMap; inputs?: PropertyMap }> {
    const req = new provproto.ReadRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setName(urnName(urn));
    req.setType(urnType(urn));
    req.setProperties(toStruct(outputs));
    if (inputs) req.setInputs(toStruct(inputs));
    const res = await this.call<provproto.ReadRequest, provproto.ReadResponse>("read", req);
    return {
      id: res.getId(),
      properties: fromStruct(res.getProperties()),
      inputs: res.hasInputs() ? fromStruct(res.getInputs()) : undefined,
    };
  }

  /** Update(olds = previous outputs, news = checked inputs); a partial failure throws {@link ResourceInitError}. */
  async update(
    urn: string,
    id: string,
    oldOutputs: PropertyMap,
    newInputs: PropertyMap,
    oldInputs: PropertyMap,
    timeoutSeconds: number,
    ignoreChanges: string[],
  ): Promise<PropertyMap> {
    const req = new provproto.UpdateRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setName(urnName(urn));
    req.setType(urnType(urn));
    req.setOlds(toStruct(oldOutputs));
    req.setNews(toStruct(newInputs));
    req.setOldInputs(toStruct(oldInputs));
    req.setTimeout(timeoutSeconds);
    req.setIgnorechangesList(ignoreChanges);
    req.setPreview(false);
    try {
      const res = await this.call<provproto.UpdateRequest, provproto.UpdateResponse>("update", req);
      return fromStruct(res.getProperties());
    } catch (e) {
      throw toInitError(e);
    }
  }

  /** Delete(id, properties = outputs). */
  async delete(
    urn: string,
    id: string,
    outputs: PropertyMap,
    oldInputs: PropertyMap,
    timeoutSeconds: number,
  ): Promise<void> {
    const req = new provproto.DeleteRequest();
    req.setId(id);
    req.setUrn(urn);
    req.setName(urnName(urn));
    req.setType(urnType(urn));
    req.setProperties(toStruct(outputs));
    req.setOldInputs(toStruct(oldInputs));
    req.setTimeout(timeoutSeconds);
    await this.call<provproto.DeleteRequest, Empty>("delete", req);
  }

  /** Peak resident set size of the host process (VmHWM from /proc/<pid>/status), in KiB. */
  peakRssKb(): number {
    return readVmHwmKb(this.pid);
  }

  /** CPU the host process used so far (user + system, from /proc/<pid>/stat), in ms. */
  cpuMs(): number {
    return readCpuMs(this.pid);
  }

  /** Stops the host. */
  async stop(): Promise<void> {
    this.client.close();
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** Reads VmHWM (peak RSS) of a process, in KiB; 0 when the process is gone. */
export function readVmHwmKb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on every Linux architecture Node runs on). */
export const USER_HZ = 100;

/** User plus system CPU of a process so far (utime + stime of /proc/<pid>/stat), in ms; 0 when it is gone. */
export function readCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are
    // fields 14 and 15 of proc(5), so the 12th and 13th after it.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
  } catch {
    return 0;
  }
}

/** The name part of a URN. */
export function urnName(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

/** The (unqualified) type part of a URN. */
export function urnType(urn: string): string {
  return (urn.split("::")[2] ?? "").split("$").pop() ?? "";
}

/** The message of {@link asEngineSees} for a call that ended with status OK and no response. */
export const NO_RESPONSE_MESSAGE =
  "cardinality violation: received no response message from non-streaming RPC";

/**
 * The error as the Go engine gets it. The host hands raw errors of check, diff, read and delete to grpc-js
 * (pulumi/pulumi@a88168d8 sdk/nodejs/cmd/dynamic-provider/index.ts:181, 233, 297, 343), which takes any integer
 * `error.code` as the status (grpc/grpc-node@07ee52ac packages/grpc-js/src/server-call.ts `serverErrorToStatus`). An
 * error whose `code` is 0 therefore ends the call with status OK and no response: the message is lost. grpc-js (this
 * client) reports that as UNIMPLEMENTED "No message received"; grpc-go, which the engine uses, as INTERNAL with
 * {@link NO_RESPONSE_MESSAGE} (grpc/grpc-go `stream.go` `csAttempt.recvMsg`; grpc v1.81 per pulumi/pulumi@a88168d8
 * pkg/go.mod). The engine then reports that text instead of the provider's.
 */
function asEngineSees(err: grpc.ServiceError): grpc.ServiceError {
  if (err.code === grpc.status.UNIMPLEMENTED && err.details === "No message received") {
    return Object.assign(new Error(`13 INTERNAL: ${NO_RESPONSE_MESSAGE}`), {
      code: grpc.status.INTERNAL,
      details: NO_RESPONSE_MESSAGE,
      metadata: err.metadata,
    });
  }
  return err;
}

/** Turns a gRPC error carrying `ErrorResourceInitFailed` details into a {@link ResourceInitError}. */
function toInitError(e: unknown): unknown {
  const err = e as grpc.ServiceError;
  const raw = err?.metadata?.get?.("grpc-status-details-bin")?.[0];
  if (!raw) return new Error(err?.details || err?.message || String(e));
  const status = statusproto.Status.deserializeBinary(
    typeof raw === "string" ? Buffer.from(raw, "base64") : raw,
  );
  for (const any of status.getDetailsList()) {
    const detail = any.unpack(
      provproto.ErrorResourceInitFailed.deserializeBinary,
      "pulumirpc.ErrorResourceInitFailed",
    );
    if (detail) {
      return new ResourceInitError(
        status.getMessage() || err.details,
        detail.getId(),
        fromStruct(detail.getProperties()),
        detail.getReasonsList(),
        detail.hasInputs() ? fromStruct(detail.getInputs()) : undefined,
      );
    }
  }
  return new Error(err.details || err.message);
}
