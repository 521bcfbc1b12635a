/**
 * TailnetIngress: HTTPS on a MagicDNS name. Standalone: its own userspace proxy serving the serve
 * config (standalone.ts). With `proxyGroup`: a Tailscale Service served by the group (ha.ts).
 */

import type { BackendServiceFacts } from "../plan/backends";
import { backendKey } from "../plan/backends";
import { diffTailnetIngress } from "../plan/diff";
import { type IngressBackendInput, type TailnetIngressInput, UNKNOWN } from "../plan/inputs";
import { planStandaloneIngress, standaloneIngressNamespace } from "../plan/standalone";
import { checkTailnetIngress, containsUnknown, DEFAULT_TAGS } from "../plan/validate";
import {
  acmeAccountId,
  certificateState,
  httpsDisabled,
  nextIssuances,
  obtainCertificate,
} from "./certificate";
import { haIngress } from "./ha";
import { coreRef, readBackendService, secretData } from "./kubeFacts";
import type { Lifecycle } from "./lifecycle";
import { plannedObjectsOf, proxyLifecycle } from "./proxyLifecycle";
import type { StandaloneSpec } from "./standalone";

const INPUT_KEYS = [
  "ownerId",
  "defaultBackend",
  "rules",
  "hostname",
  "tags",
  "namespace",
  "proxyClass",
  "proxyGroup",
  "joinToken",
  "funnel",
  "httpRedirect",
  "backendProtocol",
  "waitForCertificate",
  "timeoutSeconds",
  "credentials",
  "plannedObjects",
] as const;

/** Every backend of an ingress, default backend first, in input order. */
export function ingressBackends(input: TailnetIngressInput): { backend: IngressBackendInput; at: string }[] {
  const out: { backend: IngressBackendInput; at: string }[] = [];
  if (input.defaultBackend) out.push({ backend: input.defaultBackend, at: "defaultBackend" });
  (input.rules ?? []).forEach((rule, r) => {
    (rule.paths ?? []).forEach((p, i) => {
      out.push({ backend: p.backend, at: `rules[${r}].paths[${i}].backend` });
    });
  });
  return out;
}

const standaloneSpec: StandaloneSpec<TailnetIngressInput> = {
  kind: "TailnetIngress",
  async readBackends(kube, input) {
    const facts = new Map<string, BackendServiceFacts>();
    for (const { backend, at } of ingressBackends(input)) {
      const key = backendKey(backend.service);
      if (!facts.has(key)) facts.set(key, await readBackendService(kube, backend.service, `${at}.service`));
    }
    return facts;
  },
  plan(input, backends, ctx) {
    return planStandaloneIngress(input, backends, ctx);
  },
  outputs(_plan, device, data, previous) {
    const certificate = certificateState(data[`${device.fqdn}.crt`], device.fqdn);
    const account = acmeAccountId(data);
    return {
      url: `https://${device.fqdn}/`,
      certificate,
      certificateIssuances: nextIssuances(previous, certificate, account),
      ...(account ? { certificateAccount: account } : {}),
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

function withDefaults(
  news: TailnetIngressInput,
): TailnetIngressInput & { plannedObjects?: Record<string, string> } {
  const out: TailnetIngressInput & { plannedObjects?: Record<string, string> } = { ...news };
  if (out.tags === undefined) out.tags = [...DEFAULT_TAGS];
  if (!out.proxyGroup && out.namespace === undefined) {
    // During preview a backend may still be unknown; the namespace is then known only at `up`.
    const ns = containsUnknown([out.defaultBackend, out.rules]) ? undefined : standaloneIngressNamespace(out);
    if (typeof ns === "string") out.namespace = ns;
  }
  if (!out.proxyGroup && !containsUnknown({ ...out, credentials: undefined, timeoutSeconds: undefined })) {
    try {
      // No I/O at check: plan against placeholder Services that have every named port, so the
      // fingerprints follow the inputs; the real addresses and ports are read at `up`.
      const backends = new Map<string, BackendServiceFacts>();
      for (const { backend } of ingressBackends(out)) {
        const key = backendKey(backend.service);
        const facts = backends.get(key) ?? {
          namespace: backend.service.namespace,
          name: backend.service.name,
          type: "ClusterIP",
          clusterIP: "0.0.0.0",
          ports: [],
        };
        if (typeof backend.port === "string") facts.ports.push({ name: backend.port, port: 1 });
        else facts.ports.push({ port: backend.port });
        backends.set(key, facts);
      }
      const plan = planStandaloneIngress(out, backends, {});
      out.plannedObjects = plannedObjectsOf(plan);
    } catch {
      // Reported by `up`, with its reason.
    }
  } else if (!out.proxyGroup) {
    out.plannedObjects = UNKNOWN as never;
  }
  return out;
}

export const tailnetIngress: Lifecycle = proxyLifecycle<TailnetIngressInput>({
  kind: "TailnetIngress",
  check: checkTailnetIngress,
  withDefaults,
  diff: diffTailnetIngress,
  standalone: standaloneSpec,
  ha: haIngress,
  inputKeys: INPUT_KEYS,
  outputKeys: [
    "hostname",
    "fqdn",
    "url",
    "tailnetIPs",
    "deviceId",
    "serviceName",
    "addresses",
    "joinToken",
    "certificate",
    "certificateIssuances",
    "proxyClass",
    "namespace",
    "kubernetesObjects",
    "schemaVersion",
  ],
});
