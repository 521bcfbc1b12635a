/**
 * Diff classification for ProxyGroup. (HA TailnetIngress/TailnetService diffs, including `proxyGroup`
 * moves and standalone↔HA migrations, are in the shared `../diff`.)
 *
 * - `name`, `namespace`, `type`: every object is named by them (or they select the template), so the
 *   ProxyGroup is replaced. Delete-before-replace when the device hostnames stay the same
 *   (`hostnamePrefix` set and unchanged), otherwise control would name the new devices `<name>-1`.
 * - `replicas`: scaled in place (config/state Secrets added or removed; every pod rolls, since each
 *   mounts every replica's config).
 * - `tags`: in place, but they only reach auth keys minted from now on (new replicas, re-issued keys);
 *   existing devices keep theirs. The operator behaves the same; we say so in the reason.
 * - `hostnamePrefix`: in place; tailscaled reloads its config and renames the devices.
 * - `proxyClass`: in place (rolling restart).
 * - `ownerId`: in place; only labels and annotations are rewritten (the selector does not use it).
 * `credentials`, `timeoutSeconds` and `__provider` never cause a diff. A new value that is or contains
 * the unknown sentinel counts as a change (a replacement for the fields above that force one).
 */
import { type DiffClassification, type DiffKind, IGNORED_KEYS } from "../diff";
import { canonicalJson } from "../gojson";
import { containsUnknown, DEFAULT_REPLICAS, DEFAULT_TAGS } from "./common";

const KEYS = [
  "ownerId",
  "name",
  "namespace",
  "type",
  "replicas",
  "tags",
  "hostnamePrefix",
  "proxyClass",
] as const;
const REPLACE_KEYS: readonly string[] = ["name", "namespace", "type"];

function normalized(key: string, v: unknown): unknown {
  if (v === undefined || v === null) {
    if (key === "replicas") return DEFAULT_REPLICAS;
    if (key === "tags") return [...DEFAULT_TAGS];
    if (key === "hostnamePrefix") return "";
    return undefined;
  }
  if (key === "tags" && Array.isArray(v) && v.length === 0) return [...DEFAULT_TAGS];
  return v;
}

function reasonFor(key: string, olds: Record<string, unknown>, news: Record<string, unknown>): string {
  switch (key) {
    case "name":
      return "every object of the ProxyGroup is named after it";
    case "namespace":
      return "the ProxyGroup's objects live in this namespace";
    case "type":
      return "the proxy template depends on the type";
    case "replicas": {
      const o = normalized(key, olds[key]);
      const n = normalized(key, news[key]);
      return typeof o === "number" && typeof n === "number" && n < o
        ? `scaled down in place from ${o} to ${n}: replicas ${n}..${o - 1} and their devices are removed; every pod restarts`
        : "scaled in place: new replicas get their own config and state Secrets; every pod restarts";
    }
    case "tags":
      return (
        "updated in place, but tags only reach auth keys minted from now on (new replicas, re-issued keys): " +
        "existing devices keep their current tags until they re-register"
      );
    case "hostnamePrefix":
      return "updated in place: tailscaled reloads its config and renames the devices";
    case "proxyClass":
      return "the pod template is updated in place (rolling restart)";
    case "ownerId":
      return "labels and annotations are rewritten in place";
    default:
      return "updated in place";
  }
}

/** Classify the change from a ProxyGroup's previous outputs `olds` to its new inputs `news`. */
export function diffProxyGroup(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): DiffClassification {
  const detailedDiff: DiffClassification["detailedDiff"] = {};
  const replaces: string[] = [];
  for (const key of KEYS) {
    if (IGNORED_KEYS.includes(key)) continue;
    const o = normalized(key, olds[key]);
    const n = normalized(key, news[key]);
    const unknown = containsUnknown(news[key]);
    if (!unknown && canonicalJson(o) === canonicalJson(n)) continue;
    const replace = REPLACE_KEYS.includes(key);
    const base: "add" | "delete" | "update" =
      olds[key] === undefined && news[key] !== undefined
        ? "add"
        : news[key] === undefined && olds[key] !== undefined
          ? "delete"
          : "update";
    const pending = unknown ? " (not known until the update runs)" : "";
    detailedDiff[key] = {
      kind: (replace ? `${base}-replace` : base) as DiffKind,
      reason: reasonFor(key, olds, news) + pending,
    };
    if (replace) replaces.push(key);
  }
  let deleteBeforeReplace = false;
  if (replaces.length > 0) {
    const oldPrefix = normalized("hostnamePrefix", olds.hostnamePrefix) || olds.name;
    const newPrefix = normalized("hostnamePrefix", news.hostnamePrefix) || news.name;
    const sameHostnames = containsUnknown(newPrefix) || oldPrefix === newPrefix;
    deleteBeforeReplace = sameHostnames;
    for (const k of replaces) {
      detailedDiff[k]!.reason += sameHostnames
        ? "; the device hostnames stay the same, so the old ProxyGroup is deleted first (otherwise control would name the new devices with a -1 suffix)"
        : "; the device hostnames change, so the new ProxyGroup is created before the old one is deleted";
    }
  }
  return { changes: Object.keys(detailedDiff).length > 0, replaces, deleteBeforeReplace, detailedDiff };
}
