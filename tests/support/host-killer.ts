/**
 * A provider host killed at an exact write, for crash-safety tests. The engine harness cannot kill its
 * provider host at an exact request, so the host runs in the test's process and this stops it at the
 * I/O layer: Kube's and the Tailscale client's request functions are wrapped; at the chosen write the
 * request is sent and answered, and then the step never resumes (a promise that never settles),
 * exactly what a SIGKILL at that point leaves: the write happened, nothing after it did, no rollback
 * ran. Only writes are boundaries: between two writes a step only reads.
 */
import { Kube } from "../../provider/kube";
import { TailscaleClient } from "../../provider/tailscale";

type AnyFn = (this: unknown, ...args: any[]) => Promise<unknown>;

/** Counts the writes of both clients and, once armed, stops the step after the n-th. */
export class HostKiller {
  writes: string[] = [];
  private killAt: number | undefined;
  private killed: (() => void) | undefined;
  private readonly restore: (() => void)[] = [];

  constructor() {
    this.wrap(Kube.prototype as any, "request", (call: { method: string; verb: string; ref: any }) =>
      call.method === "GET" ? undefined : `kube ${call.verb} ${call.ref?.kind}/${call.ref?.name ?? ""}`,
    );
    this.wrap(TailscaleClient.prototype as any, "exchange", (c: { method: string; operation: string }) =>
      c.method === "GET" || c.operation === "oauthToken" ? undefined : `tailscale ${c.operation}`,
    );
  }

  private wrap(target: Record<string, AnyFn>, name: string, describe: (arg: any) => string | undefined) {
    const original = target[name]!;
    const self = this;
    target[name] = async function (this: unknown, ...args: any[]) {
      const write = describe(args[0]);
      const result = await original.apply(this, args);
      if (write !== undefined) {
        self.writes.push(write);
        if (self.killAt !== undefined && self.writes.length === self.killAt) {
          self.killAt = undefined;
          self.killed?.();
          return new Promise(() => undefined);
        }
      }
      return result;
    };
    this.restore.push(() => {
      target[name] = original;
    });
  }

  /** Starts counting afresh; `n`: stop the step right after its n-th write (resolves `dead`). */
  arm(n?: number): { dead: Promise<void> } {
    this.writes = [];
    this.killAt = n;
    const dead = new Promise<void>((resolve) => {
      this.killed = resolve;
    });
    return { dead };
  }

  uninstall(): void {
    for (const r of this.restore) r();
  }
}
