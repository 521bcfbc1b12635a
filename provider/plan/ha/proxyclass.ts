/**
 * ProxyClass for ProxyGroup pods: the shared `applyProxyClass` with proxyType `proxygroup_ingress`
 * (kernel networking, so the `sysctler` init container gets the image too).
 */
import type { V1StatefulSet } from "@kubernetes/client-node";
import type { ProxyClassInput } from "../inputs";
import { applyProxyClass, DEFAULT_PROXY_IMAGE } from "../proxyclass";

/** The proxy image before the ProxyClass is applied (applyProxyClass overrides it when set). */
export function proxyImage(_pc: ProxyClassInput | undefined): string {
  return DEFAULT_PROXY_IMAGE;
}

/** A copy of the ProxyGroup StatefulSet with `pc` applied. */
export function applyProxyClassToProxyGroup(
  sts: V1StatefulSet,
  pc: ProxyClassInput | undefined,
): V1StatefulSet {
  return applyProxyClass(sts, pc, { proxyType: "proxygroup_ingress", userspace: false });
}
