// Proxy objects shaped like the ones the Tailscale operator (and so our product) creates,
// per its builders (tailscale/tailscale@de9ec7ee cmd/k8s-operator/sts.go and proxygroup_specs.go).
import type * as k8s from "@kubernetes/client-node";

export const NS = "tailscale";
export const LE_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory";

type Json = any;

/** The tailscaled config file the operator writes (ipn.ConfigVAlpha). */
export function tailscaledConfig(o: {
  authKey?: string;
  hostname: string;
  advertiseServices?: string[];
}): string {
  const c: Json = { Version: "alpha0", Locked: false };
  if (o.authKey) c.AuthKey = o.authKey;
  c.Hostname = o.hostname;
  c.acceptDNS = false;
  c.acceptRoutes = false;
  if (o.advertiseServices) c.AdvertiseServices = o.advertiseServices;
  return JSON.stringify(c);
}

/** Standalone L7 serve config (`${TS_CERT_DOMAIN}` substituted by containerboot). */
export const STANDALONE_SERVE_CONFIG = JSON.stringify({
  TCP: { "443": { HTTPS: true } },
  Web: { ["$" + "{TS_CERT_DOMAIN}:443"]: { Handlers: { "/": { Proxy: "http://10.96.0.20:80/" } } } },
});

/** Config + state Secret of a standalone proxy. */
export function standaloneSecret(
  name: string,
  o: { authKey?: string; hostname: string; serve?: boolean },
): Json {
  const stringData: Record<string, string> = {
    "cap-95.hujson": tailscaledConfig({ hostname: "stale-old-capver" }),
    "cap-107.hujson": tailscaledConfig({ authKey: o.authKey, hostname: o.hostname }),
  };
  if (o.serve) stringData["serve-config"] = STANDALONE_SERVE_CONFIG;
  return { apiVersion: "v1", kind: "Secret", metadata: { name, namespace: NS }, stringData };
}

/** A standalone proxy StatefulSet (one replica, config Secret `<sts>-0`). */
export function standaloneStatefulSet(
  name: string,
  o: { l7?: boolean; destIP?: string; staging?: boolean; replicas?: number; extraEnv?: Json[] } = {},
): k8s.V1StatefulSet {
  const secret = `${name}-0`;
  const env: Json[] = [
    { name: "TS_USERSPACE", value: o.l7 ? "true" : "false" },
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
    { name: "TS_KUBE_SECRET", value: "$(POD_NAME)" },
    { name: "TS_EXPERIMENTAL_SERVICE_AUTO_ADVERTISEMENT", value: "false" },
    { name: "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", value: "/etc/tsconfig/$(POD_NAME)" },
    { name: "TS_DEBUG_ACME_FORCE_RENEWAL", value: "true" },
  ];
  if (o.destIP) env.push({ name: "TS_DEST_IP", value: o.destIP });
  if (o.l7) env.push({ name: "TS_SERVE_CONFIG", value: "/etc/tailscaled/$(POD_NAME)/serve-config" });
  env.push({
    name: "TS_INTERNAL_APP",
    value: o.l7 ? "k8s-operator-ingress-resource" : "k8s-operator-ingress-proxy",
  });
  if (o.staging) env.push({ name: "TS_DEBUG_ACME_DIRECTORY_URL", value: LE_STAGING });
  env.push(...(o.extraEnv ?? []));
  const volumes: Json[] = [{ name: "tailscaledconfig-0", secret: { secretName: secret } }];
  const mounts: Json[] = [
    { name: "tailscaledconfig-0", readOnly: true, mountPath: `/etc/tsconfig/${secret}` },
  ];
  if (o.l7) {
    volumes.push({
      name: "serve-config-0",
      secret: { secretName: secret, items: [{ key: "serve-config", path: "serve-config" }] },
    });
    mounts.push({ name: "serve-config-0", readOnly: true, mountPath: `/etc/tailscaled/${secret}` });
  }
  const labels = { "tailscale.com/managed": "true", app: `uid-${name}` };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: NS, labels },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: { app: `uid-${name}` } },
      serviceName: name,
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: "proxies",
          containers: [
            {
              name: "tailscale",
              image: "tailscale/tailscale:stable",
              imagePullPolicy: "Always",
              env,
              volumeMounts: mounts,
              resources: { requests: { cpu: "1m", memory: "1Mi" } },
            },
          ],
          volumes,
        },
      },
    },
  };
}

/**
 * An ingress ProxyGroup StatefulSet with N replicas (docs/operator-parity.md, "ProxyGroup"); with
 * `sharedAcme`, the operator's env of a ProxyGroup sharing the ACME account.
 */
export function proxyGroupStatefulSet(
  pg: string,
  replicas: number,
  o: { staging?: boolean; sharedAcme?: boolean } = {},
): k8s.V1StatefulSet {
  const labels = { "tailscale.com/managed": "true", "tailscale.com/parent-resource": pg };
  const volumes: Json[] = [];
  const mounts: Json[] = [];
  for (let i = 0; i < replicas; i++) {
    volumes.push({ name: `tailscaledconfig-${i}`, secret: { secretName: `${pg}-${i}-config` } });
    mounts.push({ name: `tailscaledconfig-${i}`, readOnly: true, mountPath: `/etc/tsconfig/${pg}-${i}` });
  }
  volumes.push({ name: `${pg}-ingress-config`, configMap: { name: `${pg}-ingress-config` } });
  mounts.push({ name: `${pg}-ingress-config`, readOnly: true, mountPath: "/etc/proxies" });
  const env: Json[] = [
    { name: "TS_USERSPACE", value: "false" },
    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    // The operator's: the ingress proxy records the Pod's IPs in its status (proxygroup_specs.go:170).
    { name: "POD_IPS", valueFrom: { fieldRef: { fieldPath: "status.podIPs" } } },
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
    { name: "POD_UID", valueFrom: { fieldRef: { fieldPath: "metadata.uid" } } },
    { name: "TS_KUBE_SECRET", value: "$(POD_NAME)" },
    { name: "TS_EXPERIMENTAL_SERVICE_AUTO_ADVERTISEMENT", value: "false" },
    { name: "TS_STATE", value: "kube:$(POD_NAME)" },
    { name: "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", value: "/etc/tsconfig/$(POD_NAME)" },
    { name: "TS_INTERNAL_APP", value: "k8s-operator-proxygroup-ingress" },
    { name: "TS_INGRESS_PROXIES_CONFIG_PATH", value: "/etc/proxies/ingress-config.json" },
    { name: "TS_SERVE_CONFIG", value: "/etc/proxies/serve-config.json" },
    { name: "TS_EXPERIMENTAL_CERT_SHARE", value: "true" },
    ...(o.sharedAcme
      ? [
          { name: "TS_ACME_ACCOUNT_SECRET_NAME", value: "tailscale-acme-accounts" },
          { name: "TS_ACME_ACCOUNT_FIELD", value: "_default.acme-account.key.pem" },
        ]
      : [{ name: "TS_DEBUG_ACME_FORCE_RENEWAL", value: "true" }]),
  ];
  if (o.staging) env.push({ name: "TS_DEBUG_ACME_DIRECTORY_URL", value: LE_STAGING });
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: pg, namespace: NS, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: pg,
          containers: [
            {
              name: "tailscale",
              image: "tailscale/tailscale:stable",
              securityContext: { privileged: true },
              env,
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** Reads a Secret's data as text. */
export function decode(secret: k8s.V1Secret): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
}

/**
 * The ServiceAccount, Role and RoleBinding the operator gives proxies, so that the simulated
 * containerboot (which acts as its Pod's ServiceAccount) has its permissions: the standalone `proxies`
 * Role (`secrets` all verbs, `events` create/patch/get, docs/operator-parity.md) or a ProxyGroup's
 * (list/watch on Secrets, get/patch/update on its replicas' Secrets and the certificate Secrets it
 * serves, events; docs/operator-parity.md).
 */
export function proxyRbac(sa: string, secrets?: string[]): Json[] {
  const rules: Json[] = secrets
    ? [
        { apiGroups: [""], resources: ["secrets"], verbs: ["list", "watch"] },
        {
          apiGroups: [""],
          resources: ["secrets"],
          verbs: ["get", "patch", "update"],
          resourceNames: secrets,
        },
      ]
    : [
        {
          apiGroups: [""],
          resources: ["secrets"],
          verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        },
      ];
  rules.push({ apiGroups: [""], resources: ["events"], verbs: ["create", "patch", "get"] });
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa, namespace: NS } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: sa, namespace: NS },
      rules,
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: sa, namespace: NS },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: sa },
      subjects: [{ kind: "ServiceAccount", name: sa, namespace: NS }],
    },
  ];
}
