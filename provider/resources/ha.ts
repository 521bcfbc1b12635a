/**
 * HA mode (`proxyGroup` set): a Tailscale Service served by a ProxyGroup.
 *
 * Not implemented yet: `check` refuses `proxyGroup` (see HA_UNAVAILABLE) so nothing reaches these.
 */
import type { Lifecycle } from "./lifecycle";

/** The check failure reason while HA mode is not implemented. */
export const HA_UNAVAILABLE =
  "serving through a ProxyGroup (high availability) is not available in this version of pulumi-tailnet; " +
  "remove proxyGroup to run a standalone proxy";

/** Extra check failures of HA inputs (`proxyGroup` set), beyond the shared input checks. */
export function haCheckFailures(
  _kind: "TailnetService" | "TailnetIngress",
  _news: unknown,
): { property: string; reason: string }[] {
  return [{ property: "proxyGroup", reason: HA_UNAVAILABLE }];
}

const unavailable = async (): Promise<never> => {
  throw new Error(HA_UNAVAILABLE);
};

export const haService: Lifecycle = {
  check: unavailable,
  diff: unavailable,
  create: unavailable,
  read: unavailable,
  update: unavailable,
  delete: unavailable,
};

export const haIngress: Lifecycle = haService;
