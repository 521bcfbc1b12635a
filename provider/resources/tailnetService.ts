/**
 * TailnetService: layer-3 exposure of a cluster Service. Standalone: its own proxy and device
 * (standalone.ts). With `proxyGroup`: a Tailscale Service served by the group (ha/service.ts). Its
 * inputs are declared in plan/schema/tailnetService.ts.
 */
import { backendKey } from "../plan/backends";
import { diffTailnetService } from "../plan/diff";
import type { TailnetServiceInput } from "../plan/inputs";
import { TAILNET_SERVICE } from "../plan/schema/tailnetService";
import { forwardedTailnetIPs, planStandaloneService } from "../plan/standalone";
import { haService } from "./ha/service";
import { readBackendService } from "./kubeFacts";
import type { Lifecycle } from "./lifecycle";
import { proxyLifecycle } from "./proxyLifecycle";
import { type StandaloneSpec, standaloneSteps } from "./standalone";

const standaloneSpec: StandaloneSpec<TailnetServiceInput> = {
  kind: "TailnetService",
  async readBackends(kube, input) {
    const facts = await readBackendService(kube, input.service, "service");
    return new Map([[backendKey(input.service), facts]]);
  },
  plan(input, backends, ctx) {
    return planStandaloneService(input, backends.get(backendKey(input.service))!, ctx);
  },
  outputs(plan, device, _data, previous) {
    if (plan.target) return { tailnetIPs: forwardedTailnetIPs(plan.target, device.tailnetIPs) };
    // A refresh has no plan: keep the families the last up recorded (the target's family).
    const recorded: string[] = Array.isArray(previous?.tailnetIPs) ? previous.tailnetIPs : [];
    if (recorded.length === 0) return {};
    const families = new Set(recorded.map((ip) => ip.includes(":")));
    return { tailnetIPs: device.tailnetIPs.filter((ip) => families.has(ip.includes(":"))) };
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
