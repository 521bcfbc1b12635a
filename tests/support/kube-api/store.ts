/**
 * The object store: one global resourceVersion counter (like etcd's revision), a bounded event history
 * for watches that resume from a resourceVersion, and synchronous listeners.
 */
import { clone, formatPath, type PathStep } from "./patch";
import type { ResourceType } from "./resources";

/** Field ownership of one manager (a simplified managedFields entry). */
export interface ManagerEntry {
  operation: "Apply" | "Update";
  apiVersion: string;
  fields: Map<string, PathStep[]>;
  /** When this manager last changed its fields (RFC 3339 seconds); stamped by the store on write. */
  time?: string;
}

/** The key of a manager: its name and operation (two managers of one name are distinct). */
export function managerKey(name: string, op: "Apply" | "Update"): string {
  return `${name}\u0001${op}`;
}

/** The manager name of a manager key (name and operation: two managers of one name are distinct). */
export function managerNameOf(key: string): string {
  return key.split("\u0001")[0]!;
}

/**
 * `metadata.managedFields` as a real server serves it: one entry per manager and operation, fields as a
 * FieldsV1 tree (`f:` field, `k:` list-map element by its keys, `v:` set member, `.` the element
 * itself), as sigs.k8s.io/structured-merge-diff serialises a fieldpath.Set
 * (kubernetes-sigs/structured-merge-diff@15d075473efece0367330fd20a7cc2aad2eeb998 fieldpath/serialize.go).
 */
export function renderManagedFields(managers: Map<string, ManagerEntry>): any[] | undefined {
  const out: any[] = [];
  for (const [key, m] of managers) {
    if (m.fields.size === 0) continue;
    const tree: Record<string, any> = {};
    for (const p of m.fields.values()) {
      let node = tree;
      for (const step of p) {
        const k =
          "f" in step
            ? `f:${step.f}`
            : "k" in step
              ? `k:${JSON.stringify(Object.fromEntries(Object.entries(step.k).sort(([a], [b]) => (a < b ? -1 : 1))))}`
              : `v:${JSON.stringify(step.v)}`;
        node[k] ??= "k" in step ? { ".": {} } : {};
        node = node[k];
      }
    }
    out.push({
      manager: managerNameOf(key),
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: "FieldsV1",
      fieldsV1: sortTree(tree),
    });
  }
  // In the server's order: Apply before Update, then by time, manager, apiVersion
  // (kubernetes/apimachinery@eed236ce pkg/util/managedfields/internal/managedfields.go
  // sortEncodedManagedFields).
  const seconds = (t: string | undefined) => (t ? Date.parse(t) : 0);
  out.sort(
    (p, q) =>
      (p.operation === q.operation ? 0 : p.operation < q.operation ? -1 : 1) ||
      seconds(p.time) - seconds(q.time) ||
      (p.manager === q.manager ? 0 : p.manager < q.manager ? -1 : 1) ||
      (p.apiVersion === q.apiVersion ? 0 : p.apiVersion < q.apiVersion ? -1 : 1),
  );
  return out.length > 0 ? out : undefined;
}

/**
 * The leaf paths of a FieldsV1 tree, read as `fieldpath.Set.FromJSON` reads it
 * (kubernetes-sigs/structured-merge-diff@15d075473efece0367330fd20a7cc2aad2eeb998 fieldpath/serialize.go
 * `readIterV1`, serialize-pe.go `DeserializePathElement`): a node is owned when it has `.` or no
 * children; a key of an unknown type is skipped; a key shorter than two characters or without the
 * colon, a `k:` that is not a JSON object, a `v:` that is not JSON, or a node that is not an object, is
 * an error (thrown; the caller only needs to know that decoding failed). The model here keeps leaves only: a node owned together with children counts through its
 * children, and `i:` (a list element by position, which no kind served here produces) is skipped.
 */
export function fieldsV1Paths(tree: unknown): PathStep[][] {
  const out: PathStep[][] = [];
  const walk = (node: unknown, prefix: PathStep[]) => {
    if (node === null) {
      if (prefix.length > 0) out.push(prefix);
      return;
    }
    if (typeof node !== "object" || Array.isArray(node)) {
      throw new Error(`a FieldsV1 node must be an object: ${JSON.stringify(node)}`);
    }
    let children = 0;
    for (const [key, sub] of Object.entries(node)) {
      if (key === ".") continue;
      if (key.length < 2 || key[1] !== ":") throw new Error(`not a FieldsV1 path element: ${key}`);
      const rest = key.slice(2);
      let step: PathStep;
      if (key[0] === "f") step = { f: rest };
      else if (key[0] === "v") step = { v: JSON.parse(rest) };
      else if (key[0] === "k") {
        const keys = JSON.parse(rest);
        if (typeof keys !== "object" || keys === null || Array.isArray(keys)) {
          throw new Error(`a k: path element must be a JSON object: ${key}`);
        }
        step = { k: keys };
      } else if (key[0] === "i") {
        if (!/^-?\d+$/.test(rest)) throw new Error(`an i: path element must be an integer: ${key}`);
        children++;
        continue;
      } else continue;
      children++;
      walk(sub, [...prefix, step]);
    }
    if (children === 0 && prefix.length > 0) out.push(prefix);
  };
  walk(tree, []);
  return out;
}

/**
 * The field ownership a write's `metadata.managedFields` asks for, decoded as `DecodeManagedFields`
 * does (kubernetes/apimachinery@eed236ce pkg/util/managedfields/internal/managedfields.go): undefined
 * when an entry is not decodable (operation not Apply or Update, no apiVersion, fieldsType not
 * `FieldsV1`, FieldsV1 that does not parse). Entries are keyed by manager and operation; two Update
 * entries of one manager at different apiVersions are merged (the model keys managers by name and
 * operation only).
 */
export function decodeManagedFields(entries: any[]): Map<string, ManagerEntry> | undefined {
  const out = new Map<string, ManagerEntry>();
  for (const e of entries) {
    if (e?.operation !== "Apply" && e?.operation !== "Update") return undefined;
    if (!e.apiVersion) return undefined;
    if (e.fieldsType !== "FieldsV1") return undefined;
    let paths: PathStep[][];
    try {
      paths = fieldsV1Paths(e.fieldsV1 ?? {});
    } catch {
      return undefined;
    }
    const key = managerKey(e.manager ?? "", e.operation);
    const entry: ManagerEntry = out.get(key) ?? {
      operation: e.operation,
      apiVersion: e.apiVersion,
      fields: new Map(),
      time: e.time ?? undefined,
    };
    for (const p of paths) entry.fields.set(formatPath(p), p);
    out.set(key, entry);
  }
  return out;
}

function sortTree(t: Record<string, any>): Record<string, any> {
  return Object.fromEntries(
    Object.keys(t)
      .sort()
      .map((k) => [k, sortTree(t[k])]),
  );
}

/** The fields each manager owns, for telling whether a write changed ownership. */
export function ownershipKey(managers: Map<string, ManagerEntry>): string {
  return JSON.stringify(
    [...managers]
      .filter(([, m]) => m.fields.size > 0)
      .map(([k, m]) => [k, m.apiVersion, [...m.fields.keys()].sort()])
      .sort(),
  );
}

/** A stored object and its field ownership. */
export interface Entry {
  type: ResourceType;
  obj: any;
  managers: Map<string, ManagerEntry>;
}

/** One change, as watches see it. */
export interface StoreEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  rv: number;
  resource: ResourceType;
  obj: any;
  /** The previous state (MODIFIED/DELETED), used to compute selector transitions. */
  prev?: any;
}

/** The in-memory store. */
export class Store {
  private rv = 1;
  private readonly entries = new Map<string, Entry>();
  /** The same entries by type, so that listing one type (RBAC bindings on every request) is cheap. */
  private readonly byType = new Map<ResourceType, Map<string, Entry>>();
  private readonly history: StoreEvent[] = [];
  /** Highest resourceVersion whose event was dropped from the history. */
  compactedRV = 0;
  private readonly listeners = new Set<(e: StoreEvent) => void>();

  constructor(private readonly historyWindow: number) {}

  /** The current global resourceVersion. */
  currentRV(): number {
    return this.rv;
  }

  private key(t: ResourceType, ns: string | undefined, name: string): string {
    return `${t.plural}.${t.group}/${t.namespaced ? (ns ?? "") : ""}/${name}`;
  }

  /** The live entry (not a copy). */
  entry(t: ResourceType, ns: string | undefined, name: string): Entry | undefined {
    return this.entries.get(this.key(t, ns, name));
  }

  /** A deep copy of the stored object. */
  get(t: ResourceType, ns: string | undefined, name: string): any | undefined {
    return clone(this.entry(t, ns, name)?.obj);
  }

  /** Live entries of a type, optionally in one namespace, in etcd key order. */
  entriesOf(t: ResourceType, ns?: string): Entry[] {
    const out: Entry[] = [];
    for (const e of this.byType.get(t)?.values() ?? []) {
      if (ns !== undefined && t.namespaced && e.obj.metadata.namespace !== ns) continue;
      out.push(e);
    }
    return out.sort((a, b) => {
      const ka = `${a.obj.metadata.namespace ?? ""}/${a.obj.metadata.name}`;
      const kb = `${b.obj.metadata.namespace ?? ""}/${b.obj.metadata.name}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
  }

  /** Every live entry. */
  all(): Entry[] {
    return [...this.entries.values()];
  }

  /** Writes an object with a fresh resourceVersion and emits ADDED or MODIFIED. Returns a copy. */
  put(t: ResourceType, obj: any, managers?: Map<string, ManagerEntry>): any {
    const k = this.key(t, obj.metadata.namespace, obj.metadata.name);
    const prev = this.entries.get(k);
    const rv = ++this.rv;
    const stored = clone(obj);
    stored.metadata.resourceVersion = String(rv);
    const owners: Map<string, ManagerEntry> = managers ?? prev?.managers ?? new Map();
    const time = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    for (const m of owners.values()) m.time ??= time;
    // managedFields are part of the object: served on reads, writes and watch events alike.
    delete stored.metadata.managedFields;
    const rendered = renderManagedFields(owners);
    if (rendered) stored.metadata.managedFields = rendered;
    const entry = { type: t, obj: stored, managers: owners };
    this.entries.set(k, entry);
    let typed = this.byType.get(t);
    if (!typed) {
      typed = new Map();
      this.byType.set(t, typed);
    }
    typed.set(k, entry);
    this.emit({
      type: prev ? "MODIFIED" : "ADDED",
      rv,
      resource: t,
      obj: clone(stored),
      prev: clone(prev?.obj),
    });
    return clone(stored);
  }

  /** Removes an object; the DELETED event carries the deletion's resourceVersion. Returns that copy. */
  remove(t: ResourceType, ns: string | undefined, name: string): any | undefined {
    const k = this.key(t, ns, name);
    const prev = this.entries.get(k);
    if (!prev) return undefined;
    this.entries.delete(k);
    this.byType.get(t)?.delete(k);
    const rv = ++this.rv;
    const gone = clone(prev.obj);
    gone.metadata.resourceVersion = String(rv);
    this.emit({ type: "DELETED", rv, resource: t, obj: clone(gone), prev: clone(prev.obj) });
    return gone;
  }

  private emit(e: StoreEvent): void {
    this.history.push(e);
    while (this.history.length > this.historyWindow) {
      const dropped = this.history.shift()!;
      this.compactedRV = dropped.rv;
    }
    for (const l of [...this.listeners]) l(e);
  }

  /** Events with rv greater than `after`, oldest first. */
  eventsSince(after: number): StoreEvent[] {
    return this.history.filter((e) => e.rv > after);
  }

  /** Subscribes to every future event; returns the unsubscribe function. */
  subscribe(l: (e: StoreEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
