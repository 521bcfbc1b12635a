/**
 * HA TailnetIngress: a Tailscale Service `svc:<hostname>` served over HTTPS by every replica of a
 * ProxyGroup (docs/operator-parity.md, "HA TailnetIngress").
 *
 * create/update, after every check that can refuse (ProxyGroup present, backends, Tailscale Service
 * ownership, the name not held by a machine):
 *   certificate Secret + Role + RoleBinding -> serve config entry in the shared ConfigMap -> Tailscale
 *   Service (PUT) -> advertise -> wait until the certificate is issued and every replica advertises.
 *   A create that fails once those checks passed is recorded as it stands, not rolled back (runtime.ts
 *   `haPartialCreateError` says why): the next `up` finishes it, `destroy` removes it.
 *
 * Advertising, better than the operator (`shouldAdvertiseIngress`): an HTTPS-only service is advertised
 * first by replica 0 alone (the one replica that can obtain the certificate), and by the others once
 * the certificate is stored in its Secret, with or without `waitForCertificate` (which only decides
 * whether `up` asks replica 0 for it through pods/exec), so no client ever reaches a replica that has
 * no certificate and cannot get one. The operator waits for the certificate before advertising
 * anywhere, which only works when control offers the service's certificate domain to hosts that do not
 * advertise it yet.
 *
 * delete (tailscale/tailscale#15439 fixed): serve config entry -> stop advertising -> wait until every
 * replica reports it stopped -> Tailscale Service (deleted, or this stack removed from its owners) ->
 * RoleBinding, Role, certificate Secret.
 */
import type { KubeObject } from "../../kube";
import type { BackendServiceFacts } from "../../plan/backends";
import { PlanError } from "../../plan/errors";
import {
  certIssued,
  effectiveJoinToken,
  type HAIngressPlan,
  haIngressHostname,
  haIngressTeardown,
  joinTokenFor,
  OwnershipConflictError,
  PROXY_GROUP_SERVE_CONFIG_KEY,
  planHAIngress,
  proxyGroupStatefulSetRef,
  releaseOwnership,
  renewsWithAri,
  serviceNameFor,
  shouldAdvertiseIngress,
  type TailscaleService,
  tailnetDomainFromStates,
  tailscaleServiceNeedsPut,
  upsertServeConfigService,
} from "../../plan/ha";
import { type ProxyGroupRef, SCHEMA_VERSION, type TailnetIngressInput } from "../../plan/inputs";
import { formerStandaloneNamespaces } from "../../plan/migration";
import type { PlannedSecret } from "../../plan/objects";
import { BACKENDS, BACKENDS_READ, backendRecord } from "../../plan/refresh";
import { TAILNET_INGRESS } from "../../plan/schema/tailnetIngress";
import { certificateOutputs, obtainCertificate } from "../certificate";
import { backendsAsRead, coreRef, objectPath, readIngressBackends, secretData } from "../kubeFacts";
import { cleanOutputs, type Steps } from "../lifecycle";
import { editConfigMapKey, refuseForeignEntry } from "./configMap";
import { copyStandaloneCertificate, nameHolder, retireStandalone, type StandaloneHolder } from "./migration";
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

type IngressInputs = TailnetIngressInput & { __provider?: string };

function certRefs(pg: ProxyGroupRef, dnsName: string) {
  return {
    secret: coreRef("Secret", pg.namespace, dnsName),
    role: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      namespace: pg.namespace,
      name: dnsName,
    },
    roleBinding: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      namespace: pg.namespace,
      name: dnsName,
    },
  };
}

/**
 * Cert Secret (created empty; replica 0 fills it), Role, RoleBinding. On update the keys replica 0 has
 * filled are left out of the apply (they are replica 0's now: applying "" would conflict with it), and
 * the still-empty ones stay in (a `kubernetes.io/tls` Secret must have both keys).
 */
async function ensureCertObjects(
  rt: HARuntime,
  input: IngressInputs,
  pg: ProxyGroupRef,
  plan: HAIngressPlan,
) {
  const refs = certRefs(pg, plan.dnsName!);
  const existing = await rt.kube.get(refs.secret);
  const planned = plan.certSecret!;
  const filled = (existing?.data ?? {}) as Record<string, string>;
  const secret = existing
    ? {
        ...planned,
        data: Object.fromEntries(Object.entries(planned.data ?? {}).filter(([k]) => !filled[k])),
      }
    : planned;
  // The keys are replica 0's once it issues, or ours when copied from a standalone proxy (migration.ts).
  // A Secret that already has everything planned is not applied again: replica 0 may store the
  // certificate between this read and the apply (an update finishing a create that failed, or a retried
  // one, while replica 0 retries its order), and the apply would set the keys back to "".
  if (!(existing && holdsPlanned(existing, planned)))
    await rt.kube.apply(secret, { ownerId: input.ownerId, sharedFields: [["data"]] });
  await rt.kube.apply(plan.certRole!, { ownerId: input.ownerId });
  await rt.kube.apply(plan.certRoleBinding!, { ownerId: input.ownerId });
}

/** Whether `live` has every label, annotation and data key of `planned`, and its type. */
function holdsPlanned(live: KubeObject, planned: PlannedSecret): boolean {
  const has = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
    Object.entries(b ?? {}).every(([k, v]) => a?.[k] === v);
  return (
    live.type === planned.type &&
    has(live.metadata.labels, planned.metadata.labels) &&
    has(live.metadata.annotations, planned.metadata.annotations) &&
    Object.keys(planned.data ?? {}).every((k) => k in ((live.data as object | undefined) ?? {}))
  );
}

interface Prepared {
  rt: HARuntime;
  pg: ProxyGroupRef;
  plan: HAIngressPlan;
  clusterId?: string;
  existing?: TailscaleService;
  /** This resource's own standalone proxy that holds the tailnet name (a migration), if any. */
  holder?: StandaloneHolder;
  /** The backend Services as read, which the serve config entry is planned from. */
  backends: Map<string, BackendServiceFacts>;
}

/**
 * Every check that can refuse, before the first write. `migrate`: the Tailscale Service may not exist yet
 * and the tailnet name may be held by this resource's standalone proxy (a create, or finishing one).
 */
async function prepare(input: IngressInputs, step: "create" | "update", migrate: boolean): Promise<Prepared> {
  const rt = runtimeFor(input, step);
  const pg = input.proxyGroup!;
  const cm = await requireAndRead(rt, pg);
  const backends = await readIngressBackends(rt.kube, input);
  const replicas = await readReplicas(rt.kube, pg);
  const tailnetDomain = tailnetDomainFromStates(replicas.map((r) => r.state));
  if (!tailnetDomain) {
    throw new Error(
      `TailnetIngress: no replica of ProxyGroup ${pg.namespace}/${pg.name} has registered its device yet, so the ` +
        "tailnet's MagicDNS name is unknown; run `pulumi up` again once the ProxyGroup is up",
    );
  }
  const hostname = haIngressHostname(input);
  const serviceName = serviceNameFor(hostname);
  refuseForeignEntry(cm, serviceName, input.ownerId);
  const [existing, clusterId] = await Promise.all([
    rt.tailscale.getService(serviceName),
    clusterIdOf(rt.kube),
  ]);
  const joinToken = effectiveJoinToken(serviceName, input);
  let plan: HAIngressPlan;
  try {
    plan = planHAIngress({ ...input, joinToken }, backends, {
      tailnetDomain,
      existingService: existing,
      clusterId,
      joinToken,
    });
  } catch (err) {
    if (err instanceof OwnershipConflictError || err instanceof PlanError)
      throw new Error(`TailnetIngress: ${err.message}`);
    throw err;
  }
  const holder =
    migrate && !existing
      ? await nameHolder(
          rt,
          plan.hostname,
          input.ownerId,
          "TailnetIngress",
          formerStandaloneNamespaces(TAILNET_INGRESS, input as Record<string, any>),
        )
      : undefined;
  return { rt, pg, plan, clusterId, existing, holder, backends };
}

function requireAndRead(rt: HARuntime, pg: ProxyGroupRef): Promise<KubeObject> {
  return requireProxyGroup(rt.kube, pg, "TailnetIngress");
}

/** Writes everything and waits; the steps of the module comment. */
async function provision(input: IngressInputs, p: Prepared, previous?: any) {
  const { rt, pg, plan, holder } = p;
  await ensureCertObjects(rt, input, pg, plan);
  if (holder) await copyStandaloneCertificate(rt, holder, pg.namespace, plan.dnsName!);
  await editConfigMapKey(rt.kube, pg, PROXY_GROUP_SERVE_CONFIG_KEY, plan.serviceName, input.ownerId, (t) =>
    upsertServeConfigService(t, plan.serviceName, plan.serveConfigEntry!),
  );
  if (holder) await retireStandalone(rt, holder);
  const service = tailscaleServiceNeedsPut(p.existing, plan.tailscaleService)
    ? await rt.tailscale.putService(plan.tailscaleService)
    : p.existing!;

  const replicas = (await readReplicas(rt.kube, pg)).filter((r) => r.pod);
  const certRef = certRefs(pg, plan.dnsName!).secret;
  const wait = input.waitForCertificate !== false;
  const issued = certIssued(secretData(await rt.kube.get(certRef)));
  const first = shouldAdvertiseIngress(plan.http, issued)
    ? replicas
    : replicas.filter((r) => r.ordinal === 0);
  await Promise.all(first.map((r) => setAdvertised(rt.kube, r.configRef, plan.serviceName, true)));
  if (wait || first.length < replicas.length) {
    const writer = replicas.find((r) => r.ordinal === 0);
    if (wait && writer && !issued) {
      // Ask replica 0 (the one that issues) for the certificate, so a failure to issue is this `up`'s
      // error with its reason instead of a timeout. Control offers it the service's name only once it
      // advertises the service.
      await waitAdvertised(rt, writer, plan.serviceName, true);
      await obtainCertificate(rt.kube, {
        namespace: pg.namespace,
        pod: `${pg.name}-0`,
        domain: plan.dnsName!,
        timeoutMs: rt.remainingMs(),
      });
    }
    // Without `waitForCertificate` nothing is asked through pods/exec: replica 0's own certificate
    // loop obtains it for every HTTPS service in its serve config (tailscale/tailscale@de9ec7ee
    // kube/certs/certs.go, EnsureCertLoops) and stores it in the Secret. The other replicas can only
    // serve what is stored there, so they advertise once it is, with or without the option.
    await rt.kube.waitFor(certRef, (obj) => certIssued(secretData(obj)), {
      timeoutMs: rt.remainingMs(),
      description: `ProxyGroup replica ${pg.name}-0 to obtain the certificate for ${plan.dnsName} (tls.crt and tls.key in Secret ${pg.namespace}/${plan.dnsName}); the other replicas advertise ${plan.serviceName} only once it is stored`,
    });
  }
  const rest = replicas.filter((r) => !first.includes(r));
  await Promise.all(rest.map((r) => setAdvertised(rt.kube, r.configRef, plan.serviceName, true)));
  await Promise.all(replicas.map((r) => waitAdvertised(rt, r, plan.serviceName, true)));

  const [certSecret, ari] = await Promise.all([rt.kube.get(certRef), renewsWithAriAt(rt, pg)]);
  return cleanOutputs({
    ...recordedOutputs(input, p),
    url: `https://${plan.dnsName}/`,
    addresses: service.addrs ?? [],
    tailnetIPs: service.addrs ?? [],
    ...certificateOutputs(certSecret, plan.dnsName!, previous, ari),
  });
}

/**
 * What every record of this ingress holds, of a finished create or of one that failed half-way
 * (haPartialCreateError): what `delete` needs to find everything it may have written.
 */
function recordedOutputs(input: IngressInputs, p: Prepared) {
  const { pg, plan } = p;
  return {
    ...input,
    hostname: plan.hostname,
    serviceName: plan.serviceName,
    fqdn: plan.dnsName,
    joinToken: input.joinToken ?? joinTokenFor(plan.serviceName, input.ownerId),
    // Not the ProxyGroup's namespace: outputs echo the inputs, or every preview would show a change.
    clusterId: p.clusterId,
    kubernetesObjects: [
      objectPath(plan.certSecret!),
      objectPath(plan.certRole!),
      objectPath(plan.certRoleBinding!),
      `ConfigMap/${pg.namespace}/${pg.name}-ingress-config#${PROXY_GROUP_SERVE_CONFIG_KEY}`,
    ],
    // What the serve config entry was written from, so a refresh can tell when a Service changed.
    [BACKENDS]: backendRecord(p.backends.values()),
    schemaVersion: SCHEMA_VERSION,
  };
}

/** Whether the ProxyGroup's replicas renew with ARI, which tells a renewal's cost (plan/budget.ts). */
async function renewsWithAriAt(rt: HARuntime, pg: ProxyGroupRef): Promise<boolean> {
  const sts = await rt.kube.get(proxyGroupStatefulSetRef(pg));
  return renewsWithAri(sts as Parameters<typeof renewsWithAri>[0]);
}

function teardownOf(props: any) {
  return haIngressTeardown({
    proxyGroup: props.proxyGroup,
    serviceName: props.serviceName,
    ownerId: props.ownerId,
    clusterId: props.clusterId,
    dnsName: props.fqdn,
  });
}

/** The steps of an HA TailnetIngress (check and diff are the kind's: resources/tailnetIngress.ts). */
export const haIngress: Steps = {
  async create(input: IngressInputs) {
    const p = await prepare(input, "create", true);
    const id = `${p.pg.namespace}/${p.pg.name}/${p.plan.serviceName}`;
    try {
      return { id, outs: await provision(input, p) };
    } catch (err) {
      throw haPartialCreateError("TailnetIngress", err, id, recordedOutputs(input, p), input);
    }
  },
  async update(_id, olds, news: IngressInputs) {
    // A create that failed half-way is finished as a create: the name may still be the standalone proxy's.
    const p = await prepare(news, "update", unfinishedCreate(olds));
    return { outs: await provision(news, p, olds) };
  },
  async read(id, props) {
    if (!props.serviceName) return { id: "" };
    // What a create that failed half-way wrote is still to be finished or removed, whatever exists yet.
    if (unfinishedCreate(props)) return { id, props };
    const rt = runtimeFor(props, "read");
    const svc = await rt.tailscale.getService(props.serviceName);
    const mine = releaseOwnership(svc, { ownerId: props.ownerId, clusterId: props.clusterId });
    if (!svc || mine.action === "none") return { id: "" };
    const [certSecret, ari] = await Promise.all([
      rt.kube.get(coreRef("Secret", props.proxyGroup.namespace, props.fqdn)),
      renewsWithAriAt(rt, props.proxyGroup),
    ]);
    const outs = cleanOutputs({
      ...props,
      addresses: svc.addrs ?? props.addresses,
      tailnetIPs: svc.addrs ?? props.tailnetIPs,
      ...certificateOutputs(certSecret, props.fqdn, props, ari),
      // The Diff after this refresh compares them with `backends` (plan/refresh.ts `backendDrift`).
      [BACKENDS_READ]: (await backendsAsRead(() => readIngressBackends(rt.kube, props), props)).records,
      schemaVersion: SCHEMA_VERSION,
    });
    return { id, props: outs };
  },
  async delete(_id, props) {
    if (!props.serviceName || !props.proxyGroup) return;
    await runTeardown(runtimeFor(props, "delete"), teardownOf(props));
  },
};
