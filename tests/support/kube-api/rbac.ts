/**
 * Authorization as a kube-apiserver started with `--authorization-mode=Node,RBAC` does it, ported from
 * the sources so that a permission the product lacks in a real cluster is lacking here too:
 *
 * - request attributes (`kubernetes/apiserver@v0.36.3 pkg/endpoints/request/requestinfo.go:128-271`):
 *   verb from the method and whether a name is in the path, `list` vs `watch`, the name of a list or
 *   watch from a `metadata.name` field selector, `deletecollection`, subresources, and a Namespace
 *   being its own namespace;
 * - the privileged-group authorizer first: `system:masters` may do anything (the apiserver's
 *   `authorizerfactory.NewPrivilegedGroups(user.SystemPrivilegedGroup)`), then RBAC; the Node
 *   authorizer has no opinion about anyone but nodes, and no node identity is served here;
 * - RBAC rule matching (`kubernetes/kubernetes@01aa0f3f plugin/pkg/auth/authorizer/rbac/rbac.go`
 *   RuleAllows, and `pkg/apis/rbac/v1/evaluation_helpers.go` at `03bf11a3`): verbs and groups with
 *   `*`, resources with `*`, `resource/subresource` and `*` + `/subresource`, resourceNames, and
 *   nonResourceURLs with a trailing `*`;
 * - the rule resolver (`kubernetes/kubernetes@05c351a9 pkg/registry/rbac/validation/rule.go`):
 *   ClusterRoleBindings, then the RoleBindings of the request's namespace; a binding whose role is
 *   missing adds `role.rbac.authorization.k8s.io "x" not found` to the denial's reason;
 * - the escalation check (`ConfirmNoEscalation`, the same file) with `Covers`
 *   (`kubernetes/kubernetes@04791b49 staging/src/k8s.io/component-helpers/auth/rbac/validation/policy_comparator.go`),
 *   `CompactRules` (`pkg/registry/rbac/validation/policy_compact.go` at `32ed81b7`) and `CompactString`;
 * - the 403 body (`kubernetes/apiserver@v0.36.3 pkg/endpoints/handlers/responsewriters/errors.go:35-78`).
 */
import type { StatusError } from "./errors";
import { forbidden as forbiddenResource, forbiddenStatus, notFound } from "./errors";
import type { ResourceType } from "./resources";
import { typeByKind } from "./resources";
import type { Store } from "./store";

/** Who sent a request, as the authenticators and the impersonation filter leave it. */
export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

/** A PolicyRule of a Role or ClusterRole. */
export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** authorizer.Attributes */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** The URL path (non-resource requests are matched on it). */
  path: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

/** The outcome of an authorization: allowed, and the reason the authorizer gave. */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/** user.SystemPrivilegedGroup */
export const SYSTEM_MASTERS = "system:masters";
export const AUTHENTICATED = "system:authenticated";
export const UNAUTHENTICATED = "system:unauthenticated";
const SA_PREFIX = "system:serviceaccount:";

/** `system:serviceaccount:<ns>:<name>` (serviceaccount.MakeUsername). */
export function serviceAccountUser(namespace: string, name: string): string {
  return `${SA_PREFIX}${namespace}:${name}`;
}

/** The namespace and name of a service account user name, or undefined (serviceaccount.SplitUsername). */
export function splitServiceAccountUser(user: string): { namespace: string; name: string } | undefined {
  if (!user.startsWith(SA_PREFIX)) return undefined;
  const parts = user.slice(SA_PREFIX.length).split(":");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { namespace: parts[0], name: parts[1] };
}

/** The groups of a service account (serviceaccount.MakeGroupNames), without system:authenticated. */
export function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
}

// ------------------------------------------------------------------ request attributes

const SPECIAL_VERBS = new Set(["proxy", "watch"]);
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(["proxy"]);
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

/** strconv.ParseBool, which the query decoder uses for `watch`. */
function parseBool(v: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  return undefined;
}

/** `metadata.name` when the field selector requires exactly that name (fields.Selector.RequiresExactMatch). */
function exactName(fieldSelector: string | undefined): string | undefined {
  if (!fieldSelector) return undefined;
  for (const term of fieldSelector.split(",")) {
    const m = /^\s*metadata\.name\s*(==|=)\s*(.*?)\s*$/.exec(term);
    if (m) return m[2];
  }
  return undefined;
}

/** content.IsPathSegmentName: no `/`, `%`, and not `.` or `..`. */
function isPathSegmentName(name: string): boolean {
  return name !== "." && name !== ".." && !/[/%]/.test(name);
}

/** RequestInfoFactory.NewRequestInfo, for the `api` and `apis` prefixes. */
export function requestAttributes(
  user: UserInfo,
  method: string,
  path: string,
  query: URLSearchParams,
): Attributes {
  const a: Attributes = {
    user,
    verb: method.toLowerCase(),
    resourceRequest: false,
    path,
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
  };
  let parts = path.replace(/^\/+|\/+$/g, "").split("/");
  if (parts.length === 1 && parts[0] === "") parts = [];
  if (parts.length < 3 || (parts[0] !== "api" && parts[0] !== "apis")) return a;
  const prefix = parts[0];
  parts = parts.slice(1);
  if (prefix === "apis") {
    if (parts.length < 3) return a;
    a.apiGroup = parts[0]!;
    parts = parts.slice(1);
  }
  a.resourceRequest = true;
  a.apiVersion = parts[0]!;
  parts = parts.slice(1);
  let viaPath = false;
  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) return a;
    a.verb = parts[0]!;
    parts = parts.slice(1);
    viaPath = true;
  } else {
    a.verb =
      (
        {
          POST: "create",
          GET: "get",
          HEAD: "get",
          PUT: "update",
          PATCH: "patch",
          DELETE: "delete",
        } as Record<string, string>
      )[method.toUpperCase()] ?? "";
  }
  if (parts[0] === "namespaces") {
    if (parts.length > 1) {
      a.namespace = parts[1]!;
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }
  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(a.verb)) a.subresource = parts[2]!;
  if (parts.length >= 2) a.name = parts[1]!;
  if (parts.length >= 1) a.resource = parts[0]!;
  if (!a.name && a.verb === "get") {
    const w = query.get("watch");
    let watch = false;
    if (w !== null) watch = parseBool(w) ?? !["false", "0"].includes(w.toLowerCase());
    a.verb = watch ? "watch" : "list";
    const n = exactName(query.get("fieldSelector") ?? undefined);
    if (n !== undefined && isPathSegmentName(n)) a.name = n;
  }
  if (!a.name && a.verb === "delete") a.verb = "deletecollection";
  void viaPath;
  return a;
}

// ------------------------------------------------------------------ rule matching

function verbMatches(rule: PolicyRule, verb: string): boolean {
  return (rule.verbs ?? []).some((v) => v === "*" || v === verb);
}

function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === "*" || g === group);
}

function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  return (rule.resources ?? []).some(
    (r) =>
      r === "*" ||
      r === combined ||
      (subresource !== "" &&
        r.length === subresource.length + 2 &&
        r.startsWith("*/") &&
        r.endsWith(subresource)),
  );
}

function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (u) => u === "*" || u === path || (u.endsWith("*") && path.startsWith(u.replace(/\*+$/, ""))),
  );
}

/** RuleAllows */
export function ruleAllows(a: Attributes, rule: PolicyRule): boolean {
  if (a.resourceRequest) {
    const combined = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    return (
      verbMatches(rule, a.verb) &&
      apiGroupMatches(rule, a.apiGroup) &&
      resourceMatches(rule, combined, a.subresource) &&
      resourceNameMatches(rule, a.name)
    );
  }
  return verbMatches(rule, a.verb) && nonResourceURLMatches(rule, a.path);
}

// ------------------------------------------------------------------ rule resolution

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

function appliesTo(user: UserInfo, subjects: Subject[] | undefined, namespace: string): Subject | undefined {
  for (const s of subjects ?? []) {
    if (s.kind === "User" && user.name === s.name) return s;
    if (s.kind === "Group" && s.name !== undefined && user.groups.includes(s.name)) return s;
    if (s.kind === "ServiceAccount") {
      const ns = s.namespace || namespace;
      if (ns && s.name && user.name === serviceAccountUser(ns, s.name)) return s;
    }
  }
  return undefined;
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === "ServiceAccount")
    return `${s.kind} ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

/** What a rule visit sees: the rule and where it came from, or a resolution error. */
type Visitor = (source: string | undefined, rule: PolicyRule | undefined, err: string | undefined) => boolean;

/** DefaultRuleResolver over the store's RBAC objects. */
export class RuleResolver {
  private readonly role: ResourceType;
  private readonly roleBinding: ResourceType;
  private readonly clusterRole: ResourceType;
  private readonly clusterRoleBinding: ResourceType;

  constructor(private readonly store: Store) {
    this.role = typeByKind("rbac.authorization.k8s.io/v1", "Role")!;
    this.roleBinding = typeByKind("rbac.authorization.k8s.io/v1", "RoleBinding")!;
    this.clusterRole = typeByKind("rbac.authorization.k8s.io/v1", "ClusterRole")!;
    this.clusterRoleBinding = typeByKind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")!;
  }

  /**
   * The rules a role reference names, or the lister's NotFound message (listers name the singular
   * resource: `role.rbac.authorization.k8s.io "x" not found`).
   */
  roleRefRules(
    roleRef: { kind?: string; name?: string } | undefined,
    bindingNamespace: string,
  ): { rules: PolicyRule[] } | { error: string } {
    const name = roleRef?.name ?? "";
    if (roleRef?.kind === "Role") {
      const e = this.store.entry(this.role, bindingNamespace, name);
      return e
        ? { rules: e.obj.rules ?? [] }
        : { error: `role.rbac.authorization.k8s.io ${JSON.stringify(name)} not found` };
    }
    if (roleRef?.kind === "ClusterRole") {
      const e = this.store.entry(this.clusterRole, undefined, name);
      return e
        ? { rules: e.obj.rules ?? [] }
        : { error: `clusterrole.rbac.authorization.k8s.io ${JSON.stringify(name)} not found` };
    }
    return { error: `unsupported role reference kind: ${JSON.stringify(roleRef?.kind ?? "")}` };
  }

  /** VisitRulesFor: ClusterRoleBindings first, then the RoleBindings of `namespace`. */
  visitRulesFor(user: UserInfo, namespace: string, visit: Visitor): void {
    for (const e of this.store.entriesOf(this.clusterRoleBinding)) {
      const b = e.obj;
      const s = appliesTo(user, b.subjects, "");
      if (!s) continue;
      const r = this.roleRefRules(b.roleRef, "");
      if ("error" in r) {
        if (!visit(undefined, undefined, r.error)) return;
        continue;
      }
      const source = `ClusterRoleBinding ${JSON.stringify(b.metadata.name)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(s, "")}`;
      for (const rule of r.rules) if (!visit(source, rule, undefined)) return;
    }
    if (!namespace) return;
    for (const e of this.store.entriesOf(this.roleBinding, namespace)) {
      const b = e.obj;
      const s = appliesTo(user, b.subjects, namespace);
      if (!s) continue;
      const r = this.roleRefRules(b.roleRef, namespace);
      if ("error" in r) {
        if (!visit(undefined, undefined, r.error)) return;
        continue;
      }
      const source = `RoleBinding ${JSON.stringify(`${b.metadata.name}/${namespace}`)} of ${b.roleRef.kind} ${JSON.stringify(b.roleRef.name)} to ${describeSubject(s, namespace)}`;
      for (const rule of r.rules) if (!visit(source, rule, undefined)) return;
    }
  }

  /** RulesFor: every rule that applies, and the resolution errors met. */
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    this.visitRulesFor(user, namespace, (_s, rule, err) => {
      if (rule) rules.push(rule);
      if (err) errors.push(err);
      return true;
    });
    return { rules, errors };
  }
}

/** utilerrors.NewAggregate(...).Error(): one message as is, several in brackets. */
function aggregate(errors: string[]): string {
  return errors.length === 1 ? errors[0]! : `[${errors.join(", ")}]`;
}

/** The authorizer chain: privileged groups, then RBAC. */
export class Authorizer {
  readonly resolver: RuleResolver;

  constructor(store: Store) {
    this.resolver = new RuleResolver(store);
  }

  authorize(a: Attributes): Decision {
    if (a.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: "" };
    let reason = "";
    let allowed = false;
    const errors: string[] = [];
    this.resolver.visitRulesFor(a.user, a.namespace, (source, rule, err) => {
      if (rule && ruleAllows(a, rule)) {
        allowed = true;
        reason = `RBAC: allowed by ${source}`;
        return false;
      }
      if (err) errors.push(err);
      return true;
    });
    if (allowed) return { allowed, reason };
    return { allowed: false, reason: errors.length > 0 ? `RBAC: ${aggregate(errors)}` : "" };
  }

  /** The 403 a denied request gets. */
  forbidden(a: Attributes, reason: string): StatusError {
    return forbiddenStatus(a, reason);
  }

  /** The rules of SelfSubjectRulesReview: the privileged group's wildcard rules, then RBAC's. */
  rulesFor(user: UserInfo, namespace: string): { rules: PolicyRule[]; errors: string[] } {
    const out = this.resolver.rulesFor(user, namespace);
    if (user.groups.includes(SYSTEM_MASTERS)) {
      out.rules.unshift(
        { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
        { verbs: ["*"], nonResourceURLs: ["*"] },
      );
    }
    return out;
  }
}

// ------------------------------------------------------------------ escalation

function hasAll(set: string[] | undefined, contains: string[] | undefined): boolean {
  const owned = new Set(set ?? []);
  return (contains ?? []).every((c) => owned.has(c));
}

function resourceCoversAll(set: string[] | undefined, covers: string[] | undefined): boolean {
  const s = set ?? [];
  if (s.includes("*") || hasAll(s, covers)) return true;
  for (const path of covers ?? []) {
    if (s.includes(path)) continue;
    if (!path.includes("/")) return false;
    if (!s.includes(`*/${path.split("/").slice(1).join("/")}`)) return false;
  }
  return true;
}

function nonResourceURLCovers(owner: string, sub: string): boolean {
  return owner === sub || (owner.endsWith("*") && sub.startsWith(owner.replace(/\*+$/, "")));
}

function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = (owner.verbs ?? []).includes("*") || hasAll(owner.verbs, sub.verbs);
  const groups = (owner.apiGroups ?? []).includes("*") || hasAll(owner.apiGroups, sub.apiGroups);
  const resources = resourceCoversAll(owner.resources, sub.resources);
  const urls = (sub.nonResourceURLs ?? []).every((p) =>
    (owner.nonResourceURLs ?? []).some((o) => nonResourceURLCovers(o, p)),
  );
  const ownerNames = owner.resourceNames ?? [];
  const names =
    (sub.resourceNames ?? []).length === 0
      ? ownerNames.length === 0
      : ownerNames.length === 0 || hasAll(ownerNames, sub.resourceNames);
  return verbs && groups && resources && names && urls;
}

/** BreakdownRule: one rule per group × resource × verb (× name), and per URL × verb. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const g of rule.apiGroups ?? []) {
    for (const r of rule.resources ?? []) {
      for (const v of rule.verbs ?? []) {
        if ((rule.resourceNames ?? []).length > 0) {
          for (const n of rule.resourceNames!) {
            out.push({ apiGroups: [g], resources: [r], verbs: [v], resourceNames: [n] });
          }
        } else out.push({ apiGroups: [g], resources: [r], verbs: [v] });
      }
    }
  }
  for (const u of rule.nonResourceURLs ?? []) {
    for (const v of rule.verbs ?? []) out.push({ nonResourceURLs: [u], verbs: [v] });
  }
  return out;
}

/** Covers: the servant rules the owner rules do not cover (empty when covered). */
export function uncovered(owner: PolicyRule[], servant: PolicyRule[]): PolicyRule[] {
  return servant.flatMap(breakdownRule).filter((sub) => !owner.some((o) => ruleCovers(o, sub)));
}

/** CompactRules: simple rules (one group, one resource, verbs only) that differ only by verb are merged. */
function compactRules(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    const isSimple =
      (r.resourceNames ?? []).length === 0 &&
      (r.nonResourceURLs ?? []).length === 0 &&
      (r.apiGroups ?? []).length === 1 &&
      (r.resources ?? []).length === 1;
    if (!isSimple) {
      out.push(r);
      continue;
    }
    const key = `${r.apiGroups![0]}\u0000${r.resources![0]}`;
    const existing = simple.get(key);
    if (existing) existing.verbs = [...(existing.verbs ?? []), ...(r.verbs ?? [])];
    else
      simple.set(key, {
        apiGroups: [...r.apiGroups!],
        resources: [...r.resources!],
        verbs: [...(r.verbs ?? [])],
      });
  }
  return [...out, ...simple.values()];
}

/** Go's %q of a []string: `["a" "b"]`. */
function goQuoteList(v: string[]): string {
  return `[${v.map((s) => JSON.stringify(s)).join(" ")}]`;
}

/** rbacv1helpers.CompactString */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if ((r.apiGroups ?? []).length > 0) parts.push(`APIGroups:${goQuoteList(r.apiGroups!)}`);
  if ((r.resources ?? []).length > 0) parts.push(`Resources:${goQuoteList(r.resources!)}`);
  if ((r.nonResourceURLs ?? []).length > 0) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs!)}`);
  if ((r.resourceNames ?? []).length > 0) parts.push(`ResourceNames:${goQuoteList(r.resourceNames!)}`);
  if ((r.verbs ?? []).length > 0) parts.push(`Verbs:${goQuoteList(r.verbs!)}`);
  return `{${parts.join(", ")}}`;
}

/**
 * ConfirmNoEscalation: undefined when `user` already holds every permission in `rules` at `namespace`
 * (cluster-wide when empty), else the refusal's text.
 */
export function confirmNoEscalation(
  resolver: RuleResolver,
  user: UserInfo,
  namespace: string,
  rules: PolicyRule[],
): string | undefined {
  const owned = resolver.rulesFor(user, namespace);
  const missing = uncovered(owned.rules, rules);
  if (missing.length === 0) return undefined;
  // sets.NewString(...).List(): deduplicated and sorted.
  const descriptions = [...new Set(compactRules(missing).map(compactString))].sort();
  let msg = `user ${JSON.stringify(user.name)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join("\n")}`;
  if (owned.errors.length > 0) msg += `; resolution errors: [${aggregate(owned.errors)}]`;
  return msg;
}

/** The full authority (`*` on everything) that an aggregationRule requires of its writer. */
export const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
  { verbs: ["*"], nonResourceURLs: ["*"] },
];

// ------------------------------------------------------------------ the RBAC registries' write checks

const RBAC_GROUP = "rbac.authorization.k8s.io";

function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

/** IsOnlyMutatingGCFields: the update changes nothing but ownerReferences and finalizers. */
function onlyGCFields(obj: any, old: any): boolean {
  const strip = (o: any) => {
    const c = JSON.parse(JSON.stringify(o));
    for (const k of ["ownerReferences", "finalizers", "managedFields", "selfLink", "resourceVersion"])
      delete c.metadata?.[k];
    return stableJson(c);
  };
  return strip(obj) === strip(old);
}

/**
 * The escalation checks of the policy-based RBAC storages (`kubernetes/kubernetes
 * pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}/policybased/storage.go`): a Role or
 * ClusterRole write needs every permission it grants (or `escalate`), a binding write needs the
 * referenced role's permissions (or `bind` on it); `system:masters` is exempt, and updates that only
 * touch ownerReferences or finalizers are not checked. Returns the error to answer with, if any.
 */
export function checkRbacWrite(
  authz: Authorizer,
  kind: string,
  namespace: string,
  obj: any,
  old: any | undefined,
  user: UserInfo,
): StatusError | undefined {
  if (user.groups.includes(SYSTEM_MASTERS)) return undefined;
  if (old && onlyGCFields(obj, old)) return undefined;
  const name: string = obj?.metadata?.name ?? "";
  const attrs = (verb: string, resource: string, n: string, ns: string): Attributes => ({
    user,
    verb,
    resourceRequest: true,
    path: "",
    apiGroup: RBAC_GROUP,
    apiVersion: "*",
    namespace: ns,
    resource,
    subresource: "",
    name: n,
  });
  if (kind === "Role" || kind === "ClusterRole") {
    const resource = kind === "Role" ? "roles" : "clusterroles";
    if (authz.authorize(attrs("escalate", resource, name, namespace)).allowed) return undefined;
    const gr = { group: RBAC_GROUP, resource };
    const msg = confirmNoEscalation(authz.resolver, user, namespace, obj.rules ?? []);
    if (msg) return forbiddenResource(gr, name, msg);
    if (kind === "ClusterRole" && (obj.aggregationRule || old?.aggregationRule)) {
      if (confirmNoEscalation(authz.resolver, user, namespace, FULL_AUTHORITY)) {
        return forbiddenResource(gr, name, "must have cluster-admin privileges to use the aggregationRule");
      }
    }
    return undefined;
  }
  if (kind === "RoleBinding" || kind === "ClusterRoleBinding") {
    const resource = kind === "RoleBinding" ? "rolebindings" : "clusterrolebindings";
    const ref = obj.roleRef ?? {};
    const refResource = ref.kind === "ClusterRole" ? "clusterroles" : ref.kind === "Role" ? "roles" : "";
    if (refResource) {
      const bind = attrs("bind", refResource, String(ref.name ?? ""), namespace);
      bind.apiGroup = String(ref.apiGroup ?? "");
      if (authz.authorize(bind).allowed) return undefined;
    }
    const r = authz.resolver.roleRefRules(ref, namespace);
    if ("error" in r) {
      // The registry-backed role getter answers a missing role with its NotFound.
      return notFoundRole(ref.kind === "Role" ? "roles" : "clusterroles", String(ref.name ?? ""));
    }
    const msg = confirmNoEscalation(authz.resolver, user, namespace, r.rules);
    if (msg) return forbiddenResource({ group: RBAC_GROUP, resource }, name, msg);
  }
  return undefined;
}

function notFoundRole(resource: string, name: string): StatusError {
  return notFound({ group: RBAC_GROUP, resource }, name);
}
