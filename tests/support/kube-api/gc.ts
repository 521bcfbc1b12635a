/**
 * The controllers a real cluster runs beside the apiserver that these semantics need: the garbage
 * collector (ownerReferences, foreground and orphan finalizers) and the namespace controller. Runs
 * asynchronously after writes, like kube-controller-manager, never inside the request.
 */
import { clone } from "./patch";
import type { Registry } from "./registry";
import type { Entry } from "./store";

/** The event-driven garbage collector. */
export class GarbageCollector {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running = false;

  constructor(private readonly registry: Registry) {
    registry.store.subscribe(() => this.schedule());
  }

  /** Queues a sweep on the next turn of the event loop. */
  schedule(): void {
    if (this.stopped || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sweep();
    }, 1);
  }

  /** Stops scheduling sweeps. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Runs passes until nothing changes (bounded). */
  sweep(): void {
    this.running = true;
    try {
      for (let i = 0; i < 20 && this.pass(); i++);
    } finally {
      this.running = false;
    }
  }

  private dependents(owner: Entry): Entry[] {
    const uid = owner.obj.metadata.uid;
    return this.registry.store
      .all()
      .filter((e) => (e.obj.metadata.ownerReferences ?? []).some((r: any) => r.uid === uid));
  }

  private deleteQuietly(e: Entry, policy: "Background" | "Foreground"): void {
    try {
      this.registry.delete(e.type, e.obj.metadata.namespace, e.obj.metadata.name, {
        propagationPolicy: policy,
      });
    } catch {
      // Already gone or changed concurrently: the next pass sees the new state.
    }
  }

  private removeFinalizer(e: Entry, fin: string): void {
    const obj = clone(e.obj);
    obj.metadata.finalizers = (obj.metadata.finalizers ?? []).filter((f: string) => f !== fin);
    this.registry.internalUpdate(e.type, obj);
  }

  private pass(): boolean {
    let changed = false;
    const store = this.registry.store;
    for (const snapshot of store.all()) {
      // Earlier steps of this pass may have rewritten or removed the entry: always act on the live one.
      const e = store.entry(snapshot.type, snapshot.obj.metadata.namespace, snapshot.obj.metadata.name);
      if (!e) continue;
      const meta = e.obj.metadata;
      const fins: string[] = meta.finalizers ?? [];
      if (meta.deletionTimestamp && fins.includes("orphan")) {
        for (const d of this.dependents(e)) {
          const obj = clone(d.obj);
          obj.metadata.ownerReferences = obj.metadata.ownerReferences.filter((r: any) => r.uid !== meta.uid);
          if (obj.metadata.ownerReferences.length === 0) delete obj.metadata.ownerReferences;
          this.registry.internalUpdate(d.type, obj);
        }
        this.removeFinalizer(e, "orphan");
        changed = true;
        continue;
      }
      if (meta.deletionTimestamp && fins.includes("foregroundDeletion")) {
        const deps = this.dependents(e);
        for (const d of deps) {
          if (!d.obj.metadata.deletionTimestamp) {
            this.deleteQuietly(d, this.dependents(d).length > 0 ? "Foreground" : "Background");
            changed = true;
          }
        }
        const blocking = this.dependents(e).filter((d) =>
          (d.obj.metadata.ownerReferences ?? []).some(
            (r: any) => r.uid === meta.uid && r.blockOwnerDeletion === true,
          ),
        );
        if (blocking.length === 0) {
          this.removeFinalizer(e, "foregroundDeletion");
          changed = true;
        }
        continue;
      }
      if (e.type.kind === "Namespace" && meta.deletionTimestamp) {
        changed = this.finishNamespace(e) || changed;
        continue;
      }
      const refs: any[] = meta.ownerReferences ?? [];
      if (refs.length === 0 || meta.deletionTimestamp) continue;
      const absent: any[] = [];
      let unknown = false;
      for (const r of refs) {
        const owner = this.registry.resolveOwner(r, meta.namespace);
        if (owner === "unknown") unknown = true;
        else if (!owner || owner.obj.metadata.uid !== r.uid) absent.push(r);
      }
      if (unknown || absent.length === 0) continue;
      if (absent.length === refs.length) this.deleteQuietly(e, "Background");
      else {
        const obj = clone(e.obj);
        obj.metadata.ownerReferences = refs.filter((r) => !absent.includes(r));
        this.registry.internalUpdate(e.type, obj);
      }
      changed = true;
    }
    return changed;
  }

  private finishNamespace(ns: Entry): boolean {
    const name = ns.obj.metadata.name;
    let remaining = 0;
    let changed = false;
    for (const t of this.registry.servedTypes()) {
      if (!t.namespaced) continue;
      for (const e of this.registry.store.entriesOf(t, name)) {
        remaining++;
        if (!e.obj.metadata.deletionTimestamp) {
          this.deleteQuietly(e, "Background");
          changed = true;
        }
      }
    }
    if (remaining > 0 || (ns.obj.metadata.finalizers ?? []).length > 0) return changed;
    this.registry.store.remove(ns.type, undefined, name);
    return true;
  }
}
