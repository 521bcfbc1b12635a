/**
 * Stand-ins for the `kubernetes` provider's Namespace, Service and Deployment, backed by a Kubernetes API through
 * `@kubernetes/client-node`'s KubernetesObjectApi, so programs that mix @pulumi/kubernetes resources with dynamic
 * resources run without the real provider plugin.
 *
 * Simplifications (compared with pulumi-kubernetes): updates are JSON merge patches from the old inputs to the new
 * ones, not server-side apply; there is no await logic beyond "the object exists" (create) and "the object is gone"
 * (delete); replacement triggers are kind/apiVersion, metadata.name, metadata.namespace, a Service's spec.clusterIP and a
 * Deployment's selector.
 */
import * as k8s from "@kubernetes/client-node";
import { deepEqual, isPlainObject, jsonClean, type PropertyMap } from "./marshal";
import type { BuiltinContext, BuiltinProvider, Builtins } from "./types";

interface KindInfo {
  apiVersion: string;
  kind: string;
  namespaced: boolean;
  replaceOn: string[][];
}

const KINDS: Record<string, KindInfo> = {
  "kubernetes:core/v1:Namespace": {
    apiVersion: "v1",
    kind: "Namespace",
    namespaced: false,
    replaceOn: [["metadata", "name"]],
  },
  "kubernetes:core/v1:Service": {
    apiVersion: "v1",
    kind: "Service",
    namespaced: true,
    // pulumi-kubernetes replaces a Service whose spec.clusterIP changes (the API server refuses the
    // change: the field is immutable); pulumi/pulumi-kubernetes provider/pkg/provider/forceNew.go lists
    // `.spec.clusterIP` for Service.
    replaceOn: [
      ["metadata", "name"],
      ["metadata", "namespace"],
      ["spec", "clusterIP"],
    ],
  },
  "kubernetes:apps/v1:Deployment": {
    apiVersion: "apps/v1",
    kind: "Deployment",
    namespaced: true,
    replaceOn: [
      ["metadata", "name"],
      ["metadata", "namespace"],
      ["spec", "selector"],
    ],
  },
};

function get(v: unknown, p: string[]): unknown {
  let cur = v;
  for (const k of p) cur = isPlainObject(cur) ? cur[k] : undefined;
  return cur;
}

/** RFC 7386 merge patch turning `from` into `to`. */
function mergePatch(from: PropertyMap, to: PropertyMap): PropertyMap {
  const patch: PropertyMap = {};
  for (const [k, v] of Object.entries(to)) {
    if (deepEqual(from[k], v)) continue;
    patch[k] = isPlainObject(from[k]) && isPlainObject(v) ? mergePatch(from[k] as PropertyMap, v) : v;
  }
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  return patch;
}

function describeApiError(e: unknown, what: string): Error {
  const err = e as { code?: number; body?: unknown; message?: string };
  if (typeof err?.code === "number") {
    let msg = "";
    try {
      const body = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
      msg = (body as { message?: string })?.message ?? "";
    } catch {
      msg = String(err.body ?? "");
    }
    const out = new Error(`${what}: HTTP ${err.code}${msg ? `: ${msg}` : ""}`) as Error & { code: number };
    out.code = err.code;
    return out;
  }
  return new Error(`${what}: ${err?.message ?? String(e)}`);
}

function randomSuffix(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < 8; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

function kindProvider(info: KindInfo, defaultKubeconfig: string): BuiltinProvider {
  const clientFor = (ctx: BuiltinContext): k8s.KubernetesObjectApi => {
    const kc = new k8s.KubeConfig();
    const fromProvider = ctx.providerInputs?.kubeconfig;
    kc.loadFromString(typeof fromProvider === "string" && fromProvider ? fromProvider : defaultKubeconfig);
    return k8s.KubernetesObjectApi.makeApiClient(kc);
  };
  const ref = (inputs: PropertyMap) => {
    const md = (inputs.metadata ?? {}) as PropertyMap;
    const metadata: { name: string; namespace?: string } = { name: String(md.name) };
    if (info.namespaced) metadata.namespace = String(md.namespace ?? "default");
    return { apiVersion: info.apiVersion, kind: info.kind, metadata };
  };
  const idOf = (inputs: PropertyMap) => {
    const r = ref(inputs);
    return r.metadata.namespace ? `${r.metadata.namespace}/${r.metadata.name}` : r.metadata.name;
  };
  const readLive = async (ctx: BuiltinContext, inputs: PropertyMap): Promise<PropertyMap | undefined> => {
    try {
      return jsonClean((await clientFor(ctx).read(ref(inputs))) as unknown as PropertyMap);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw describeApiError(e, `reading ${info.kind} ${idOf(inputs)}`);
    }
  };
  return {
    async check(olds, news, ctx) {
      const inputs: PropertyMap = { ...news, apiVersion: info.apiVersion, kind: info.kind };
      delete inputs.status;
      const md: PropertyMap = { ...((news.metadata as PropertyMap) ?? {}) };
      if (!md.name) {
        const oldName = get(olds, ["metadata", "name"]);
        md.name = typeof oldName === "string" ? oldName : `${ctx.name}-${randomSuffix()}`;
      }
      inputs.metadata = md;
      return { inputs };
    },
    async diff(_id, _olds, news, ctx) {
      const olds = ctx.oldInputs ?? {};
      const diffs = Object.keys({ ...olds, ...news })
        .filter((k) => !deepEqual(olds[k], news[k]))
        .sort();
      const replaces = info.replaceOn
        .filter((p) => !deepEqual(get(olds, p), get(news, p)))
        .map((p) => p.join("."));
      return { changes: diffs.length > 0, diffs, replaces };
    },
    async create(inputs, ctx) {
      const body = { ...inputs, metadata: { ...(inputs.metadata as PropertyMap), ...ref(inputs).metadata } };
      try {
        await clientFor(ctx).create(body as k8s.KubernetesObject);
      } catch (e) {
        throw describeApiError(e, `creating ${info.kind} ${idOf(inputs)}`);
      }
      const live = await readLive(ctx, inputs);
      if (!live) throw new Error(`${info.kind} ${idOf(inputs)} was created but could not be read back`);
      return { id: idOf(inputs), outs: live };
    },
    async read(id, props, ctx) {
      const live = await readLive(ctx, props);
      return live ? { id, props: live } : { id: "" };
    },
    async update(_id, _olds, news, ctx) {
      const target = ref(news);
      const diff = mergePatch(ctx.oldInputs ?? {}, news);
      const patch = {
        ...diff,
        ...target,
        metadata: { ...((diff.metadata as PropertyMap) ?? {}), ...target.metadata },
      };
      try {
        await clientFor(ctx).patch(
          patch as k8s.KubernetesObject,
          undefined,
          undefined,
          "pulumi-kubernetes",
          undefined,
          k8s.PatchStrategy.MergePatch,
        );
      } catch (e) {
        throw describeApiError(e, `updating ${info.kind} ${idOf(news)}`);
      }
      const live = await readLive(ctx, news);
      if (!live) throw new Error(`${info.kind} ${idOf(news)} disappeared during update`);
      return { outs: live };
    },
    async delete(_id, props, ctx) {
      try {
        await clientFor(ctx).delete(ref(props));
      } catch (e) {
        if ((e as { code?: number }).code === 404) return;
        throw describeApiError(e, `deleting ${info.kind} ${idOf(props)}`);
      }
      // pulumi-kubernetes waits until the object is really gone (finalizers, namespace termination).
      const deadline = Date.now() + (ctx.timeoutSeconds || 60) * 1000;
      while (await readLive(ctx, props)) {
        if (Date.now() > deadline)
          throw new Error(`${info.kind} ${idOf(props)} was still present after its delete timeout`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/**
 * Builtin providers for `kubernetes:core/v1:Namespace`, `kubernetes:core/v1:Service` and
 * `kubernetes:apps/v1:Deployment` talking to the cluster in `kubeconfigYaml` (or to an explicit
 * `pulumi:providers:kubernetes` resource's `kubeconfig` input when the resource uses one).
 */
export function kubernetesBuiltins(kubeconfigYaml: string): Builtins {
  const out: Builtins = {};
  for (const [type, info] of Object.entries(KINDS)) out[type] = kindProvider(info, kubeconfigYaml);
  return out;
}
