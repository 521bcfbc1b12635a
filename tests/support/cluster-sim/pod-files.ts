// What a container sees of its pod: resolved environment and files under volume mounts.
// Pure functions over Kubernetes objects (plain JSON as @kubernetes/client-node returns them).

type Json = any;

/** Lookup of Secrets and ConfigMaps by namespace and name (the simulator's watch caches). */
export interface ObjectLookup {
  secret(namespace: string, name: string): Json | undefined;
  configMap(namespace: string, name: string): Json | undefined;
}

function fieldRef(pod: Json, path: string): string {
  switch (path) {
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
    case "status.podIP":
      return pod.status?.podIP ?? "";
    case "status.podIPs":
      return (pod.status?.podIPs ?? []).map((p: Json) => p.ip).join(",");
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    default: {
      const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      if (m) return pod.metadata?.[m[1]!]?.[m[2]!] ?? "";
      return "";
    }
  }
}

/** Decodes a Secret's `data` value (base64) to text. */
export function secretValue(secret: Json, key: string): string | undefined {
  const v = secret?.data?.[key];
  return v === undefined || v === null ? undefined : Buffer.from(String(v), "base64").toString("utf8");
}

/** Expands `$(VAR)` references to earlier variables the way kubelet does (`$$` escapes). */
export function expandEnvValue(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === "$$") return "$";
    return name !== undefined && name in env ? env[name]! : m;
  });
}

/** The container's environment as kubelet would resolve it. */
export function resolveEnv(pod: Json, container: Json, lookup: ObjectLookup): Record<string, string> {
  const env: Record<string, string> = {};
  const ns = pod.metadata?.namespace ?? "default";
  for (const e of container.env ?? []) {
    if (e.value !== undefined && e.value !== null) {
      env[e.name] = expandEnvValue(String(e.value), env);
    } else if (e.valueFrom?.fieldRef) {
      env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath);
    } else if (e.valueFrom?.secretKeyRef) {
      const r = e.valueFrom.secretKeyRef;
      const v = secretValue(lookup.secret(ns, r.name), r.key);
      if (v !== undefined) env[e.name] = v;
    } else if (e.valueFrom?.configMapKeyRef) {
      const r = e.valueFrom.configMapKeyRef;
      const cm = lookup.configMap(ns, r.name);
      const v = cm?.data?.[r.key];
      if (v !== undefined) env[e.name] = v;
    } else {
      env[e.name] = "";
    }
  }
  return env;
}

/** Where a path inside the container comes from. */
export interface MountedSource {
  kind: "secret" | "configMap";
  /** Name of the Secret or ConfigMap. */
  name: string;
  /** The key that backs the file, when the path names a file. */
  key?: string;
}

function normalize(p: string): string {
  return p.replace(/\/+$/, "") || "/";
}

/**
 * Resolves a path in the container to the Secret or ConfigMap volume that backs it: the path itself
 * (a directory mount) or a file below a mount (honouring `items` key→path mappings and `subPath`).
 */
export function resolveMount(pod: Json, container: Json, path: string): MountedSource | undefined {
  const target = normalize(path);
  let best: { mount: Json; rest: string } | undefined;
  for (const m of container.volumeMounts ?? []) {
    const mp = normalize(m.mountPath);
    let rest: string | undefined;
    if (target === mp) rest = "";
    else if (target.startsWith(`${mp}/`)) rest = target.slice(mp.length + 1);
    if (rest === undefined) continue;
    if (!best || normalize(best.mount.mountPath).length < mp.length) best = { mount: m, rest };
  }
  if (!best) return undefined;
  const vol = (pod.spec?.volumes ?? []).find((v: Json) => v.name === best!.mount.name);
  if (!vol) return undefined;
  const source = vol.secret
    ? { kind: "secret" as const, name: vol.secret.secretName, items: vol.secret.items }
    : vol.configMap
      ? { kind: "configMap" as const, name: vol.configMap.name, items: vol.configMap.items }
      : undefined;
  if (!source) return undefined;
  const rel = best.mount.subPath ? best.mount.subPath : best.rest;
  if (rel === "") return { kind: source.kind, name: source.name };
  if (Array.isArray(source.items) && source.items.length > 0) {
    const item = source.items.find((i: Json) => i.path === rel);
    return item ? { kind: source.kind, name: source.name, key: item.key } : undefined;
  }
  return { kind: source.kind, name: source.name, key: rel };
}

/** Keys visible in a mounted directory (a Secret/ConfigMap volume, filtered by `items`). */
export function listMountedKeys(pod: Json, container: Json, dir: string, lookup: ObjectLookup): string[] {
  const src = resolveMount(pod, container, dir);
  if (!src || src.key !== undefined) return [];
  const ns = pod.metadata?.namespace ?? "default";
  const obj = src.kind === "secret" ? lookup.secret(ns, src.name) : lookup.configMap(ns, src.name);
  if (!obj) return [];
  return Object.keys({ ...(obj.data ?? {}), ...(obj.binaryData ?? {}) });
}

/** Reads a file under a Secret or ConfigMap mount; undefined when the object or key is missing. */
export function readMountedFile(
  pod: Json,
  container: Json,
  path: string,
  lookup: ObjectLookup,
): string | undefined {
  const src = resolveMount(pod, container, path);
  if (!src || src.key === undefined) return undefined;
  const ns = pod.metadata?.namespace ?? "default";
  if (src.kind === "secret") return secretValue(lookup.secret(ns, src.name), src.key);
  const cm = lookup.configMap(ns, src.name);
  if (cm?.data?.[src.key] !== undefined) return cm.data[src.key];
  const bin = cm?.binaryData?.[src.key];
  return bin === undefined ? undefined : Buffer.from(String(bin), "base64").toString("utf8");
}

/** Parses HuJSON (JSON with comments and trailing commas), as tailscaled reads its config file. */
export function parseHuJson(text: string): Json {
  let out = "";
  let i = 0;
  let inString = false;
  while (i < text.length) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === "\\") {
        out += text[i + 1] ?? "";
        i += 2;
        continue;
      }
      if (c === '"') inString = false;
      i++;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      i++;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

/** The capability version this simulated containerboot/tailscaled reports. */
export const SIM_CAPVER = 131;

/** Picks the `cap-<N>.hujson` key with the highest N not above our capability version. */
export function pickConfigKey(keys: string[], capver = SIM_CAPVER): string | undefined {
  let best: { key: string; n: number } | undefined;
  for (const k of keys) {
    const m = /^cap-(\d+)\.hujson$/.exec(k);
    const n = m ? Number(m[1]) : k === "tailscaled" ? 0 : undefined;
    if (n === undefined || n > capver) continue;
    if (!best || n > best.n) best = { key: k, n };
  }
  return best?.key;
}
