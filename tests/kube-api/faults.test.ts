// The seeded fault injector of the local API server (tests/support/kube-api/faults.ts), seen by a raw
// HTTP client: what each kind puts on the wire, determinism for a seed, and the route and user filters.
import assert from "node:assert/strict";
import { request } from "node:https";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";
import { mulberry32 } from "../support/kube-api/faults";

interface RawAnswer {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  /** Set when the connection broke: Node's error code, or "aborted" for a response cut short. */
  error?: string;
}

const CM = "/api/v1/namespaces/default/configmaps";

/** One request with node:https, so a destroyed socket is seen as such (fetch would wrap it). */
function send(server: KubeApiServer, method: string, path: string, body?: unknown, token = server.token) {
  return new Promise<RawAnswer>((resolve) => {
    const req = request(
      `${server.url}${path}`,
      {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ca: server.ca,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("aborted", () =>
          resolve({ status: res.statusCode, headers: res.headers, body: text, error: "aborted" }),
        );
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
        res.on("error", () => undefined);
      },
    );
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const cm = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });
const lines = (text = "") =>
  text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; object: any });

describe("kube-api: seeded faults", () => {
  let server: KubeApiServer;

  beforeEach(async () => {
    server = await startKubeApiServer();
  });
  afterEach(async () => {
    await server?.stop();
  });

  it("429: plain text and Retry-After: 1, exactly as API Priority and Fairness writes it", async () => {
    server.setFaults({ kinds: ["429"], times: 1 });
    const r = await send(server, "GET", `${CM}`);
    assert.equal(r.status, 429);
    assert.equal(r.headers?.["retry-after"], "1");
    assert.equal(r.headers?.["content-type"], "text/plain; charset=utf-8");
    assert.equal(r.body, "Too many requests, please try again later.\n");
    assert.equal((await send(server, "GET", CM)).status, 200, "times: 1 faults one request");
    assert.equal(server.faultCounts()["429"], 1);
  });

  it("5xx: a Status body, with or without Retry-After", async () => {
    server.setFaults([
      { kinds: ["5xx"], status: 503, retryAfterSeconds: 1, times: 1, method: "GET" },
      { kinds: ["5xx"], status: 500, retryAfterSeconds: null, times: 1, method: "POST" },
    ]);
    const a = await send(server, "GET", CM);
    assert.equal(a.status, 503);
    assert.equal(a.headers?.["retry-after"], "1");
    const sa = JSON.parse(a.body ?? "");
    assert.equal(sa.kind, "Status");
    assert.equal(sa.code, 503);
    assert.equal(sa.reason, "ServiceUnavailable");
    assert.equal(sa.details.retryAfterSeconds, 1);
    const b = await send(server, "POST", CM, cm("x"));
    assert.equal(b.status, 500);
    assert.equal(b.headers?.["retry-after"], undefined);
    assert.equal(JSON.parse(b.body ?? "").reason, "InternalError");
    assert.equal(server.getObject("v1", "ConfigMap", "default", "x"), undefined, "a 5xx does not act");
    assert.equal(server.faultCounts()["5xx"], 2);
  });

  it("reset-before drops the connection without acting; reset-after acts, then drops it", async () => {
    server.setFaults({ kinds: ["reset-before"], times: 1, method: "POST" });
    assert.equal((await send(server, "POST", CM, cm("before"))).error, "ECONNRESET");
    assert.equal(server.getObject("v1", "ConfigMap", "default", "before"), undefined);

    server.setFaults({ kinds: ["reset-after"], times: 1, method: "POST" });
    const r = await send(server, "POST", CM, cm("after"));
    assert.equal(r.error, "ECONNRESET");
    assert.equal(r.status, undefined, "no status line was sent");
    assert.ok(server.getObject("v1", "ConfigMap", "default", "after"), "the write happened");
    assert.equal(server.faultCounts()["reset-after"], 1);
    assert.equal(server.requests.at(-1)?.fault, "reset-after");
  });

  it("slow answers normally, later", async () => {
    server.setFaults({ kinds: ["slow"], slowMs: 30, times: 1 });
    const r = await send(server, "POST", CM, cm("slow"));
    assert.equal(r.status, 201);
    assert.equal(server.faultCounts().slow, 1);
  });

  it("watch-close ends a watch cleanly; watch-error sends a 410 Expired ERROR event, then ends", async () => {
    const rv = JSON.parse((await send(server, "GET", CM)).body ?? "").metadata.resourceVersion;
    server.setFaults({ kinds: ["watch-close"], times: 1 });
    const closed = await send(server, "GET", `${CM}?watch=true&resourceVersion=${rv}`);
    assert.equal(closed.status, 200);
    assert.equal(closed.error, undefined);
    assert.deepEqual(lines(closed.body), []);

    server.setFaults({ kinds: ["watch-error"], times: 1 });
    const errored = await send(server, "GET", `${CM}?watch=true&resourceVersion=${rv}`);
    const events = lines(errored.body);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, "ERROR");
    assert.equal(events[0]!.object.kind, "Status");
    assert.equal(events[0]!.object.code, 410);
    assert.equal(events[0]!.object.reason, "Expired");
    assert.match(events[0]!.object.message, /too old resource version/);
  });

  it("draws watch kinds only for watches, and reset-after on a watch cuts the stream", async () => {
    server.setFaults({ kinds: ["watch-close", "watch-error"] });
    assert.equal((await send(server, "GET", CM)).status, 200, "a list is not a watch");
    assert.deepEqual(server.faultCounts(), {
      "5xx": 0,
      "429": 0,
      "reset-before": 0,
      "reset-after": 0,
      "watch-close": 0,
      "watch-error": 0,
      slow: 0,
    });
    server.setFaults({ kinds: ["reset-after"], watch: true, times: 1 });
    const cut = await send(server, "GET", `${CM}?watch=true`);
    assert.ok(cut.error, "the stream broke instead of ending");
    assert.ok(
      lines(cut.body).some((e) => e.type === "ADDED"),
      "the watch had started",
    );
  });

  it("draws the same faults for the same seed and request sequence", async () => {
    const run = async (seed: number) => {
      server.setFaults({ seed, rate: 0.5, kinds: ["5xx", "slow", "reset-before"], slowMs: 1 });
      for (let i = 0; i < 24; i++) await send(server, "GET", `${CM}/none-${i}`);
      return server.injectedFaults().map((f) => `${f.path}:${f.kind}:${f.status ?? ""}`);
    };
    const first = await run(7);
    assert.ok(first.length > 0 && first.length < 24, `rate 0.5 faults some requests (${first.length})`);
    assert.deepEqual(await run(7), first);
    assert.notDeepEqual(await run(8), first);
    // The PRNG itself: mulberry32 is a fixed function of the seed.
    assert.deepEqual(Array.from({ length: 3 }, mulberry32(1)), Array.from({ length: 3 }, mulberry32(1)));
  });

  it("filters by method and path, and skips the first matching requests when asked", async () => {
    server.setFaults({
      kinds: ["5xx"],
      status: 503,
      retryAfterSeconds: null,
      method: "GET",
      path: /\/b$/,
      skip: 1,
    });
    assert.equal((await send(server, "GET", `${CM}/a`)).status, 404, "other path");
    assert.equal((await send(server, "POST", CM, cm("b"))).status, 201, "other method");
    assert.equal((await send(server, "GET", `${CM}/b`)).status, 200, "skipped");
    assert.equal((await send(server, "GET", `${CM}/b`)).status, 503);
    assert.equal((await send(server, "GET", `${CM}/b`)).status, 503, "no times: every later match");
    assert.equal(server.faultCounts()["5xx"], 2);
  });

  it("faults only the admin identity unless other users are named", async () => {
    const simToken = /token: (\S+)/.exec(server.kubeconfig({ user: "cluster-sim" }))![1]!;
    server.setFaults({ kinds: ["5xx"], status: 500, retryAfterSeconds: null });
    assert.equal((await send(server, "GET", CM, undefined, simToken)).status, 200, "the simulator is spared");
    assert.equal((await send(server, "GET", CM)).status, 500);
    assert.equal((await send(server, "GET", CM, undefined, "not-a-token")).status, 401);

    server.setFaults({ kinds: ["5xx"], status: 500, retryAfterSeconds: null, users: ["cluster-sim"] });
    assert.equal((await send(server, "GET", CM)).status, 200);
    assert.equal((await send(server, "GET", CM, undefined, simToken)).status, 500);
    assert.deepEqual(
      server.injectedFaults().map((f) => f.user),
      ["cluster-sim"],
    );

    server.setFaults({ kinds: ["5xx"], status: 500, retryAfterSeconds: null, users: "all" });
    assert.equal((await send(server, "GET", CM)).status, 500);
    assert.equal((await send(server, "GET", CM, undefined, simToken)).status, 500);
  });

  it("takes rules from the start options, and refuses bad ones", async () => {
    const s = await startKubeApiServer({
      faults: { kinds: ["5xx"], status: 504, retryAfterSeconds: null, times: 1 },
    });
    try {
      assert.equal((await send(s, "GET", CM)).status, 504);
      assert.equal((await send(s, "GET", CM)).status, 200);
    } finally {
      await s.stop();
    }
    assert.throws(() => server.setFaults({ kinds: ["5xx"], rate: 2 }), /rate must be within 0..1/);
    assert.throws(() => server.setFaults({ kinds: ["boom" as never] }), /unknown fault kind "boom"/);
  });
});
