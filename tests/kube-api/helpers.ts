/** Shared setup for the kube-api server tests: a server, typed clients and Status parsing. */
import * as k8s from "@kubernetes/client-node";
import { type KubeApiServer, startKubeApiServer } from "../support/kube-api";

/** A started server with client-node clients bound to it. */
export interface Harness {
  server: KubeApiServer;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  rbac: k8s.RbacAuthorizationV1Api;
  objects: k8s.KubernetesObjectApi;
}

/** Starts a server and builds clients from its kubeconfig. */
export async function harness(opts?: Parameters<typeof startKubeApiServer>[0]): Promise<Harness> {
  const server = await startKubeApiServer(opts);
  const kc = new k8s.KubeConfig();
  kc.loadFromString(server.kubeconfig());
  return {
    server,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
    objects: k8s.KubernetesObjectApi.makeApiClient(kc),
  };
}

/** Awaits a rejected client-node call and returns its code and parsed Status body. */
export async function failure(p: Promise<unknown>): Promise<{ code: number; status: any }> {
  try {
    await p;
  } catch (e: any) {
    if (typeof e?.code !== "number") throw e;
    return { code: e.code, status: typeof e.body === "string" ? JSON.parse(e.body) : e.body };
  }
  throw new Error("expected the request to fail, but it succeeded");
}

/** Content-type options for typed patch calls. */
export const merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
/** Strategic merge patch content type. */
export const strategic = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch);
/** Server-side apply content type. */
export const apply = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply);

/** A raw request with the server's token (for headers and bodies client-node would rewrite), over TLS. */
export async function raw(
  server: KubeApiServer,
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
  token: string | null = server.token,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any; text: string }> {
  const headers: Record<string, string> = { "Content-Type": contentType, ...extraHeaders };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  const res = await server.fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** A minimal valid StatefulSet body. */
export function statefulSet(name: string, extra: Record<string, unknown> = {}): k8s.V1StatefulSet {
  return {
    metadata: { name },
    spec: {
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "proxy", image: "tailscale/tailscale:v1.80.0" }] },
      },
      ...extra,
    },
  };
}

/**
 * Resolves once `name` of the given collection path is gone (DELETED event, or absent on start).
 * Uses client-node's Watch so tests await the event instead of sleeping.
 */
export async function waitGone(
  h: Harness,
  collectionPath: string,
  name: string,
  exists: () => boolean,
): Promise<void> {
  const watch = new k8s.Watch(h.kc);
  await new Promise<void>((resolve, reject) => {
    let ctrl: AbortController | undefined;
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      ctrl?.abort();
      if (err) reject(err);
      else resolve();
    };
    watch
      .watch(
        collectionPath,
        { fieldSelector: `metadata.name=${name}` },
        (type) => {
          if (type === "DELETED") finish();
        },
        (err) => {
          if (!settled && err) finish(err);
        },
      )
      .then((c) => {
        ctrl = c;
        if (settled) c.abort();
        else if (!exists()) finish();
      })
      .catch(finish);
  });
}
