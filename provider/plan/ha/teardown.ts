/**
 * Ordered deletion steps for the HA resources, as data the lifecycle executes one by one.
 *
 * Every step is idempotent (NotFound is success) so an interrupted delete can simply run again.
 * The orders fix two operator defects:
 * - layer 7 (tailscale/tailscale#15439): the cert Secret and its RBAC go last, after every replica has
 *   *reported* that it stopped advertising, so no client reaches a replica without a certificate;
 * - layer 3: the operator deletes the Tailscale Service first and never waits. We stop advertising, wait,
 *   remove the DNAT entry, wait until every replica reports its rules gone, and only then release the
 *   service: its address may be reallocated once it is deleted, and a stale DNAT rule would capture
 *   the new owner's traffic.
 */
import type { ProxyClassInput, ProxyGroupRef } from "../inputs";
import { LABEL_OWNER, ownerHash } from "../labels";
import { recordedMetricsRefs } from "../metrics";
import type { ObjectRef, Selection } from "../objects";
import { CONFIG_KEY, INGRESS_CONFIG_KEY, PROXY_GROUP_SERVE_CONFIG_KEY } from "./common";
import {
  nodePortServiceRefs,
  podDisruptionBudgetRef,
  proxyGroupNames,
  proxyGroupPods,
  proxyGroupSecrets,
} from "./proxygroup";

export type { Selection } from "../objects";

/** One step of a teardown. `description` is for progress logs and error context. */
export type TeardownStep =
  | {
      step: "removeServeConfigEntry";
      description: string;
      configMap: ObjectRef;
      key: typeof PROXY_GROUP_SERVE_CONFIG_KEY;
      serviceName: string;
    }
  | {
      step: "removeIngressConfigEntry";
      description: string;
      configMap: ObjectRef;
      key: typeof INGRESS_CONFIG_KEY;
      serviceName: string;
    }
  | {
      /** Read-modify-write every config Secret: `withAdvertisedService(json, serviceName, false)`. */
      step: "unadvertise";
      description: string;
      configSecrets: Selection;
      key: typeof CONFIG_KEY;
      serviceName: string;
    }
  | {
      /** Until no state Secret's applied prefs list the service (`replicaAdvertises`); absent pods count as done. */
      step: "waitUnadvertised";
      description: string;
      stateSecrets: Selection;
      serviceName: string;
    }
  | {
      /** Until every running replica's status lacks the service (`replicaRulesRemoved`). */
      step: "waitRulesRemoved";
      description: string;
      stateSecrets: Selection;
      serviceName: string;
    }
  | {
      /** GET the service, then `releaseOwnership`: DELETE if we are the last owner, else PUT without us. */
      step: "releaseTailscaleService";
      description: string;
      serviceName: string;
      ownerId: string;
      clusterId?: string;
    }
  | {
      /** Delete these objects in this order. */
      step: "deleteObjects";
      description: string;
      objects: ObjectRef[];
    }
  | {
      /** Delete everything matching each selection, in order (catches leftovers of earlier names). */
      step: "deleteSelected";
      description: string;
      selections: Selection[];
    }
  | {
      /** Until no Pod matches (their containerboot unadvertises on SIGTERM and stops writing state). */
      step: "waitPodsGone";
      description: string;
      pods: Selection;
    }
  | {
      /** Delete the tailnet device of every state Secret (NodeID from its profile; skip empty; 404 is success). */
      step: "deleteDevices";
      description: string;
      stateSecrets: Selection;
    };

function configMapRef(pg: ProxyGroupRef): ObjectRef {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    namespace: pg.namespace,
    name: proxyGroupNames.configMap(pg.name),
  };
}

/** Stop advertising on every replica, then wait until every replica reports it (both layers). */
function unadvertiseSteps(pg: ProxyGroupRef, serviceName: string): TeardownStep[] {
  return [
    {
      step: "unadvertise",
      description: `stop advertising ${serviceName} on every replica of ProxyGroup ${pg.namespace}/${pg.name}`,
      configSecrets: proxyGroupSecrets(pg, "config"),
      key: CONFIG_KEY,
      serviceName,
    },
    {
      step: "waitUnadvertised",
      description: `wait until every replica of ProxyGroup ${pg.namespace}/${pg.name} reports ${serviceName} unadvertised`,
      stateSecrets: proxyGroupSecrets(pg, "state"),
      serviceName,
    },
  ];
}

/** Delete the Tailscale Service, or only leave its owners when other stacks share it. */
function releaseStep(t: { serviceName: string; ownerId: string; clusterId?: string }): TeardownStep {
  return {
    step: "releaseTailscaleService",
    description: `delete Tailscale Service ${t.serviceName}, or remove this stack from its owners if others share it`,
    serviceName: t.serviceName,
    ownerId: t.ownerId,
    clusterId: t.clusterId,
  };
}

/** What an HA ingress teardown needs to know (from state). */
export interface HAIngressTeardownInput {
  proxyGroup: ProxyGroupRef;
  serviceName: string;
  ownerId: string;
  clusterId?: string;
  /** The cert domain, when it was known; its Secret, Role and RoleBinding are deleted by name. */
  dnsName?: string;
  /**
   * false when the ingress only leaves this ProxyGroup (moved to another one, or renamed): the
   * Tailscale Service stays and the cert objects are re-pointed instead of deleted.
   */
  release?: boolean;
}

/**
 * Layer 7: remove the serve config entry → unadvertise on every replica → wait until every replica reports
 * it gone → release (delete or leave) the Tailscale Service → delete RoleBinding, Role, cert Secret
 * by name. Never by owner label: during a create-before-delete replacement (hostname change) the new
 * resource has the same owner and its cert objects must survive the old one's delete.
 */
export function haIngressTeardown(t: HAIngressTeardownInput): TeardownStep[] {
  const pg = t.proxyGroup;
  const steps: TeardownStep[] = [
    {
      step: "removeServeConfigEntry",
      description: `remove ${t.serviceName} from ${pg.namespace}/${proxyGroupNames.configMap(pg.name)} ${PROXY_GROUP_SERVE_CONFIG_KEY}`,
      configMap: configMapRef(pg),
      key: PROXY_GROUP_SERVE_CONFIG_KEY,
      serviceName: t.serviceName,
    },
    ...unadvertiseSteps(pg, t.serviceName),
  ];
  if (t.release === false) return steps;
  steps.push(releaseStep(t));
  if (t.dnsName) {
    const ref = (apiVersion: string, kind: string): ObjectRef => ({
      apiVersion,
      kind,
      namespace: pg.namespace,
      name: t.dnsName!,
    });
    steps.push({
      step: "deleteObjects",
      description: `delete the certificate of ${t.dnsName} and its RBAC`,
      objects: [
        ref("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ref("rbac.authorization.k8s.io/v1", "Role"),
        ref("v1", "Secret"),
      ],
    });
  }
  return steps;
}

/** What an HA service teardown needs to know (from state). */
export interface HAServiceTeardownInput {
  proxyGroup: ProxyGroupRef;
  serviceName: string;
  ownerId: string;
  clusterId?: string;
  /** false when the service only leaves this ProxyGroup (see {@link HAIngressTeardownInput.release}). */
  release?: boolean;
}

/**
 * Layer 3: unadvertise on every replica → wait until every replica reports it gone → remove the
 * `ingress-config.json` entry → wait until every running replica reports its DNAT rules gone →
 * release the Tailscale Service (see the module comment for why the service goes last).
 */
export function haServiceTeardown(t: HAServiceTeardownInput): TeardownStep[] {
  const pg = t.proxyGroup;
  const steps: TeardownStep[] = [
    ...unadvertiseSteps(pg, t.serviceName),
    {
      step: "removeIngressConfigEntry",
      description: `remove ${t.serviceName} from ${pg.namespace}/${proxyGroupNames.configMap(pg.name)} ${INGRESS_CONFIG_KEY}`,
      configMap: configMapRef(pg),
      key: INGRESS_CONFIG_KEY,
      serviceName: t.serviceName,
    },
    {
      step: "waitRulesRemoved",
      description: `wait until every replica of ProxyGroup ${pg.namespace}/${pg.name} removed its DNAT rules for ${t.serviceName}`,
      stateSecrets: proxyGroupSecrets(pg, "state"),
      serviceName: t.serviceName,
    },
  ];
  if (t.release !== false) steps.push(releaseStep(t));
  return steps;
}

/**
 * ProxyGroup: delete the StatefulSet and wait for its pods to be gone (each unadvertises on SIGTERM),
 * delete the replicas' devices (read from the state Secrets, so before those go), then the Secrets of
 * every ordinal (selected by label, so leftovers of an earlier scale-down go too), the NodePort
 * Services of static endpoints of the `replicas` ordinals (by name, whatever ProxyClass state records:
 * an update that added it and failed records the old one; a delete of one that is not there is
 * success, and needs no `list` of Services), the ConfigMap, the
 * RoleBinding, the Role and the ServiceAccount. Tailscale Services and cert objects belong to the
 * ingresses and services and are not touched (their resources depend on the ProxyGroup and go first).
 * Secrets are selected with this owner's label too, so another tool's objects are never deleted.
 */
export function proxyGroupTeardown(
  pg: ProxyGroupRef,
  ownerId: string,
  proxyClass: ProxyClassInput | undefined,
  replicas: number,
): TeardownStep[] {
  const owner = { [LABEL_OWNER]: ownerHash(ownerId) };
  const mine = (sel: Selection): Selection => ({
    ...sel,
    labels: { ...sel.labels, ...owner },
    ...(sel.legacyLabels ? { legacyLabels: { ...sel.legacyLabels, ...owner } } : {}),
  });
  const ref = (apiVersion: string, kind: string, name: string): ObjectRef => ({
    apiVersion,
    kind,
    namespace: pg.namespace,
    name,
  });
  return [
    {
      step: "deleteObjects",
      description: `delete StatefulSet ${pg.namespace}/${pg.name}`,
      objects: [ref("apps/v1", "StatefulSet", proxyGroupNames.statefulSet(pg.name))],
    },
    {
      step: "waitPodsGone",
      description: `wait for the pods of ProxyGroup ${pg.namespace}/${pg.name} to terminate`,
      pods: proxyGroupPods(pg),
    },
    {
      step: "deleteDevices",
      description: `delete the tailnet devices of ProxyGroup ${pg.namespace}/${pg.name}`,
      stateSecrets: proxyGroupSecrets(pg, "state"),
    },
    {
      step: "deleteSelected",
      description: `delete the config and state Secrets of ProxyGroup ${pg.namespace}/${pg.name}`,
      selections: [mine(proxyGroupSecrets(pg, "state")), mine(proxyGroupSecrets(pg, "config"))],
    },
    {
      step: "deleteObjects",
      description: `delete the NodePort Services of static endpoints of ProxyGroup ${pg.namespace}/${pg.name}`,
      objects: nodePortServiceRefs(pg, replicas),
    },
    ...metricsStep(pg, proxyClass),
    {
      step: "deleteObjects",
      description: `delete the PodDisruptionBudget, ConfigMap and RBAC of ProxyGroup ${pg.namespace}/${pg.name}`,
      objects: [
        podDisruptionBudgetRef(pg),
        ref("v1", "ConfigMap", proxyGroupNames.configMap(pg.name)),
        ref("rbac.authorization.k8s.io/v1", "RoleBinding", proxyGroupNames.roleBinding(pg.name)),
        ref("rbac.authorization.k8s.io/v1", "Role", proxyGroupNames.role(pg.name)),
        ref("v1", "ServiceAccount", proxyGroupNames.serviceAccount(pg.name)),
      ],
    },
  ];
}

/** The metrics objects the ProxyGroup's recorded ProxyClass asked for (plan/metrics.ts recordedMetricsRefs). */
function metricsStep(pg: ProxyGroupRef, pc: ProxyClassInput | undefined): TeardownStep[] {
  const objects = recordedMetricsRefs(pg.namespace, proxyGroupNames.statefulSet(pg.name), pc);
  if (objects.length === 0) return [];
  return [
    {
      step: "deleteObjects",
      description: `delete the metrics Service and ServiceMonitor of ProxyGroup ${pg.namespace}/${pg.name}`,
      objects,
    },
  ];
}
