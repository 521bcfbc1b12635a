/**
 * One interface over the two kinds of provider the harness drives: the real dynamic-provider host (gRPC) and
 * in-process builtins. Both take and return secret-free values; the engine strips and re-annotates around them.
 */
import type { PropertyMap } from "./marshal";
import { jsonClean } from "./marshal";
import {
  type DynamicProviderHost,
  type ProviderDiff,
  ResourceInitError,
  urnName,
  urnType,
} from "./providerHost";
import type { BuiltinContext, BuiltinProvider } from "./types";

/** Extra information for a provider call. */
export interface CallInfo {
  /** The request's `timeout` field, in seconds (0 = none). */
  timeoutSeconds: number;
  ignoreChanges: string[];
}

/** A provider as the step executor sees it. */
export interface ProviderAdapter {
  check(
    urn: string,
    olds: PropertyMap,
    news: PropertyMap,
  ): Promise<{ inputs: PropertyMap; failures: { property: string; reason: string }[] }>;
  diff(
    urn: string,
    id: string,
    oldOutputs: PropertyMap,
    newInputs: PropertyMap,
    oldInputs: PropertyMap,
    info: CallInfo,
  ): Promise<ProviderDiff>;
  create(urn: string, inputs: PropertyMap, info: CallInfo): Promise<{ id: string; properties: PropertyMap }>;
  read(
    urn: string,
    id: string,
    outputs: PropertyMap,
    inputs: PropertyMap | undefined,
    info: CallInfo,
  ): Promise<{ id: string; properties: PropertyMap; inputs?: PropertyMap }>;
  update(
    urn: string,
    id: string,
    oldOutputs: PropertyMap,
    newInputs: PropertyMap,
    oldInputs: PropertyMap,
    info: CallInfo,
  ): Promise<PropertyMap>;
  delete(
    urn: string,
    id: string,
    outputs: PropertyMap,
    oldInputs: PropertyMap,
    info: CallInfo,
  ): Promise<void>;
}

/** Adapts a configured dynamic-provider host. */
export function dynamicAdapter(host: DynamicProviderHost): ProviderAdapter {
  return {
    check: (urn, olds, news) => host.check(urn, olds, news),
    diff: (urn, id, oo, ni, oi, info) => host.diff(urn, id, oo, ni, oi, info.ignoreChanges),
    create: (urn, inputs, info) => host.create(urn, inputs, info.timeoutSeconds),
    read: (urn, id, outputs, inputs) => host.read(urn, id, outputs, inputs),
    update: (urn, id, oo, ni, oi, info) =>
      host.update(urn, id, oo, ni, oi, info.timeoutSeconds, info.ignoreChanges),
    delete: (urn, id, outputs, oi, info) => host.delete(urn, id, outputs, oi, info.timeoutSeconds),
  };
}

/**
 * Adapts an in-process builtin provider "configured" with its provider resource's inputs (secret-free), giving it the
 * same error and JSON conventions as the host.
 */
export function builtinAdapter(
  p: BuiltinProvider,
  config: Record<string, string>,
  providerInputs: PropertyMap | undefined,
): ProviderAdapter {
  const ctx = (urn: string, info?: CallInfo, oldInputs?: PropertyMap): BuiltinContext => ({
    urn,
    type: urnType(urn),
    name: urnName(urn),
    config,
    providerInputs,
    timeoutSeconds: info?.timeoutSeconds,
    oldInputs,
  });
  const initError = (e: unknown): unknown => {
    const err = e as { id?: string; properties?: PropertyMap; reasons?: string[]; message?: string };
    if (err && typeof err === "object" && err.id) {
      return new ResourceInitError(
        err.message ?? String(e),
        err.id,
        jsonClean(err.properties ?? {}),
        err.reasons ?? [],
      );
    }
    return e;
  };
  return {
    async check(urn, olds, news) {
      if (!p.check) return { inputs: news, failures: [] };
      const r = await p.check(olds, news, ctx(urn));
      return { inputs: jsonClean(r.inputs ?? news), failures: r.failures ?? [] };
    },
    async diff(urn, id, oldOutputs, newInputs, oldInputs, info) {
      if (!p.diff)
        return { changes: "unknown", replaces: [], stables: [], diffs: [], deleteBeforeReplace: false };
      const r = await p.diff(id, oldOutputs, newInputs, ctx(urn, info, oldInputs));
      return {
        changes: r.changes === true ? "some" : r.changes === false ? "none" : "unknown",
        replaces: r.replaces ?? [],
        stables: [],
        diffs: r.diffs ?? [],
        deleteBeforeReplace: !!r.deleteBeforeReplace,
        detailedDiff: r.detailedDiff as ProviderDiff["detailedDiff"],
      };
    },
    async create(urn, inputs, info) {
      try {
        const r = await p.create(inputs, ctx(urn, info));
        return { id: r.id, properties: jsonClean(r.outs ?? {}) };
      } catch (e) {
        throw initError(e);
      }
    },
    async read(urn, id, outputs, inputs, info) {
      if (!p.read) return { id, properties: outputs, inputs };
      const r = await p.read(id, outputs, ctx(urn, info, inputs));
      return {
        id: r.id ?? "",
        properties: jsonClean(r.props ?? {}),
        inputs: r.inputs ? jsonClean(r.inputs) : undefined,
      };
    },
    async update(urn, id, oldOutputs, newInputs, oldInputs, info) {
      if (!p.update) return newInputs;
      try {
        const r = await p.update(id, oldOutputs, newInputs, ctx(urn, info, oldInputs));
        return jsonClean(r.outs ?? {});
      } catch (e) {
        throw initError(e);
      }
    },
    async delete(urn, id, outputs, oldInputs, info) {
      await p.delete(id, outputs, ctx(urn, info, oldInputs));
    },
  };
}
