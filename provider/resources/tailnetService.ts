/**
 * TailnetService: layer-3 exposure of a cluster Service. Standalone: its own proxy and device
 * (standalone.ts). With `proxyGroup`: a Tailscale Service served by the group (ha/service.ts). Its
 * inputs are declared in plan/schema/tailnetService.ts.
 */
import { backendKey } from "../plan/backends";
import { diffTailnetService } from "../plan/diff";
import type { TailnetServiceInput } from "../plan/inputs";
import { TAILNET_SERVICE } from "../plan/schema/tailnetService";
import {
  forwardedTailnetIPs,
  l3TargetOf,
  planStandaloneService,
  STANDALONE_DNAT_CONFIG_KEY,
} from "../plan/standalone";
import { haService } from "./ha/service";
import { readBackendService } from "./kubeFacts";
import type { Lifecycle } from "./lifecycle";
import { proxyLifecycle } from "./proxyLifecycle";
import { type StandaloneSpec, standaloneSteps, waitForDnatRules } from "./standalone";

const standaloneSpec: StandaloneSpec<TailnetServiceInput> = {
  kind: "TailnetService",
  async readBackends(kube, input) {
    const facts = await readBackendService(kube, input.service, "service");
    return new Map([[backendKey(input.service), facts]]);
  },
  plan(input, backends, ctx) {
    return planStandaloneService(input, backends.get(backendKey(input.service))!, ctx);
  },
  outputs(plan, device, data) {
    // The live Secret's DNAT config: in create and update the running Pod has reported its rules
    // (afterDeviceUp); at a refresh, what the proxy is configured with.
    const target = plan.target ?? l3TargetOf(plan.statefulSet);
    return { tailnetIPs: forwardedTailnetIPs(target, device.tailnetIPs, data[STANDALONE_DNAT_CONFIG_KEY]) };
  },
  async afterDeviceUp({ kube, remainingMs }, plan) {
    if (plan.dnatConfig) await waitForDnatRules(kube, plan, plan.dnatConfig, remainingMs);
  },
  podSecurityFix:
    "A layer-3 proxy needs the privileged level (kernel networking for its DNAT: a privileged sysctler init " +
    "container and tailscale container). Set `namespace` to a namespace labelled pod-security.kubernetes.io/enforce=privileged " +
    "(standalone TailnetService proxies otherwise go to the backend Service's namespace), or, if that is acceptable " +
    "for this namespace, label it so (kubectl label namespace <namespace> pod-security.kubernetes.io/enforce=privileged --overwrite).",
};

export const tailnetService: Lifecycle = proxyLifecycle({
  schema: TAILNET_SERVICE,
  diff: diffTailnetService,
  standalone: standaloneSteps(standaloneSpec),
  ha: haService,
});
