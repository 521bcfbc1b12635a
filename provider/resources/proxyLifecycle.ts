/**
 * What TailnetService and TailnetIngress share: check and diff from the kind's declaration (pure), and
 * the split between the two modes, decided by `proxyGroup`: the standalone proxy (standalone.ts) or a
 * ProxyGroup (ha/).
 */
import type { Diff } from "../plan/diff";
import { BACKENDS_READ, FORWARDING_READ, observedState, REFRESHED_FROM } from "../plan/refresh";
import { refreshedInputs } from "../plan/schema/field";
import type { ProxySchema } from "../plan/schema/proxy";
import { TailscaleApiError } from "../tailscale";
import { releaseForStandalone } from "./ha/migration";
import { runtimeFor } from "./ha/runtime";
import { checkAgainst, diffResult, type Lifecycle, type Steps, withEveryOutput } from "./lifecycle";

/**
 * Moving from a ProxyGroup back to a standalone proxy is a replacement whose new side is created
 * first: the Tailscale Service of the same name, still this resource's own, must stop holding the
 * name, or the new device would be registered as `<hostname>-1`. Credentials without the `services`
 * scope cannot have made a Tailscale Service, so a 403 means there is nothing to free.
 */
async function freeNameFromProxyGroup(schema: ProxySchema<any>, inputs: any): Promise<void> {
  const h = schema.hostnameOf(inputs);
  if (!h) return;
  try {
    await releaseForStandalone(runtimeFor(inputs, "create"), h.hostname.toLowerCase(), inputs.ownerId);
  } catch (err) {
    if (err instanceof TailscaleApiError && err.status === 403) return;
    throw err;
  }
}

/** The parts of a TailnetService's or TailnetIngress's lifecycle. */
export interface ProxyKind {
  schema: ProxySchema<any>;
  diff: Diff;
  /** The steps of a standalone proxy. */
  standalone: Steps;
  /** The steps on a ProxyGroup. */
  ha: Steps;
}

/** The lifecycle of a TailnetService or TailnetIngress. */
export function proxyLifecycle(k: ProxyKind): Lifecycle {
  const outputs = k.schema.outputs;
  const mode = (props: { proxyGroup?: unknown }): Steps => (props.proxyGroup ? k.ha : k.standalone);
  /** Outputs of create and update: every declared key, and no refresh records (plan/refresh.ts). */
  const written = (outs: object | undefined) => {
    const filled = withEveryOutput(outputs, outs) as Record<string, unknown> | undefined;
    if (filled) {
      delete filled[REFRESHED_FROM];
      delete filled[BACKENDS_READ];
      delete filled[FORWARDING_READ];
    }
    return filled;
  };
  return {
    async check(olds, news) {
      return checkAgainst(k.schema, olds, news);
    },
    async diff(_id, olds, news) {
      return diffResult(k.diff(olds, news));
    },
    async create(inputs) {
      if (!inputs.proxyGroup) await freeNameFromProxyGroup(k.schema, inputs);
      const result = await mode(inputs).create(inputs);
      return { ...result, outs: written(result.outs) };
    },
    async read(id, props) {
      const result = await mode(props).read(id, props);
      if (!result.id) return { id: "" };
      const refreshed = withEveryOutput(outputs, result.props) as Record<string, unknown>;
      // What the outputs users watch were before this refresh, so the Diff after it can show what changed
      // (plan/refresh.ts).
      refreshed[REFRESHED_FROM] = observedState(props);
      // Refresh reports the inputs too, or later diffs would compare against stale ones (pulumi#13839).
      return {
        id: result.id,
        props: refreshed,
        inputs: { ...refreshedInputs(k.schema, props), observed: observedState(refreshed) },
      };
    },
    async update(id, olds, news) {
      const result = await mode(news).update(id, olds, news);
      return { ...result, outs: written(result.outs) };
    },
    async delete(id, props) {
      return mode(props).delete(id, props);
    },
  };
}
