/**
 * Patch application: JSON merge patch (RFC 7386), JSON Patch (RFC 6902), strategic merge patch with the
 * merge keys of the built-in types we serve, and the merge step of server-side apply.
 */
import { applyPatch as applyJsonPatchOps, type Operation } from "fast-json-patch";
import { badRequest, genericInvalid } from "./errors";

/** A JSON value that is a plain object. */
export function isObj(v: unknown): v is Record<string, any> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep copy through JSON, which is what a round trip through the API does. */
export function clone<T>(v: T): T {
  return v === undefined ? v : JSON.parse(JSON.stringify(v));
}

/** RFC 7386 JSON merge patch: null deletes, objects merge, everything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Record<string, any> = isObj(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON Patch; a non-array body is the recorded 400, a failed op the recorded 422. */
export function jsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) {
    const what = isObj(patch) ? "object" : typeof patch === "string" ? "string" : "number";
    throw badRequest(
      `error decoding patch: json: cannot unmarshal ${what} into Go value of type []handlers.jsonPatchOp`,
    );
  }
  try {
    const doc = clone(target);
    return applyJsonPatchOps(doc, patch as Operation[], true, true).newDocument;
  } catch {
    throw genericInvalid();
  }
}

/** The `kind` the merge functions are given for custom resources (registry.ts mergeKind). */
export const CUSTOM_RESOURCE_KIND = "";

/** How a list field merges under strategic merge patch and server-side apply. */
export type ListStrategy = { keys: string[] } | { set: true } | { atomic: true };

/**
 * Merge strategy of the list at `path` (field names only, no indices) for `kind`.
 * SMP uses the first key; SSA uses all of them (list-map keys), as in client-go's applyconfigurations.
 */
export function listStrategy(kind: string, path: string[]): ListStrategy {
  // A custom resource's lists are atomic (no list-type markers are modelled), its metadata's as any object's.
  if (kind === CUSTOM_RESOURCE_KIND && path[0] !== "metadata") return { atomic: true };
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  switch (last) {
    case "containers":
    case "initContainers":
    case "ephemeralContainers":
      return { keys: ["name"] };
    case "env":
    case "imagePullSecrets":
      return { keys: ["name"] };
    case "volumes":
      return parent === "spec" ? { keys: ["name"] } : { atomic: true };
    case "volumeMounts":
      return { keys: ["mountPath"] };
    case "volumeDevices":
      return { keys: ["devicePath"] };
    case "hostAliases":
      return { keys: ["ip"] };
    case "conditions":
      return { keys: ["type"] };
    case "ownerReferences":
      return { keys: ["uid"] };
    case "finalizers":
      return path.length === 2 && path[0] === "metadata" ? { set: true } : { atomic: true };
    case "topologySpreadConstraints":
      return { keys: ["topologyKey", "whenUnsatisfiable"] };
    case "ports":
      if (kind === "Service" && path.length === 2 && path[0] === "spec")
        return { keys: ["port", "protocol"] };
      if (parent === "containers" || parent === "initContainers")
        return { keys: ["containerPort", "protocol"] };
      return { atomic: true };
    default:
      return { atomic: true };
  }
}

function keyOf(el: any, keys: string[], defaults: Record<string, unknown> = { protocol: "TCP" }): string {
  return JSON.stringify(keys.map((k) => el?.[k] ?? (k in defaults ? defaults[k] : null)));
}

function stripDirectives(v: any): any {
  if (Array.isArray(v)) return v.filter((e) => !(isObj(e) && e.$patch)).map(stripDirectives);
  if (!isObj(v)) return v;
  const out: Record<string, any> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith("$")) out[k] = stripDirectives(x);
  return out;
}

/** Strategic merge patch for the built-in types served here. */
export function strategicMergePatch(kind: string, original: unknown, patch: unknown): unknown {
  if (!isObj(patch)) throw badRequest("error decoding patch: the patch must be a JSON object");
  return smpObject(kind, original, patch, []);
}

function smpObject(kind: string, orig: unknown, patch: Record<string, any>, path: string[]): any {
  if (patch.$patch === "replace") return stripDirectives(patch);
  if (patch.$patch === "delete") return undefined;
  if (patch.$patch !== undefined) {
    throw badRequest(`Unknown patch type: ${patch.$patch}`);
  }
  const out: Record<string, any> = isObj(orig) ? clone(orig) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === "$patch" || k === "$retainKeys" || k.startsWith("$setElementOrder/")) continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const f = k.slice("$deleteFromPrimitiveList/".length);
      if (Array.isArray(out[f]) && Array.isArray(v)) out[f] = out[f].filter((x: unknown) => !v.includes(x));
      continue;
    }
    const sub = [...path, k];
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = smpList(kind, out[k], v, sub);
    else if (isObj(v)) {
      const merged = smpObject(kind, out[k], v, sub);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  if (Array.isArray(patch.$retainKeys)) {
    for (const k of Object.keys(out)) if (!patch.$retainKeys.includes(k) && !(k in patch)) delete out[k];
  }
  return out;
}

function smpList(kind: string, orig: unknown, patch: any[], path: string[]): any[] {
  const strategy = listStrategy(kind, path);
  if ("atomic" in strategy) return stripDirectives(patch);
  const current: any[] = Array.isArray(orig) ? clone(orig) : [];
  if ("set" in strategy) {
    for (const v of patch) if (!current.includes(v)) current.push(v);
    return current;
  }
  if (patch.some((e) => isObj(e) && e.$patch === "replace")) return stripDirectives(patch);
  const key = strategy.keys.slice(0, 1);
  let result = current;
  for (const el of patch) {
    if (!isObj(el)) continue;
    if (el.$patch === "delete") {
      result = result.filter((r) => keyOf(r, key) !== keyOf(el, key));
      continue;
    }
    const idx = result.findIndex((r) => keyOf(r, key) === keyOf(el, key));
    if (idx >= 0) result[idx] = smpObject(kind, result[idx], el, path);
    else result.push(stripDirectives(el));
  }
  return result;
}

/** One step of a field path: a map field, or a list element identified by its keys (or value, for sets). */
export type PathStep = { f: string } | { k: Record<string, unknown> } | { v: unknown };

/** Renders a path as structured-merge-diff prints it: `.spec.ports[port=80,protocol="TCP"].targetPort`. */
export function formatPath(p: PathStep[]): string {
  return p
    .map((s) => {
      if ("f" in s) return `.${s.f}`;
      if ("v" in s) return `[${JSON.stringify(s.v)}]`;
      return `[${Object.entries(s.k)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    })
    .join("");
}

/** The leaf field paths an object sets: maps recurse, list-maps by keys, sets by value, atomic lists whole. */
export function leafPaths(
  kind: string,
  obj: unknown,
  prefix: PathStep[] = [],
  names: string[] = [],
): PathStep[][] {
  const out: PathStep[][] = [];
  if (!isObj(obj)) return [prefix];
  const entries = Object.entries(obj);
  if (entries.length === 0 && prefix.length > 0) return [prefix];
  for (const [k, v] of entries) {
    const p = [...prefix, { f: k }];
    const n = [...names, k];
    if (isObj(v)) out.push(...leafPaths(kind, v, p, n));
    else if (Array.isArray(v)) {
      const s = listStrategy(kind, n);
      if ("keys" in s) {
        for (const el of v) {
          const keyVals: Record<string, unknown> = {};
          for (const key of s.keys) if (isObj(el) && el[key] !== undefined) keyVals[key] = el[key];
          out.push(...leafPaths(kind, el, [...p, { k: keyVals }], n));
        }
      } else if ("set" in s) for (const el of v) out.push([...p, { v: el }]);
      else out.push(p);
    } else out.push(p);
  }
  return out;
}

function findElement(list: any[], step: PathStep): number {
  if ("k" in step) {
    return list.findIndex((e) =>
      Object.entries(step.k).every(([k, v]) => JSON.stringify(e?.[k]) === JSON.stringify(v)),
    );
  }
  if ("v" in step) return list.findIndex((e) => JSON.stringify(e) === JSON.stringify(step.v));
  return -1;
}

/** Reads the value at a path, or undefined. */
export function getAtPath(obj: any, path: PathStep[]): unknown {
  let cur = obj;
  for (const s of path) {
    if ("f" in s) cur = isObj(cur) ? cur[s.f] : undefined;
    else cur = Array.isArray(cur) ? cur[findElement(cur, s)] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Removes the value at a path, pruning maps and list elements left empty. */
export function deleteAtPath(obj: any, path: PathStep[]): void {
  if (path.length === 0) return;
  const parentPath = path.slice(0, -1);
  const parent = getAtPath(obj, parentPath);
  const last = path[path.length - 1];
  if ("f" in last && isObj(parent)) delete parent[last.f];
  else if (Array.isArray(parent)) {
    const i = findElement(parent, last);
    if (i >= 0) parent.splice(i, 1);
    // An emptied list is omitted, as the built-in types' `omitempty` lists are on output.
    if (parent.length === 0 && parentPath.length > 0) {
      deleteAtPath(obj, parentPath);
      return;
    }
  }
  if (parentPath.length > 0) {
    const p = getAtPath(obj, parentPath);
    const lastParent = parentPath[parentPath.length - 1];
    const keyedOnly =
      "k" in lastParent && isObj(p) && Object.keys(p).every((k) => k in (lastParent as { k: object }).k);
    if ((isObj(p) && Object.keys(p).length === 0) || keyedOnly) deleteAtPath(obj, parentPath);
  }
}

/** The merge of server-side apply: maps recurse, list-maps merge by keys, sets union, the rest replaces. */
export function applyMerge(kind: string, live: unknown, config: unknown, names: string[] = []): unknown {
  if (!isObj(config)) return clone(config);
  const out: Record<string, any> = isObj(live) ? clone(live) : {};
  for (const [k, v] of Object.entries(config)) {
    const n = [...names, k];
    if (v === null) delete out[k];
    else if (isObj(v)) out[k] = applyMerge(kind, out[k], v, n);
    else if (Array.isArray(v)) {
      const s = listStrategy(kind, n);
      const cur: any[] = Array.isArray(out[k]) ? out[k] : [];
      if ("keys" in s) {
        out[k] = mergeListOrdered(
          cur,
          v,
          (e) => keyOf(e, s.keys),
          (l, r) => (r === undefined ? l : applyMerge(kind, l, r, n)),
        );
      } else if ("set" in s) {
        out[k] = mergeListOrdered(
          cur,
          v,
          (e) => JSON.stringify(e),
          (l, r) => r ?? l,
        );
      } else out[k] = clone(v);
    } else out[k] = v;
  }
  return out;
}

/**
 * The order of a merged associative list or set: the applied items in the applied order, items only
 * the live list has kept where they were. A port of visitListItems in
 * kubernetes-sigs/structured-merge-diff@15d075473efece0367330fd20a7cc2aad2eeb998 typed/merge.go:168-280.
 */
function mergeListOrdered(
  lhs: any[],
  rhs: any[],
  key: (e: any) => string,
  mergeItem: (l: any, r: any) => any,
): any[] {
  const lk = lhs.map(key);
  const rk = rhs.map(key);
  const lIndex = new Map(lk.map((k, i) => [k, i] as const));
  const rIndex = new Map(rk.map((k, i) => [k, i] as const));
  const sharedOrder = rk.filter((k) => lIndex.has(k));
  let nextShared = sharedOrder.shift();
  const mergedRhs = new Set<string>();
  const out: any[] = [];
  const lhsItem = (k: string) => (lIndex.has(k) ? lhs[lIndex.get(k)!] : undefined);
  for (let lI = 0, rI = 0; lI < lhs.length || rI < rhs.length; ) {
    if (lI < lhs.length && rI < rhs.length) {
      const pe = lk[lI]!;
      if (pe === rk[rI]) {
        mergedRhs.add(pe);
        out.push(mergeItem(lhsItem(pe), rhs[rIndex.get(pe)!]));
        lI++;
        rI++;
        nextShared = sharedOrder.shift();
        continue;
      }
      if (rIndex.has(pe) && nextShared !== undefined && nextShared !== pe) {
        lI++;
        continue;
      }
    }
    if (lI < lhs.length) {
      const pe = lk[lI]!;
      if (!rIndex.has(pe)) {
        out.push(mergeItem(clone(lhs[lI]), undefined));
        lI++;
        continue;
      } else if (mergedRhs.has(pe)) lI++;
    }
    if (rI < rhs.length) {
      const pe = rk[rI]!;
      mergedRhs.add(pe);
      const l = lhsItem(pe);
      out.push(l === undefined ? clone(rhs[rI]) : mergeItem(l, rhs[rI]));
      rI++;
      if (nextShared !== undefined && nextShared === pe) nextShared = sharedOrder.shift();
    }
  }
  return out;
}
