// Progress lines while a step waits: when they are due and what they say (provider/plan/progress.ts),
// and the I/O layer's behaviour for waits too short to report (provider/progress.ts). The lines of a
// long wait, through the engine, are asserted in tests/engine/ha.test.ts.
import assert from "node:assert/strict";
import type { KubeObject } from "../../provider/kube/types";
import {
  finished,
  formatElapsed,
  observedState,
  report,
  reportDueAt,
  type WaitReport,
} from "../../provider/plan/progress";
import { inStep, type ProgressLine, setProgressSink, waiting } from "../../provider/progress";

/**
 * Plays a wait as provider/progress.ts runs it: a report whenever one is due, the state changes at the
 * given times, until `end`. Returns each report as `<ms> <message>`.
 */
function play(changes: [number, string][], end: number): string[] {
  let w: WaitReport = { what: "X", startedAt: 0 };
  let now = 0;
  const out: string[] = [];
  const pending = [...changes];
  for (;;) {
    // A line due before the change that made it due goes out at once, as a timer set in the past fires.
    const due = Math.max(now, reportDueAt(w));
    const next = pending[0];
    if (next && next[0] <= due) {
      if (next[0] >= end) break;
      now = next[0];
      w = { ...w, state: next[1] };
      pending.shift();
      continue;
    }
    if (due >= end) break;
    now = due;
    const r = report(w, now);
    out.push(`${now} ${r.message}`);
    w = r.next;
  }
  const last = finished(w, end, "done");
  if (last) out.push(`${end} ${last}`);
  return out;
}

describe("progress lines: when they are due", () => {
  const rows: { name: string; changes: [number, string][]; end: number; expected: string[] }[] = [
    { name: "a wait shorter than 2 s says nothing", changes: [[500, "a"]], end: 1_999, expected: [] },
    {
      name: "the first line at 2 s, then every 10 s, then the end",
      changes: [],
      end: 25_000,
      expected: [
        "2000 [2s] waiting for X",
        "12000 [12s] waiting for X",
        "22000 [22s] waiting for X",
        "25000 [25s] done waiting for X",
      ],
    },
    {
      name: "a change is told at once, but not sooner than 2 s after the last line",
      changes: [
        [500, "none ready"],
        [3_000, "1 ready"],
        [3_500, "2 ready"],
        [9_000, "3 ready"],
      ],
      end: 9_500,
      expected: [
        "2000 [2s] waiting for X; none ready",
        "4000 [4s] waiting for X; 2 ready",
        "9000 [9s] waiting for X; 3 ready",
        "9500 [9s] done waiting for X",
      ],
    },
    {
      name: "a state that flips back before its line is due is told as it is then",
      changes: [
        [2_500, "b"],
        [3_000, "a"],
      ],
      end: 13_000,
      expected: ["2000 [2s] waiting for X", "4000 [4s] waiting for X; a", "13000 [13s] done waiting for X"],
    },
  ];
  for (const row of rows) {
    it(row.name, () => assert.deepEqual(play(row.changes, row.end), row.expected));
  }

  it("a failed wait that was told ends with `stopped`; elapsed times read as a user writes them", () => {
    assert.equal(
      finished({ what: "X", startedAt: 0, sentAt: 2_000 }, 75_400, "failed"),
      "[1m15s] stopped waiting for X",
    );
    assert.deepEqual([0, 999, 59_999, 60_000, 61_000, 725_000].map(formatElapsed), [
      "0s",
      "0s",
      "59s",
      "1m00s",
      "1m01s",
      "12m05s",
    ]);
  });
});

describe("progress lines: what a waited-for object shows", () => {
  const meta = (extra: object = {}) => ({ name: "x", namespace: "tailscale", ...extra });
  const rows: [string, KubeObject | undefined, string][] = [
    ["absent", undefined, "not there yet"],
    [
      "being deleted",
      { apiVersion: "v1", kind: "Pod", metadata: meta({ deletionTimestamp: "2025-01-01T00:00:00Z" }) },
      "being deleted",
    ],
    [
      "a StatefulSet rolling",
      {
        apiVersion: "apps/v1",
        kind: "StatefulSet",
        metadata: meta(),
        spec: { replicas: 3 },
        status: { readyReplicas: 2, updatedReplicas: 1 },
      },
      "2 of 3 replicas ready, 1 of the current template",
    ],
    [
      "a new StatefulSet",
      { apiVersion: "apps/v1", kind: "StatefulSet", metadata: meta(), spec: {}, status: {} },
      "0 of 1 replicas ready, 0 of the current template",
    ],
    [
      "a Pod not ready",
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: meta(),
        status: { phase: "Running", conditions: [{ type: "Ready", status: "False" }] },
      },
      "Running, not ready",
    ],
    [
      "a Pod ready",
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: meta(),
        status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
      },
      "Running, ready",
    ],
    ["an empty Secret", { apiVersion: "v1", kind: "Secret", metadata: meta() }, "no keys yet"],
    [
      "a state Secret: key names only, never a value",
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: meta(),
        data: { _machinekey: "cHJpdmtleTpzZWNyZXQ=", device_id: "bjEyMw==", authkey: "dHNrZXktYXV0aA==" },
      },
      "keys _machinekey, authkey, device_id",
    ],
    [
      "many keys are cut short",
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: meta(),
        data: Object.fromEntries([..."abcdefghij"].map((k) => [k, "v"])),
      },
      "keys a, b, c, d, e, f, g, h and 2 more",
    ],
    ["any other kind", { apiVersion: "v1", kind: "Service", metadata: meta() }, "exists"],
  ];
  for (const [name, obj, expected] of rows) it(name, () => assert.equal(observedState(obj), expected));
});

describe("progress lines: the I/O layer", () => {
  const lines: ProgressLine[] = [];
  before(() =>
    setProgressSink(async (l) => {
      lines.push(l);
    }),
  );
  after(() => setProgressSink(undefined));
  beforeEach(() => {
    lines.length = 0;
  });

  it("a wait outside a step, or one that ends before its first line is due, sends nothing", async () => {
    const outside = await waiting("X", async (observe) => {
      observe("a");
      return 1;
    });
    assert.equal(outside, 1);
    const r = await inStep("urn:pulumi:dev::p::t::n", () =>
      waiting("Y", async (observe) => {
        observe("b");
        await new Promise((resolve) => setTimeout(resolve, 20));
        return 2;
      }),
    );
    assert.equal(r, 2);
    assert.deepEqual(lines, []);
  });

  it("a failed wait passes its error on", async () => {
    await assert.rejects(
      inStep("urn:pulumi:dev::p::t::n", () =>
        waiting("Z", async () => {
          throw new Error("timed out");
        }),
      ),
      /timed out/,
    );
  });
});
