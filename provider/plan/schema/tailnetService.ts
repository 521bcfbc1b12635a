/**
 * The declaration of TailnetService (layer 3): each input's default, validation and how a change is
 * applied, in the order check reports failures. See schema/field.ts for what is derived from it.
 */
import { placeholderService } from "../backends";
import { type CheckFailure, checkHostname, checkServiceRef } from "../check";
import { serviceHostname } from "../hostnames";
import { type HostInputs, isUnknown, type PlannedInputs, type TailnetServiceInput } from "../inputs";
import { TAILNET_SERVICE_OUTPUTS } from "../outputs";
import { planStandaloneService } from "../standalone";
import { checkInputs, type Fields } from "./field";
import { commonProxyFields, type ProxyEffect, type ProxySchema } from "./proxy";

type Input = TailnetServiceInput & HostInputs & PlannedInputs;

const fields: Fields<Input, ProxyEffect> = {
  service: {
    check(v, c) {
      if (v === undefined)
        c.push(c.at, "is required: the Service {namespace, name} to expose on the tailnet");
      else checkServiceRef(v, c.at, c.push);
    },
    change: {
      standalone: {
        kind: "inPlace",
        target: "statefulSet",
        reason:
          "the layer-3 target changes: the proxy's TS_DEST_IP (or DNS name), and for a dual-stack backend its DNAT config, is updated and the Pod restarts",
      },
      ha: {
        kind: "inPlace",
        target: "dnatConfig",
        reason: "the layer-3 target changes: the DNAT entry of the Tailscale Service is rewritten",
      },
    },
  },
  hostname: {
    check(v, c) {
      if (v !== undefined && typeof v !== "string") c.push(c.at, "must be a string");
      else checkHostname(serviceHostname(c.input), c.push);
    },
    fill: (input) => serviceHostname(input)?.hostname,
    change: { kind: "tailnetName" },
  },
  ...commonProxyFields<Input>({
    hostnameOf: serviceHostname,
    namespaceOf: (input) =>
      !input.proxyGroup && input.service && typeof input.service.namespace === "string"
        ? input.service.namespace
        : undefined,
    // Against a placeholder address, so the fingerprints follow the inputs.
    plan: (input) => planStandaloneService(input, placeholderService(input.service), {}),
  }),
};

/** TailnetService's declaration. */
export const TAILNET_SERVICE: ProxySchema<Input> = {
  kind: "TailnetService",
  fields,
  outputs: TAILNET_SERVICE_OUTPUTS,
  hostnameOf: serviceHostname,
  nameDependsOn: ["service"],
  nameSources: ["service"],
  defaultNamespace: (i) =>
    !i.service || isUnknown(i.service) || isUnknown(i.service.namespace) ? "unknown" : i.service.namespace,
  namespaceSource: () => "service",
};

/** Validates the inputs of a TailnetService (standalone or HA); an empty list means valid. */
export function checkTailnetService(news: TailnetServiceInput): CheckFailure[] {
  return checkInputs(TAILNET_SERVICE, news);
}
