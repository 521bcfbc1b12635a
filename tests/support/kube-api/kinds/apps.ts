/** StatefulSet strategy (pkg/apis/apps/v1/defaults.go, pkg/apis/apps/validation, pkg/registry/apps/statefulset). */
import { type FieldError, forbiddenField, invalidField, notSupportedField, requiredField } from "../errors";
import { matchLabelSelector } from "../selectors";
import { checkEnum, dns1123SubdomainErrors, validateLabels } from "../validation";
import { defaultPodSpec, validatePodSpec } from "./podspec";
import type { KindStrategy } from "./types";

const MUTABLE_SPEC = [
  "replicas",
  "ordinals",
  "template",
  "updateStrategy",
  "revisionHistoryLimit",
  "persistentVolumeClaimRetentionPolicy",
  "minReadySeconds",
];

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

/** StatefulSet: defaults per apps/v1, selector must match template labels, most of spec frozen. */
export const statefulSetStrategy: KindStrategy = {
  nameValidator: dns1123SubdomainErrors,
  statusSubresource: true,
  generation: true,
  defaults(obj) {
    const spec = obj.spec;
    if (!spec || typeof spec !== "object") return;
    spec.podManagementPolicy ??= "OrderedReady";
    spec.updateStrategy ??= {};
    spec.updateStrategy.type ??= "RollingUpdate";
    if (spec.updateStrategy.type === "RollingUpdate") {
      spec.updateStrategy.rollingUpdate ??= {};
      spec.updateStrategy.rollingUpdate.partition ??= 0;
    }
    spec.persistentVolumeClaimRetentionPolicy ??= {};
    spec.persistentVolumeClaimRetentionPolicy.whenDeleted ??= "Retain";
    spec.persistentVolumeClaimRetentionPolicy.whenScaled ??= "Retain";
    spec.replicas ??= 1;
    spec.revisionHistoryLimit ??= 10;
    spec.template ??= {};
    spec.template.metadata ??= {};
    defaultPodSpec(spec.template.spec);
    for (const pvc of Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []) {
      if (!pvc || typeof pvc !== "object") continue;
      pvc.apiVersion ??= "v1";
      pvc.kind ??= "PersistentVolumeClaim";
      pvc.spec ??= {};
      pvc.spec.volumeMode ??= "Filesystem";
      pvc.status ??= { phase: "Pending" };
    }
  },
  initialStatus() {
    return { replicas: 0, availableReplicas: 0 };
  },
  specOf(obj) {
    return obj.spec;
  },
  validate(obj) {
    const errs: FieldError[] = [];
    const spec = obj.spec ?? {};
    errs.push(
      ...checkEnum("spec.podManagementPolicy", spec.podManagementPolicy, ["OrderedReady", "Parallel"]),
    );
    errs.push(
      ...checkEnum("spec.updateStrategy.type", spec.updateStrategy?.type, ["RollingUpdate", "OnDelete"]),
    );
    if (typeof spec.replicas === "number" && spec.replicas < 0) {
      errs.push(invalidField("spec.replicas", spec.replicas, "must be greater than or equal to 0"));
    }
    if (typeof spec.revisionHistoryLimit === "number" && spec.revisionHistoryLimit < 0) {
      errs.push(
        invalidField(
          "spec.revisionHistoryLimit",
          spec.revisionHistoryLimit,
          "must be greater than or equal to 0",
        ),
      );
    }
    for (const f of ["whenDeleted", "whenScaled"]) {
      errs.push(
        ...checkEnum(
          `spec.persistentVolumeClaimRetentionPolicy.${f}`,
          spec.persistentVolumeClaimRetentionPolicy?.[f],
          ["Retain", "Delete"],
        ),
      );
    }
    const labels = spec.template?.metadata?.labels ?? {};
    if (!spec.selector) {
      errs.push(requiredField("spec.selector"));
    } else {
      const sel = spec.selector;
      const empty = !Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length;
      if (empty) errs.push(invalidField("spec.selector", sel, "empty selector is invalid for statefulset"));
      else if (!matchLabelSelector(sel, labels)) {
        errs.push(
          invalidField(
            "spec.template.metadata.labels",
            labels,
            "`selector` does not match template `labels`",
          ),
        );
      }
    }
    errs.push(...validateLabels(spec.template?.metadata?.labels, "spec.template.metadata.labels"));
    const vctNames = (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : [])
      .map((p: any) => p?.metadata?.name)
      .filter(Boolean);
    (Array.isArray(spec.volumeClaimTemplates) ? spec.volumeClaimTemplates : []).forEach(
      (p: any, i: number) => {
        if (!p?.metadata?.name) errs.push(requiredField(`spec.volumeClaimTemplates[${i}].metadata.name`));
        if (!Array.isArray(p?.spec?.accessModes) || p.spec.accessModes.length === 0) {
          errs.push(requiredField(`spec.volumeClaimTemplates[${i}].spec.accessModes`));
        }
      },
    );
    const podSpec = spec.template?.spec;
    if (!podSpec) errs.push(requiredField("spec.template.spec.containers"));
    else {
      errs.push(...validatePodSpec(podSpec, "spec.template.spec", { extraVolumes: vctNames }));
      if (podSpec.restartPolicy !== undefined && podSpec.restartPolicy !== "Always") {
        errs.push(notSupportedField("spec.template.spec.restartPolicy", podSpec.restartPolicy, ["Always"]));
      }
      if (podSpec.activeDeadlineSeconds !== undefined) {
        errs.push(
          forbiddenField(
            "spec.template.spec.activeDeadlineSeconds",
            "activeDeadlineSeconds in StatefulSet is not Supported",
          ),
        );
      }
    }
    return errs;
  },
  validateUpdate(obj, old) {
    const strip = (spec: any) => {
      const copy: Record<string, unknown> = { ...(spec ?? {}) };
      for (const k of MUTABLE_SPEC) delete copy[k];
      return stable(copy);
    };
    if (strip(obj.spec) !== strip(old.spec)) {
      return [
        forbiddenField(
          "spec",
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      ];
    }
    return [];
  },
  validateStatus(obj) {
    const errs: FieldError[] = [];
    for (const f of [
      "replicas",
      "readyReplicas",
      "currentReplicas",
      "updatedReplicas",
      "availableReplicas",
    ]) {
      const v = obj.status?.[f];
      if (typeof v === "number" && v < 0)
        errs.push(invalidField(`status.${f}`, v, "must be greater than or equal to 0"));
    }
    return errs;
  },
};
