// The Kubernetes side's retry policy (provider/kube/retry.ts): the pure decision table, then every
// Kube method against the local API server injecting each fault kind into its first attempt.
import assert from "node:assert/strict";
import { Kube, KubeApiError, type KubeObject, type ObjectRef, OWNER_ID_KEY } from "../../provider/kube";
import {
  DEFAULT_RETRY_POLICY,
  decideRetry,
  failureOf,
  type HttpMethod,
  type RetryQuestion,
} from "../../provider/kube/retry";
import { type FaultKind, type FaultSpec, type KubeApiServer, startKubeApiServer } from "../support/kube-api";

const NS = "tailscale";
const OWNER = "proj/dev/web";
const CMS = `/api/v1/namespaces/${NS}/configmaps`;

function configMap(name: string, data: Record<string, string>): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: NS }, data };
}

function cmRef(name: string): ObjectRef {
  return { apiVersion: "v1", kind: "ConfigMap", namespace: NS, name };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => assert.fail("expected a rejection"),
    (e: unknown) => e,
  );
}

describe("Kube retry policy", () => {
  describe("decideRetry (pure)", () => {
    const ask = (q: Partial<RetryQuestion> & { method: HttpMethod }, random = () => 1) =>
      decideRetry({ repeatable: false, attempt: 1, elapsedMs: 0, ...q }, DEFAULT_RETRY_POLICY, random);
    const delayOf = (d: ReturnType<typeof decideRetry>) => (d.retry ? d.delayMs : undefined);

    it("retries 429 on every method, after Retry-After when given, else with backoff", () => {
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"] as const) {
        assert.equal(delayOf(ask({ method, status: 429, retryAfter: "1" })), 1000, method);
        assert.equal(delayOf(ask({ method, status: 429 })), 200, method);
      }
      assert.equal(delayOf(ask({ method: "GET", status: 429, retryAfter: "3" })), 3000);
      const at = Date.parse("2030-01-01T00:00:10Z");
      const httpDate = "Tue, 01 Jan 2030 00:00:12 GMT";
      assert.equal(delayOf(ask({ method: "GET", status: 429, retryAfter: httpDate, nowMs: at })), 2000);
    });

    it("retries 500, 502, 503, 504 with backoff for reads and repeatable writes only", () => {
      for (const status of [500, 502, 503, 504]) {
        assert.equal(delayOf(ask({ method: "GET", status })), 200, `GET ${status}`);
        for (const method of ["POST", "PUT", "PATCH", "DELETE"] as const) {
          assert.equal(delayOf(ask({ method, status, repeatable: true })), 200, `${method} ${status}`);
          const d = ask({ method, status });
          assert.equal(d.retry, false, `unrepeatable ${method} ${status}`);
          assert.ok(!d.retry && d.ambiguous && /may have been applied/.test(d.why));
        }
      }
    });

    it("honours Retry-After on any 5xx (client-go checkWait); an unrepeatable write only on 503", () => {
      assert.equal(delayOf(ask({ method: "GET", status: 501, retryAfter: "2" })), 2000);
      assert.equal(delayOf(ask({ method: "GET", status: 500, retryAfter: "1" })), 1000);
      assert.equal(delayOf(ask({ method: "POST", status: 503, retryAfter: "1" })), 1000);
      assert.equal(ask({ method: "POST", status: 500, retryAfter: "1" }).retry, false);
      assert.equal(ask({ method: "GET", status: 501 }).retry, false);
      assert.equal(ask({ method: "GET", status: 505 }).retry, false);
    });

    it("never retries a 4xx other than 429", () => {
      for (const status of [400, 401, 403, 404, 405, 409, 410, 413, 415, 422]) {
        for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"] as const) {
          const d = ask({ method, status, repeatable: true, retryAfter: "1" });
          assert.equal(d.retry, false, `${method} ${status}`);
          assert.ok(!d.retry && /is not a transient failure/.test(d.why));
        }
      }
    });

    it("retries a lost answer for GET and repeatable writes, a refused connection for anything", () => {
      for (const errorCode of ["ECONNRESET", "EPIPE", "ERR_STREAM_PREMATURE_CLOSE", "ETIMEDOUT"]) {
        assert.equal(ask({ method: "GET", errorCode }).retry, true, errorCode);
        for (const method of ["POST", "PUT", "PATCH", "DELETE"] as const) {
          assert.equal(ask({ method, errorCode, repeatable: true }).retry, true, `${method} ${errorCode}`);
          const d = ask({ method, errorCode });
          assert.ok(!d.retry && d.ambiguous, `unrepeatable ${method} ${errorCode}`);
        }
      }
      assert.equal(ask({ method: "POST", errorCode: "ECONNREFUSED" }).retry, true);
      for (const errorCode of ["ENOTFOUND", "CERT_HAS_EXPIRED", "DEPTH_ZERO_SELF_SIGNED_CERT", undefined]) {
        assert.equal(ask({ method: "GET", errorCode }).retry, false, String(errorCode));
      }
    });

    it("stops after 10 retries (11 attempts) or when the next wait would pass the 60 s budget", () => {
      assert.equal(ask({ method: "GET", status: 503, attempt: 10 }).retry, true);
      const last = ask({ method: "GET", status: 503, attempt: 11 });
      assert.ok(!last.retry && /limit of 10 retries/.test(last.why));
      assert.equal(ask({ method: "GET", status: 429, retryAfter: "1", elapsedMs: 59_000 }).retry, true);
      const late = ask({ method: "GET", status: 429, retryAfter: "1", elapsedMs: 59_500 });
      assert.ok(!late.retry && /would pass the 60s retry budget/.test(late.why));
      assert.equal(ask({ method: "GET", status: 429, retryAfter: "120" }).retry, false);
    });

    it("backs off exponentially with jitter, capped", () => {
      const top = [1, 2, 3, 4, 5, 6, 7].map((attempt) =>
        delayOf(ask({ method: "GET", status: 503, attempt })),
      );
      assert.deepEqual(top, [200, 400, 800, 1600, 3200, 5000, 5000]);
      const bottom = delayOf(ask({ method: "GET", status: 503, attempt: 3 }, () => 0));
      assert.equal(bottom, 400, "jitter draws within [base/2, base]");
    });

    it("reads status, Retry-After and error codes off what client-node throws", () => {
      assert.deepEqual(failureOf({ code: 429, body: "x", headers: { "retry-after": "1" } }), {
        status: 429,
        retryAfter: "1",
      });
      assert.deepEqual(failureOf(Object.assign(new Error("Service Unavailable"), { statusCode: 503 })), {
        status: 503,
      });
      assert.deepEqual(failureOf(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })), {
        errorCode: "ECONNRESET",
      });
      const done = new KubeApiError({
        code: 503,
        reason: "ServiceUnavailable",
        verb: "get",
        ref: cmRef("a"),
        serverMessage: "x",
        hint: "y",
      });
      assert.equal(failureOf(done), undefined, "a finished (already retried) request is not retried again");
      assert.equal(failureOf(new Error("Unrecognized API version and kind: v9 Nope")), undefined);
    });
  });

  describe("against the faulting API server", () => {
    let server: KubeApiServer;
    let kube: Kube;

    beforeEach(async () => {
      server = await startKubeApiServer();
      // Short backoffs keep the suite fast; a Retry-After is still waited for in full.
      kube = Kube.fromKubeconfig(server.kubeconfig(), undefined, {
        retry: { initialBackoffMs: 5, maxBackoffMs: 20 },
      });
      await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    });

    afterEach(async () => {
      await server?.stop();
    });

    /** Faults exactly the first request matching method and path with `kind`. */
    const once = (kind: FaultKind, method: string, path: RegExp, extra: Partial<FaultSpec> = {}) =>
      server.setFaults({
        kinds: [kind],
        method,
        path,
        times: 1,
        retryAfterSeconds: null,
        slowMs: 20,
        ...extra,
      });
    const exactly = (name: string) => new RegExp(`^${CMS}/${name}$`);
    const statusesOf = (method: string, path: RegExp) =>
      server.requests.filter((q) => q.method === method && path.test(q.path)).map((q) => q.status);

    // The kinds that can hit a plain request; 429 (which always waits its Retry-After: 1) is tested
    // on one read and one write below.
    const KINDS: FaultKind[] = ["5xx", "reset-before", "reset-after", "slow"];

    for (const kind of KINDS) {
      describe(`${kind} on the first attempt`, () => {
        it("get and list succeed", async () => {
          server.seed(configMap("a", { k: "v" }));
          once(kind, "GET", exactly("a"));
          assert.deepEqual((await kube.get(cmRef("a")))?.data, { k: "v" });
          once(kind, "GET", new RegExp(`^${CMS}$`));
          assert.deepEqual((await kube.list("v1", "ConfigMap", NS)).map((o) => o.metadata.name).sort(), [
            "a",
            "kube-root-ca.crt",
          ]);
          assert.equal(server.faultCounts()[kind], 1);
        });

        it("create succeeds, with one object stored", async () => {
          once(kind, "POST", new RegExp(`^${CMS}$`));
          const made = await kube.create(configMap("c", { k: "v" }));
          assert.equal(made.metadata.name, "c");
          assert.equal(
            server.listObjects("v1", "ConfigMap", NS).filter((o) => o.metadata.name === "c").length,
            1,
          );
          assert.equal(server.faultCounts()[kind], 1);
        });

        it("apply (create, then update by merge patch) succeeds", async () => {
          once(kind, "POST", new RegExp(`^${CMS}$`));
          assert.equal((await kube.apply(configMap("p", { k: "1" }), { ownerId: OWNER })).action, "created");
          once(kind, "PATCH", exactly("p"));
          const r = await kube.apply(configMap("p", { k: "2" }), { ownerId: OWNER });
          assert.equal(r.action, "updated");
          assert.deepEqual(server.getObject("v1", "ConfigMap", NS, "p").data, { k: "2" });
          assert.equal(server.faultCounts()[kind], 1);
        });

        it("delete succeeds and reports the deletion", async () => {
          server.seed(configMap("d", {}));
          once(kind, "DELETE", exactly("d"));
          assert.equal(await kube.delete(cmRef("d")), true);
          assert.equal(server.getObject("v1", "ConfigMap", NS, "d"), undefined);
        });

        it("readModifyWrite succeeds without losing or repeating the change", async () => {
          server.seed(configMap("shared", { base: "0" }));
          once(kind, "PUT", exactly("shared"));
          const r = await kube.readModifyWrite(cmRef("shared"), (o) => ({
            ...o,
            data: { ...(o.data as object), mine: "1" },
          }));
          assert.equal(r.changed, true);
          assert.deepEqual(server.getObject("v1", "ConfigMap", NS, "shared").data, { base: "0", mine: "1" });
          assert.equal(kube.conflictRetries, 0, "a lost-but-applied write is recognised, not redone");
        });
      });
    }

    describe("waitFor", () => {
      const ready = (o: KubeObject | undefined) =>
        (o?.data as Record<string, string> | undefined)?.["ready"] === "true";

      for (const kind of [
        "5xx",
        "429",
        "reset-before",
        "reset-after",
        "watch-close",
        "watch-error",
        "slow",
      ] as const) {
        it(`still sees the change when its watch gets ${kind}`, async () => {
          server.seed(configMap("state", { ready: "false" }));
          server.setFaults({ kinds: [kind], watch: true, times: 1, retryAfterSeconds: null, slowMs: 20 });
          const writer = Kube.fromKubeconfig(server.kubeconfig({ user: "writer" }));
          let triggered = false;
          const result = await kube.waitFor(
            cmRef("state"),
            (o) => {
              if (!triggered) {
                triggered = true;
                void writer.readModifyWrite(cmRef("state"), (cm) => ({ ...cm, data: { ready: "true" } }));
              }
              return ready(o);
            },
            { timeoutMs: 10_000, description: "the proxy to report ready" },
          );
          assert.equal(ready(result), true);
          assert.equal(server.faultCounts()[kind], 1);
        });
      }

      it("survives a fault on its initial list", async () => {
        server.seed(configMap("state", { ready: "true" }));
        server.setFaults({
          kinds: ["reset-before"],
          method: "GET",
          watch: false,
          path: new RegExp(`^${CMS}$`),
          times: 1,
        });
        assert.equal(
          ready(await kube.waitFor(cmRef("state"), ready, { timeoutMs: 5000, description: "ready" })),
          true,
        );
        assert.equal(server.faultCounts()["reset-before"], 1);
      });
    });

    it("a lifecycle under seeded faults on a third of all requests ends in the intended state", async () => {
      server.setFaults({
        seed: 42,
        rate: 0.3,
        kinds: ["5xx", "reset-before", "reset-after", "slow", "watch-close", "watch-error"],
        retryAfterSeconds: null,
        slowMs: 5,
      });
      for (let i = 0; i < 4; i++) {
        await kube.apply(configMap(`cm-${i}`, { v: "1" }), { ownerId: OWNER });
        await kube.apply(configMap(`cm-${i}`, { v: "2" }), { ownerId: OWNER });
      }
      await kube.create(configMap("shared", {}));
      for (let i = 0; i < 4; i++) {
        await kube.readModifyWrite(cmRef("shared"), (o) => ({
          ...o,
          data: { ...(o.data as object), [`k${i}`]: "x" },
        }));
      }
      const waited = kube.waitFor(cmRef("cm-0"), (o) => o === undefined, {
        timeoutMs: 10_000,
        description: "gone",
      });
      for (let i = 0; i < 4; i++) await kube.delete(cmRef(`cm-${i}`));
      await waited;
      server.setFaults(undefined);
      const left = server.listObjects("v1", "ConfigMap", NS).map((o) => o.metadata.name);
      assert.deepEqual(left.sort(), ["kube-root-ca.crt", "shared"]);
      assert.deepEqual(server.getObject("v1", "ConfigMap", NS, "shared").data, {
        k0: "x",
        k1: "x",
        k2: "x",
        k3: "x",
      });
      assert.ok(kube.retries > 0, "faults were injected and ridden out");
    });

    describe("429 with Retry-After: 1", () => {
      it("waits and succeeds on a read and on a write", async () => {
        server.seed(configMap("a", {}));
        server.setFaults([
          { kinds: ["429"], method: "GET", path: exactly("a"), times: 1 },
          { kinds: ["429"], method: "POST", path: new RegExp(`^${CMS}$`), times: 1 },
        ]);
        assert.ok(await kube.get(cmRef("a")));
        assert.ok(await kube.create(configMap("b", {})));
        assert.equal(server.faultCounts()["429"], 2);
        assert.deepEqual(statusesOf("GET", exactly("a")), [429, 200]);
        assert.deepEqual(statusesOf("POST", new RegExp(`^${CMS}$`)), [429, 201]);
        assert.equal(kube.retries, 2);
      });
    });

    describe("lost answers of writes", () => {
      it("a create whose answer was lost adopts the object it made (409 AlreadyExists, then read back)", async () => {
        once("reset-after", "POST", new RegExp(`^${CMS}$`));
        const made = await kube.create({
          ...configMap("mine", { k: "v" }),
          metadata: { name: "mine", namespace: NS, annotations: { [OWNER_ID_KEY]: OWNER } },
        });
        assert.equal(made.metadata.annotations?.[OWNER_ID_KEY], OWNER);
        assert.deepEqual(statusesOf("POST", new RegExp(`^${CMS}$`)), [0, 409]);
        assert.deepEqual(statusesOf("GET", exactly("mine")), [200], "read back after the 409");
      });

      it("an apply whose answer was lost is sent again: applying the same configuration is repeatable", async () => {
        once("reset-after", "PATCH", exactly("applied"));
        const r = await kube.apply(configMap("applied", { k: "v" }), { ownerId: OWNER });
        assert.equal(r.action, "created");
        assert.equal(r.object.metadata.annotations?.[OWNER_ID_KEY], OWNER);
        assert.deepEqual(statusesOf("PATCH", exactly("applied")), [0, 200]);
      });

      it("an AlreadyExists that is not what we sent is still an error", async () => {
        server.seed(configMap("theirs", { k: "other" }));
        server.setFaults({ kinds: ["5xx"], status: 503, retryAfterSeconds: null, method: "POST", times: 1 });
        const err = await rejection(kube.create(configMap("theirs", { k: "mine" })));
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.code, 409);
        assert.equal(err.reason, "AlreadyExists");
        assert.match(
          err.message,
          /create of ConfigMap tailscale\/theirs failed \(409 AlreadyExists\) after 2 attempts/,
        );
      });

      it("a delete whose answer was lost is retried, and the 404 then is success", async () => {
        server.seed(configMap("d", {}));
        once("reset-after", "DELETE", exactly("d"));
        assert.equal(await kube.delete(cmRef("d")), true);
        assert.deepEqual(statusesOf("DELETE", exactly("d")), [0, 404]);
      });

      it("a resourceVersion-guarded PUT whose answer was lost is compared on the 409, not redone", async () => {
        server.seed(configMap("shared", {}));
        once("reset-after", "PUT", exactly("shared"));
        const r = await kube.readModifyWrite(cmRef("shared"), (o) => ({ ...o, data: { mine: "1" } }));
        assert.equal(r.changed, true);
        assert.equal(r.attempts, 1);
        assert.deepEqual(statusesOf("PUT", exactly("shared")), [0, 409]);
        assert.equal(kube.conflictRetries, 0);
      });

      it("a generateName create is not repeated after a lost answer, and says it may exist", async () => {
        once("reset-after", "POST", new RegExp(`^${CMS}$`));
        const err = await rejection(
          kube.create({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { generateName: "gen-", namespace: NS },
          }),
        );
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.reason, "ConnectionError");
        assert.equal(err.attempts, 1);
        assert.match(err.message, /may have been applied/);
        assert.match(err.message, /check the object \(kubectl get\)/);
        assert.equal(statusesOf("POST", new RegExp(`^${CMS}$`)).length, 1);
      });
    });

    describe("pods/exec", () => {
      beforeEach(async () => {
        server.seed({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { namespace: NS, name: "proxy-0" },
          spec: { containers: [{ name: "tailscale", image: "tailscale/tailscale" }] },
        });
        const res = await server.fetch(`${server.url}/api/v1/namespaces/${NS}/pods/proxy-0/status`, {
          method: "PATCH",
          headers: {
            authorization: `Bearer ${server.token}`,
            "content-type": "application/merge-patch+json",
          },
          body: JSON.stringify({ status: { phase: "Running" } }),
        });
        assert.equal(res.status, 200);
        server.setExecHandler(async ({ command }) => ({ stdout: `${command.join(" ")}\n`, exitCode: 0 }));
      });

      for (const kind of ["reset-before", "5xx", "slow"] as const) {
        it(`is retried when the upgrade fails with ${kind} (the command never started)`, async () => {
          once(kind, "GET", /\/pods\/proxy-0\/exec$/);
          const r = await kube.exec(NS, "proxy-0", "tailscale", ["echo", "hi"], 10_000);
          assert.equal(r.stdout, "echo hi\n");
          assert.equal(r.exitCode, 0);
          assert.equal(server.faultCounts()[kind], 1);
        });
      }

      it("is not retried once the command ran and the connection then broke", async () => {
        let runs = 0;
        server.setExecHandler(async () => {
          runs++;
          return { stdout: "done\n", exitCode: 0 };
        });
        once("reset-after", "GET", /\/pods\/proxy-0\/exec$/);
        const err = await rejection(kube.exec(NS, "proxy-0", "tailscale", ["tailscale", "cert"], 10_000));
        assert.match(String((err as Error).message), /not retried because the command may have run/);
        assert.equal(runs, 1);
      });

      it("is run again after the connection broke when the command is idempotent", async () => {
        let runs = 0;
        server.setExecHandler(async () => {
          runs++;
          return { stdout: "cert\n", exitCode: 0 };
        });
        once("reset-after", "GET", /\/pods\/proxy-0\/exec$/);
        const r = await kube.exec(NS, "proxy-0", "tailscale", ["tailscale", "cert"], 10_000, {
          idempotent: true,
        });
        assert.equal(r.stdout, "cert\n");
        assert.equal(runs, 2, "the first run's answer was lost; the second one's arrived");
      });
    });

    describe("what remains an error", () => {
      it("a 403 is not retried and names the object", async () => {
        server.injectFault({ method: "POST", path: CMS, status: 403, times: 5 });
        const err = await rejection(kube.create(configMap("denied", {})));
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.code, 403);
        assert.equal(err.attempts, 1);
        assert.match(err.message, /create of ConfigMap tailscale\/denied failed \(403 Forbidden\):/);
        assert.equal(statusesOf("POST", new RegExp(`^${CMS}$`)).length, 1);
      });

      it("a 422 is not retried and names the object", async () => {
        const err = await rejection(kube.create(configMap("bad", { "bad key!": "v" })));
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.code, 422);
        assert.match(err.message, /create of ConfigMap tailscale\/bad failed \(422 Invalid\):/);
        assert.equal(statusesOf("POST", new RegExp(`^${CMS}$`)).length, 1);
        assert.equal(kube.retries, 0);
      });

      it("a persistent 503 gives up after 10 retries, saying how many attempts were made", async () => {
        server.setFaults({
          kinds: ["5xx"],
          status: 503,
          retryAfterSeconds: null,
          method: "GET",
          path: exactly("x"),
        });
        const err = await rejection(kube.get(cmRef("x")));
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.code, 503);
        assert.equal(err.attempts, 11);
        assert.match(
          err.message,
          /get of ConfigMap tailscale\/x failed \(503 ServiceUnavailable\) after 11 attempts over [\d.]+m?s \(503; the limit of 10 retries is reached\)/,
        );
        assert.match(err.message, /check its health/);
        assert.equal(statusesOf("GET", exactly("x")).length, 11);
      });

      it("a Retry-After beyond the time budget is not waited for", async () => {
        const tight = Kube.fromKubeconfig(server.kubeconfig(), undefined, { retry: { maxElapsedMs: 500 } });
        server.setFaults({ kinds: ["429"], method: "GET", path: exactly("x") });
        const err = await rejection(tight.get(cmRef("x")));
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.code, 429);
        assert.match(err.message, /Too many requests, please try again later/);
        assert.equal(statusesOf("GET", exactly("x")).length, 1);
      });

      it("an unreachable cluster gives up after the retries with no numeric code (gRPC would read 0 as OK)", async () => {
        await server.stop();
        const err = await rejection(kube.get(cmRef("x")));
        assert.ok(err instanceof KubeApiError);
        assert.equal(err.reason, "ConnectionError");
        assert.equal(typeof (err as { code?: unknown }).code, "undefined");
        assert.equal(err.attempts, 11);
        assert.match(err.message, /failed \(no response\) after 11 attempts/);
        assert.match(err.message, /ECONNREFUSED/);
        assert.match(err.message, /is reachable with the kubeconfig in use/);
        assert.ok(!err.message.includes(server.token));
      });
    });
  });
});
