/**
 * HA mode (`proxyGroup` set): a Tailscale Service served by a ProxyGroup. The lifecycles live in
 * `ha/ingress.ts` (layer 7) and `ha/service.ts` (layer 3); this module is what tailnetIngress.ts and
 * tailnetService.ts call.
 */
import { joinTokenFor, serviceNameFor } from "../plan/ha";
import type { TailnetIngressInput, TailnetServiceInput } from "../plan/inputs";
import { ingressHostname, isUnknown, serviceHostname } from "../plan/validate";
import { releaseForStandalone } from "./ha/migration";
import { runtimeFor } from "./ha/shared";

export { haIngress } from "./ha/ingress";
export { releaseForStandalone } from "./ha/migration";
export { haService } from "./ha/service";

/**
 * HA → standalone migration, for the standalone create to call before it checks the hostname: when
 * this same resource (`ownerId`) alone owns the Tailscale Service `svc:<hostname>` (it is being
 * replaced by a standalone proxy, create-before-delete), stop advertising it, wait, and delete it, so
 * that the new device registers with the plain name instead of `<hostname>-1`. Costs one Tailscale API
 * GET when it is not such a migration.
 */
export async function prepareStandaloneTakeover(
  kind: "TailnetService" | "TailnetIngress",
  inputs: TailnetIngressInput | TailnetServiceInput,
): Promise<boolean> {
  const h =
    kind === "TailnetIngress"
      ? ingressHostname(inputs as TailnetIngressInput)
      : serviceHostname(inputs as TailnetServiceInput);
  if (!h) return false;
  return releaseForStandalone(runtimeFor(inputs), h.hostname.toLowerCase(), inputs.ownerId);
}

const JOIN_TOKEN = /^[0-9a-f]{32}$/;

/**
 * Extra check failures of HA inputs (`proxyGroup` set), beyond the shared input checks. Pure, no I/O;
 * unknown values are skipped.
 *
 * It also fills in one default, in place on `news` (before the caller copies it into the checked
 * inputs): `joinToken` defaults to this resource's own token. The SDK declares `joinToken` both as the
 * input (the token of another stack's service to join) and as the output (the token others pass to
 * join this one); with the default filled in, a resource that joins nobody has input equal to output,
 * so a preview after `up` shows no change.
 */
export function haCheckFailures(
  kind: "TailnetService" | "TailnetIngress",
  news: any,
): { property: string; reason: string }[] {
  const failures: { property: string; reason: string }[] = [];
  if (!news || typeof news !== "object") return failures;
  if (kind === "TailnetIngress" && news.funnel === true) {
    failures.push({
      property: "funnel",
      reason:
        "funnel is not supported with proxyGroup: Tailscale Services cannot be funnelled; remove funnel or proxyGroup",
    });
  }
  if (news.joinToken !== undefined && news.joinToken !== null && !isUnknown(news.joinToken)) {
    if (typeof news.joinToken !== "string" || !JOIN_TOKEN.test(news.joinToken)) {
      failures.push({
        property: "joinToken",
        reason:
          "must be the joinToken output of the resource whose Tailscale Service to join (32 hexadecimal digits), e.g. read through a StackReference",
      });
    }
  } else if (news.joinToken === undefined || news.joinToken === null) {
    const host =
      typeof news.ownerId === "string" && !isUnknown(news.ownerId)
        ? kind === "TailnetIngress"
          ? safe(() => ingressHostname(news))
          : safe(() => serviceHostname(news))
        : undefined;
    if (host && !isUnknown(host.hostname) && failures.length === 0) {
      news.joinToken = joinTokenFor(serviceNameFor(host.hostname.toLowerCase()), news.ownerId);
    }
  }
  return failures;
}

function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
