/**
 * HA TailnetService: a Tailscale Service `svc:<hostname>` whose traffic every ProxyGroup replica DNATs
 * to the backend Service's cluster IP (docs/operator-parity.md, "HA TailnetService").
 *
 * create/update, after every check that can refuse (ProxyGroup present, backend with a cluster IP,
 * Tailscale Service ownership, the name not held by a machine):
 *   Tailscale Service (PUT; its addresses) -> DNAT entry in the shared `ingress-config.json` -> per
 *   replica, once it reports rules matching the entry (its state Secret `ingress-config.json`, written
 *   by its running Pod), `AdvertiseServices` -> wait until every replica advertises.
 *   A create that fails once those checks passed is recorded as it stands, not rolled back (runtime.ts
 *   `haPartialCreateError` says why): the next `up` finishes it, `destroy` removes it.
 *
 * Gated on the backend having a ready endpoint, as the operator is (tailscale/tailscale@de9ec7ee
 * cmd/k8s-operator/svc-for-pg.go, `maybeUpdateAdvertiseServicesConfig`): otherwise, in multi-cluster
 * HA, clients keep being routed to a cluster whose backend is dead. The operator re-checks on every
 * EndpointSlice event; without a controller this is checked only when `up` creates or updates the
 * resource. A create refuses before it writes anything; an update first withdraws the service from
 * every replica, then fails, so the update stays pending and the next `up` advertises it again once
 * the backend is ready. (containerboot has no readiness condition of its own for a layer-3 entry:
 * tailscale/tailscale@de9ec7ee cmd/containerboot/ingressservices.go applies rules for whatever the
 * ConfigMap lists.)
 *
 * delete, with waits the operator lacks: stop advertising -> wait until every replica reports it
 * stopped -> remove the DNAT entry -> wait until every replica removed its rules -> Tailscale Service
 * (deleted, or this stack removed from its owners). The service goes last: once deleted its address
 * can be given to another service, which a stale rule would capture.
 */

import { selectorOf } from "../../kube";
import type { BackendServiceFacts } from "../../plan/backends";
import { PlanError } from "../../plan/errors";
import {
  anyReadyEndpoint,
  ENDPOINT_SLICE_SERVICE_LABEL,
  type EndpointSliceFacts,
  effectiveJoinToken,
  type HAServiceContext,
  type HAServicePlan,
  haServiceTeardown,
  INGRESS_CONFIG_KEY,
  joinTokenFor,
  OwnershipConflictError,
  planHAService,
  releaseOwnership,
  replicaReportsRules,
  serviceNameFor,
  tailnetDomainFromStates,
  tailscaleServiceNeedsPut,
  upsertIngressConfig,
} from "../../plan/ha";
import { serviceHostname } from "../../plan/hostnames";
import { type ProxyGroupRef, SCHEMA_VERSION, type TailnetServiceInput } from "../../plan/inputs";
import { formerStandaloneNamespaces } from "../../plan/migration";
import { BACKENDS, BACKENDS_READ, backendRecord } from "../../plan/refresh";
import { TAILNET_SERVICE } from "../../plan/schema/tailnetService";
import { backendsAsRead, readBackendService, secretData } from "../kubeFacts";
import { cleanOutputs, type Steps } from "../lifecycle";
import { editConfigMapKey, refuseForeignEntry } from "./configMap";
import { nameHolder, retireStandalone, type StandaloneHolder } from "./migration";
import { readReplicas, setAdvertised, waitAdvertised } from "./replicas";
import {
  clusterIdOf,
  type HARuntime,
  haPartialCreateError,
  requireProxyGroup,
  runtimeFor,
  unfinishedCreate,
} from "./runtime";
import { runTeardown } from "./teardown";

type ServiceInputs = TailnetServiceInput & { __provider?: string };

function fail(err: unknown): never {
  if (err instanceof OwnershipConflictError || err instanceof PlanError)
    throw new Error(`TailnetService: ${err.message}`);
  throw err;
}

/** What the checks of an HA TailnetService found, for the writes. */
interface Prepared {
  rt: HARuntime;
  pg: ProxyGroupRef;
  input: ServiceInputs;
  backend: BackendServiceFacts;
  plan: HAServicePlan;
  ctx: HAServiceContext;
  joinToken: string | undefined;
  hostname: string;
  serviceName: string;
  /** This resource's own standalone proxy that holds the tailnet name (a migration), if any. */
  holder?: StandaloneHolder;
}

/**
 * Every check that can refuse, before the first write (an update's withdrawal from the replicas when the
 * backend has no ready endpoint aside). `migrate`: the Tailscale Service may not exist yet and the tailnet
 * name may be held by this resource's standalone proxy (a create, or finishing one).
 */
async function prepare(input: ServiceInputs, step: "create" | "update", migrate: boolean): Promise<Prepared> {
  const rt = runtimeFor(input, step);
  const pg = input.proxyGroup!;
  const cm = await requireProxyGroup(rt.kube, pg, "TailnetService");
  const backend = await readBackendService(rt.kube, input.service, "service");
  const replicas = await readReplicas(rt.kube, pg);
  const tailnetDomain = tailnetDomainFromStates(replicas.map((r) => r.state));
  const hostname = (serviceHostname(input)?.hostname ?? "").toLowerCase();
  const serviceName = serviceNameFor(hostname);
  refuseForeignEntry(cm, serviceName, input.ownerId);
  const [existing, clusterId] = await Promise.all([
    rt.tailscale.getService(serviceName),
    clusterIdOf(rt.kube),
  ]);
  const joinToken = effectiveJoinToken(serviceName, input);
  const ctx = { existingService: existing, clusterId, joinToken, tailnetDomain };
  let plan: HAServicePlan;
  try {
    plan = planHAService({ ...input, joinToken }, backend, ctx);
  } catch (err) {
    fail(err);
  }
  const holder =
    migrate && !existing
      ? await nameHolder(
          rt,
          hostname,
          input.ownerId,
          "TailnetService",
          formerStandaloneNamespaces(TAILNET_SERVICE, input as Record<string, any>),
        )
      : undefined;
  // On update the service may be advertised already: withdrawn until the backend is ready again.
  await requireReadyBackend(rt, backend, pg, serviceName, step === "update");
  return { rt, pg, input, backend, plan, ctx, joinToken, hostname, serviceName, holder };
}

/**
 * What every record of this service holds, of a finished create or of one that failed half-way
 * (haPartialCreateError): what `delete` needs to find everything it may have written.
 */
function recordedOutputs(p: Prepared) {
  return {
    ...p.input,
    hostname: p.hostname,
    serviceName: p.serviceName,
    fqdn: p.plan.dnsName,
    joinToken: p.input.joinToken ?? joinTokenFor(p.serviceName, p.input.ownerId),
    // Not the ProxyGroup's namespace: outputs echo the inputs, or every preview would show a change.
    clusterId: p.ctx.clusterId,
    kubernetesObjects: [`ConfigMap/${p.pg.namespace}/${p.pg.name}-ingress-config#${INGRESS_CONFIG_KEY}`],
    // What the DNAT entry was written from, so a refresh can tell when the Service changed.
    [BACKENDS]: backendRecord([p.backend]),
    schemaVersion: SCHEMA_VERSION,
  };
}

/** Writes everything and waits; the steps of the module comment. */
async function provision(p: Prepared) {
  const { rt, pg, input, backend, serviceName, plan } = p;
  if (p.holder) await retireStandalone(rt, p.holder);
  const service = tailscaleServiceNeedsPut(p.ctx.existingService, plan.tailscaleService)
    ? await rt.tailscale.putService(plan.tailscaleService)
    : p.ctx.existingService!;
  // The DNAT entry needs the service's addresses, known once it exists.
  const withAddrs = planHAService({ ...input, joinToken: p.joinToken }, backend, {
    ...p.ctx,
    existingService: service,
  });
  const entry = withAddrs.ingressConfigEntry;
  if (!entry) {
    throw new Error(
      `TailnetService: Tailscale Service ${serviceName} has no address of the family of Service ` +
        `${backend.namespace}/${backend.name}'s cluster IP (${(backend.clusterIPs ?? [backend.clusterIP]).join(", ")}); ` +
        `its addresses are ${(service.addrs ?? []).join(", ") || "none"}`,
    );
  }
  await editConfigMapKey(rt.kube, pg, INGRESS_CONFIG_KEY, serviceName, input.ownerId, (t) =>
    upsertIngressConfig(t, serviceName, entry),
  );
  const running = (await readReplicas(rt.kube, pg)).filter((r) => r.pod);
  await Promise.all(
    running.map(async (r) => {
      // Advertise only where the rules are in place: otherwise clients routed there are dropped.
      await rt.kube.waitFor(
        r.stateRef,
        (obj) => replicaReportsRules(secretData(obj)[INGRESS_CONFIG_KEY], r.podIPs, serviceName, entry),
        {
          timeoutMs: rt.remainingMs(),
          description: `ProxyGroup replica ${r.stateRef.name} to install its DNAT rules for ${serviceName} (ingress-config.json in its state Secret)`,
        },
      );
      await setAdvertised(rt.kube, r.configRef, serviceName, true);
      await waitAdvertised(rt, r, serviceName, true);
    }),
  );
  return cleanOutputs({
    ...recordedOutputs(p),
    addresses: service.addrs ?? [],
    tailnetIPs: service.addrs ?? [],
  });
}

/**
 * Refuses to advertise `serviceName` while the backend Service has no ready endpoint (the module
 * comment says why). With `withdraw`, first removes it from every replica's `AdvertiseServices` and
 * waits until the running ones report it withdrawn.
 */
async function requireReadyBackend(
  rt: HARuntime,
  backend: { namespace: string; name: string },
  pg: ProxyGroupRef,
  serviceName: string,
  withdraw: boolean,
): Promise<void> {
  const slices = (await rt.kube.list(
    "discovery.k8s.io/v1",
    "EndpointSlice",
    backend.namespace,
    selectorOf({ [ENDPOINT_SLICE_SERVICE_LABEL]: backend.name }),
  )) as EndpointSliceFacts[];
  if (anyReadyEndpoint(slices)) return;
  let withdrawn: string[] = [];
  if (withdraw) {
    const replicas = await readReplicas(rt.kube, pg);
    await Promise.all(replicas.map((r) => setAdvertised(rt.kube, r.configRef, serviceName, false)));
    await Promise.all(replicas.filter((r) => r.pod).map((r) => waitAdvertised(rt, r, serviceName, false)));
    withdrawn = replicas.map((r) => r.stateRef.name);
  }
  const ref = `${backend.namespace}/${backend.name}`;
  throw new Error(
    `TailnetService: Service ${ref} has no ready endpoint (no EndpointSlice labelled ` +
      `${ENDPOINT_SLICE_SERVICE_LABEL}=${backend.name} in namespace ${backend.namespace} lists one), so ` +
      `${serviceName} is not advertised by ProxyGroup ${pg.namespace}/${pg.name}` +
      (withdrawn.length ? ` (withdrawn from ${withdrawn.join(", ")})` : "") +
      `. Make the Service's Pods ready (its selector must match running Pods that pass their ` +
      `readiness probes), then run \`pulumi up\` again.`,
  );
}

/** The steps of an HA TailnetService (check and diff are the kind's: resources/tailnetService.ts). */
export const haService: Steps = {
  async create(input: ServiceInputs) {
    const p = await prepare(input, "create", true);
    const id = `${p.pg.namespace}/${p.pg.name}/${p.serviceName}`;
    try {
      return { id, outs: await provision(p) };
    } catch (err) {
      throw haPartialCreateError("TailnetService", err, id, recordedOutputs(p), input);
    }
  },
  async update(_id, olds, news: ServiceInputs) {
    // A create that failed half-way is finished as a create: the name may still be the standalone proxy's.
    return { outs: await provision(await prepare(news, "update", unfinishedCreate(olds))) };
  },
  async read(id, props) {
    if (!props.serviceName) return { id: "" };
    // What a create that failed half-way wrote is still to be finished or removed, whatever exists yet.
    if (unfinishedCreate(props)) return { id, props };
    const rt = runtimeFor(props, "read");
    const svc = await rt.tailscale.getService(props.serviceName);
    const mine = releaseOwnership(svc, { ownerId: props.ownerId, clusterId: props.clusterId });
    if (!svc || mine.action === "none") return { id: "" };
    const outs = cleanOutputs({
      ...props,
      addresses: svc.addrs ?? props.addresses,
      tailnetIPs: svc.addrs ?? props.tailnetIPs,
      // The Diff after this refresh compares them with `backends` (plan/refresh.ts `backendDrift`).
      [BACKENDS_READ]: (
        await backendsAsRead(
          async () => new Map([["", await readBackendService(rt.kube, props.service, "service")]]),
          props,
        )
      ).records,
      schemaVersion: SCHEMA_VERSION,
    });
    return { id, props: outs };
  },
  async delete(_id, props) {
    if (!props.serviceName || !props.proxyGroup) return;
    await runTeardown(
      runtimeFor(props, "delete"),
      haServiceTeardown({
        proxyGroup: props.proxyGroup,
        serviceName: props.serviceName,
        ownerId: props.ownerId,
        clusterId: props.clusterId,
      }),
    );
  },
};
