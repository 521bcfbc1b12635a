/**
 * Input checks for ProxyGroup, with failures naming the property. Messages reuse the Kubernetes/CRD
 * and Tailscale texts (via `../validate`) so they can be searched for. Every check tolerates the
 * preview unknown sentinel anywhere: an unknown value is skipped, never reported.
 *
 * Stricter than the operator, on purpose:
 * - `name` is limited to 52 characters (a longer StatefulSet name breaks its pods'
 *   `controller-revision-hash` label);
 * - the device hostnames `<hostnamePrefix|name>-<i>` must stay valid DNS labels for every ordinal
 *   (the CRD lets a 62-character prefix through, which overflows once `-<i>` is appended).
 */
import type { CheckFailure } from "../errors";
import type { ProxyGroupInput } from "../inputs";
import { MAX_STATEFULSET_NAME } from "../names";
import {
  checkProxyClass,
  checkTag,
  dns1123LabelErrors,
  goQuote,
  isUnknown,
  unsupportedValue,
  validLabel,
} from "../validate";
import { DEFAULT_REPLICAS } from "./common";

/** The CRD pattern of `spec.hostnamePrefix`. */
export const HOSTNAME_PREFIX_PATTERN = /^[a-z0-9][a-z0-9-]{0,61}$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Validate the inputs of a ProxyGroup; an empty list means valid. */
export function checkProxyGroup(news: ProxyGroupInput): CheckFailure[] {
  if (!isPlainObject(news)) return [{ property: "", reason: "inputs must be an object" }];
  const failures: CheckFailure[] = [];
  const push = (property: string, reason: string) => failures.push({ property, reason });

  if (news.ownerId === undefined || news.ownerId === "") {
    push(
      "ownerId",
      "is required: the SDK sets it to <project>/<stack>/<resource name>; construct the resource through the SDK",
    );
  } else if (!isUnknown(news.ownerId) && typeof news.ownerId !== "string")
    push("ownerId", "must be a string");

  let nameOk = false;
  if (news.name === undefined || news.name === "") {
    push("name", "is required: the ProxyGroup's name, which names its StatefulSet and Secrets");
  } else if (!isUnknown(news.name)) {
    if (typeof news.name !== "string") push("name", "must be a string");
    else {
      const errs = dns1123LabelErrors(news.name);
      for (const e of errs) push("name", e);
      if (errs.length === 0 && news.name.length > MAX_STATEFULSET_NAME) {
        push(
          "name",
          `must be no more than ${MAX_STATEFULSET_NAME} characters: it names the StatefulSet, whose pods carry a controller-revision-hash label "<name>-<hash>" limited to 63 characters`,
        );
      }
      nameOk = failures.every((f) => f.property !== "name");
    }
  }

  if (news.namespace === undefined || news.namespace === "") {
    push("namespace", "is required: the namespace of the ProxyGroup's objects");
  } else if (!isUnknown(news.namespace)) {
    if (typeof news.namespace !== "string") push("namespace", "must be a string");
    else for (const e of dns1123LabelErrors(news.namespace)) push("namespace", e);
  }

  if (news.type === undefined) push("type", 'is required: "ingress"');
  else if (!isUnknown(news.type) && news.type !== "ingress")
    push("type", unsupportedValue(news.type, ["ingress"]));

  let replicasOk = news.replicas === undefined;
  if (news.replicas !== undefined && !isUnknown(news.replicas)) {
    if (typeof news.replicas !== "number" || !Number.isInteger(news.replicas)) {
      push("replicas", `must be a whole number, got ${JSON.stringify(news.replicas)}`);
    } else if (news.replicas < 0) {
      push("replicas", `should be greater than or equal to 0, got ${news.replicas}`);
    } else if (news.replicas > 2147483647) {
      push("replicas", "must fit in an int32");
    } else replicasOk = true;
  }

  let prefixOk = news.hostnamePrefix === undefined || news.hostnamePrefix === "";
  if (news.hostnamePrefix !== undefined && news.hostnamePrefix !== "" && !isUnknown(news.hostnamePrefix)) {
    if (typeof news.hostnamePrefix !== "string") push("hostnamePrefix", "must be a string");
    else if (!HOSTNAME_PREFIX_PATTERN.test(news.hostnamePrefix)) {
      push(
        "hostnamePrefix",
        `should match '^[a-z0-9][a-z0-9-]{0,61}$': lowercase letters, digits and '-', starting with a letter or digit, at most 62 characters (got ${goQuote(news.hostnamePrefix)})`,
      );
    } else prefixOk = true;
  }

  // Device hostnames for every ordinal must be valid DNS labels.
  const base = news.hostnamePrefix ? news.hostnamePrefix : news.name;
  if (
    prefixOk &&
    replicasOk &&
    typeof base === "string" &&
    !isUnknown(base) &&
    (news.hostnamePrefix || nameOk)
  ) {
    const last = (news.replicas ?? DEFAULT_REPLICAS) - 1;
    if (last >= 0) {
      const err = validLabel(`${base}-${last}`);
      if (err) {
        push(
          news.hostnamePrefix ? "hostnamePrefix" : "name",
          `the device hostname of replica ${last} would be invalid: ${err}; use a shorter ${news.hostnamePrefix ? "hostnamePrefix" : "name or set hostnamePrefix"}`,
        );
      }
    }
  }

  if (news.tags !== undefined && !isUnknown(news.tags)) {
    if (!Array.isArray(news.tags)) push("tags", 'must be a list of ACL tags such as ["tag:k8s"]');
    else {
      const seen = new Set<string>();
      news.tags.forEach((t, i) => {
        if (isUnknown(t)) return;
        if (typeof t !== "string") {
          push(`tags[${i}]`, 'must be a string such as "tag:k8s"');
          return;
        }
        const e = checkTag(t);
        if (e) push(`tags[${i}]`, `invalid tag ${goQuote(t)}: ${e}`);
        else if (seen.has(t)) push(`tags[${i}]`, `duplicate tag ${goQuote(t)}`);
        seen.add(t);
      });
    }
  }

  failures.push(...checkProxyClass(news.proxyClass, "proxyClass"));
  const image = isPlainObject(news.proxyClass) ? news.proxyClass.image : undefined;
  if (typeof image === "string" && !isUnknown(image) && /(^|\/)k8s-proxy(:|@|$)/.test(image)) {
    push(
      "proxyClass.image",
      `the configured ProxyClass specifies to use image ${goQuote(image)} but expected a "tailscale" image for ProxyGroup of type "ingress"`,
    );
  }

  if (news.timeoutSeconds !== undefined && !isUnknown(news.timeoutSeconds)) {
    if (typeof news.timeoutSeconds !== "number" || !(news.timeoutSeconds > 0)) {
      push("timeoutSeconds", "must be a positive number of seconds");
    }
  }
  return failures;
}
