/**
 * TailnetIngress: HTTPS on a MagicDNS name. Standalone: its own userspace proxy serving the serve
 * config (standalone.ts). With `proxyGroup`: a Tailscale Service served by the group (ha/ingress.ts).
 * Its inputs are declared in plan/schema/tailnetIngress.ts.
 */
import { diffTailnetIngress } from "../plan/diff";
import type { TailnetIngressInput } from "../plan/inputs";
import { TAILNET_INGRESS } from "../plan/schema/tailnetIngress";
import { planStandaloneIngress } from "../plan/standalone";
import {
  acmeAccountId,
  certificateState,
  historyOutputs,
  httpsDisabled,
  obtainCertificate,
} from "./certificate";
import { haIngress } from "./ha/ingress";
import { coreRef, readIngressBackends, secretData } from "./kubeFacts";
import type { Lifecycle } from "./lifecycle";
import { proxyLifecycle } from "./proxyLifecycle";
import { type StandaloneSpec, standaloneSteps } from "./standalone";

const standaloneSpec: StandaloneSpec<TailnetIngressInput> = {
  kind: "TailnetIngress",
  readBackends: readIngressBackends,
  podSecurityFix:
    "A standalone TailnetIngress proxy runs under the restricted level by default (userspace networking, non-root, " +
    "no capabilities); what breaks it comes from the ProxyClass: remove or fix its securityContext or " +
    "podSecurityContext, or set `namespace` to a namespace whose enforced level admits it.",
  plan(input, backends, ctx) {
    return planStandaloneIngress(input, backends, ctx);
  },
  outputs(_plan, device, data, previous) {
    const certificate = certificateState(data[`${device.fqdn}.crt`], device.fqdn);
    return {
      url: `https://${device.fqdn}/`,
      // A standalone proxy forces its renewals (plan/standalone.ts, as the operator's): never ARI.
      ...historyOutputs(previous, certificate, acmeAccountId(data), false),
    };
  },
  async afterDeviceUp(rt, plan) {
    // containerboot writes `https_endpoint` once it applied the serve config: the cert domain, or
    // `no-https` when the tailnet has HTTPS certificates disabled (then the ingress cannot serve).
    const ref = coreRef("Secret", plan.namespace, plan.names.secret);
    const secret = await rt.kube.waitFor(ref, (obj) => !!secretData(obj).https_endpoint, {
      timeoutMs: rt.remainingMs(),
      description: `proxy Pod ${plan.namespace}/${plan.names.pod} to apply its serve config (state Secret key https_endpoint)`,
    });
    const domain = secretData(secret).https_endpoint.replace(/\.$/, "");
    if (domain.toLowerCase() === "no-https") throw new Error(httpsDisabled(plan.hostname));
    if (rt.input.waitForCertificate === false) return;
    await obtainCertificate(rt.kube, {
      namespace: plan.namespace,
      pod: plan.names.pod,
      domain,
      staging: rt.input.proxyClass?.useLetsEncryptStagingEnvironment === true,
      timeoutMs: rt.remainingMs(),
    });
  },
};

export const tailnetIngress: Lifecycle = proxyLifecycle({
  schema: TAILNET_INGRESS,
  diff: diffTailnetIngress,
  standalone: standaloneSteps(standaloneSpec),
  ha: haIngress,
});
