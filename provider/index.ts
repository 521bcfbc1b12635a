/**
 * The implementation behind the SDK's provider shim: `require("pulumi-tailnet/provider")` inside
 * Pulumi's dynamic-provider host. Every call names the resource kind and is delegated to that
 * kind's lifecycle in `resources/`, whose inputs are declared in `plan/schema/`.
 *
 * docs/architecture.md describes the layers and how to add an input; docs/GLOSSARY.md defines the
 * names used throughout (kind, mode, standalone, HA, proxy type, effect, …).
 *
 * This module path is public API: state written by every released version requires it by name.
 */
import type * as pulumi from "@pulumi/pulumi";
import { configure as storeProviderConfig } from "./credentials";
import {
  type Diff,
  diffCertificateBudget,
  diffProxyGroup,
  diffTailnetIngress,
  diffTailnetService,
} from "./plan/diff";
import { OBJECT_LABELS, OBJECT_LABELS_NOW } from "./plan/labels";
import { CERTIFICATE_BUDGET } from "./plan/schema/certificateBudget";
import type { KindSchema } from "./plan/schema/field";
import { PROXY_GROUP } from "./plan/schema/proxyGroup";
import { TAILNET_INGRESS } from "./plan/schema/tailnetIngress";
import { TAILNET_SERVICE } from "./plan/schema/tailnetService";
import { inStep } from "./progress";
import { certificateBudget } from "./resources/certificateBudget";
import { type Lifecycle, recordOnly } from "./resources/lifecycle";
import { proxyGroup } from "./resources/proxyGroup";
import { tailnetIngress } from "./resources/tailnetIngress";
import { tailnetService } from "./resources/tailnetService";

const lifecycles: Record<string, Lifecycle> = {
  CertificateBudget: certificateBudget,
  ProxyGroup: proxyGroup,
  TailnetIngress: tailnetIngress,
  TailnetService: tailnetService,
};

/** Each kind's declaration and diff, for the updates that only record (resources/lifecycle.ts `recordOnly`). */
const declarations: Record<string, { schema: KindSchema<any, any>; diff: Diff }> = {
  CertificateBudget: { schema: CERTIFICATE_BUDGET, diff: diffCertificateBudget },
  ProxyGroup: { schema: PROXY_GROUP, diff: diffProxyGroup },
  TailnetIngress: { schema: TAILNET_INGRESS, diff: diffTailnetIngress },
  TailnetService: { schema: TAILNET_SERVICE, diff: diffTailnetService },
};

function lifecycleOf(kind: string): Lifecycle {
  const lifecycle = lifecycles[kind];
  if (!lifecycle) {
    throw new Error(
      `pulumi-tailnet has no resource kind "${kind}": the state was written by a newer version of pulumi-tailnet; install that version`,
    );
  }
  return lifecycle;
}

/** Stores the stack configuration for credential lookup; never throws, never does I/O. */
export function configure(_kind: string, config: { get(key: string): string | undefined }): void {
  storeProviderConfig(config);
}

export function check(kind: string, olds: any, news: any): Promise<pulumi.dynamic.CheckResult> {
  return lifecycleOf(kind).check(olds ?? {}, news ?? {});
}

export function diff(kind: string, id: string, olds: any, news: any): Promise<pulumi.dynamic.DiffResult> {
  return lifecycleOf(kind).diff(id, olds ?? {}, news ?? {});
}

/** The resource a step is for, as the SDK names it (progress.ts: the host passes no URN). */
function urnOf(props: any): string | undefined {
  return typeof props?.resourceUrn === "string" ? props.resourceUrn : undefined;
}

/**
 * Outputs of a create or update that wrote the resource's Kubernetes objects, with how it labelled them
 * (plan/labels.ts `OBJECT_LABELS`): the diff relabels objects an earlier version wrote.
 */
function labelled<T extends { outs?: any }>(result: T): T {
  if (Array.isArray(result.outs?.kubernetesObjects)) result.outs[OBJECT_LABELS] = OBJECT_LABELS_NOW;
  return result;
}

export async function create(kind: string, inputs: any): Promise<pulumi.dynamic.CreateResult> {
  return labelled(await inStep(urnOf(inputs), () => lifecycleOf(kind).create(inputs)));
}

/** A refresh reads the objects, it does not relabel them: what the last create or update recorded stays. */
export async function read(kind: string, id: string, props: any): Promise<pulumi.dynamic.ReadResult> {
  const result = await lifecycleOf(kind).read(id, props ?? {});
  if (result.props && props?.[OBJECT_LABELS] !== undefined && result.props[OBJECT_LABELS] === undefined)
    result.props[OBJECT_LABELS] = props[OBJECT_LABELS];
  return result;
}

/**
 * An update whose every change is only recorded (a new customTimeouts) makes no API call; any other goes
 * to the kind's lifecycle.
 */
export async function update(
  kind: string,
  id: string,
  olds: any,
  news: any,
): Promise<pulumi.dynamic.UpdateResult> {
  const lifecycle = lifecycleOf(kind);
  const declared = declarations[kind];
  const recorded = declared && recordOnly(declared.schema, declared.diff, olds ?? {}, news ?? {});
  if (recorded) return { outs: recorded };
  return labelled(await inStep(urnOf(news), () => lifecycle.update(id, olds ?? {}, news ?? {})));
}

/** `delete` is a reserved word for a named export; the shim calls this. */
export function remove(kind: string, id: string, props: any): Promise<void> {
  return inStep(urnOf(props), () => lifecycleOf(kind).delete(id, props ?? {}));
}
