/**
 * Edits of one object by many writers at once, batched.
 *
 * A `pulumi up` runs dozens of resources in parallel in one provider process, and the HA ones of one
 * ProxyGroup all edit the same ConfigMap and the same config Secrets; other processes (another stack,
 * the proxies) write too. Every edit is a read-modify-write guarded by resourceVersion and retried on
 * 409 (`Kube.readModifyWrite`). On top of that, edits of one object from this process are batched:
 * whoever arrives while a write is in flight queues its change, and the next write applies every
 * queued change at once. So 50 ingresses cost a handful of ConfigMap writes instead of 50 writes and
 * hundreds of conflicts.
 */
import type { Kube } from "./kube";
import type { KubeObject, ObjectRef } from "./types";

type Mutate = (obj: KubeObject) => KubeObject | undefined;

interface Pending {
  mutate: Mutate;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const queues = new WeakMap<Kube, Map<string, Pending[]>>();
const busy = new WeakMap<Kube, Set<string>>();

function refKey(ref: ObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ""}/${ref.name}`;
}

/**
 * Applies `mutate` to the object with a read-modify-write (409 → re-read and re-apply). Concurrent
 * callers in this process are batched into one write; each caller's `mutate` may run several times
 * (once per attempt) and must be a pure function of the object it is given. A `mutate` that throws
 * fails only its caller. A missing object is a KubeApiError 404.
 */
export function sharedEdit(kube: Kube, ref: ObjectRef, mutate: Mutate): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let perKube = queues.get(kube);
    if (!perKube) {
      perKube = new Map();
      queues.set(kube, perKube);
    }
    const key = refKey(ref);
    const list = perKube.get(key) ?? [];
    list.push({ mutate, resolve, reject });
    perKube.set(key, list);
    void drain(kube, ref, key);
  });
}

async function drain(kube: Kube, ref: ObjectRef, key: string): Promise<void> {
  let running = busy.get(kube);
  if (!running) {
    running = new Set();
    busy.set(kube, running);
  }
  if (running.has(key)) return;
  running.add(key);
  try {
    const perKube = queues.get(kube)!;
    for (;;) {
      const batch = perKube.get(key) ?? [];
      perKube.delete(key);
      if (batch.length === 0) return;
      let failed = new Map<number, unknown>();
      try {
        await kube.readModifyWrite(ref, (obj) => {
          failed = new Map();
          let cur = obj;
          let changed = false;
          batch.forEach((p, i) => {
            try {
              const next = p.mutate(structuredClone(cur));
              if (next !== undefined) {
                cur = next;
                changed = true;
              }
            } catch (err) {
              failed.set(i, err);
            }
          });
          return changed ? cur : undefined;
        });
        batch.forEach((p, i) => {
          if (failed.has(i)) p.reject(failed.get(i));
          else p.resolve();
        });
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
  } finally {
    running.delete(key);
  }
}
