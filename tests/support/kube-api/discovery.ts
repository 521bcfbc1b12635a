/** Discovery documents (/version, /api, /apis, APIResourceLists) as a 1.36 server serves them. */
import { apiVersionOf, groupVersions, RESOURCE_TYPES } from "./resources";

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

function groupEntry(name: string) {
  const versions = groupVersions()
    .filter((g) => g.group === name)
    .map((g) => ({ groupVersion: apiVersionOf(g), version: g.version }));
  return { name, versions, preferredVersion: versions[0] };
}

/** GET /apis */
export function apiGroupList(): object {
  const names = [...new Set(groupVersions().map((g) => g.group))].filter((g) => g !== "");
  return { kind: "APIGroupList", apiVersion: "v1", groups: names.map(groupEntry) };
}

/** GET /apis/{group}, or undefined when the group is not served. */
export function apiGroup(group: string): object | undefined {
  if (!groupVersions().some((g) => g.group === group)) return undefined;
  return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(group) };
}

/** GET /api/v1 or /apis/{group}/{version}, or undefined when not served. */
export function apiResourceList(group: string, version: string): object | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
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
    resources.push(r);
    for (const [sub, verbs] of Object.entries(t.subresources)) {
      const s: Record<string, unknown> = {
        name: `${t.plural}/${sub}`,
        singularName: t.singular,
        namespaced: t.namespaced,
      };
      if (sub === "scale") Object.assign(s, { group: "autoscaling", version: "v1", kind: "Scale" });
      else s.kind = t.kind;
      s.verbs = verbs;
      resources.push(s);
    }
  }
  const body: Record<string, unknown> = { kind: "APIResourceList" };
  if (group) body.apiVersion = "v1";
  body.groupVersion = apiVersionOf({ group, version });
  body.resources = resources;
  return body;
}
