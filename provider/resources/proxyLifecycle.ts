/**
 * What TailnetService and TailnetIngress share: check (validation, then defaults and the planned
 * objects a preview shows), a pure diff, and the split between the standalone proxy (standalone.ts)
 * and HA mode (ha.ts), decided by `proxyGroup`.
 */
import type { DiffClassification } from "../plan/diff";
import type { CheckFailure } from "../plan/errors";
import { summarizePlan } from "../plan/fingerprint";
import { TailscaleApiError } from "../tailscale";
import { haCheckFailures, prepareStandaloneTakeover } from "./ha";
import type { Lifecycle } from "./lifecycle";
import {
  createStandalone,
  deleteStandalone,
  readStandalone,
  type StandaloneInputBase,
  type StandaloneSpec,
  updateStandalone,
} from "./standalone";

/** `Kind/namespace/name` → content fingerprint of every object a plan writes. */
export function plannedObjectsOf(plan: { objects: readonly object[] }): Record<string, string> {
  return Object.fromEntries(
    summarizePlan(plan).map((o) => [`${o.kind}/${o.namespace}/${o.name}`, o.fingerprint]),
  );
}

/**
 * Moving from a ProxyGroup back to a standalone proxy is a replacement whose new side is created
 * first: the Tailscale Service of the same name, still this resource's own, must stop holding the
 * name, or the new device would be registered as `<hostname>-1`. Credentials without the `services`
 * scope cannot have made a Tailscale Service, so a 403 means there is nothing to free.
 */
async function freeNameFromProxyGroup(kind: "TailnetService" | "TailnetIngress", inputs: any): Promise<void> {
  try {
    await prepareStandaloneTakeover(kind, inputs);
  } catch (err) {
    if (err instanceof TailscaleApiError && err.status === 403) return;
    throw err;
  }
}

/** The per-kind parts of a proxy-backed resource's lifecycle. */
export interface ProxyKind<I> {
  kind: "TailnetService" | "TailnetIngress";
  check(news: I): CheckFailure[];
  /** Defaults a preview should show, and `plannedObjects` when everything is known. Pure. */
  withDefaults(news: I): I;
  diff(olds: any, news: any): DiffClassification;
  standalone: StandaloneSpec<I>;
  ha: Lifecycle;
  /** The inputs a refresh reports back. */
  inputKeys: readonly string[];
  /** Every output the SDK class declares. */
  outputKeys: readonly string[];
}

/**
 * Outputs with every declared key present (`null` where the mode has no value: `deviceId` in HA mode,
 * `serviceName` standalone, …). During a preview the Pulumi SDK reads a missing output as unknown,
 * so a missing key would make every preview of an unchanged resource show unknowns downstream.
 */
function complete<T extends object | undefined>(keys: readonly string[], outs: T): T {
  if (!outs) return outs;
  const filled: Record<string, unknown> = { ...outs };
  for (const key of keys) if (filled[key] === undefined) filled[key] = null;
  return filled as T;
}

/** The lifecycle of a TailnetService or TailnetIngress. */
export function proxyLifecycle<I extends StandaloneInputBase & { proxyGroup?: unknown }>(
  k: ProxyKind<I>,
): Lifecycle {
  return {
    async check(_olds, news) {
      const failures = k.check(news);
      if (news.proxyGroup !== undefined) failures.push(...haCheckFailures(k.kind, news));
      return { inputs: failures.length ? news : k.withDefaults(news), failures };
    },
    async diff(_id, olds, news) {
      const d = k.diff(olds, news);
      // The host forwards only changes, replaces and deleteBeforeReplace; detailedDiff documents why.
      return {
        changes: d.changes,
        replaces: d.replaces,
        deleteBeforeReplace: d.deleteBeforeReplace,
        detailedDiff: d.detailedDiff,
      };
    },
    async create(inputs) {
      let result: { id: string; outs?: object };
      if (inputs.proxyGroup) result = await k.ha.create(inputs);
      else {
        await freeNameFromProxyGroup(k.kind, inputs);
        result = await createStandalone(k.standalone, inputs);
      }
      return { ...result, outs: complete(k.outputKeys, result.outs) };
    },
    async read(id, props) {
      const result = props.proxyGroup
        ? await k.ha.read(id, props)
        : await readStandalone(k.standalone, id, props);
      if (!result.id) return { id: "" };
      // Refresh reports the inputs too, or later diffs would compare against stale ones (pulumi#13839).
      const inputs: Record<string, unknown> = {};
      for (const key of k.inputKeys) if (props[key] !== undefined) inputs[key] = props[key];
      return { id: result.id, props: complete(k.outputKeys, result.props), inputs };
    },
    async update(id, olds, news) {
      const result = news.proxyGroup
        ? await k.ha.update(id, olds, news)
        : await updateStandalone(k.standalone, id, olds, news);
      return { ...result, outs: complete(k.outputKeys, result.outs) };
    },
    async delete(id, props) {
      return props.proxyGroup ? k.ha.delete(id, props) : deleteStandalone(props);
    },
  };
}
