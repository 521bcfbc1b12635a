/**
 * TailnetService: layer-3 exposure of a cluster Service. Standalone: its own proxy and device
 * (standalone.ts). With `proxyGroup`: a Tailscale Service served by the group (ha.ts).
 */
import { backendKey } from "../plan/backends";
import { diffTailnetService } from "../plan/diff";
import { summarizePlan } from "../plan/fingerprint";
import { type TailnetServiceInput, UNKNOWN } from "../plan/inputs";
import { planStandaloneService } from "../plan/standalone";
import { checkTailnetService, containsUnknown, DEFAULT_TAGS, serviceHostname } from "../plan/validate";
import { haCheckFailures, haService } from "./ha";
import { readBackendService } from "./kubeFacts";
import type { Lifecycle } from "./lifecycle";
import {
  createStandalone,
  deleteStandalone,
  readStandalone,
  type StandaloneSpec,
  updateStandalone,
} from "./standalone";

/** The inputs a refresh reports back (everything the SDK sends). */
const INPUT_KEYS = [
  "ownerId",
  "service",
  "hostname",
  "tags",
  "namespace",
  "proxyClass",
  "proxyGroup",
  "joinToken",
  "timeoutSeconds",
  "credentials",
  "plannedObjects",
] as const;

const standaloneSpec: StandaloneSpec<TailnetServiceInput> = {
  kind: "TailnetService",
  async readBackends(kube, input) {
    const facts = await readBackendService(kube, input.service, "service");
    return new Map([[backendKey(input.service), facts]]);
  },
  plan(input, backends, ctx) {
    return planStandaloneService(input, backends.get(backendKey(input.service))!, ctx);
  },
  outputs() {
    return {};
  },
};

/**
 * Fills in the defaults a preview should show (hostname, tags, namespace) and, when every input is
 * known, the objects an `up` would write, each with a fingerprint of its content: Pulumi shows input
 * changes in a preview, so a changed fingerprint names the Kubernetes object that will change.
 */
function withDefaults(
  news: TailnetServiceInput,
): TailnetServiceInput & { plannedObjects?: Record<string, string> } {
  const out: TailnetServiceInput & { plannedObjects?: Record<string, string> } = { ...news };
  const derived = serviceHostname(news);
  if (derived && out.hostname === undefined) out.hostname = derived.hostname;
  if (out.tags === undefined) out.tags = [...DEFAULT_TAGS];
  if (
    !out.proxyGroup &&
    out.namespace === undefined &&
    news.service &&
    typeof news.service.namespace === "string"
  ) {
    out.namespace = news.service.namespace;
  }
  if (!out.proxyGroup && !containsUnknown({ ...out, credentials: undefined, timeoutSeconds: undefined })) {
    try {
      // Cluster facts are unknown at check (no I/O in preview): plan against a placeholder address so
      // the fingerprints follow the inputs; the real cluster IP is read at `up`.
      const plan = planStandaloneService(
        out,
        {
          namespace: out.service.namespace,
          name: out.service.name,
          type: "ClusterIP",
          clusterIP: "0.0.0.0",
          ports: [],
        },
        {},
      );
      out.plannedObjects = Object.fromEntries(
        summarizePlan(plan).map((o) => [`${o.kind}/${o.namespace}/${o.name}`, o.fingerprint]),
      );
    } catch {
      // A plan that cannot be rendered yet is reported by `up`, with its reason.
    }
  } else if (!out.proxyGroup) {
    out.plannedObjects = UNKNOWN as never;
  }
  return out;
}

export const tailnetService: Lifecycle = {
  async check(_olds, news) {
    const failures = checkTailnetService(news);
    if (news.proxyGroup !== undefined) failures.push(...haCheckFailures("TailnetService", news));
    return { inputs: failures.length ? news : withDefaults(news), failures };
  },
  async diff(_id, olds, news) {
    const d = diffTailnetService(olds, news);
    return {
      changes: d.changes,
      replaces: d.replaces,
      deleteBeforeReplace: d.deleteBeforeReplace,
      detailedDiff: d.detailedDiff,
    };
  },
  async create(inputs) {
    if (inputs.proxyGroup) return haService.create(inputs);
    return createStandalone(standaloneSpec, inputs);
  },
  async read(id, props) {
    if (props.proxyGroup) return haService.read(id, props);
    return readStandalone(standaloneSpec, id, props, INPUT_KEYS);
  },
  async update(id, olds, news) {
    if (news.proxyGroup) return haService.update(id, olds, news);
    return updateStandalone(standaloneSpec, id, olds, news);
  },
  async delete(_id, props) {
    if (props.proxyGroup) return haService.delete(_id, props);
    return deleteStandalone(props);
  },
};
