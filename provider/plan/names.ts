/**
 * Deterministic Kubernetes object names of a standalone proxy.
 *
 * The operator uses `generateName` (`ts-<parent>-` + 5 random characters) and finds its objects again by
 * labels. A Pulumi provider must be able to retry a failed create and adopt what it left, so our names are
 * a pure function of the tailnet hostname: no random suffix that a retry would duplicate.
 */
import { sha256Hex } from "./gojson";

/**
 * Longest StatefulSet name that keeps its Pods' `controller-revision-hash` label
 * (`<sts>-<10-char hash>`) within the 63-character label limit: 63 - 10 - 1 = 52. The operator uses the
 * same bound (statefulSetNameBase).
 */
export const MAX_STATEFULSET_NAME = 52;

/** How many characters of the hostname a shortened base keeps before the hash suffix. */
const SHORT_PREFIX = 40;

/** The names of every object of one standalone proxy. */
export interface ProxyNames {
  /** Shared base: StatefulSet, headless Service, ServiceAccount, Role and RoleBinding are all named this. */
  base: string;
  statefulSet: string;
  headlessService: string;
  serviceAccount: string;
  role: string;
  roleBinding: string;
  /** The config-and-state Secret: `<base>-0`, the name of the single Pod (TS_KUBE_SECRET=$(POD_NAME)). */
  secret: string;
  /** The proxy Pod (StatefulSet ordinal 0). */
  pod: string;
}

/**
 * The base name for a proxy whose tailnet hostname is `hostname`: `ts-<hostname>` when it fits in
 * {@link MAX_STATEFULSET_NAME} characters, else `ts-<first 40 chars>-<first 8 hex of sha256(hostname)>`.
 * The hostname is lowercased first: Kubernetes names are lowercase, and control treats tailnet hostnames
 * case-insensitively, so `Web` and `web` are the same proxy.
 */
export function proxyNameBase(hostname: string): string {
  const h = hostname.toLowerCase();
  const simple = `ts-${h}`;
  if (simple.length <= MAX_STATEFULSET_NAME) return simple;
  return `ts-${h.slice(0, SHORT_PREFIX)}-${sha256Hex(h).slice(0, 8)}`;
}

/** All object names of the standalone proxy for `hostname`. */
export function proxyNames(hostname: string): ProxyNames {
  const base = proxyNameBase(hostname);
  return {
    base,
    statefulSet: base,
    headlessService: base,
    serviceAccount: base,
    role: base,
    roleBinding: base,
    secret: `${base}-0`,
    pod: `${base}-0`,
  };
}
