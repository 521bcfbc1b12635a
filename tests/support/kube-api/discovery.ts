/**
 * Discovery documents (/version, /api, /apis, APIResourceLists, and the aggregated
 * `apidiscovery.k8s.io/v2` APIGroupDiscoveryList that kubectl asks for first) as a 1.36 server serves them.
 * https://kubernetes.io/docs/concepts/overview/kubernetes-api/#aggregated-discovery
 */
import { apiVersionOf, groupVersions, type ResourceType } from "./resources";
import { REVIEW_RESOURCES } from "./reviews";

/** GET /version */
export function versionInfo(): object {
  return {
    major: "1",
    minor: "36",
    emulationMajor: "1",
    emulationMinor: "36",
    minCompatibilityMajor: "1",
    minCompatibilityMinor: "35",
    gitVersion: "v1.36.0",
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-04-22T00:00:00Z",
    goVersion: "go1.26.2",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

/** GET /api */
export function apiVersions(hostPort: string): object {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: hostPort }],
  };
}

/**
 * Every group version served, the review groups included. `types` are the types served now (the
 * built-in ones and those of established CRDs, Registry.servedTypes).
 */
function allGroupVersions(types: readonly ResourceType[]): { group: string; version: string }[] {
  const out = groupVersions(types);
  for (const r of REVIEW_RESOURCES) {
    if (!out.some((g) => g.group === r.group && g.version === r.version))
      out.push({ group: r.group, version: r.version });
  }
  return out;
}

/** Whether a group version is served. */
export function servesGroupVersion(types: readonly ResourceType[], group: string, version: string): boolean {
  return allGroupVersions(types).some((g) => g.group === group && g.version === version);
}

function groupEntry(types: readonly ResourceType[], name: string) {
  const versions = allGroupVersions(types)
    .filter((g) => g.group === name)
    .map((g) => ({ groupVersion: apiVersionOf(g), version: g.version }));
  return { name, versions, preferredVersion: versions[0] };
}

function groupNames(types: readonly ResourceType[]): string[] {
  return [...new Set(allGroupVersions(types).map((g) => g.group))].filter((g) => g !== "").sort();
}

/** GET /apis */
export function apiGroupList(types: readonly ResourceType[]): object {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: groupNames(types).map((g) => groupEntry(types, g)),
  };
}

/** GET /apis/{group}, or undefined when the group is not served. */
export function apiGroup(types: readonly ResourceType[], group: string): object | undefined {
  if (!allGroupVersions(types).some((g) => g.group === group)) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(types, group) };
}

/** The subresources a type serves beyond its own: ServiceAccount's TokenRequest. */
function subresourceFacts(t: ResourceType, sub: string): { group?: string; version?: string; kind: string } {
  if (sub === "scale") return { group: "autoscaling", version: "v1", kind: "Scale" };
  if (sub === "token") return { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest" };
  return { kind: t.kind };
}

/** GET /api/v1 or /apis/{group}/{version}, or undefined when not served. */
export function apiResourceList(
  served: readonly ResourceType[],
  group: string,
  version: string,
): object | undefined {
  if (!servesGroupVersion(served, group, version)) return undefined;
  const types = served.filter((t) => t.group === group && t.version === version);
  const resources: object[] = [];
  for (const t of types) {
    const r: Record<string, unknown> = {
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs,
    };
    if (t.shortNames) r.shortNames = t.shortNames;
    if (t.categories) r.categories = t.categories;
    resources.push(r);
    for (const [sub, verbs] of Object.entries(t.subresources)) {
      const f = subresourceFacts(t, sub);
      const s: Record<string, unknown> = {
        name: `${t.plural}/${sub}`,
        singularName: sub === "token" ? "" : t.singular,
        namespaced: t.namespaced,
      };
      if (f.group !== undefined) Object.assign(s, { group: f.group, version: f.version });
      s.kind = f.kind;
      s.verbs = verbs;
      resources.push(s);
    }
  }
  for (const rv of REVIEW_RESOURCES) {
    if (rv.group !== group || rv.version !== version) continue;
    resources.push({
      name: rv.plural,
      singularName: rv.singular,
      namespaced: false,
      kind: rv.kind,
      verbs: ["create"],
    });
  }
  const body: Record<string, unknown> = { kind: "APIResourceList" };
  if (group) body.apiVersion = "v1";
  body.groupVersion = apiVersionOf({ group, version });
  body.resources = resources;
  return body;
}

/** The Accept value that selects aggregated discovery (and the Content-Type it is answered with). */
export const AGGREGATED_DISCOVERY = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/** Whether a discovery request asks for the aggregated document (the first matching clause wins). */
export function wantsAggregated(accept: string | undefined): boolean {
  for (const clause of (accept ?? "").split(",")) {
    const parts = clause.split(";").map((s) => s.trim());
    const params = Object.fromEntries(parts.slice(1).map((p) => p.split("=").map((s) => s.trim())));
    if (parts[0] === "application/json" && params.as === "APIGroupDiscoveryList") {
      if (params.g === "apidiscovery.k8s.io" && params.v === "v2") return true;
      continue;
    }
    if (parts[0]) return false;
  }
  return false;
}

/** GET /api or /apis with the aggregated Accept: one APIGroupDiscovery per group, resources inlined. */
export function aggregatedDiscovery(types: readonly ResourceType[], core: boolean): object {
  const names = core ? [""] : groupNames(types);
  const items = names.map((group) => {
    const versions = allGroupVersions(types)
      .filter((g) => g.group === group)
      .map((g) => {
        const list = apiResourceList(types, group, g.version) as { resources: any[] };
        const top = list.resources.filter((r) => !String(r.name).includes("/"));
        return {
          version: g.version,
          resources: top.map((r) => {
            const entry: Record<string, unknown> = {
              resource: r.name,
              responseKind: { group, version: g.version, kind: r.kind },
              scope: r.namespaced ? "Namespaced" : "Cluster",
              singularResource: r.singularName,
              verbs: r.verbs,
            };
            if (r.shortNames) entry.shortNames = r.shortNames;
            if (r.categories) entry.categories = r.categories;
            const subs = list.resources.filter((s) => String(s.name).startsWith(`${r.name}/`));
            if (subs.length > 0) {
              entry.subresources = subs.map((s) => ({
                subresource: String(s.name).split("/")[1],
                responseKind: { group: s.group ?? group, version: s.version ?? g.version, kind: s.kind },
                verbs: s.verbs,
              }));
            }
            return entry;
          }),
          freshness: "Current",
        };
      });
    const metadata: Record<string, unknown> = { creationTimestamp: null };
    if (group) metadata.name = group;
    return { metadata, versions };
  });
  return { kind: "APIGroupDiscoveryList", apiVersion: "apidiscovery.k8s.io/v2", metadata: {}, items };
}
