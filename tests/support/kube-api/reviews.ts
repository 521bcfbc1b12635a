/**
 * The virtual, create-only review resources a client asks about itself with, answered from the same
 * authorizer that guards requests: SelfSubjectAccessReview and SelfSubjectRulesReview
 * (`authorization.k8s.io/v1`, what `kubectl auth can-i` and containerboot's permission probe send,
 * tailscale/tailscale@de9ec7ee kube/kubeclient/client.go:389-456) and SelfSubjectReview (`authentication.k8s.io/v1`, `kubectl auth whoami`).
 * Nothing is stored; the answer echoes the spec with a status, as the real REST handlers do.
 */
import { invalid, type StatusError } from "./errors";
import type { Attributes, Authorizer, PolicyRule, UserInfo } from "./rbac";

/** The review resources, for discovery and routing. */
export const REVIEW_RESOURCES = [
  {
    group: "authorization.k8s.io",
    version: "v1",
    plural: "selfsubjectaccessreviews",
    singular: "selfsubjectaccessreview",
    kind: "SelfSubjectAccessReview",
  },
  {
    group: "authorization.k8s.io",
    version: "v1",
    plural: "selfsubjectrulesreviews",
    singular: "selfsubjectrulesreview",
    kind: "SelfSubjectRulesReview",
  },
  {
    group: "authentication.k8s.io",
    version: "v1",
    plural: "selfsubjectreviews",
    singular: "selfsubjectreview",
    kind: "SelfSubjectReview",
  },
] as const;

/** One review resource. */
export type ReviewResource = (typeof REVIEW_RESOURCES)[number];

/** The review for a URL's group, version and plural, if one is served there. */
export function reviewResource(group: string, version: string, plural: string): ReviewResource | undefined {
  return REVIEW_RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

function head(r: ReviewResource): Record<string, unknown> {
  return { kind: r.kind, apiVersion: `${r.group}/${r.version}`, metadata: { creationTimestamp: null } };
}

/** Answers a review POST for `user`, or returns the 422 of an invalid spec. */
export function answerReview(
  r: ReviewResource,
  body: any,
  user: UserInfo,
  authz: Authorizer,
): any | StatusError {
  if (r.kind === "SelfSubjectReview") {
    const userInfo: Record<string, unknown> = { username: user.name };
    if (user.uid) userInfo.uid = user.uid;
    userInfo.groups = user.groups;
    if (user.extra) userInfo.extra = user.extra;
    return { ...head(r), status: { userInfo } };
  }
  const spec = body?.spec ?? {};
  if (r.kind === "SelfSubjectRulesReview") {
    const namespace = String(spec.namespace ?? "");
    const { rules, errors } = authz.rulesFor(user, namespace);
    const resourceRules = rules
      .filter((p: PolicyRule) => (p.resources ?? []).length > 0)
      .map((p) => {
        const o: Record<string, unknown> = {
          verbs: p.verbs ?? [],
          apiGroups: p.apiGroups ?? [],
          resources: p.resources,
        };
        if ((p.resourceNames ?? []).length > 0) o.resourceNames = p.resourceNames;
        return o;
      });
    const nonResourceRules = rules
      .filter((p) => (p.nonResourceURLs ?? []).length > 0)
      .map((p) => ({ verbs: p.verbs ?? [], nonResourceURLs: p.nonResourceURLs }));
    const status: Record<string, unknown> = { resourceRules, nonResourceRules, incomplete: false };
    if (errors.length > 0)
      status.evaluationError = errors.length === 1 ? errors[0] : `[${errors.join(", ")}]`;
    return { ...head(r), spec: { namespace: spec.namespace }, status };
  }
  const ra = spec.resourceAttributes;
  const na = spec.nonResourceAttributes;
  if ((ra && na) || (!ra && !na)) {
    // ValidateSelfSubjectAccessReviewSpec
    return invalid({ group: "authorization.k8s.io", kind: "SelfSubjectAccessReview" }, "", [
      ra
        ? {
            type: "FieldValueInvalid",
            field: "spec.nonResourceAttributes",
            body: `Invalid value: ${JSON.stringify(na)}: cannot be specified in combination with resourceAttributes`,
          }
        : {
            type: "FieldValueInvalid",
            field: "spec.resourceAttributes",
            body: "Invalid value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified",
          },
    ]);
  }
  const attrs: Attributes = ra
    ? {
        user,
        verb: String(ra.verb ?? ""),
        resourceRequest: true,
        path: "",
        apiGroup: String(ra.group ?? ""),
        apiVersion: String(ra.version ?? ""),
        namespace: String(ra.namespace ?? ""),
        resource: String(ra.resource ?? ""),
        subresource: String(ra.subresource ?? ""),
        name: String(ra.name ?? ""),
      }
    : {
        user,
        verb: String(na.verb ?? ""),
        resourceRequest: false,
        path: String(na.path ?? ""),
        apiGroup: "",
        apiVersion: "",
        namespace: "",
        resource: "",
        subresource: "",
        name: "",
      };
  const d = authz.authorize(attrs);
  const status: Record<string, unknown> = { allowed: d.allowed };
  if (d.reason) status.reason = d.reason;
  return { ...head(r), spec, status };
}
