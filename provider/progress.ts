/**
 * What a step tells the user while it waits: every wait of a create, update or delete (Kube.waitFor, the
 * certificate order) reports what it awaits, what it last saw and for how long, as the resource's status
 * line in `pulumi up` (when and what: plan/progress.ts).
 *
 * The lines go to Pulumi's engine, as `pulumi.log` sends them from a program (Engine.Log with the
 * resource's URN, pulumi/pulumi@a88168d8 sdk/nodejs/log/index.ts:98-128), marked ephemeral: the CLI
 * shows them while the step runs and leaves them out of the Diagnostics summary
 * (pkg/host/host_server.go:107-111, pkg/backend/display/progress.go:802-805). `pulumi.log` itself
 * cannot do it here: in the dynamic-provider host it has no engine (it connects only to the address a
 * program is given) and it takes a Resource object for the URN, which provider code has none of. So:
 * - the engine's address: the CLI starts every resource plugin with it as its only argument
 *   (sdk/go/common/resource/plugin/provider_plugin.go:282), and the Node.js host, whose process this
 *   code runs in, checks that it is there and leaves it unused (sdk/nodejs/cmd/dynamic-provider/index.ts:487-493);
 * - the URN: the engine's Create/Update/Delete requests carry it, but the host calls the provider with
 *   the properties only (`provider.create(props)`, `provider.update(id, olds, news)`,
 *   `provider.delete(id, props)`: index.ts:254, 319, 338), so the SDK sends it as the input
 *   `resourceUrn` (sdk/types.ts `resourceUrnInput`), and provider/index.ts opens a step with it.
 * Outside the host (provider tests) nothing is sent unless a sink is set.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createRequire } from "node:module";
import { finished, report, reportDueAt, type WaitReport } from "./plan/progress";

/** One progress line for the resource `urn` (undefined: a line of no resource). */
export interface ProgressLine {
  urn?: string;
  message: string;
}

/** Where progress lines go; a sink never throws. */
export type ProgressSink = (line: ProgressLine) => Promise<void>;

/** The step a wait belongs to: its resource, and the lines sent so far (in order). */
interface Step {
  urn?: string;
  sink: ProgressSink;
  sent: Promise<void>;
}

const steps = new AsyncLocalStorage<Step>();

/** The sink: undefined until first looked up, null when there is none. */
let sink: ProgressSink | null | undefined;

/** Replaces the sink (tests); `undefined` looks it up again on the next step. */
export function setProgressSink(s: ProgressSink | null | undefined): void {
  sink = s;
}

/** How long the end of a step waits for its last lines to be delivered. */
const FLUSH_MS = 2_000;

/**
 * Runs one create, update or delete of the resource `urn` (the `resourceUrn` input; absent in state
 * written before it existed: its lines then go to no resource). Its waits' lines are delivered before
 * it returns, so they precede the step's result in the CLI's display.
 */
export async function inStep<T>(urn: string | undefined, fn: () => Promise<T>): Promise<T> {
  if (sink === undefined) sink = engineSink();
  if (!sink) return fn();
  const step: Step = { urn, sink, sent: Promise.resolve() };
  try {
    return await steps.run(step, fn);
  } finally {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([step.sent, new Promise<void>((r) => (timer = setTimeout(r, FLUSH_MS)))]);
    clearTimeout(timer);
  }
}

/**
 * Runs a wait for `what` ("StatefulSet tailscale/ingress to run 2 ready replicas …"), reporting it while it
 * lasts. `run` calls `observe` with what it sees, in words and without secret values; a change is reported
 * (plan/progress.ts says how often). Outside a step this is `run` alone.
 */
export async function waiting<T>(
  what: string,
  run: (observe: (state: string | undefined) => void) => Promise<T>,
): Promise<T> {
  const step = steps.getStore();
  if (!step) return run(() => {});
  let w: WaitReport = { what, startedAt: Date.now() };
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => {
        const r = report(w, Date.now());
        w = r.next;
        send(step, r.message);
        schedule();
      },
      Math.max(0, reportDueAt(w) - Date.now()),
    );
  };
  schedule();
  let outcome: "done" | "failed" = "failed";
  try {
    const result = await run((state) => {
      if (state === w.state) return;
      w = { ...w, state };
      schedule();
    });
    outcome = "done";
    return result;
  } finally {
    clearTimeout(timer);
    const last = finished(w, Date.now(), outcome);
    if (last) send(step, last);
  }
}

function send(step: Step, message: string): void {
  step.sent = step.sent.then(() => step.sink({ urn: step.urn, message }));
}

/** The engine as the host's argument names it, or null outside Pulumi's Node.js dynamic-provider host. */
function engineSink(): ProgressSink | null {
  const host = require.main?.filename ?? "";
  const address = process.argv[2];
  if (!/[\\/]@pulumi[\\/]pulumi[\\/]cmd[\\/]dynamic-provider[\\/]index\.js$/.test(host) || !address)
    return null;
  // The host's own @pulumi/pulumi and its gRPC library, the ones `pulumi.log` would use.
  const near = createRequire(host);
  const grpc = near("@grpc/grpc-js") as GrpcModule;
  const { EngineClient } = near("@pulumi/pulumi/proto/engine_grpc_pb") as EngineRpcModule;
  const pb = near("@pulumi/pulumi/proto/engine_pb") as EngineProtoModule;
  const client = new EngineClient(address, grpc.credentials.createInsecure());
  let broken = false;
  return (line) =>
    new Promise<void>((resolve) => {
      if (broken) return resolve();
      const req = new pb.LogRequest();
      req.setSeverity(pb.LogSeverity.INFO);
      req.setMessage(line.message);
      req.setUrn(line.urn ?? "");
      req.setEphemeral(true);
      client.log(req, new grpc.Metadata(), { deadline: Date.now() + FLUSH_MS }, (err) => {
        if (err && !broken) {
          broken = true;
          // The host's stderr reaches the CLI as a message of no resource.
          process.stderr.write(
            `pulumi-tailnet: progress lines cannot reach the Pulumi engine at ${address} (${err.message}); ` +
              "continuing without them\n",
          );
        }
        resolve();
      });
    });
}

/** The parts of `@grpc/grpc-js` and of `@pulumi/pulumi/proto/engine_*` used above. */
interface GrpcModule {
  credentials: { createInsecure(): unknown };
  Metadata: new () => unknown;
}
interface EngineRpcModule {
  EngineClient: new (
    address: string,
    credentials: unknown,
  ) => {
    log(
      req: unknown,
      metadata: unknown,
      options: { deadline: number },
      cb: (err: Error | null) => void,
    ): void;
  };
}
interface EngineProtoModule {
  LogRequest: new () => {
    setSeverity(s: number): void;
    setMessage(m: string): void;
    setUrn(u: string): void;
    setEphemeral(e: boolean): void;
  };
  LogSeverity: { INFO: number };
}
