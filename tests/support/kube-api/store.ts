/**
 * The object store: one global resourceVersion counter (like etcd's revision), a bounded event history
 * for watches that resume from a resourceVersion, and synchronous listeners.
 */
import { clone, type PathStep } from "./patch";
import type { ResourceType } from "./resources";

/** Field ownership of one manager (a simplified managedFields entry). */
export interface ManagerEntry {
  operation: "Apply" | "Update";
  apiVersion: string;
  fields: Map<string, PathStep[]>;
  /** When this manager last changed its fields (RFC 3339 seconds); stamped by the store on write. */
  time?: string;
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
  return out.length > 0 ? out : undefined;
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
