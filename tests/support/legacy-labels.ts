/**
 * Objects as a pulumi-tailnet from before the label rename wrote them (provider/plan/labels.ts): the
 * operator's label keys with `tailscale.com/managed: "true"`, on the object, its selector and its Pod
 * template.
 */
import { legacyLabels } from "../../provider/plan/labels";

/** The parts of a Kubernetes object read here. */
export interface LabelledObject {
  kind: string;
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  type?: string;
  spec?: Record<string, unknown>;
}

/** `o` as an earlier version labelled it. */
export function asWrittenBefore<T extends { metadata?: LabelledObject["metadata"]; spec?: unknown }>(
  o: T,
): T {
  const metadata = { ...o.metadata, labels: legacyLabels(o.metadata?.labels ?? {}) };
  const objSpec = o.spec as Record<string, unknown> | undefined;
  const template = (objSpec?.template as { metadata?: LabelledObject["metadata"] } | undefined)?.metadata;
  if (!template) return { ...o, metadata };
  const selector = objSpec?.selector as { matchLabels: Record<string, string> };
  const spec = {
    ...objSpec,
    selector: { matchLabels: legacyLabels(selector.matchLabels) },
    template: {
      ...(objSpec?.template as object),
      metadata: { ...template, labels: legacyLabels(template.labels ?? {}) },
    },
  };
  return { ...o, metadata, spec };
}
