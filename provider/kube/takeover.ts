/**
 * Taking over, for our server-side apply, the fields that earlier versions of this package wrote without
 * it. Until server-side apply, every write was a create, a merge patch or an update with our field
 * manager, which the server records as that manager's `Update` entry in `metadata.managedFields`. Our
 * apply is another entry (`Apply`), and a field the `Update` entry still owns survives an apply that no
 * longer sets it: a ProxyClass field removed after upgrading would stay on the StatefulSet forever.
 *
 * The model is client-go's csaupgrade (kubernetes/client-go@32ce75a7 util/csaupgrade/upgrade.go,
 * `UpgradeManagedFieldsPatch`): the `Update` entries of the earlier managers are merged into our
 * `Apply` entry (or the first becomes it when we never applied), and the list is sent as a JSON patch
 * guarded by the resourceVersion read; the apply after it removes what it no longer sets. Unlike
 * csaupgrade, fields other writers of this package still set with read-modify-write (the entries of a
 * ProxyGroup's shared ConfigMap, written by every HA resource on it) stay with the `Update` entry: they
 * are not the applier's, and taking them would make the next apply remove them. Pure.
 */
import { FIELD_MANAGER } from "./types";

/**
 * The field managers earlier versions of this package wrote with outside server-side apply. Every write
 * of every earlier version passed `FIELD_MANAGER` (`pulumi-tailnet`, provider/kube/types.ts since its
 * first version), none relied on the User-Agent; this version writes its creates and edits as
 * `EDIT_FIELD_MANAGER`, so an `Update` entry of `FIELD_MANAGER` is an earlier version's.
 */
export const EARLIER_FIELD_MANAGERS: readonly string[] = [FIELD_MANAGER];

/** One entry of `metadata.managedFields`, as the server returns it. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: FieldsV1;
  subresource?: string;
}

/** A FieldsV1 tree (`f:<field>`, `k:<keys>`, `v:<value>`, `.` the node itself). */
export type FieldsV1 = { [key: string]: FieldsV1 };

/** A field of an object by its names from the top, e.g. `["metadata", "annotations", "x"]`. */
export type FieldPath = readonly string[];

/**
 * The managedFields after our `Apply` entry has taken over what our earlier `Update` entries own, but
 * the fields under `shared` (which stay with an `Update` entry), or undefined when there is nothing to
 * take over. Entries of other managers, and of subresources, are returned as they are.
 */
export function takeOverEarlierWrites(
  entries: readonly ManagedFieldsEntry[] | undefined,
  shared: readonly FieldPath[] = [],
): ManagedFieldsEntry[] | undefined {
  const list = entries ?? [];
  const earlier = (e: ManagedFieldsEntry) =>
    e.operation === "Update" && !e.subresource && EARLIER_FIELD_MANAGERS.includes(e.manager ?? "");
  const updates = list.filter(earlier);
  const moved: FieldsV1 = {};
  const kept = new Map<ManagedFieldsEntry, FieldsV1>();
  for (const e of updates) {
    const { taken, left } = splitOff(e.fieldsV1 ?? {}, shared);
    merge(moved, taken);
    kept.set(e, left);
  }
  if (Object.keys(moved).length === 0) return undefined;
  const ours = list.find((e) => e.manager === FIELD_MANAGER && e.operation === "Apply" && !e.subresource);
  const out: ManagedFieldsEntry[] = [];
  let placed = false;
  for (const e of list) {
    if (e === ours) {
      out.push({ ...e, fieldsV1: merge(structuredClone(e.fieldsV1 ?? {}), moved) });
      placed = true;
    } else if (kept.has(e)) {
      // The first earlier entry becomes our Apply entry when we never applied, as in csaupgrade.
      if (!ours && !placed) {
        out.push({ ...e, manager: FIELD_MANAGER, operation: "Apply", fieldsV1: moved });
        placed = true;
      }
      const left = kept.get(e)!;
      if (Object.keys(left).length > 0) out.push({ ...e, fieldsV1: left });
    } else out.push(e);
  }
  return out;
}

/** `tree` split into what lies outside every `shared` path (`taken`) and what lies inside (`left`). */
function splitOff(tree: FieldsV1, shared: readonly FieldPath[]): { taken: FieldsV1; left: FieldsV1 } {
  const taken = structuredClone(tree);
  const left: FieldsV1 = {};
  for (const path of shared) {
    const keys = path.map((name) => `f:${name}`);
    const parents: FieldsV1[] = [];
    let node: FieldsV1 | undefined = taken;
    for (const k of keys.slice(0, -1)) {
      parents.push(node);
      node = node[k];
      if (!node) break;
    }
    const last = keys[keys.length - 1]!;
    if (!node?.[last]) continue;
    let into = left;
    for (const k of keys.slice(0, -1)) into = into[k] ??= {};
    into[last] = merge(into[last] ?? {}, node[last]);
    delete node[last];
    // A node emptied by the removal owned nothing of its own (no `.`): an empty node would mean it does.
    for (let i = keys.length - 2; i >= 0; i--) {
      const parent = parents[i]!;
      const child = parent[keys[i]!]!;
      if (Object.keys(child).length > 0) break;
      delete parent[keys[i]!];
    }
  }
  return { taken, left };
}

/**
 * Adds every path of `from` to `into` (a union of FieldsV1 trees); returns `into`. A node one side owns
 * itself (no children) and the other through children is owned both ways: `.` and the children.
 */
function merge(into: FieldsV1, from: FieldsV1): FieldsV1 {
  for (const [k, sub] of Object.entries(from)) {
    const mine = into[k];
    if (!mine) into[k] = structuredClone(sub);
    else {
      const [leafMine, leafFrom] = [Object.keys(mine).length === 0, Object.keys(sub).length === 0];
      if (leafMine !== leafFrom) mine["."] = {};
      merge(mine, sub);
    }
  }
  return into;
}
