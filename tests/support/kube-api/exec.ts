/**
 * `pods/exec` over WebSocket, as the API server (proxying to the kubelet) answers it: the client
 * opens `GET /api/v1/namespaces/<ns>/pods/<pod>/exec?command=…&container=…&stdout=true&stderr=true`
 * offering `v5.channel.k8s.io` down to `channel.k8s.io`; the server picks the newest it speaks (v5, which
 * adds the client's close signal: a message on channel 255 naming the stream it half-closes, KEP-4006
 * https://github.com/kubernetes/enhancements/issues/4006), and every binary frame starts with a channel
 * byte (0 stdin, 1 stdout, 2 stderr, 3 the final Status). What the command does is up to the registered
 * handler (the cluster simulator's stand-in for the container's binaries).
 *
 * Authorization is that of a 1.35+ server: the upgrade is a GET, so `get` on `pods/exec`, and then the
 * synthetic `create` check of the `AuthorizePodWebsocketUpgradeCreatePermission` gate (beta, on by default
 * since 1.35: kubernetes/kubernetes#134577); each refusal is the standard 403 naming the verb
 * (kubernetes/kubernetes#134577; the exact wording of the second check's message is the standard
 * Forbidden form, which the sources read here do not show verbatim).
 */
import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { impersonate } from "./auth";
import { badRequest, generic, notFound, StatusError, unauthorized } from "./errors";
import { TOO_MANY_REQUESTS_TEXT } from "./faults";
import { authzRecord, type HttpState, type KubeRequestRecord } from "./http";
import { requestAttributes } from "./rbac";

/** One exec request as the kubelet receives it. */
export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
}

/** What the command printed and its exit code. */
export interface ExecResult {
  stdout?: string;
  stderr?: string;
  exitCode: number;
}

/** Runs a command "in" a container. */
export type ExecHandler = (req: ExecRequest) => Promise<ExecResult>;

const SUBPROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
];
/** v5's close signal: a message on this channel whose next byte is the stream being closed. */
const CLOSE_CHANNEL = 255;
const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/;

function refuse(record: KubeRequestRecord, socket: Duplex, err: StatusError): void {
  record.status = err.code;
  rawAnswer(socket, err.code, JSON.stringify(err.status), "application/json", err.headers);
}

function rawAnswer(
  socket: Duplex,
  code: number,
  body: string,
  contentType: string,
  headers: Record<string, string> = {},
): void {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? "Error"}\r\n` +
      `Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}

function frame(channel: number, text: string): Buffer {
  return Buffer.concat([Buffer.from([channel]), Buffer.from(text, "utf8")]);
}

/** The final Status frame: Success, or NonZeroExitCode with the exit code as its cause. */
function statusFrame(command: string[], exitCode: number): Buffer {
  if (exitCode === 0) return frame(3, JSON.stringify({ metadata: {}, status: "Success" }));
  return frame(
    3,
    JSON.stringify({
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${exitCode}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
    }),
  );
}

/**
 * Handles HTTP upgrades on the server. `getPod` returns the stored Pod or undefined; `handler` runs
 * the command (no handler: every command exits 126, "cannot execute").
 */
export function attachExec(
  state: HttpState,
  getPod: (namespace: string, name: string) => any | undefined,
  handler: () => ExecHandler | undefined,
) {
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  return async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const record: KubeRequestRecord = {
      method: (req.method ?? "GET").toUpperCase(),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
      class: "write",
    };
    const user = state.authn.authenticate(req);
    record.user = user?.name;
    state.requests.push(record);
    if (user === undefined) {
      refuse(record, socket, unauthorized());
      return;
    }
    // Seeded faults hit the upgrade as they hit any request (see faults.ts); `reset-after` lets the
    // command run and drops the connection before its exit status is sent.
    const fault = state.injector.draw({
      method: record.method,
      path: url.pathname,
      user: record.user,
      watch: false,
    });
    record.fault = fault?.kind;
    if (fault?.kind === "slow") await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.kind === "reset-before") {
      socket.destroy();
      return;
    }
    if (fault?.kind === "429") {
      record.status = 429;
      rawAnswer(socket, 429, TOO_MANY_REQUESTS_TEXT, "text/plain; charset=utf-8", {
        "Retry-After": String(fault.retryAfterSeconds),
      });
      return;
    }
    if (fault?.kind === "5xx") {
      refuse(record, socket, generic(fault.status, undefined, fault.retryAfterSeconds));
      return;
    }
    const acting = impersonate(req, user, state.authz);
    if (acting instanceof StatusError) {
      refuse(record, socket, acting);
      return;
    }
    if (acting !== user) record.impersonatedUser = acting.name;
    const attrs = requestAttributes(acting, record.method, url.pathname, url.searchParams);
    const get = state.authz.authorize(attrs);
    record.authz = authzRecord(attrs, get.allowed);
    if (!get.allowed) {
      refuse(record, socket, state.authz.forbidden(attrs, get.reason));
      return;
    }
    const m = EXEC_PATH.exec(url.pathname);
    if (!m) {
      refuse(record, socket, badRequest(`upgrade is only supported for pods/exec, not ${url.pathname}`));
      return;
    }
    const create = { ...attrs, verb: "create" };
    const allowedCreate = state.authz.authorize(create);
    record.execCreateAllowed = allowedCreate.allowed;
    if (!allowedCreate.allowed) {
      refuse(record, socket, state.authz.forbidden(create, allowedCreate.reason));
      return;
    }
    const [namespace, podName] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
    const pod = getPod(namespace, podName);
    if (!pod) {
      refuse(record, socket, notFound({ group: "", resource: "pods" }, podName));
      return;
    }
    const command = url.searchParams.getAll("command");
    const containers: string[] = (pod.spec?.containers ?? []).map((c: { name: string }) => c.name);
    const container = url.searchParams.get("container") ?? containers[0];
    if (!["stdin", "stdout", "stderr"].some((k) => url.searchParams.get(k) === "true")) {
      refuse(record, socket, badRequest("you must specify at least 1 of stdin, stdout, stderr"));
      return;
    }
    if (command.length === 0) {
      refuse(record, socket, badRequest("you must specify at least 1 command"));
      return;
    }
    if (!containers.includes(container)) {
      refuse(record, socket, badRequest(`container ${container} is not valid for pod ${podName}`));
      return;
    }
    if (pod.status?.phase !== "Running") {
      refuse(
        record,
        socket,
        badRequest(`unable to upgrade connection: container not found ("${container}")`),
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, async (ws) => {
      record.status = 101;
      record.subprotocol = ws.protocol;
      // Stdin is not read by the commands served here; v5's close signal for it is accepted.
      ws.on("message", (data: Buffer) => {
        if (ws.protocol === "v5.channel.k8s.io" && data[0] === CLOSE_CHANNEL)
          record.closedStreams = [...(record.closedStreams ?? []), data[1] ?? -1];
      });
      const run = handler();
      let result: ExecResult;
      try {
        result = run
          ? await run({ namespace, pod: podName, container, command })
          : { stderr: `exec: "${command[0]}": cannot execute in this test cluster\n`, exitCode: 126 };
      } catch (err) {
        result = { stderr: `${(err as Error).message}\n`, exitCode: 1 };
      }
      if (fault?.kind === "reset-after") {
        socket.destroy();
        return;
      }
      if (result.stdout && url.searchParams.get("stdout") === "true") ws.send(frame(1, result.stdout));
      if (result.stderr && url.searchParams.get("stderr") === "true") ws.send(frame(2, result.stderr));
      ws.send(statusFrame(command, result.exitCode));
      ws.close(1000);
    });
  };
}
