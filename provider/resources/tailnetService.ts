/**
 * TailnetService: layer-3 exposure of a cluster Service. Standalone: its own proxy and device
 * (standalone.ts). With `proxyGroup`: a Tailscale Service served by the group (ha/service.ts). Its
 * inputs are declared in plan/schema/tailnetService.ts.
 */
import { backendKey } from "../plan/backends";
import { diffTailnetService } from "../plan/diff";
import type { TailnetServiceInput } from "../plan/inputs";
import { TAILNET_SERVICE } from "../plan/schema/tailnetService";
import { planStandaloneService } from "../plan/standalone";
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
  outputs() {
    return {};
  },
};

export const tailnetService: Lifecycle = proxyLifecycle({
  schema: TAILNET_SERVICE,
  diff: diffTailnetService,
  standalone: standaloneSteps(standaloneSpec),
  ha: haService,
});
