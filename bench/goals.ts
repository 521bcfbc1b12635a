/**
 * The performance goals and their verdicts: the one place that holds the thresholds. The bench scripts
 * measure (bench/run.ts, ha.ts) and hand their figures to {@link goalRows}; nothing here measures or
 * knows a figure, so the verdicts follow from the run's own numbers and are unit-tested on samples
 * (tests/unit/bench-goals.test.ts).
 *
 * A script spawned by bench/run.ts passes its part of {@link Measured} back as one stdout line
 * ({@link measuredLine}); run.ts merges the parts ({@link takeMeasured}) and prints {@link goalsTable}.
 */

/** The thresholds of the goals. */
export const GOALS = {
  /** Program plus provider host CPU per resource of a preview, at {@link GOALS.previewResources}. */
  previewCpuMsPerResource: 5,
  previewResources: 500,
  /** Provider host peak RSS after an up of {@link GOALS.previewResources} resources. */
  hostPeakRssMb: 150,
  /** TLS connections (each one a full handshake) to the Kubernetes API per provider host per step. */
  connectionsPerHost: 1,
  standaloneCreateKube: 12,
  standaloneCreateTailscale: 3,
  haCreateKube: 8,
  pathChangeRequests: 2,
  /** Destroy: at most the objects the resource created plus this many requests. */
  destroyOverObjects: 2,
  /** 100 HA ingresses at 20 ms per request: wall time over the bound. */
  haRatio: 1.5,
  haChain: 15,
  /**
   * Shared-ConfigMap traffic for changing k ingresses over changing one: linear in k (each changed
   * ingress adds its entry, the ConfigMap is read and written a few times per batch) stays near 1;
   * proportional to the ConfigMap's size times k reaches k. Met below this growth.
   */
  configMapGrowth: 2,
} as const;

export type Verdict = "met" | "not met" | "reported" | "not measured";

/** One lifecycle step of a standalone scenario (bench/run.ts), as the local servers counted it. */
export interface StepMeasure {
  scenario: string;
  step: string;
  kube: number;
  tailscale: number;
  /** Distinct TLS connections of the provider's identity to the Kubernetes API in the step. */
  connections: number;
  /** Provider host processes of the step's deployment (the one that made the requests). */
  hosts: number;
  /** Objects labelled as ours in the cluster before the step (Pods excluded: the StatefulSet's). */
  objectsBefore: number;
  /** Whether a Pod of ours was recreated (its uid changed) during the step. */
  podsRecreated: boolean;
}

/** A preview of many resources (bench/ha.ts). */
export interface PreviewMeasure {
  what: string;
  resources: number;
  /** Kubernetes plus Tailscale API requests of the provider's identity. */
  requests: number;
  /** User plus system CPU of the program and provider host processes. */
  cpuMs: number;
  /** Of which the provider host's. */
  hostCpuMs: number;
  wallMs: number;
}

/** An `up` of many HA ingresses at 20 ms per request, and its bound (bench/ha.ts). */
export interface HaMeasure {
  count: number;
  parallel: number;
  wallMs: number;
  /** A no-op `up` of the same stack: the program, the engine's Check and Diff of every resource. */
  noopMs: number;
  latencyMs: number;
  kube: number;
  connections: number;
  hosts: number;
}

/** Everything the goals are decided on; each script fills its part. */
export interface Measured {
  steps?: StepMeasure[];
  /** Dependent requests on the critical path of one standalone create (provider level). */
  standaloneChain?: number;
  previews?: PreviewMeasure[];
  hostPeakRss?: { resources: number; what: string; mb: number };
  ha?: HaMeasure[];
  /** Dependent requests on the critical path of one HA ingress create (provider level). */
  haChain?: number;
  served?: { count: number; what: string; ms: number };
  configMap?: {
    ingresses: number;
    sizeBytes: number;
    k1: number;
    bytes1: number;
    k2: number;
    bytes2: number;
  };
}

export interface GoalRow {
  goal: string;
  measured: string;
  verdict: Verdict;
}

const met = (ok: boolean): Verdict => (ok ? "met" : "not met");
const all = (oks: boolean[]): Verdict => met(oks.every(Boolean));

/** A goal's row: "not measured" unless `ready`, else what `decide` makes of the figures. */
function row(goal: string, ready: boolean, decide: () => Omit<GoalRow, "goal">): GoalRow {
  return ready ? { goal, ...decide() } : { goal, measured: "—", verdict: "not measured" };
}

/** The goals as rows of goal, measured value and verdict. */
export function goalRows(m: Measured): GoalRow[] {
  const g = GOALS;
  const steps = m.steps ?? [];
  const stepsNamed = (name: string) => steps.filter((s) => s.step === name);
  const previews = (m.previews ?? []).filter((p) => p.resources >= g.previewResources);
  const empty = (m.previews ?? []).find((p) => p.resources === 0);
  const creates = stepsNamed("create");
  const noops = stepsNamed("no-op up");
  const paths = stepsNamed("path change");
  const destroys = stepsNamed("destroy");
  const haRuns = m.ha ?? [];
  const hundred = haRuns.filter((h) => h.count >= 100 && h.latencyMs > 0);
  const chain = m.haChain ?? 0;
  const conns = [
    ...steps
      .filter((s) => s.kube > 0)
      .map((s) => ({ what: `${s.scenario} ${s.step}`, connections: s.connections, hosts: s.hosts })),
    ...haRuns.map((h) => ({
      what: `${h.count} HA ingresses, --parallel ${h.parallel}`,
      connections: h.connections,
      hosts: h.hosts,
    })),
  ];
  const { hostPeakRss: rss, configMap: cm, served } = m;
  return [
    row(
      `Preview: 0 requests; program plus provider host CPU ≤ ${g.previewCpuMsPerResource} ms per resource at ${g.previewResources} resources`,
      previews.length > 0,
      () => ({
        measured:
          previews
            .map(
              (p) =>
                `${p.what}: ${p.requests} requests, ${(p.cpuMs / p.resources).toFixed(1)} ms CPU per resource (${p.cpuMs} ms for ${p.resources}, provider host ${p.hostCpuMs} ms), wall ${p.wallMs} ms`,
            )
            .join("; ") + (empty ? `; of which without any (${empty.what}): ${empty.cpuMs} ms CPU` : ""),
        verdict: all(
          previews.map((p) => p.requests === 0 && p.cpuMs / p.resources <= g.previewCpuMsPerResource),
        ),
      }),
    ),
    row(
      `Provider host peak RSS ≤ ${g.hostPeakRssMb} MB after an up of ${g.previewResources} resources`,
      (rss?.resources ?? 0) >= g.previewResources,
      () => ({ measured: `${rss?.mb} MB (${rss?.what})`, verdict: met((rss?.mb ?? 0) <= g.hostPeakRssMb) }),
    ),
    row(
      "One TLS connection (one handshake) to the Kubernetes API per provider host per step",
      conns.length > 0,
      () => ({
        measured: conns
          .map((c) => `${c.what}: ${c.connections} in ${c.hosts} host${c.hosts === 1 ? "" : "s"}`)
          .join("; "),
        verdict: all(conns.map((c) => c.hosts > 0 && c.connections <= g.connectionsPerHost * c.hosts)),
      }),
    ),
    row(
      `Standalone create ≤ ${g.standaloneCreateKube} Kubernetes and ≤ ${g.standaloneCreateTailscale} Tailscale requests, independent ones in parallel`,
      creates.length > 0,
      () => ({
        measured:
          creates.map((s) => `${s.scenario}: ${s.kube} Kubernetes, ${s.tailscale} Tailscale`).join("; ") +
          (m.standaloneChain === undefined
            ? ""
            : `; chain of dependent requests of one create, the simulated proxy's included: ${m.standaloneChain}`),
        verdict: all(
          creates.map((s) => s.kube <= g.standaloneCreateKube && s.tailscale <= g.standaloneCreateTailscale),
        ),
      }),
    ),
    row(`HA ingress create ≤ ${g.haCreateKube} Kubernetes requests`, haRuns.length > 0, () => ({
      measured: haRuns
        .map(
          (h) =>
            `${(h.kube / h.count).toFixed(1)} per ingress (${h.count} created at --parallel ${h.parallel})`,
        )
        .join("; "),
      verdict: all(haRuns.map((h) => h.kube / h.count <= g.haCreateKube)),
    })),
    row("No-op up: 0 requests", noops.length > 0, () => ({
      measured: noops.map((s) => `${s.scenario}: ${s.kube + s.tailscale}`).join("; "),
      verdict: all(noops.map((s) => s.kube + s.tailscale === 0)),
    })),
    row(
      `Path change ≤ ${g.pathChangeRequests} requests, no restart (the Pod not recreated)`,
      paths.length > 0,
      () => ({
        measured: paths
          .map(
            (s) =>
              `${s.scenario}: ${s.kube + s.tailscale} requests, Pod ${s.podsRecreated ? "recreated" : "kept"}`,
          )
          .join("; "),
        verdict: all(paths.map((s) => s.kube + s.tailscale <= g.pathChangeRequests && !s.podsRecreated)),
      }),
    ),
    row(
      `Destroy ≤ the objects the resource created + ${g.destroyOverObjects} requests`,
      destroys.length > 0,
      () => ({
        measured: destroys
          .map((s) => `${s.scenario}: ${s.kube + s.tailscale} requests for ${s.objectsBefore} objects`)
          .join("; "),
        verdict: all(destroys.map((s) => s.kube + s.tailscale <= s.objectsBefore + g.destroyOverObjects)),
      }),
    ),
    row(
      `100 HA ingresses at 20 ms per request, at the default parallelism and at 64: ≤ ${g.haRatio} × the bound (a no-op up of the same stack + the chain of one ingress × 20 ms)`,
      hundred.length > 0 && m.haChain !== undefined,
      () => ({
        measured: hundred
          .map((h) => {
            const bound = haBoundMs(h, chain);
            return `--parallel ${h.parallel}: ${h.wallMs} ms = ${(h.wallMs / bound).toFixed(2)} × ${bound} ms (no-op up ${h.noopMs} ms + ${chain} × ${h.latencyMs} ms)`;
          })
          .join("; "),
        verdict: all(hundred.map((h) => h.wallMs <= g.haRatio * haBoundMs(h, chain))),
      }),
    ),
    row(
      `Chain of dependent requests of one HA ingress create ≤ ${g.haChain}`,
      m.haChain !== undefined,
      () => ({
        measured: String(chain),
        verdict: met(chain <= g.haChain),
      }),
    ),
    row(
      "Realistic kubelet timing: from `up` start until every HA service is served",
      served !== undefined,
      () => ({
        measured:
          (served?.ms ?? -1) < 0
            ? `not within 10 min (${served?.what})`
            : `${served?.ms} ms (${served?.what})`,
        verdict: "reported",
      }),
    ),
    row(
      `Shared-ConfigMap traffic linear in the ingresses changed, not in its size × their number: bytes for changing k over changing 1 < ${g.configMapGrowth}`,
      cm !== undefined,
      () => {
        const c = cm as NonNullable<Measured["configMap"]>;
        return {
          measured: `${c.ingresses} ingresses, ConfigMap ${c.sizeBytes} bytes: ${c.k1} changed ${c.bytes1} bytes, ${c.k2} changed ${c.bytes2} bytes: ${(c.bytes2 / c.bytes1).toFixed(2)} × (size × number would be ${(c.k2 / c.k1).toFixed(0)} ×)`,
          verdict: met(c.bytes1 > 0 && c.bytes2 / c.bytes1 < g.configMapGrowth),
        };
      },
    ),
  ];
}

/** The bound of an HA run: the engine's own work (its no-op up) plus the chain of one ingress at the run's latency. */
export function haBoundMs(h: HaMeasure, chain: number): number {
  return h.noopMs + chain * h.latencyMs;
}

/** The goals as a Markdown table. */
export function goalsTable(m: Measured): string {
  return [
    "| goal | measured | verdict |",
    "| --- | --- | --- |",
    ...goalRows(m).map((r) => `| ${r.goal} | ${r.measured} | ${r.verdict} |`),
  ].join("\n");
}

/** How a spawned script's measurements start their stdout line. */
const MARK = "BENCH-MEASURED ";

/** The stdout line that hands `part` back to bench/run.ts. */
export function measuredLine(part: Measured): string {
  return `${MARK}${JSON.stringify(part)}`;
}

/** Splits a script's stdout into its printed text and the measurements it handed back, merged. */
export function takeMeasured(stdout: string): { text: string; measured: Measured } {
  const measured: Measured = {};
  const text: string[] = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith(MARK)) mergeMeasured(measured, JSON.parse(line.slice(MARK.length)) as Measured);
    else text.push(line);
  }
  return { text: text.join("\n"), measured };
}

/** Adds `part` to `into`: lists are appended, single figures set. */
export function mergeMeasured(into: Measured, part: Measured): Measured {
  const target = into as Record<string, unknown>;
  for (const [k, v] of Object.entries(part)) {
    const cur = target[k];
    target[k] = Array.isArray(cur) && Array.isArray(v) ? [...cur, ...v] : v;
  }
  return into;
}
