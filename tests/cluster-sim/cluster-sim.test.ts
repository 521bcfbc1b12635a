import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import { getCa } from "../support/ca";
import {
  type ClusterSim,
  DUAL_STACK_POD_CIDRS,
  startClusterSim,
  TEST_TIME_SCALE,
} from "../support/cluster-sim";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";
import { startTailscaleApi, type TailscaleApiServer } from "../support/tailscale-api";
import {
  decode,
  NS,
  proxyGroupStatefulSet,
  proxyRbac,
  standaloneSecret,
  standaloneStatefulSet,
  tailscaledConfig,
} from "./fixtures";

function kcOf(kube: KubeApiServer): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kube.kubeconfig());
  return kc;
}

describe("cluster-sim", function () {
  this.timeout(20000);
  let kube: KubeApiServer;
  let ts: TailscaleApiServer;
  let sim: ClusterSim;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;

  async function start(opts: Partial<Parameters<typeof startClusterSim>[0]> = {}): Promise<void> {
    sim = await startClusterSim({
      kubeconfig: kube.kubeconfig(),
      tailscaleUrl: ts.url,
      timeScale: TEST_TIME_SCALE,
      ...opts,
    });
  }

  beforeEach(async () => {
    kube = await startKubeApiServer();
    ts = await startTailscaleApi();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(kube.kubeconfig());
    core = kc.makeApiClient(k8s.CoreV1Api);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    // The proxies act as their ServiceAccount: give it the operator's standalone proxy Role.
    for (const o of proxyRbac("proxies")) kube.seed(o);
  });

  afterEach(async () => {
    const simErrors = sim ? [...sim.errors] : [];
    await sim?.stop();
    await ts.stop();
    await kube.stop();
    assert.deepEqual(simErrors, []);
    assert.deepEqual(ts.schemaViolations, []);
  });

  async function state(name: string): Promise<Record<string, string>> {
    return decode(await core.readNamespacedSecret({ name, namespace: NS }));
  }

  async function createStandalone(
    name: string,
    o: {
      authKey: string;
      hostname: string;
      l7?: boolean;
      staging?: boolean;
      destIP?: string;
      extraEnv?: Record<string, unknown>[];
    },
  ): Promise<void> {
    await core.createNamespacedSecret({
      namespace: NS,
      body: standaloneSecret(`${name}-0`, { authKey: o.authKey, hostname: o.hostname, serve: o.l7 }),
    });
    await apps.createNamespacedStatefulSet({
      namespace: NS,
      body: standaloneStatefulSet(name, {
        l7: o.l7,
        staging: o.staging,
        destIP: o.destIP,
        extraEnv: o.extraEnv,
      }),
    });
  }

  it("starts a pod for a StatefulSet, logs in with the config's auth key and writes the state keys", async () => {
    await start();
    const key = ts.createAuthKey({ tags: ["tag:k8s"] });
    await createStandalone("ts-db", { authKey: key.key, hostname: "db", destIP: "10.96.0.42" });
    await sim.waitIdle();

    const pod = await core.readNamespacedPod({ name: "ts-db-0", namespace: NS });
    assert.equal(pod.metadata?.ownerReferences?.[0]?.kind, "StatefulSet");
    assert.equal(pod.metadata?.labels?.["app"], "uid-ts-db");
    assert.match(pod.status?.podIP ?? "", /^10\.244\./);
    assert.equal(pod.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");

    const [device] = ts.devices();
    assert.ok(device);
    assert.deepEqual(device.tags, ["tag:k8s"]);
    const s = await state("ts-db-0");
    assert.equal(s["device_id"], device.nodeId);
    assert.equal(s["device_fqdn"], `db.${ts.tailnetDomain}.`);
    assert.deepEqual(JSON.parse(s["device_ips"]!), device.addresses);
    assert.equal(s["pod_uid"], pod.metadata?.uid);
    assert.equal(s["tailscale_capver"], "131");
    assert.ok(s["_machinekey"]);
    const prefs = JSON.parse(s[s["_current-profile"]!]!);
    assert.equal(prefs.Config.NodeID, device.nodeId);
    assert.equal(s["reissue_authkey"], undefined);
    assert.equal(ts.validAuthKeys().length, 0, "the single-use key is spent");

    const view = sim.pods().find((p) => p.name === "ts-db-0")!;
    assert.equal(view.dnatTarget, "10.96.0.42");
    assert.equal(view.deviceId, device.nodeId);

    const sts = await apps.readNamespacedStatefulSet({ name: "ts-db", namespace: NS });
    assert.equal(sts.status?.readyReplicas, 1);
    assert.equal(sts.status?.replicas, 1);
    assert.equal(sts.status?.observedGeneration, sts.metadata?.generation);
  });

  it("a Pod Security refusal of the controller's Pod create becomes a FailedCreate event on the StatefulSet", async () => {
    await core.patchNamespace(
      { name: NS, body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await start();
    const key = ts.createAuthKey({ tags: ["tag:k8s"] });
    await createStandalone("ts-db", { authKey: key.key, hostname: "db", destIP: "10.96.0.42" });
    await sim.waitIdle();
    await sim.waitIdle();

    assert.equal((await core.listNamespacedPod({ namespace: NS })).items.length, 0);
    const events = (await core.listNamespacedEvent({ namespace: NS })).items.filter(
      (e) => e.involvedObject.kind === "StatefulSet" && e.involvedObject.name === "ts-db",
    );
    assert.equal(events.length, 1, "repeats are one Event whose count grows");
    const [ev] = events;
    assert.equal(ev!.type, "Warning");
    assert.equal(ev!.reason, "FailedCreate");
    assert.equal(ev!.source?.component, "statefulset-controller");
    // The fixture is the operator's unprivileged template, which restricted refuses.
    assert.ok(
      ev!.message?.startsWith(
        'create Pod ts-db-0 in StatefulSet ts-db failed error: pods "ts-db-0" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "tailscale" must set securityContext.allowPrivilegeEscalation=false), ',
      ),
      ev!.message,
    );
    const sts = await apps.readNamespacedStatefulSet({ name: "ts-db", namespace: NS });
    assert.equal(sts.status?.readyReplicas ?? 0, 0);
  });

  it("writes reissue_authkey and crash-loops on a spent key, then logs in once the config has a new key", async () => {
    await start();
    const spent = ts.createAuthKey({ tags: ["tag:k8s"] });
    const loginRes = await fetch(`${ts.url}/_control/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ authKey: spent.key, hostname: "someone-else" }),
    });
    assert.equal(loginRes.status, 200);
    await createStandalone("ts-web", { authKey: spent.key, hostname: "web" });
    await sim.waitIdle();

    const failed = await state("ts-web-0");
    assert.equal(failed["reissue_authkey"], spent.key);
    assert.equal(failed["device_id"], undefined);
    const pod = await core.readNamespacedPod({ name: "ts-web-0", namespace: NS });
    assert.equal(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason, "CrashLoopBackOff");
    assert.match(sim.pods()[0]!.loginError ?? "", /already been used/);

    const fresh = ts.createAuthKey({ tags: ["tag:k8s"] });
    const secret = await core.readNamespacedSecret({ name: "ts-web-0", namespace: NS });
    secret.data = {
      ...secret.data,
      "cap-107.hujson": Buffer.from(tailscaledConfig({ authKey: fresh.key, hostname: "web" })).toString(
        "base64",
      ),
    };
    await core.replaceNamespacedSecret({ name: "ts-web-0", namespace: NS, body: secret });
    await sim.waitIdle();
    const ok = await state("ts-web-0");
    assert.equal(ok["reissue_authkey"], undefined);
    assert.equal(ok["device_fqdn"], `web.${ts.tailnetDomain}.`);
    const readyPod = await core.readNamespacedPod({ name: "ts-web-0", namespace: NS });
    assert.equal(readyPod.status?.conditions?.find((c) => c.type === "Ready")?.status, "True");
  });

  it("gives the second device with the same hostname a -1 name, as control does", async () => {
    await start();
    await createStandalone("ts-a", { authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key, hostname: "app" });
    await sim.waitIdle();
    await createStandalone("ts-b", { authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key, hostname: "app" });
    await sim.waitIdle();
    assert.equal((await state("ts-a-0"))["device_fqdn"], `app.${ts.tailnetDomain}.`);
    assert.equal((await state("ts-b-0"))["device_fqdn"], `app-1.${ts.tailnetDomain}.`);
  });

  it("issues a staging certificate for an L7 proxy with the staging ACME directory, and keeps its account", async () => {
    await start();
    await createStandalone("ts-ui", {
      authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key,
      hostname: "ui",
      l7: true,
      staging: true,
    });
    await sim.waitIdle();
    const fqdn = `ui.${ts.tailnetDomain}`;
    const s = await state("ts-ui-0");
    assert.equal(s["https_endpoint"], fqdn);
    const cert = new X509Certificate(s[`${fqdn}.crt`]!);
    assert.ok(cert.verify(getCa("staging").publicKey));
    assert.match(cert.issuer, /\(STAGING\)/);
    assert.equal(cert.subjectAltName, `DNS:${fqdn}`);
    assert.match(s[`${fqdn}.key`]!, /BEGIN PRIVATE KEY/);
    assert.match(s["acme-account.key.pem"]!, /BEGIN PRIVATE KEY/);
    const [issuance] = sim.issuances();
    assert.equal(issuance?.environment, "staging");
    assert.equal(issuance?.renewal, false);
    assert.equal(issuance?.tailnetDomain, ts.tailnetDomain);

    // A restart (template change) keeps the state: same device, no new certificate.
    const sts = await apps.readNamespacedStatefulSet({ name: "ts-ui", namespace: NS });
    const uid = (await core.readNamespacedPod({ name: "ts-ui-0", namespace: NS })).metadata?.uid;
    sts.spec!.template.metadata!.annotations = { restartedAt: "1" };
    await apps.replaceNamespacedStatefulSet({ name: "ts-ui", namespace: NS, body: sts });
    await sim.waitIdle();
    const restarted = await core.readNamespacedPod({ name: "ts-ui-0", namespace: NS });
    assert.notEqual(restarted.metadata?.uid, uid);
    assert.equal((await state("ts-ui-0"))["pod_uid"], restarted.metadata?.uid);
    assert.equal(ts.devices().length, 1);
    assert.equal(sim.issuances().length, 1);
  });

  it("answers no-https and issues nothing when HTTPS is disabled; on-demand issues only when asked", async () => {
    ts.setHttpsEnabled(false);
    await start({ certIssuance: "on-demand" });
    await createStandalone("ts-x", {
      authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key,
      hostname: "x",
      l7: true,
    });
    await sim.waitIdle();
    assert.equal((await state("ts-x-0"))["https_endpoint"], "no-https");
    await assert.rejects(sim.requestCertificate("ts-x-0"), /HTTPS is not enabled/);
    ts.setHttpsEnabled(true);
    await sim.waitIdle();
    const fqdn = `x.${ts.tailnetDomain}`;
    assert.equal((await state("ts-x-0"))["https_endpoint"], fqdn);
    assert.equal((await state("ts-x-0"))[`${fqdn}.crt`], undefined, "on-demand: nothing until requested");
    sim.setFault({ cert: { kind: "rate-limited" } });
    await assert.rejects(sim.requestCertificate("ts-x-0"), /rate-limited/);
    await sim.requestCertificate("ts-x-0");
    const cert = new X509Certificate((await state("ts-x-0"))[`${fqdn}.crt`]!);
    assert.ok(cert.verify(getCa("production").publicKey));
    assert.deepEqual(
      sim.issuances().map((i) => [i.ok, i.error]),
      [
        [false, "rate-limited"],
        [true, undefined],
      ],
    );
  });

  it("scales pods with replicas and deletes them with the StatefulSet", async () => {
    await start();
    await createStandalone("ts-s", { authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key, hostname: "s" });
    await sim.waitIdle();
    assert.deepEqual(
      sim.pods().map((p) => p.name),
      ["ts-s-0"],
    );
    const sts = await apps.readNamespacedStatefulSet({ name: "ts-s", namespace: NS });
    sts.spec!.replicas = 0;
    await apps.replaceNamespacedStatefulSet({ name: "ts-s", namespace: NS, body: sts });
    await sim.waitIdle();
    assert.deepEqual(sim.pods(), []);
    const scaled = await apps.readNamespacedStatefulSet({ name: "ts-s", namespace: NS });
    assert.equal(scaled.status?.replicas, 0);
    assert.equal(ts.devices()[0]?.connectedToControl, false, "the device went offline with its pod");

    scaled.spec!.replicas = 1;
    await apps.replaceNamespacedStatefulSet({ name: "ts-s", namespace: NS, body: scaled });
    await sim.waitIdle();
    assert.equal(ts.devices().length, 1, "a restarted pod with state relogs in as the same device");
    assert.equal(ts.devices()[0]?.connectedToControl, true);
    await apps.deleteNamespacedStatefulSet({ name: "ts-s", namespace: NS });
    await sim.waitIdle();
    assert.deepEqual((await core.listNamespacedPod({ namespace: NS })).items, []);
  });

  it("a deleted proxy Pod runs on until its containers shut down; the replacement starts only after it is gone", async () => {
    // A slow shutdown (25 s before timeScale, inside the default 30 s grace) keeps the terminating Pod
    // observable.
    await start({ delays: { shutdownMs: 25_000 } });
    await createStandalone("ts-g", { authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key, hostname: "g" });
    await sim.waitIdle();
    const old = await core.readNamespacedPod({ name: "ts-g-0", namespace: NS });
    const oldUid = old.metadata!.uid!;
    const seen: string[] = [];
    let duringGrace: { running: boolean; online: boolean } | undefined;
    let replaced!: () => void;
    const replacement = new Promise<void>((r) => {
      replaced = r;
    });
    const watch = await new k8s.Watch(kcOf(kube)).watch(
      `/api/v1/namespaces/${NS}/pods`,
      { resourceVersion: old.metadata?.resourceVersion, fieldSelector: "metadata.name=ts-g-0" },
      (type, obj: k8s.V1Pod) => {
        const who = obj.metadata?.uid === oldUid ? "old" : "new";
        const terminating = obj.metadata?.deletionTimestamp ? " terminating" : "";
        const label = `${type} ${who}${terminating}`;
        if (seen[seen.length - 1] !== label) seen.push(label);
        if (terminating && who === "old" && !duringGrace) {
          duringGrace = {
            running: sim.pods().some((p) => p.uid === oldUid),
            online: ts.devices()[0]?.connectedToControl === true,
          };
        }
        if (type === "ADDED" && who === "new") replaced();
      },
      () => {},
    );
    try {
      // kubectl delete pod: no gracePeriodSeconds, so the Pod's terminationGracePeriodSeconds applies.
      const del = await core.deleteNamespacedPod({ name: "ts-g-0", namespace: NS });
      assert.equal(del.metadata?.deletionGracePeriodSeconds, 30);
      await replacement;
    } finally {
      watch.abort();
    }
    assert.deepEqual(duringGrace, { running: true, online: true }, "tailscaled runs on after SIGTERM");
    assert.deepEqual(seen.slice(0, 3), ["MODIFIED old terminating", "DELETED old terminating", "ADDED new"]);
    await sim.waitIdle();
    assert.deepEqual(
      sim.pods().map((p) => p.uid === oldUid),
      [false],
    );
    assert.equal(ts.devices().length, 1, "the replacement logs in again as the same device");
    assert.equal(ts.devices()[0]?.connectedToControl, true);
  });

  it("a changed mounted Secret reaches the container only at a kubelet sync (a Pod update syncs it)", async () => {
    // Real time: the periodic sync is 60-90 s away, so only the Pod update below can sync the Pod.
    await start({ timeScale: 1, delays: { podStartMs: 0, loginMs: 0, certMs: 0 } });
    const pg = "sync-pg";
    const apiKey = ts.createApiKey();
    await fetch(`${ts.url}/api/v2/tailnet/-/vip-services/svc:web`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "svc:web", ports: ["tcp:443"], tags: ["tag:k8s"] }),
    });
    const config = (advertise?: string[]) =>
      tailscaledConfig({
        authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key,
        hostname: `${pg}-0`,
        advertiseServices: advertise,
      });
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: `${pg}-0-config`, namespace: NS },
        stringData: { "cap-106.hujson": config() },
      },
    });
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: `${pg}-ingress-config`, namespace: NS } },
    });
    for (const o of proxyRbac(pg, [`${pg}-0`, `${pg}-0-config`])) kube.seed(o);
    kube.seed({ apiVersion: "v1", kind: "Secret", metadata: { name: `${pg}-0`, namespace: NS } });
    await apps.createNamespacedStatefulSet({ namespace: NS, body: proxyGroupStatefulSet(pg, 1) });
    await sim.waitIdle();
    assert.deepEqual(sim.pods()[0]!.advertisedServices, []);

    const updated = await core.replaceNamespacedSecret({
      name: `${pg}-0-config`,
      namespace: NS,
      body: {
        metadata: { name: `${pg}-0-config`, namespace: NS },
        stringData: { "cap-106.hujson": config(["svc:web"]) },
      },
    });
    await sim.watchesSynced();
    const before = sim.pods()[0]!;
    assert.notEqual(before.mounted[`secret:${pg}-0-config`], updated.metadata?.resourceVersion);
    assert.deepEqual(before.advertisedServices, [], "nothing is visible before the Pod's next sync");

    // A Pod update (here an annotation) makes the kubelet sync the Pod, and with it its volumes.
    await core.patchNamespacedPod(
      { name: `${pg}-0`, namespace: NS, body: { metadata: { annotations: { touched: "1" } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await sim.waitIdle();
    const after = sim.pods()[0]!;
    assert.equal(after.mounted[`secret:${pg}-0-config`], updated.metadata?.resourceVersion);
    assert.deepEqual(after.advertisedServices, ["svc:web"]);
  });

  it("a standalone layer-3 proxy with TS_DEST_IP and an ingress proxy config: the config's rules join TS_DEST_IP's once mounted; one it cannot install crash-loops", async () => {
    await start({ podCIDRs: DUAL_STACK_POD_CIDRS });
    await createStandalone("l3", {
      authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key,
      hostname: "l3",
      destIP: "10.96.0.40",
      extraEnv: [
        { name: "POD_IPS", valueFrom: { fieldRef: { fieldPath: "status.podIPs" } } },
        { name: "TS_INGRESS_PROXIES_CONFIG_PATH", value: "/etc/tsconfig/$(POD_NAME)/dnat-config.json" },
      ],
    });
    await sim.waitIdle();
    let pod = sim.pods()[0]!;
    const [v4, v6] = pod.deviceIps!;
    assert.deepEqual(pod.forwards, [{ tailnetIP: v4, destination: "10.96.0.40" }]);
    assert.equal(pod.ingressConfigs, undefined, "no such file: no config");
    assert.equal((await state("l3-0"))["ingress-config.json"], undefined, "and no status to record");

    // The mounted copy changes at the Pod's next kubelet sync (the timing has its own test above).
    const writeConfig = async (mapping: Record<string, string>) => {
      const config = JSON.stringify({ l3: { IPv6Mapping: mapping } });
      await core.patchNamespacedSecret(
        { name: "l3-0", namespace: NS, body: { stringData: { "dnat-config.json": config } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      await sim.waitIdle();
    };
    await writeConfig({ TailscaleServiceIP: v6!, ClusterIP: "fd00:10:96::40" });
    pod = sim.pods()[0]!;
    assert.deepEqual(pod.forwards, [
      { tailnetIP: v4, destination: "10.96.0.40" },
      { tailnetIP: v6, destination: "fd00:10:96::40" },
    ]);
    const [podV4, podV6] = (
      await core.readNamespacedPod({ name: "l3-0", namespace: NS })
    ).status!.podIPs!.map((p) => p.ip);
    assert.equal(
      (await state("l3-0"))["ingress-config.json"],
      `{"configs":{"l3":{"IPv6Mapping":{"TailscaleServiceIP":"${v6}","ClusterIP":"fd00:10:96::40"}}},"podIPv4":"${podV4}","podIPv6":"${podV6}"}`,
      "the status as Go marshals it, with POD_IPS",
    );

    await writeConfig({ TailscaleServiceIP: v6!, ClusterIP: "10.96.0.41" });
    pod = sim.pods()[0]!;
    assert.equal(pod.waitingReason, "CrashLoopBackOff");
    assert.match(pod.loginError ?? "", /^ingress proxy failed: .*error adding ingress rule for l3/);
  });

  it("runs an HA ProxyGroup: advertises configured services, applies L3 config, replica 0 issues the cert", async () => {
    await start();
    const pg = "ingress-pg";
    const svcName = "svc:web";
    const fqdn = `web.${ts.tailnetDomain}`;
    const apiKey = ts.createApiKey();
    const put = await fetch(`${ts.url}/api/v2/tailnet/-/vip-services/${svcName}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: svcName, ports: ["tcp:443"], tags: ["tag:k8s"] }),
    });
    const service = (await put.json()) as any;
    for (let i = 0; i < 2; i++) {
      await core.createNamespacedSecret({
        namespace: NS,
        body: {
          metadata: { name: `${pg}-${i}-config`, namespace: NS },
          stringData: {
            "cap-106.hujson": tailscaledConfig({
              authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key,
              hostname: `${pg}-${i}`,
            }),
          },
        },
      });
    }
    const serve = {
      Services: {
        [svcName]: {
          TCP: { "443": { HTTPS: true } },
          Web: { [`${fqdn}:443`]: { Handlers: { "/": { Proxy: "http://10.96.0.30:80/" } } } },
        },
      },
    };
    const ingress = {
      "svc:db": { IPv4Mapping: { TailscaleServiceIP: "100.100.0.9", ClusterIP: "10.96.0.31" } },
    };
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: { name: `${pg}-ingress-config`, namespace: NS },
        binaryData: {
          "serve-config.json": Buffer.from(JSON.stringify(serve)).toString("base64"),
          "ingress-config.json": Buffer.from(JSON.stringify(ingress)).toString("base64"),
        },
      },
    });
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: {
          name: fqdn,
          namespace: NS,
          labels: { "tailscale.com/secret-type": "certs", "tailscale.com/proxy-group": pg },
        },
        type: "kubernetes.io/tls",
        data: { "tls.crt": "", "tls.key": "" },
      },
    });
    // The operator creates the replicas' state Secrets and a Role naming them (and the cert Secret).
    const names = [0, 1].flatMap((i) => [`${pg}-${i}`, `${pg}-${i}-config`]);
    for (const o of proxyRbac(pg, [...names, fqdn])) kube.seed(o);
    for (const i of [0, 1])
      kube.seed({ apiVersion: "v1", kind: "Secret", metadata: { name: `${pg}-${i}`, namespace: NS } });
    await apps.createNamespacedStatefulSet({
      namespace: NS,
      body: proxyGroupStatefulSet(pg, 2, { staging: true }),
    });
    await sim.waitIdle();
    assert.deepEqual(
      sim.pods().map((p) => p.advertisedServices),
      [[], []],
    );
    const s0 = await state(`${pg}-0`);
    const applied = JSON.parse(s0["ingress-config.json"]!);
    assert.deepEqual(applied.configs, ingress);
    assert.equal(applied.podIPv4, sim.pods()[0]!.podIP);

    // The operator's advertise step: AdvertiseServices in every replica's config.
    for (let i = 0; i < 2; i++) {
      const secret = await core.readNamespacedSecret({ name: `${pg}-${i}-config`, namespace: NS });
      const config = JSON.parse(decode(secret)["cap-106.hujson"]!);
      delete config.AuthKey;
      config.AdvertiseServices = [svcName];
      secret.data = { "cap-106.hujson": Buffer.from(JSON.stringify(config)).toString("base64") };
      await core.replaceNamespacedSecret({ name: `${pg}-${i}-config`, namespace: NS, body: secret });
    }
    await sim.waitIdle();
    const pods = sim.pods();
    assert.deepEqual(
      pods.map((p) => [p.name, p.advertisedServices, p.certShareMode]),
      [
        [`${pg}-0`, [svcName], "rw"],
        [`${pg}-1`, [svcName], "ro"],
      ],
    );
    const tls = decode(await core.readNamespacedSecret({ name: fqdn, namespace: NS }));
    const cert = new X509Certificate(tls["tls.crt"]!);
    assert.ok(cert.verify(getCa("staging").publicKey));
    assert.equal(cert.subjectAltName, `DNS:${fqdn}`);
    assert.deepEqual(pods[1]!.certificates, [fqdn], "replica 1 reads the shared cert");
    assert.equal(sim.issuances().length, 1);
    const prefs = JSON.parse(s0[s0["_current-profile"]!]!);
    assert.equal(prefs.Config.NodeID, pods[0]!.deviceId);
    const profile1 = await state(`${pg}-1`);
    assert.deepEqual(JSON.parse(profile1[profile1["_current-profile"]!]!).AdvertiseServices, [svcName]);
    const hosts = await fetch(`${ts.url}/api/v2/tailnet/-/services/${svcName}/devices`, {
      headers: { Authorization: `Bearer ${apiKey}` },
    });
    assert.equal(((await hosts.json()) as any).hosts.length, 2);
    assert.match(service.addrs[0], /^100\.100\./);

    // Unadvertise on replica 1 only.
    const secret = await core.readNamespacedSecret({ name: `${pg}-1-config`, namespace: NS });
    const config = JSON.parse(decode(secret)["cap-106.hujson"]!);
    config.AdvertiseServices = [];
    secret.data = { "cap-106.hujson": Buffer.from(JSON.stringify(config)).toString("base64") };
    await core.replaceNamespacedSecret({ name: `${pg}-1-config`, namespace: NS, body: secret });
    await sim.waitIdle();
    assert.deepEqual(
      sim.pods().map((p) => p.advertisedServices),
      [[svcName], []],
    );
  });

  it("shared ACME account: the writer keeps its key in the shared Secret, as its ServiceAccount; a tailnet client reaches it on the listed ports", async () => {
    await start();
    const pg = "edge";
    const fqdn = `web.${ts.tailnetDomain}`;
    const apiKey = ts.createApiKey();
    await fetch(`${ts.url}/api/v2/tailnet/-/vip-services/svc:web`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${apiKey}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "svc:web", ports: ["tcp:443", "tcp:80"], tags: ["tag:k8s"] }),
    });
    const handlers = { "/": { Proxy: "http://10.96.0.30:80/" } };
    const serve = {
      Services: {
        "svc:web": {
          TCP: { "443": { HTTPS: true }, "80": { HTTP: true }, "8080": { HTTP: true } },
          Web: { [`${fqdn}:443`]: { Handlers: handlers }, [`${fqdn}:80`]: { Handlers: handlers } },
        },
      },
    };
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: `${pg}-0-config`, namespace: NS },
        stringData: {
          "cap-106.hujson": tailscaledConfig({
            authKey: ts.createAuthKey({ tags: ["tag:k8s"] }).key,
            hostname: `${pg}-0`,
            advertiseServices: ["svc:web"],
          }),
        },
      },
    });
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: { name: `${pg}-ingress-config`, namespace: NS },
        binaryData: { "serve-config.json": Buffer.from(JSON.stringify(serve)).toString("base64") },
      },
    });
    kube.seed({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: fqdn, namespace: NS, labels: { "tailscale.com/secret-type": "certs" } },
      type: "kubernetes.io/tls",
      data: { "tls.crt": "", "tls.key": "" },
    });
    // A Role without the shared Secret, as a ProxyGroup not sharing the account has.
    const own = [`${pg}-0`, `${pg}-0-config`, fqdn];
    for (const o of proxyRbac(pg, own)) kube.seed(o);
    kube.seed({ apiVersion: "v1", kind: "Secret", metadata: { name: `${pg}-0`, namespace: NS } });
    await apps.createNamespacedStatefulSet({
      namespace: NS,
      body: proxyGroupStatefulSet(pg, 1, { sharedAcme: true }),
    });
    await sim.waitIdle();
    const pod = () => sim.pods()[0]!;
    // The Role does not grant it: the order fails as the API server refuses the ServiceAccount, and
    // tailscaled keeps running.
    assert.equal(pod().ready, true);
    assert.match(pod().certError ?? "", /"tailscale-acme-accounts" is forbidden/);
    // Granted, but absent: the store never creates it.
    kube.remove("rbac.authorization.k8s.io/v1", "Role", NS, pg);
    kube.seed(proxyRbac(pg, [...own, "tailscale-acme-accounts"])[1]);
    await assert.rejects(sim.requestCertificate(`${pg}-0`, NS, fqdn), /tailscale-acme-accounts.*not found/);
    // Created (empty, as the ProxyGroup's `up` creates it): the new key goes into the shared field, and
    // the certificate records its fingerprint (raw bytes).
    kube.seed({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "tailscale-acme-accounts", namespace: NS },
    });
    await sim.requestCertificate(`${pg}-0`, NS, fqdn);
    const shared = decode(
      await core.readNamespacedSecret({ name: "tailscale-acme-accounts", namespace: NS }),
    );
    const key = shared["_default.acme-account.key.pem"]!;
    assert.match(key, /BEGIN PRIVATE KEY/);
    const tls = await core.readNamespacedSecret({ name: fqdn, namespace: NS });
    assert.equal(
      Buffer.from(tls.data!["acme-account-fingerprint"]!, "base64").toString("hex"),
      createHash("sha256").update(key).digest("hex"),
    );
    assert.equal((await state(`${pg}-0`))["acme-account.key.pem"], undefined);

    // Through the tailnet: the listed ports reach the serve config's listeners, others do not.
    assert.deepEqual(await sim.tailnetRequest(`http://${fqdn}/a?b=1`), {
      servedBy: `${NS}/${pg}-0`,
      proxiedTo: "http://10.96.0.30:80/a?b=1",
    });
    assert.equal((await sim.tailnetRequest(`https://${fqdn}/`)).proxiedTo, "http://10.96.0.30:80/");
    await assert.rejects(
      sim.tailnetRequest(`http://${fqdn}:8080/`),
      /lists ports \[tcp:443, tcp:80\], not tcp:8080/,
    );
    await assert.rejects(sim.tailnetRequest(`http://nothing.${ts.tailnetDomain}/`), /no such host/);
  });

  it("relogs in with the auth key when the device was deleted out of band (and fails if the key is spent)", async () => {
    await start();
    const key = ts.createAuthKey({ tags: ["tag:k8s"] });
    await createStandalone("ts-o", { authKey: key.key, hostname: "o" });
    await sim.waitIdle();
    ts.deleteDeviceOutOfBand(ts.devices()[0]!.nodeId);
    await sim.waitIdle();
    const s = await state("ts-o-0");
    assert.equal(s["reissue_authkey"], key.key);
    assert.equal(sim.pods()[0]?.waitingReason, "CrashLoopBackOff");
  });
});
