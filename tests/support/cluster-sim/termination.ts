// How the kubelet ends a Pod, as pure functions of its spec and its containers' behaviour: the
// simulator (sim.ts terminatePod) sleeps through the timeline these return and writes what they
// say. Durations are model milliseconds, before the simulator's timeScale.
//
// The real order (kubernetes/kubernetes@000d9543 pkg/kubelet/kubelet.go SyncTerminatingPod, then
// SyncTerminatedPod and the status manager):
//  1. every running container is killed in parallel with the Pod's deletion grace period
//     (kubernetes/kubernetes@fbba6b47 pkg/kubelet/kuberuntime/kuberuntime_container.go
//     killContainersWithSyncResult, killContainer): its preStop hook runs first, for at most the grace
//     period (executePreStopHook), and the whole seconds it took are taken off the grace; whatever is
//     left, at least minimumGracePeriodInSeconds (2), is the runtime's StopContainer timeout: SIGTERM,
//     then SIGKILL when the process has not exited by then;
//  2. the Pod's status is written with a terminal phase, every container `terminated`
//     (kubelet_pods.go getPhase, status_manager.go TerminatePod);
//  3. only a Pod whose phase is terminal on the server is deleted, with gracePeriodSeconds 0 and its
//     UID as precondition (kubernetes/kubernetes@0033cb0a pkg/kubelet/status/status_manager.go
//     syncPod, canBeDeleted).

/** The kubelet's floor for the SIGTERM→SIGKILL window, even after a preStop hook used up the grace. */
export const MINIMUM_GRACE_PERIOD_S = 2;

/** Exit code of a process ended by SIGKILL (128 + 9), as the runtime reports it. */
export const SIGKILL_EXIT_CODE = 137;

/**
 * containerboot's shutdown on SIGTERM (tailscale/tailscale@de9ec7ee cmd/containerboot/main.go:394-422
 * killTailscaled): with a 25 s budget, it unadvertises every Tailscale Service and then waits a fixed
 * 20 s for control to move them to other hosts (kube/services/services.go:59-99
 * EnsureServicesNotAdvertised; nothing to wait for when it advertises none), waits until tailscaled
 * has written consistent state (cmd/containerboot/kube.go waitForConsistentState: at once in the
 * simulator, whose state writes are atomic), then sends SIGTERM to tailscaled and exits 0 when it has
 * (main.go:324-327, 985-998).
 */
export const CONTAINERBOOT_SHUTDOWN_BUDGET_MS = 25_000;
export const UNADVERTISE_WAIT_MS = 20_000;

/**
 * How long the `tailscale` container takes from SIGTERM to exit: containerboot's unadvertise wait when
 * it advertises anything (bounded by its budget), then tailscaled's own exit, `tailscaledExitMs` (an
 * estimate: tailscaled exits promptly on SIGTERM; not measured).
 */
export function containerbootExitMs(advertising: boolean, tailscaledExitMs: number): number {
  return Math.min(advertising ? UNADVERTISE_WAIT_MS : 0, CONTAINERBOOT_SHUTDOWN_BUDGET_MS) + tailscaledExitMs;
}

/**
 * A preStop hook's duration: the `sleep` action is run by the kubelet itself and takes exactly its
 * seconds (kubernetes/kubernetes@d435f6fc pkg/kubelet/lifecycle/handlers.go runSleepHandler); `exec`
 * and `httpGet` run something the simulator cannot, and take `otherHookMs`. undefined: no hook.
 */
export function preStopMs(
  lifecycle: { preStop?: { sleep?: { seconds?: number }; exec?: unknown; httpGet?: unknown } } | undefined,
  otherHookMs: number,
): number | undefined {
  const hook = lifecycle?.preStop;
  if (!hook) return undefined;
  if (hook.sleep) return Math.max(0, hook.sleep.seconds ?? 0) * 1000;
  if (hook.exec || hook.httpGet) return otherHookMs;
  return undefined;
}

/** One container's termination, in model milliseconds from the moment the kubelet starts killing it. */
export interface ContainerTermination {
  name: string;
  /** How long its preStop hook ran before SIGTERM (0 without one). */
  preStopMs: number;
  /** When SIGTERM is sent. */
  sigtermAtMs: number;
  /** The StopContainer timeout the runtime got, in seconds. */
  stopTimeoutS: number;
  /** When its process is gone. */
  exitAtMs: number;
  /** Whether it was SIGKILLed at the end of its StopContainer timeout. */
  killed: boolean;
  /** Its `state.terminated`: 0 `Completed` when it exited on SIGTERM, 137 `Error` when killed. */
  exitCode: number;
  reason: "Completed" | "Error";
}

/**
 * killContainer's timeline for one running container: `graceSeconds` is the Pod's
 * `deletionGracePeriodSeconds`, `hookMs` its preStop hook's duration (undefined: none), and
 * `exitAfterSigtermMs` how long its process takes to exit once signalled. The reasons are the
 * runtime's (containerd/containerd@02e0fef8 pkg/cri/server/helpers.go completeExitReason,
 * errorExitReason).
 */
export function planContainerTermination(o: {
  name: string;
  graceSeconds: number;
  hookMs: number | undefined;
  exitAfterSigtermMs: number;
}): ContainerTermination {
  let grace = Math.max(0, o.graceSeconds);
  let hook = 0;
  if (o.hookMs !== undefined && grace > 0) {
    hook = Math.min(o.hookMs, grace * 1000);
    grace -= Math.floor(hook / 1000);
  }
  grace = Math.max(grace, MINIMUM_GRACE_PERIOD_S);
  const killed = o.exitAfterSigtermMs > grace * 1000;
  return {
    name: o.name,
    preStopMs: hook,
    sigtermAtMs: hook,
    stopTimeoutS: grace,
    exitAtMs: hook + (killed ? grace * 1000 : o.exitAfterSigtermMs),
    killed,
    exitCode: killed ? SIGKILL_EXIT_CODE : 0,
    reason: killed ? "Error" : "Completed",
  };
}

/** A container's `state.terminated` in the final status. */
export interface TerminatedState {
  exitCode: number;
  reason: string;
  message?: string;
}

/**
 * The final status's state of a container that was not running when the Pod was killed (never started,
 * waiting, crash-looping): once the Pod is terminal any container without a terminated state is
 * marked so (status_manager.go TerminatePod).
 */
export const NOT_RUNNING_AT_TERMINATION: TerminatedState = {
  exitCode: SIGKILL_EXIT_CODE,
  reason: "ContainerStatusUnknown",
  message: "The container could not be located when the pod was terminated",
};

/**
 * The terminal phase of a Pod whose containers all stopped: Succeeded when every one exited 0, else
 * Failed (kubernetes/kubernetes@001a80e9 pkg/kubelet/kubelet_pods.go getPhase with podIsTerminal,
 * whatever the restart policy).
 */
export function terminalPhase(states: readonly TerminatedState[]): "Succeeded" | "Failed" {
  return states.every((s) => s.exitCode === 0) ? "Succeeded" : "Failed";
}

/**
 * The Ready and ContainersReady conditions of a terminal Pod: False, with the phase's reason
 * (kubernetes/kubernetes@e4b6dc5a pkg/kubelet/status/generate.go
 * generatePodReadyConditionForTerminalPhase: `PodCompleted`, `PodFailed`).
 */
export function terminalReadyReason(phase: "Succeeded" | "Failed"): "PodCompleted" | "PodFailed" {
  return phase === "Succeeded" ? "PodCompleted" : "PodFailed";
}
