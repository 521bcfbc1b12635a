/**
 * A provider host "killed" right after one of its external writes, for the crash tests
 * (tests/provider/crash-*.test.ts).
 *
 * The engine harness cannot kill its provider host at an exact request, so the host runs in the test's
 * process and is stopped at the I/O layer. Kube's and the Tailscale client's request functions are
 * wrapped; at the chosen write the request is sent and answered, and then the step never resumes (a
 * promise that never settles), exactly what a SIGKILL at that point leaves: the write happened, nothing
 * after it did, no rollback ran. Only writes are boundaries: between two writes a step only reads, so
 * "killed before write n" is the same world as "killed after write n-1". The next run gets fresh clients
 * (resetCredentials), as a new host process would.
 */
import assert from "node:assert/strict";
import { resetCredentials } from "../../provider/credentials";
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

  /** The writes of `step`, run to its end in a fresh host. */
  async writesOf<T>(step: () => Promise<T>): Promise<{ result: T; writes: string[] }> {
    resetCredentials();
    this.arm();
    const result = await step();
    return { result, writes: [...this.writes] };
  }

  /**
   * Runs `step` in a fresh host killed after its n-th write: `killed`, or the step finished first (it
   * makes fewer than n writes) with `result`; a failure is thrown. `writes`: what it wrote. The next
   * call runs in a fresh host again.
   */
  async runUntilWrite<T>(
    n: number,
    step: () => Promise<T>,
  ): Promise<({ killed: true } | { killed: false; result: T }) & { writes: string[] }> {
    resetCredentials();
    const { dead } = this.arm(n);
    const outcome = step().then((result) => ({ killed: false as const, result }));
    const first = await Promise.race([dead.then(() => ({ killed: true as const })), outcome]);
    const writes = [...this.writes];
    this.arm();
    resetCredentials();
    return { ...first, writes };
  }

  /** Runs `step` in a fresh host killed after its n-th write; the step must not finish first. */
  async killedAfter(n: number, step: () => Promise<unknown>): Promise<void> {
    const r = await this.runUntilWrite(n, () =>
      step().catch((e: Error) => assert.fail(`the step failed before its write ${n}: ${e.message}`)),
    );
    assert.ok(r.killed, `the step ran fewer than ${n} writes (${r.writes.join(", ")})`);
  }

  uninstall(): void {
    for (const r of this.restore) r();
  }
}
