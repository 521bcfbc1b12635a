/**
 * What a running HA step (ProxyGroup, HA TailnetIngress, HA TailnetService) has at hand: the clients
 * and the wait budget of one lifecycle call, the ProxyGroup it runs on, and the cluster it runs in.
 * The shared ConfigMap is in configMap.ts, the replicas in replicas.ts, the teardown executor in
 * teardown.ts, and the batched edits of shared objects in kube/sharedEdit.ts.
 */
import { kubeFor, tailscaleClientFor } from "../../credentials";
import type { Kube, KubeObject } from "../../kube";
import type { TimeoutStep } from "../../plan/duration";
import { proxyGroupNames } from "../../plan/ha";
import type { CredentialsInput, ProxyGroupRef } from "../../plan/inputs";
import type { TailscaleClient } from "../../tailscale";
import { coreRef } from "../kubeFacts";
import { deadline, partialCreateError } from "../lifecycle";
import { configMapRef } from "./configMap";

/** What a running HA step has at hand. */
export interface HARuntime {
  kube: Kube;
  tailscale: TailscaleClient;
  /** Milliseconds left in the resource's wait budget. */
  remainingMs: () => number;
}

/** Clients and wait budget of one lifecycle call, `step` (read has the default budget). */
export function runtimeFor(
  input: { credentials?: CredentialsInput; customTimeouts?: unknown },
  step: TimeoutStep,
): HARuntime {
  return {
    kube: kubeFor(input.credentials),
    tailscale: tailscaleClientFor(input.credentials),
    remainingMs: deadline(input, step),
  };
}

/** Refuses to go on when the ProxyGroup does not exist in the cluster. */
export async function requireProxyGroup(kube: Kube, pg: ProxyGroupRef, kind: string): Promise<KubeObject> {
  const [cm, sts] = await Promise.all([
    kube.get(configMapRef(pg)),
    kube.get({ apiVersion: "apps/v1", kind: "StatefulSet", namespace: pg.namespace, name: pg.name }),
  ]);
  if (!cm || !sts) {
    throw new Error(
      `${kind}: ProxyGroup ${pg.namespace}/${pg.name} was not found in the cluster (no ${cm ? "StatefulSet" : "ConfigMap"} ` +
        `${pg.namespace}/${cm ? pg.name : proxyGroupNames.configMap(pg.name)}); create it first and pass the ProxyGroup ` +
        "resource itself as proxyGroup, so that Pulumi creates it before and deletes it after this resource",
    );
  }
  return cm;
}

/**
 * A stable identity of the cluster: the UID of its `kube-system` namespace (every cluster has one and
 * it survives restarts). It must be known: an owner entry without a cluster would make a later release
 * remove this resource's entries in every cluster (ownership.ts releaseOwnership), so a refused or
 * failed read is an error naming the permission, never a silent fallback.
 */
export async function clusterIdOf(kube: Kube): Promise<string> {
  const what =
    "cannot read the cluster's identity, the UID of namespace kube-system, which HA ingresses and services " +
    "record as the owner of their Tailscale Service";
  let ns: Awaited<ReturnType<Kube["get"]>>;
  try {
    ns = await kube.get(coreRef("Namespace", undefined, "kube-system"));
  } catch (err) {
    const forbidden = (err as { code?: number }).code === 403;
    throw new Error(
      `${what}: ${(err as Error).message}` +
        (forbidden
          ? ". Grant `get` on the namespace kube-system, in namespace kube-system (the Role pulumi-tailnet-cluster-identity of deploy/deployer-rbac.yaml)"
          : ""),
      { cause: err },
    );
  }
  if (!ns?.metadata.uid) {
    throw new Error(
      `${what}: the cluster has no namespace kube-system; pulumi-tailnet's ProxyGroups need one`,
    );
  }
  return ns.metadata.uid;
}

/**
 * The error of an HA create that failed after the checks that refuse (so after or around its first
 * write): the partial-create error (lifecycle.ts), so that Pulumi records the resource with `outs`, and
 * the next `up` finishes the create (an update from {@link unfinishedCreate} outputs) or `destroy` removes
 * what it wrote. Not rolled back first, unlike a standalone proxy's create: an HA teardown waits for every
 * replica to withdraw the service, which fails in the conditions that often failed the create (a replica
 * that does not report), and it would delete a certificate already issued, which Let's Encrypt's limits
 * make costly to issue again.
 */
export function haPartialCreateError(
  kind: "TailnetIngress" | "TailnetService",
  err: unknown,
  id: string,
  outs: { proxyGroup?: ProxyGroupRef; serviceName: string },
  input: { __provider?: string },
): Error {
  const pg = outs.proxyGroup!;
  return partialCreateError(
    `${kind} create failed: ${(err as Error).message.replace(/\.\s*$/, "")}. What it wrote for Tailscale Service ${outs.serviceName} ` +
      `on ProxyGroup ${pg.namespace}/${pg.name} is recorded in the stack: the next pulumi up finishes the create, ` +
      "pulumi destroy removes it.",
    id,
    outs,
    input,
  );
}

/**
 * Whether `outs` are those of an HA create that failed half-way (haPartialCreateError): they have no
 * `addresses`, which every finished create records.
 */
export function unfinishedCreate(outs: { addresses?: unknown }): boolean {
  return !Array.isArray(outs.addresses);
}
