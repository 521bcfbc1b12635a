/**
 * A stack of ProxyGroup, HA and standalone TailnetIngress and TailnetService resources driven in process
 * under seeded faults on both APIs, as the engine drives the dynamic provider: check then create for each
 * resource not yet in state, the ProxyGroup before its dependents and the others in parallel; delete in
 * the reverse order; a resource whose create failed is not in state (a partial-create error's `id` would
 * put it there); one whose delete failed stays. Used by the fault suite (tests/provider/fault-suite.test.ts,
 * 12 resources, 3 seeds) and the soak (bench/soak.ts, 50 resources, 20 seeds). The engine path itself is
 * covered by tests/engine; here the point is the provider under faults, for seeds that can be replayed.
 */
import * as provider from "../../provider";
import { resetCredentials } from "../../provider/credentials";
import type { Leftovers, LocalWorld } from "./world";

const NS = "tailscale";

/** What the stack holds besides its one ProxyGroup `edge`. */
export interface FaultStackLayout {
  /** Each app gets an HA TailnetIngress `ha-<app>` and a standalone one `web-<app>`. */
  apps: string[];
  /** Each gets an HA TailnetService `ha-<db>`. */
  haDatabases: string[];
  /** Each gets a standalone TailnetService `l3-<db>`. */
  standaloneDatabases: string[];
}

/** The fault suite's 12 resources. */
export const TWELVE: FaultStackLayout = {
  apps: ["grafana", "docs", "api"],
  haDatabases: ["pg", "redis"],
  standaloneDatabases: ["pg", "redis", "mq"],
};

/** `count` resources (at least 4): about half ingresses, the rest services, half of each HA. */
export function layoutOf(count: number): FaultStackLayout {
  const rest = count - 1;
  const apps = Math.max(1, Math.floor(rest / 4));
  const databases = rest - 2 * apps;
  const ha = Math.floor(databases / 2);
  const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  return {
    apps: names("app", apps),
    haDatabases: names("db", ha),
    standaloneDatabases: names("db", databases - ha),
  };
}

interface Spec {
  name: string;
  kind: "ProxyGroup" | "TailnetIngress" | "TailnetService";
  inputs: Record<string, unknown>;
  /** Created after the ProxyGroup, deleted before it. */
  dependent: boolean;
}

/** The resources' inputs, as the SDK would send them. */
function specs(world: LocalWorld, layout: FaultStackLayout): Spec[] {
  const common = {
    credentials: world.credentials,
    customTimeouts: { create: "60s", update: "60s", delete: "60s" },
  };
  const proxyGroup = { name: "edge", namespace: NS };
  const out: Spec[] = [
    {
      name: "edge",
      kind: "ProxyGroup",
      inputs: { ownerId: "proj/faults/edge", name: "edge", namespace: NS, type: "ingress", ...common },
      dependent: false,
    },
  ];
  const add = (name: string, kind: Spec["kind"], inputs: Record<string, unknown>) =>
    out.push({
      name,
      kind,
      inputs: { ownerId: `proj/faults/${name}`, hostname: name, ...inputs, ...common },
      dependent: true,
    });
  for (const app of layout.apps) {
    const defaultBackend = { service: { namespace: "apps", name: app }, port: "http" };
    add(`ha-${app}`, "TailnetIngress", { defaultBackend, proxyGroup });
    add(`web-${app}`, "TailnetIngress", { defaultBackend });
  }
  for (const db of layout.haDatabases) {
    add(`ha-${db}`, "TailnetService", { service: { namespace: "data", name: db }, proxyGroup });
  }
  for (const db of layout.standaloneDatabases) {
    add(`l3-${db}`, "TailnetService", { service: { namespace: "data", name: db } });
  }
  return out;
}

type State = Map<string, { id: string; outs: Record<string, any> }>;

/** One `pulumi up` of the stack: what is not in state is created; returns the failures. */
async function up(all: Spec[], state: State): Promise<string[]> {
  resetCredentials(); // a new provider host per deployment, as the engine starts one
  const failures: string[] = [];
  const createOne = async (s: Spec) => {
    if (state.has(s.name)) return;
    try {
      const checked = await provider.check(s.kind, {}, s.inputs);
      if ((checked.failures ?? []).length > 0) {
        throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
      }
      const { id, outs } = await provider.create(s.kind, checked.inputs);
      state.set(s.name, { id, outs });
    } catch (e) {
      failures.push(`${s.name}: ${(e as Error).message}`);
    }
  };
  for (const s of all.filter((x) => !x.dependent)) await createOne(s);
  if (failures.length > 0) return failures; // dependents wait for the ProxyGroup, as the engine does
  await Promise.all(all.filter((x) => x.dependent).map(createOne));
  return failures;
}

/** One `pulumi destroy`: everything in state deleted, dependents first; returns the failures. */
async function destroy(all: Spec[], state: State): Promise<string[]> {
  resetCredentials();
  const failures: string[] = [];
  const deleteOne = async (s: Spec) => {
    const recorded = state.get(s.name);
    if (!recorded) return;
    try {
      await provider.remove(s.kind, recorded.id, recorded.outs);
      state.delete(s.name);
    } catch (e) {
      failures.push(`${s.name}: ${(e as Error).message}`);
    }
  };
  await Promise.all(all.filter((x) => x.dependent).map(deleteOne));
  if (failures.length > 0) return failures;
  for (const s of all.filter((x) => !x.dependent)) await deleteOne(s);
  return failures;
}

/** What one seeded run of the stack did. */
export interface FaultRun {
  resources: number;
  /** Failures of the first and second `up` (the second runs only if the first failed). */
  ups: [string[], string[]];
  /** Failures of the first and second `destroy`. */
  destroys: [string[], string[]];
  /** Faults injected during the ups, per API and kind. */
  injected: { kubernetes: Record<string, number>; tailscale: Record<string, number> };
  /** After the ups: resources in state, devices, valid auth keys, certificates not issued, `-N` names. */
  afterUp: { inState: number; devices: number; validKeys: number; unissued: string[]; suffixed: string[] };
  /** After the destroys. */
  left: Leftovers;
  /** Every resource created within two runs of `up`. */
  converged: boolean;
  /** Two runs of `destroy` at most left nothing (no object, device, valid key or Tailscale Service). */
  clean: boolean;
}

/**
 * Seeds `world` with the stack's namespaces and backends, then `up` (again if it failed) and `destroy`
 * (again if it failed) under `rate` faults with `seed`. Faults are off again when it returns.
 */
export async function runFaultStack(
  world: LocalWorld,
  layout: FaultStackLayout,
  rate: number,
  seed: number,
): Promise<FaultRun> {
  world.kube.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  for (const app of layout.apps) await world.addService("apps", app);
  for (const db of new Set([...layout.haDatabases, ...layout.standaloneDatabases])) {
    await world.addService("data", db, { selector: { app: db }, ports: [{ name: "tcp", port: 5432 }] });
  }
  const all = specs(world, layout);
  const state: State = new Map();
  world.setFaults({ rate, seed });
  try {
    const first = await up(all, state);
    const second = first.length > 0 ? await up(all, state) : [];
    const injected = world.faultCounts();
    const outs = [...state].map(([name, { outs }]) => ({ name, outs }));
    const afterUp = {
      inState: state.size,
      devices: world.tailscale.devices().length,
      validKeys: world.tailscale.validAuthKeys().length,
      unissued: outs
        .filter((o) => o.outs.certificate && o.outs.certificate.state !== "issued")
        .map((o) => o.name),
      suffixed: outs
        .filter((o) => o.name !== "edge" && /-\d+$/.test(String(o.outs.fqdn).split(".")[0]))
        .map((o) => `${o.name} (${o.outs.fqdn})`),
    };
    const d1 = await destroy(all, state);
    const d2 = d1.length > 0 ? await destroy(all, state) : [];
    const left = world.leftovers();
    return {
      resources: all.length,
      ups: [first, second],
      destroys: [d1, d2],
      injected,
      afterUp,
      left,
      converged: second.length === 0 && afterUp.inState === all.length,
      clean:
        d2.length === 0 &&
        left.kubernetesObjects.length +
          left.devices.length +
          left.validAuthKeys.length +
          left.services.length ===
          0,
    };
  } finally {
    world.setFaults(undefined);
    resetCredentials();
  }
}

/** Replicas of the stack's ProxyGroup (its default) and standalone proxies: the devices an up makes. */
export function devicesOf(layout: FaultStackLayout): number {
  return 2 + layout.apps.length + layout.standaloneDatabases.length;
}
