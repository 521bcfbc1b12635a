/** Runs the pure teardown step lists of plan/ha/teardown.ts against the cluster and the tailnet. */
import { refOf } from "../../kube";
import {
  INGRESS_CONFIG_KEY,
  LABEL_PARENT_NAME,
  releaseOwnership,
  removeIngressConfig,
  removeServeConfigService,
  replicaRulesRemoved,
  type Selection,
  type TeardownStep,
} from "../../plan/ha";
import type { ProxyGroupRef } from "../../plan/inputs";
import { coreRef, listSelection, secretData } from "../kubeFacts";
import { editConfigMapKey, proxyGroupOfConfigMap } from "./configMap";
import { readReplicas, replicaDeviceId, setAdvertised, waitAdvertised } from "./replicas";
import type { HARuntime } from "./runtime";

/** Runs a teardown step list, in order; each step is idempotent, so an interrupted one can run again. */
export async function runTeardown(rt: HARuntime, steps: TeardownStep[]): Promise<void> {
  for (const step of steps) {
    try {
      await runStep(rt, step);
    } catch (err) {
      throw new Error(`could not ${step.description}: ${(err as Error).message}`);
    }
  }
}

function pgOfSelection(sel: Selection): ProxyGroupRef {
  return { name: sel.labels[LABEL_PARENT_NAME] ?? "", namespace: sel.namespace };
}

async function runStep(rt: HARuntime, step: TeardownStep): Promise<void> {
  const { kube } = rt;
  switch (step.step) {
    case "removeServeConfigEntry":
    case "removeIngressConfigEntry": {
      const pg = proxyGroupOfConfigMap(step.configMap);
      const remove = step.step === "removeServeConfigEntry" ? removeServeConfigService : removeIngressConfig;
      await editConfigMapKey(
        kube,
        pg,
        step.key,
        step.serviceName,
        null,
        (t) => remove(t, step.serviceName),
        true,
      );
      return;
    }
    case "unadvertise": {
      const secrets = await listSelection(kube, step.configSecrets);
      await Promise.all(
        secrets.map((s) =>
          setAdvertised(
            kube,
            coreRef("Secret", s.metadata.namespace, s.metadata.name ?? ""),
            step.serviceName,
            false,
          ),
        ),
      );
      return;
    }
    case "waitUnadvertised":
    case "waitRulesRemoved": {
      const replicas = await readReplicas(kube, pgOfSelection(step.stateSecrets));
      // A replica without a running Pod advertises nothing and has no rules (they live in its network
      // namespace). Nor does one whose device is not in the tailnet (never logged in, or deleted out of
      // band): no tailnet traffic reaches it, and a logged-out replica would never report the change.
      const running: typeof replicas = [];
      for (const r of replicas) {
        if (r.pod && r.state.device_id && (await rt.tailscale.getDevice(r.state.device_id))) running.push(r);
      }
      await Promise.all(
        running.map((r) =>
          step.step === "waitUnadvertised"
            ? waitAdvertised(rt, r, step.serviceName, false)
            : kube.waitFor(
                r.stateRef,
                (obj) =>
                  !obj ||
                  replicaRulesRemoved(secretData(obj)[INGRESS_CONFIG_KEY], r.podIPs, step.serviceName),
                {
                  timeoutMs: rt.remainingMs(),
                  description: `ProxyGroup replica ${r.stateRef.name} to remove its DNAT rules for ${step.serviceName} (ingress-config.json in its state Secret)`,
                },
              ),
        ),
      );
      return;
    }
    case "releaseTailscaleService": {
      const existing = await rt.tailscale.getService(step.serviceName);
      const decision = releaseOwnership(existing, { ownerId: step.ownerId, clusterId: step.clusterId });
      if (decision.action === "delete") await rt.tailscale.deleteService(step.serviceName);
      else if (decision.action === "put") await rt.tailscale.putService(decision.service);
      return;
    }
    case "deleteObjects": {
      for (const ref of step.objects) {
        if (ref.kind === "StatefulSet") {
          // Foreground: gone only after its Pods, so no replica keeps running (and re-registering).
          if (await kube.delete(ref, { propagationPolicy: "Foreground" }))
            await kube.waitForDeletion(ref, rt.remainingMs());
        } else await kube.delete(ref);
      }
      return;
    }
    case "deleteSelected": {
      for (const sel of step.selections) {
        for (const obj of await listSelection(kube, sel)) {
          await kube.delete(refOf(obj));
        }
      }
      return;
    }
    case "waitPodsGone": {
      const pods = await listSelection(kube, step.pods);
      await Promise.all(pods.map((p) => kube.waitForDeletion(refOf(p), rt.remainingMs())));
      return;
    }
    case "deleteDevices": {
      const states = await listSelection(kube, step.stateSecrets);
      for (const s of states) {
        const id = replicaDeviceId(secretData(s));
        if (id) await rt.tailscale.deleteDevice(id);
      }
      return;
    }
  }
}
