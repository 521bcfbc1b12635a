// cluster-sim termination.ts: the kubelet's rules for ending a container and a Pod, as tables.
import assert from "node:assert/strict";
import {
  containerbootExitMs,
  planContainerTermination,
  preStopMs,
  terminalPhase,
} from "../support/cluster-sim";

describe("cluster-sim: the kubelet's termination rules", () => {
  const cases: [string, Parameters<typeof planContainerTermination>[0], object][] = [
    [
      "no hook, exits within the grace: SIGTERM at once, Completed",
      { name: "c", graceSeconds: 30, hookMs: undefined, exitAfterSigtermMs: 1000 },
      {
        preStopMs: 0,
        sigtermAtMs: 0,
        stopTimeoutS: 30,
        exitAtMs: 1000,
        killed: false,
        exitCode: 0,
        reason: "Completed",
      },
    ],
    [
      "no hook, does not exit: SIGKILL at the end of the grace, 137 Error",
      { name: "c", graceSeconds: 5, hookMs: undefined, exitAfterSigtermMs: 60_000 },
      {
        preStopMs: 0,
        sigtermAtMs: 0,
        stopTimeoutS: 5,
        exitAtMs: 5000,
        killed: true,
        exitCode: 137,
        reason: "Error",
      },
    ],
    [
      "a hook first, its whole seconds taken off the grace",
      { name: "c", graceSeconds: 10, hookMs: 3500, exitAfterSigtermMs: 60_000 },
      {
        preStopMs: 3500,
        sigtermAtMs: 3500,
        stopTimeoutS: 7,
        exitAtMs: 10_500,
        killed: true,
        exitCode: 137,
        reason: "Error",
      },
    ],
    [
      "a hook that outlasts the grace is cut there, and SIGTERM still gets the 2 s minimum",
      { name: "c", graceSeconds: 5, hookMs: 10_000, exitAfterSigtermMs: 60_000 },
      {
        preStopMs: 5000,
        sigtermAtMs: 5000,
        stopTimeoutS: 2,
        exitAtMs: 7000,
        killed: true,
        exitCode: 137,
        reason: "Error",
      },
    ],
    [
      "the 2 s minimum lets a prompt process exit on its own",
      { name: "c", graceSeconds: 3, hookMs: 3000, exitAfterSigtermMs: 1500 },
      {
        preStopMs: 3000,
        sigtermAtMs: 3000,
        stopTimeoutS: 2,
        exitAtMs: 4500,
        killed: false,
        exitCode: 0,
        reason: "Completed",
      },
    ],
    [
      "grace 0 (forced): no hook, the 2 s minimum",
      { name: "c", graceSeconds: 0, hookMs: 1000, exitAfterSigtermMs: 60_000 },
      {
        preStopMs: 0,
        sigtermAtMs: 0,
        stopTimeoutS: 2,
        exitAtMs: 2000,
        killed: true,
        exitCode: 137,
        reason: "Error",
      },
    ],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => assert.deepEqual(planContainerTermination(input), { name: "c", ...expected }));
  }

  it("hook durations: sleep takes its seconds, exec and httpGet what the simulator is told, none is undefined", () => {
    assert.equal(preStopMs({ preStop: { sleep: { seconds: 4 } } }, 9), 4000);
    assert.equal(preStopMs({ preStop: { exec: { command: ["sh", "-c", "sleep 4"] } } }, 9), 9);
    assert.equal(preStopMs({ preStop: { httpGet: { port: 80 } } }, 9), 9);
    assert.equal(preStopMs({}, 9), undefined);
    assert.equal(preStopMs(undefined, 9), undefined);
  });

  it("containerboot's shutdown: the 20 s unadvertise wait only when it advertises, then tailscaled's exit", () => {
    assert.equal(containerbootExitMs(false, 1000), 1000);
    assert.equal(containerbootExitMs(true, 1000), 21_000);
  });

  it("a Pod's terminal phase: Succeeded only when every container exited 0", () => {
    assert.equal(terminalPhase([{ exitCode: 0, reason: "Completed" }]), "Succeeded");
    assert.equal(
      terminalPhase([
        { exitCode: 0, reason: "Completed" },
        { exitCode: 137, reason: "Error" },
      ]),
      "Failed",
    );
  });
});
