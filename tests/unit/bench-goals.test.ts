// The bench's verdicts (bench/goals.ts) on sample measurements: each goal met, not met, or not
// measured when its figures are missing; and the stdout line that carries a script's figures to
// bench/run.ts. Logic only: no bench runs here.
import assert from "node:assert/strict";
import {
  GOALS,
  goalRows,
  goalsTable,
  type HaMeasure,
  type Measured,
  measuredLine,
  mergeMeasured,
  type StepMeasure,
  takeMeasured,
} from "../../bench/goals";

const step = (s: Partial<StepMeasure> & Pick<StepMeasure, "step">): StepMeasure => ({
  scenario: "TailnetService",
  kube: 0,
  tailscale: 0,
  connections: 0,
  hosts: 1,
  objectsBefore: 0,
  podsRecreated: false,
  ...s,
});

const ha = (h: Partial<HaMeasure>): HaMeasure => ({
  count: 100,
  parallel: 8,
  wallMs: 10_000,
  noopMs: 8_000,
  latencyMs: 20,
  kube: 800,
  connections: 1,
  hosts: 1,
  ...h,
});

/** Every goal met. */
const good: Measured = {
  steps: [
    step({ step: "preview" }),
    step({ step: "create", kube: 12, tailscale: 3, connections: 1 }),
    step({ step: "no-op up" }),
    step({ step: "path change", scenario: "TailnetIngress", kube: 2, connections: 1 }),
    step({ step: "destroy", kube: 7, tailscale: 1, objectsBefore: 6, connections: 1 }),
  ],
  standaloneChain: 9,
  previews: [
    { what: "alone", resources: 0, requests: 0, cpuMs: 900, hostCpuMs: 400, wallMs: 3000 },
    { what: "new", resources: 500, requests: 0, cpuMs: 2500, hostCpuMs: 1000, wallMs: 6000 },
  ],
  hostPeakRss: { resources: 500, what: "up of 500", mb: 150 },
  ha: [ha({}), ha({ parallel: 64 })],
  haChain: 15,
  served: { count: 100, what: "realistic", ms: 90_000 },
  configMap: { ingresses: 100, sizeBytes: 50_000, k1: 1, bytes1: 150_000, k2: 10, bytes2: 200_000 },
};

const verdicts = (m: Measured) => goalRows(m).map((r) => r.verdict);
const verdictOf = (m: Measured, goalStart: string) => {
  const r = goalRows(m).find((x) => x.goal.startsWith(goalStart));
  assert.ok(r, `no goal starting "${goalStart}"`);
  return r.verdict;
};

describe("bench goals: verdicts from measured figures", () => {
  it("meets every goal on figures at the thresholds; the served time is only reported", () => {
    const rows = goalRows(good);
    assert.equal(rows.length, 12);
    for (const r of rows)
      assert.equal(
        r.verdict,
        r.goal.startsWith("Realistic") ? "reported" : "met",
        `${r.goal}: ${r.measured}`,
      );
  });

  it("says not measured for every goal when nothing was measured", () => {
    assert.deepEqual(
      verdicts({}),
      Array.from({ length: 12 }, () => "not measured"),
    );
  });

  const cases: [string, string, Measured][] = [
    [
      "a request in a preview",
      "Preview",
      {
        ...good,
        previews: [{ what: "new", resources: 500, requests: 1, cpuMs: 100, hostCpuMs: 50, wallMs: 1 }],
      },
    ],
    [
      "preview CPU over 5 ms per resource (2501 ms for 500)",
      "Preview",
      {
        ...good,
        previews: [{ what: "new", resources: 500, requests: 0, cpuMs: 2501, hostCpuMs: 1000, wallMs: 1 }],
      },
    ],
    [
      "151 MB of host RSS",
      "Provider host peak RSS",
      { ...good, hostPeakRss: { resources: 500, what: "x", mb: 151 } },
    ],
    [
      "two connections in one host",
      "One TLS connection",
      { ...good, steps: [step({ step: "create", kube: 5, tailscale: 1, connections: 2 })] },
    ],
    [
      "13 Kubernetes requests for a standalone create",
      "Standalone create",
      { ...good, steps: [step({ step: "create", kube: 13, tailscale: 3, connections: 1 })] },
    ],
    [
      "4 Tailscale requests for a standalone create",
      "Standalone create",
      { ...good, steps: [step({ step: "create", kube: 12, tailscale: 4, connections: 1 })] },
    ],
    ["8.01 Kubernetes requests per HA ingress", "HA ingress create", { ...good, ha: [ha({ kube: 801 })] }],
    ["a request in a no-op up", "No-op up", { ...good, steps: [step({ step: "no-op up", tailscale: 1 })] }],
    [
      "3 requests for a path change",
      "Path change",
      { ...good, steps: [step({ step: "path change", kube: 3, connections: 1 })] },
    ],
    [
      "a Pod recreated by a path change",
      "Path change",
      { ...good, steps: [step({ step: "path change", kube: 1, connections: 1, podsRecreated: true })] },
    ],
    [
      "a destroy of objects + 3 requests",
      "Destroy",
      {
        ...good,
        steps: [step({ step: "destroy", kube: 8, tailscale: 1, objectsBefore: 6, connections: 1 })],
      },
    ],
    [
      "100 ingresses at 64 slower than 1.5 × the bound",
      "100 HA ingresses",
      // Bound: 8000 ms + 15 × 20 ms = 8300 ms; 1.5 × = 12450 ms.
      { ...good, ha: [ha({}), ha({ parallel: 64, wallMs: 12_451 })] },
    ],
    ["a chain of 16", "Chain of dependent requests", { ...good, haChain: 16 }],
    [
      "ConfigMap bytes growing 2 × from 1 to 10 changed",
      "Shared-ConfigMap",
      {
        ...good,
        configMap: { ingresses: 100, sizeBytes: 50_000, k1: 1, bytes1: 100_000, k2: 10, bytes2: 200_000 },
      },
    ],
  ];
  for (const [what, goal, m] of cases) {
    it(`not met: ${what}`, () => assert.equal(verdictOf(m, goal), "not met"));
  }

  it("decides the HA ratio at exactly 1.5 × the bound as met, and says the bound in the row", () => {
    const m = { ...good, ha: [ha({ wallMs: 12_450 })] };
    assert.equal(verdictOf(m, "100 HA ingresses"), "met");
    const row = goalRows(m).find((r) => r.goal.startsWith("100 HA ingresses"));
    assert.match(row?.measured ?? "", /12450 ms = 1\.50 × 8300 ms \(no-op up 8000 ms \+ 15 × 20 ms\)/);
  });

  it("leaves runs with fewer than 100 ingresses or no latency out of the ratio", () => {
    assert.equal(verdictOf({ ...good, ha: [ha({ count: 5 })] }, "100 HA ingresses"), "not measured");
    assert.equal(verdictOf({ ...good, ha: [ha({ latencyMs: 0 })] }, "100 HA ingresses"), "not measured");
  });

  it("needs previews and the up at 500 resources", () => {
    const small: Measured = {
      previews: [{ what: "new", resources: 20, requests: 0, cpuMs: 1, hostCpuMs: 1, wallMs: 1 }],
      hostPeakRss: { resources: 20, what: "x", mb: 1 },
    };
    assert.equal(verdictOf(small, "Preview"), "not measured");
    assert.equal(verdictOf(small, "Provider host peak RSS"), `not measured`);
    assert.equal(GOALS.previewResources, 500);
  });

  it("prints a Markdown table of goal, measured and verdict", () => {
    const lines = goalsTable(good).split("\n");
    assert.equal(lines[0], "| goal | measured | verdict |");
    assert.equal(lines.length, 14);
    assert.match(lines[2] ?? "", /^\| Preview: .* \| met \|$/);
  });
});

describe("bench goals: figures handed from a script to bench/run.ts", () => {
  it("takes the measured line out of the printed text and merges the parts, lists appended", () => {
    const out = ["## A table", "| a |", measuredLine({ haChain: 12, ha: [ha({})] }), "after"].join("\n");
    const { text, measured } = takeMeasured(out);
    assert.equal(text, "## A table\n| a |\nafter");
    assert.deepEqual(measured, { haChain: 12, ha: [ha({})] });
    const merged = mergeMeasured({ ha: [ha({ parallel: 64 })], haChain: 3 }, measured);
    assert.deepEqual(merged, { ha: [ha({ parallel: 64 }), ha({})], haChain: 12 });
  });
});
