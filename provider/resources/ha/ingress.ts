/**
 * HA TailnetIngress: a Tailscale Service `svc:<hostname>` served over HTTPS by every replica of a
 * ProxyGroup (docs/operator-parity.md, "HA TailnetIngress").
 *
 * create/update, after every check that can refuse (ProxyGroup present, backends, Tailscale Service
 * ownership, the name not held by a machine):
 *   certificate Secret + Role + RoleBinding -> serve config entry in the shared ConfigMap -> Tailscale
 *   Service (PUT) -> advertise -> wait until the certificate is issued and every replica advertises.
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
import { PlanError } from "../../plan/errors";
import {
  certIssued,
  checkOwnership,
  effectiveJoinToken,
  type HAIngressPlan,
  haIngressHostname,
  haIngressTeardown,
  joinTokenFor,
  OwnershipConflictError,
  PROXY_GROUP_SERVE_CONFIG_KEY,
  planHAIngress,
  proxyGroupNames,
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
import { certificateOutputs, obtainCertificate } from "../certificate";
import { coreRef, objectPath, readIngressBackends, secretData } from "../kubeFacts";
import { cleanOutputs, type Steps } from "../lifecycle";
import { editConfigMapKey, refuseForeignEntry } from "./configMap";
import { copyStandaloneCertificate, nameHolder, retireStandalone } from "./migration";
import { readReplicas, setAdvertised, waitAdvertised } from "./replicas";
import { clusterIdOf, type HARuntime, requireProxyGroup, runtimeFor } from "./runtime";
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
  await rt.kube.apply(secret, { ownerId: input.ownerId });
  await rt.kube.apply(plan.certRole!, { ownerId: input.ownerId });
  await rt.kube.apply(plan.certRoleBinding!, { ownerId: input.ownerId });
}

interface Prepared {
  rt: HARuntime;
  pg: ProxyGroupRef;
  plan: HAIngressPlan;
  clusterId?: string;
  existing?: TailscaleService;
  /** Whether this create adds us to the service's owners (so a failed create releases it). */
  added: boolean;
}

/** Every check that can refuse, before the first write. */
async function prepare(input: IngressInputs, step: "create" | "update"): Promise<Prepared> {
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
  const check = checkOwnership(serviceName, existing, { ownerId: input.ownerId, clusterId }, joinToken);
  return { rt, pg, plan, clusterId, existing, added: check.ok && check.added };
}

function requireAndRead(rt: HARuntime, pg: ProxyGroupRef): Promise<KubeObject> {
  return requireProxyGroup(rt.kube, pg, "TailnetIngress");
}

/** Writes everything and waits; the steps of the module comment. */
async function provision(input: IngressInputs, p: Prepared, migrate: boolean, previous?: any) {
  const { rt, pg, plan } = p;
  const holder =
    migrate && !p.existing ? await nameHolder(rt, plan.hostname, input.ownerId, "TailnetIngress") : undefined;
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
  const refs = certRefs(pg, plan.dnsName!);
  return cleanOutputs({
    ...input,
    hostname: plan.hostname,
    serviceName: plan.serviceName,
    fqdn: plan.dnsName,
    url: `https://${plan.dnsName}/`,
    addresses: service.addrs ?? [],
    tailnetIPs: service.addrs ?? [],
    joinToken: input.joinToken ?? joinTokenFor(plan.serviceName, input.ownerId),
    // Not the ProxyGroup's namespace: outputs echo the inputs, or every preview would show a change.
    clusterId: p.clusterId,
    ...certificateOutputs(certSecret, plan.dnsName!, previous, ari),
    kubernetesObjects: [
      objectPath(plan.certSecret!),
      objectPath(plan.certRole!),
      objectPath(plan.certRoleBinding!),
      `${refs.secret.kind}/${pg.namespace}/${pg.name}-ingress-config#${PROXY_GROUP_SERVE_CONFIG_KEY}`,
    ],
    schemaVersion: SCHEMA_VERSION,
  });
}

/** Whether the ProxyGroup's replicas renew with ARI, which tells a renewal's cost (plan/budget.ts). */
async function renewsWithAriAt(rt: HARuntime, pg: ProxyGroupRef): Promise<boolean> {
  const sts = await rt.kube.get({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    namespace: pg.namespace,
    name: proxyGroupNames.statefulSet(pg.name),
  });
  return renewsWithAri(sts as Parameters<typeof renewsWithAri>[0]);
}

function teardownOf(props: any, release = true) {
  return haIngressTeardown({
    proxyGroup: props.proxyGroup,
    serviceName: props.serviceName,
    ownerId: props.ownerId,
    clusterId: props.clusterId,
    dnsName: props.fqdn,
    release,
  });
}

/** The steps of an HA TailnetIngress (check and diff are the kind's: resources/tailnetIngress.ts). */
export const haIngress: Steps = {
  async create(input: IngressInputs) {
    const p = await prepare(input, "create");
    const id = `${p.pg.namespace}/${p.pg.name}/${p.plan.serviceName}`;
    try {
      return { id, outs: await provision(input, p, true) };
    } catch (err) {
      try {
        const cleanup = { ...p.rt, remainingMs: () => 60_000 };
        await runTeardown(
          cleanup,
          teardownOf(
            {
              proxyGroup: p.pg,
              serviceName: p.plan.serviceName,
              ownerId: input.ownerId,
              clusterId: p.clusterId,
              fqdn: p.plan.dnsName,
            },
            p.added,
          ),
        );
      } catch (cleanupErr) {
        throw new Error(
          `TailnetIngress create failed: ${(err as Error).message}. Removing what it made failed too ` +
            `(${(cleanupErr as Error).message}); run \`pulumi up\` again to retry.`,
        );
      }
      throw err;
    }
  },
  async update(_id, olds, news: IngressInputs) {
    const p = await prepare(news, "update");
    return { outs: await provision(news, p, false, olds) };
  },
  async read(id, props) {
    if (!props.serviceName) return { id: "" };
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
      schemaVersion: SCHEMA_VERSION,
    });
    return { id, props: outs };
  },
  async delete(_id, props) {
    if (!props.serviceName || !props.proxyGroup) return;
    await runTeardown(runtimeFor(props, "delete"), teardownOf(props));
  },
};
