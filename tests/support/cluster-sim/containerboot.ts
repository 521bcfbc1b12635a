/**
 * The Kubernetes calls a proxy Pod's containerboot and tailscaled make, as the Pod's ServiceAccount
 * with the token the kubelet got for it (TokenRequest bound to the Pod), in the order the real ones
 * make them (`tailscale/tailscale@de9ec7ee`):
 *
 * - at start, kubeclient.New checks with SelfSubjectAccessReviews whether it may `get`, `create`
 *   and `patch` Events (only when POD_NAME and POD_UID are set; `kube/kubeclient/client.go:425-456`),
 *   then containerboot checks `get` and `update` on its state Secret (both required), then `patch` and
 *   `create` (`client.go:389-414`, `cmd/containerboot/settings.go:366-389`);
 * - containerboot's own keys (device_id, device_fqdn, device_ips, https_endpoint, pod_uid, capver,
 *   reissue_authkey) are written with strategic merge patches (`cmd/containerboot/kube.go:63-161`);
 * - tailscaled's state store (ipn/store/kubestore `store_kube.go:437-520`) reads the Secret and writes
 *   with a JSON patch (an update when `patch` is not allowed on the state Secret), then records an
 *   Event on the Pod (get, then create or a JSON patch of its count; `client.go:325-373`) when the
 *   Event permissions were granted;
 * - an HA replica that reads shared certificates lists the certificate Secrets at start (non-fatal
 *   when refused) and gets a domain's Secret on a miss, a 403 meaning "not issued here" (`store_kube.go:380-420, 645-660`).
 */
import * as k8s from "@kubernetes/client-node";
import { ApiClients } from "./clients";

type Json = any;

/** Why a proxy container did not start: the kubelet could not mount its token, or containerboot exited. */
export interface StartFailure {
  waitingReason: "ContainerCreating" | "CrashLoopBackOff";
  message: string;
}

function code(err: unknown): number | undefined {
  const e = err as { code?: number };
  return e?.code;
}

function statusMessage(err: unknown): string {
  const body = (err as { body?: unknown })?.body;
  try {
    return JSON.parse(String(body)).message ?? String(err);
  } catch {
    return String((err as Error)?.message ?? err);
  }
}

const JSON_PATCH = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.JsonPatch);
const SMP = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);
/** containerboot's field manager (`cmd/containerboot/kube.go`). */
const FIELD_MANAGER = "tailscale-container";

/** A proxy container's Kubernetes client. */
export class ContainerKube {
  canPatch = false;
  canCreate = false;
  hasEventsPerms = false;
  /** Calls that counted as writes (for the simulator's idle detection). */
  writes = 0;
  private readonly clients: ApiClients;
  private readonly core: k8s.CoreV1Api;
  private readonly authz: k8s.AuthorizationV1Api;

  private constructor(
    kc: k8s.KubeConfig,
    readonly namespace: string,
    readonly podName: string,
    readonly podUid: string,
    readonly stateSecret: string,
  ) {
    this.clients = new ApiClients(kc);
    this.core = this.clients.api(k8s.CoreV1Api);
    this.authz = this.clients.api(k8s.AuthorizationV1Api);
  }

  /** Closes the container's connections (its Pod is gone). */
  close(): void {
    this.clients.close();
  }

  /**
   * The kubelet's TokenRequest for the Pod's ServiceAccount (with the simulator's own identity), then
   * containerboot's start-up checks. Resolves to the client or to why the container does not start.
   */
  static async start(o: {
    admin: k8s.CoreV1Api;
    base: k8s.KubeConfig;
    pod: k8s.V1Pod;
    env: Record<string, string>;
    stateSecret: string;
  }): Promise<ContainerKube | StartFailure> {
    const ns = o.pod.metadata!.namespace!;
    const podName = o.pod.metadata!.name!;
    const uid = o.pod.metadata!.uid!;
    const sa = o.pod.spec?.serviceAccountName || "default";
    let token: string;
    try {
      const tr = await o.admin.createNamespacedServiceAccountToken({
        name: sa,
        namespace: ns,
        body: {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenRequest",
          spec: {
            audiences: [],
            expirationSeconds: 3607,
            boundObjectRef: { apiVersion: "v1", kind: "Pod", name: podName, uid },
          },
        },
      });
      token = tr.status!.token;
    } catch (err) {
      return { waitingReason: "ContainerCreating", message: `failed to fetch token: ${statusMessage(err)}` };
    }
    const cluster = o.base.getCurrentCluster()!;
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [
        { name: "in-cluster", server: cluster.server, caData: cluster.caData, skipTLSVerify: false },
      ],
      users: [{ name: `system:serviceaccount:${ns}:${sa}`, token }],
      contexts: [
        {
          name: "in-cluster",
          cluster: "in-cluster",
          user: `system:serviceaccount:${ns}:${sa}`,
          namespace: ns,
        },
      ],
      currentContext: "in-cluster",
    });
    const c = new ContainerKube(kc, ns, podName, o.env.POD_UID ?? "", o.stateSecret);
    if (o.env.POD_NAME && o.env.POD_UID) {
      c.hasEventsPerms = true;
      for (const verb of ["get", "create", "patch"]) {
        if (!(await c.can(verb, "events"))) {
          c.hasEventsPerms = false;
          break;
        }
      }
    }
    const missing: string[] = [];
    for (const verb of ["get", "update"]) {
      if (!(await c.can(verb, "secrets", o.stateSecret))) {
        missing.push(`missing ${verb} permission on secret "${o.stateSecret}"`);
      }
    }
    if (missing.length > 0) {
      c.close();
      return {
        waitingReason: "CrashLoopBackOff",
        message: `some Kubernetes permissions are missing, please check your RBAC configuration: ${missing.join("\n")}`,
      };
    }
    c.canPatch = await c.can("patch", "secrets", o.stateSecret);
    c.canCreate = await c.can("create", "secrets", o.stateSecret);
    try {
      await c.core.readNamespacedSecret({ name: o.stateSecret, namespace: ns });
    } catch (err) {
      if (code(err) !== 404) {
        c.close();
        return {
          waitingReason: "CrashLoopBackOff",
          message: `getting Tailscale state Secret ${o.stateSecret}: ${statusMessage(err)}`,
        };
      }
      if (!c.canCreate) {
        c.close();
        return {
          waitingReason: "CrashLoopBackOff",
          message:
            `tailscale state Secret ${o.stateSecret} does not exist and we don't have permissions to create it. ` +
            "If you intend to store tailscale state elsewhere than a Kubernetes Secret, you can explicitly set TS_KUBE_SECRET env var to an empty string. " +
            "Else ensure that RBAC is set up that allows the service account associated with this installation to create Secrets.",
        };
      }
    }
    return c;
  }

  private async can(verb: string, resource: string, name?: string): Promise<boolean> {
    const r = await this.authz.createSelfSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SelfSubjectAccessReview",
        spec: {
          resourceAttributes: { namespace: this.namespace, verb, resource, ...(name ? { name } : {}) },
        },
      },
    });
    return r.status?.allowed === true;
  }

  /** GetSecret; undefined when it does not exist. */
  async getSecret(name: string): Promise<Json | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name, namespace: this.namespace });
    } catch (err) {
      if (code(err) === 404) return undefined;
      throw err;
    }
  }

  /** containerboot's StrategicMergePatchSecret of its state Secret (undefined values delete keys). */
  async patchOwnKeys(changes: Record<string, string | undefined>): Promise<void> {
    const data: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(changes))
      data[k] = v === undefined ? null : Buffer.from(v).toString("base64");
    await this.core.patchNamespacedSecret(
      {
        name: this.stateSecret,
        namespace: this.namespace,
        fieldManager: FIELD_MANAGER,
        body: { metadata: { name: this.stateSecret, namespace: this.namespace }, data },
      },
      SMP,
    );
    this.writes++;
  }

  /** containerboot's GET and JSON patch of one key (ingress services' status). */
  async jsonPatchKey(key: string, value: string): Promise<void> {
    const secret = await this.getSecret(this.stateSecret);
    const ops = secret?.data
      ? [{ op: "add", path: `/data/${key}`, value: Buffer.from(value).toString("base64") }]
      : [{ op: "add", path: "/data", value: { [key]: Buffer.from(value).toString("base64") } }];
    await this.core.patchNamespacedSecret(
      { name: this.stateSecret, namespace: this.namespace, body: ops },
      JSON_PATCH,
    );
    this.writes++;
  }

  /**
   * The state store's write of `changes` to a Secret (the state Secret, a certificate Secret, the
   * shared ACME account Secret): get, then create (state Secret only, with `create`), JSON patch, or
   * update without `patch`; then the state-updated Event. Returns false when nothing changed.
   */
  async storeWrite(
    secretName: string,
    changes: Record<string, string | Buffer | undefined>,
  ): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        const changed = await this.storeWriteOnce(secretName, changes);
        if (changed)
          await this.event("Normal", "TailscaleStateUpdated", "Successfully updated tailscaled state Secret");
        return changed;
      } catch (err) {
        if (code(err) === 409 && attempt < 8) continue;
        await this.event("Warning", "TailscaleStateUpdateFailed", statusMessage(err)).catch(() => undefined);
        throw err;
      }
    }
  }

  private async storeWriteOnce(
    secretName: string,
    changes: Record<string, string | Buffer | undefined>,
  ): Promise<boolean> {
    const secret = await this.getSecret(secretName);
    // Values are bytes: text as UTF-8, a Buffer as is (e.g. the raw `acme-account-fingerprint`).
    const enc = (v: string | Buffer) =>
      (typeof v === "string" ? Buffer.from(v, "utf8") : v).toString("base64");
    if (!secret) {
      if (secretName !== this.stateSecret || !this.canCreate) {
        throw Object.assign(
          new Error(`error getting Secret ${secretName}: secrets "${secretName}" not found`),
          {
            code: 404,
          },
        );
      }
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries(changes)) if (v !== undefined) data[k] = enc(v);
      await this.core.createNamespacedSecret({
        namespace: this.namespace,
        body: { apiVersion: "v1", kind: "Secret", metadata: { name: secretName }, data },
      });
      this.writes++;
      return true;
    }
    const current: Record<string, string> = secret.data ?? {};
    const todo = Object.entries(changes).filter(([k, v]) =>
      v === undefined ? k in current : current[k] !== enc(v),
    );
    if (todo.length === 0) return false;
    const canPatch = secretName === this.stateSecret ? this.canPatch : true;
    if (canPatch) {
      const ops = todo.map(([k, v]) =>
        v === undefined
          ? { op: "remove", path: `/data/${k}` }
          : { op: "add", path: `/data/${k}`, value: enc(v) },
      );
      const body =
        Object.keys(current).length === 0
          ? [
              {
                op: "add",
                path: "/data",
                value: Object.fromEntries(
                  todo.filter(([, v]) => v !== undefined).map(([k, v]) => [k, enc(v!)]),
                ),
              },
            ]
          : ops;
      await this.core.patchNamespacedSecret(
        { name: secretName, namespace: this.namespace, body },
        JSON_PATCH,
      );
    } else {
      const data = { ...current };
      for (const [k, v] of todo) {
        if (v === undefined) delete data[k];
        else data[k] = enc(v);
      }
      await this.core.replaceNamespacedSecret({
        name: secretName,
        namespace: this.namespace,
        body: { ...secret, data },
      });
    }
    this.writes++;
    return true;
  }

  /** The state store's load at start: get the state Secret, then the state-loaded Event. */
  async loadState(): Promise<void> {
    await this.getSecret(this.stateSecret);
    await this.event("Normal", "TailscaleStateLoaded", "Successfully loaded tailscaled state from Secret");
  }

  /** kubestore loadCerts: list the certificate Secrets by label; a refusal is logged, not fatal. */
  async listCertSecrets(labelSelector: string): Promise<Json[] | string> {
    try {
      return (await this.core.listNamespacedSecret({ namespace: this.namespace, labelSelector })).items;
    } catch (err) {
      return `error listing TLS Secrets: ${statusMessage(err)}`;
    }
  }

  /** A certificate Secret on a cache miss: undefined when absent or not ours to read (403). */
  async readCertSecret(name: string): Promise<Json | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name, namespace: this.namespace });
    } catch (err) {
      if (code(err) === 404 || code(err) === 403) return undefined;
      throw err;
    }
  }

  /** kubeclient.Event: one Event per reason on the Pod, its count bumped on repeats. */
  async event(type: string, reason: string, message: string): Promise<void> {
    if (!this.hasEventsPerms) return;
    const name = `${this.podName}.${this.podUid}.${reason.toLowerCase()}`;
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    let existing: Json | undefined;
    try {
      existing = await this.core.readNamespacedEvent({ name, namespace: this.namespace });
    } catch (err) {
      if (code(err) !== 404) throw err;
    }
    if (!existing) {
      await this.core.createNamespacedEvent({
        namespace: this.namespace,
        body: {
          metadata: { name, namespace: this.namespace },
          type,
          reason,
          message,
          source: { component: "tailscale-container" },
          involvedObject: {
            apiVersion: "v1",
            kind: "Pod",
            name: this.podName,
            namespace: this.namespace,
            uid: this.podUid,
          },
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } else {
      await this.core.patchNamespacedEvent(
        {
          name,
          namespace: this.namespace,
          body: [
            { op: "replace", path: "/count", value: (existing.count ?? 1) + 1 },
            { op: "replace", path: "/lastTimestamp", value: now.toISOString().replace(/\.\d{3}Z$/, "Z") },
          ],
        },
        JSON_PATCH,
      );
    }
  }
}
