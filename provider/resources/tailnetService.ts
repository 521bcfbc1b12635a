/**
 * TailnetService: layer-3 exposure of a cluster Service. Standalone: its own proxy and device
 * (standalone.ts). With `proxyGroup`: a Tailscale Service served by the group (ha.ts).
 */
import { backendKey } from "../plan/backends";
import { diffTailnetService } from "../plan/diff";
import { type TailnetServiceInput, UNKNOWN } from "../plan/inputs";
import { planStandaloneService } from "../plan/standalone";
import { checkTailnetService, containsUnknown, DEFAULT_TAGS, serviceHostname } from "../plan/validate";
import { haService } from "./ha";
import { readBackendService } from "./kubeFacts";
import type { Lifecycle } from "./lifecycle";
import { plannedObjectsOf, proxyLifecycle } from "./proxyLifecycle";
import type { StandaloneSpec } from "./standalone";

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
      out.plannedObjects = plannedObjectsOf(plan);
    } catch {
      // A plan that cannot be rendered yet is reported by `up`, with its reason.
    }
  } else if (!out.proxyGroup) {
    out.plannedObjects = UNKNOWN as never;
  }
  return out;
}

export const tailnetService: Lifecycle = proxyLifecycle<TailnetServiceInput>({
  kind: "TailnetService",
  check: checkTailnetService,
  withDefaults,
  diff: diffTailnetService,
  standalone: standaloneSpec,
  ha: haService,
  inputKeys: INPUT_KEYS,
  outputKeys: [
    "hostname",
    "fqdn",
    "tailnetIPs",
    "deviceId",
    "serviceName",
    "addresses",
    "joinToken",
    "namespace",
    "kubernetesObjects",
    "schemaVersion",
  ],
});
