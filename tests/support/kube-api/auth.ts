/**
 * Authentication and impersonation, as the kube-apiserver's filters do them before authorization:
 *
 * - x509 client certificates verified against the cluster CA: CommonName is the user, each
 *   Organization a group (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates);
 *   the union authenticator tries the certificate before the bearer token;
 * - bearer tokens: static user tokens (a token file) and ServiceAccount tokens, which authenticate as
 *   `system:serviceaccount:<ns>:<name>` in `system:serviceaccounts` and `system:serviceaccounts:<ns>` only
 *   while that ServiceAccount (same UID) exists, as a bound token is checked against its object;
 * - every authenticated user is in `system:authenticated`; anonymous requests are refused (401), a
 *   deliberate choice of this server (README.md);
 * - impersonation headers (`kubernetes/apiserver@v0.36.3 pkg/endpoints/filters/impersonation/impersonation.go:43-190`):
 *   each requested user, service account, group, extra and uid is authorized with the `impersonate`
 *   verb, and a refusal is the 403 of that check.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { badRequest, type StatusError } from "./errors";
import {
  type Attributes,
  AUTHENTICATED,
  type Authorizer,
  serviceAccountGroups,
  serviceAccountUser,
  splitServiceAccountUser,
  type UserInfo,
} from "./rbac";
import { typeByKind } from "./resources";
import type { Store } from "./store";

/** What a bearer token stands for. */
export type TokenSubject =
  | { kind: "user"; name: string; groups: string[] }
  | {
      kind: "serviceaccount";
      namespace: string;
      name: string;
      uid: string;
      /** A token bound to a Pod (TokenRequest boundObjectRef) dies with it. */
      pod?: { name: string; uid: string };
    };

/** The token and certificate authenticators over the server's state. */
export class Authenticator {
  /** Bearer token -> subject. */
  readonly tokens = new Map<string, TokenSubject>();

  constructor(private readonly store: Store) {}

  /** The user of a request, or undefined (401). */
  authenticate(req: IncomingMessage): UserInfo | undefined {
    const sock = req.socket as TLSSocket;
    if (typeof sock.getPeerCertificate === "function" && sock.authorized) {
      const cert = sock.getPeerCertificate();
      const cn = cert?.subject?.CN;
      if (cn) {
        const o = cert.subject.O;
        const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
        return withAuthenticated({ name: String(cn), groups: groups.map(String) });
      }
    }
    const header = String(req.headers.authorization ?? "");
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return undefined;
    return this.userOfToken(m[1]!);
  }

  /** The user a bearer token authenticates as, if it is valid now. */
  userOfToken(token: string): UserInfo | undefined {
    const s = this.tokens.get(token);
    if (!s) return undefined;
    if (s.kind === "user") return withAuthenticated({ name: s.name, groups: [...s.groups] });
    const sa = this.store.entry(typeByKind("v1", "ServiceAccount")!, s.namespace, s.name);
    if (!sa || sa.obj.metadata.uid !== s.uid) return undefined;
    const u: UserInfo = {
      name: serviceAccountUser(s.namespace, s.name),
      uid: s.uid,
      groups: serviceAccountGroups(s.namespace),
    };
    if (s.pod) {
      const pod = this.store.entry(typeByKind("v1", "Pod")!, s.namespace, s.pod.name);
      if (!pod || pod.obj.metadata.uid !== s.pod.uid) return undefined;
      u.extra = {
        "authentication.kubernetes.io/pod-name": [s.pod.name],
        "authentication.kubernetes.io/pod-uid": [s.pod.uid],
      };
    }
    return withAuthenticated(u);
  }
}

function withAuthenticated(u: UserInfo): UserInfo {
  if (!u.groups.includes(AUTHENTICATED)) u.groups.push(AUTHENTICATED);
  return u;
}

const IMPERSONATE_USER = "impersonate-user";
const IMPERSONATE_GROUP = "impersonate-group";
const IMPERSONATE_UID = "impersonate-uid";
const IMPERSONATE_EXTRA = "impersonate-extra-";

/**
 * WithImpersonation: the user the request acts as, or a 400/403 StatusError. `requestor` is the
 * authenticated user; without impersonation headers it is returned as is.
 */
export function impersonate(
  req: IncomingMessage,
  requestor: UserInfo,
  authorizer: Authorizer,
): UserInfo | StatusError {
  const h = req.headersDistinct;
  const requestedUser = h[IMPERSONATE_USER]?.[0] ?? "";
  const groupsRequested = h[IMPERSONATE_GROUP] ?? [];
  const uid = h[IMPERSONATE_UID]?.[0] ?? "";
  const extras: [string, string][] = [];
  for (const [k, values] of Object.entries(h)) {
    if (!k.startsWith(IMPERSONATE_EXTRA)) continue;
    let key = k.slice(IMPERSONATE_EXTRA.length);
    try {
      key = decodeURIComponent(key);
    } catch {
      // Malformed escapes are kept as sent (unescapeExtraKey).
    }
    for (const v of values ?? []) extras.push([key, v]);
  }
  if (!requestedUser && groupsRequested.length === 0 && !uid && extras.length === 0) return requestor;
  if (!requestedUser) {
    return badRequest(`requested ${describe(groupsRequested, extras, uid)} without impersonating a user`);
  }
  const base = (over: Partial<Attributes>): Attributes => ({
    user: requestor,
    verb: "impersonate",
    resourceRequest: true,
    path: "",
    apiGroup: "",
    apiVersion: "",
    namespace: "",
    resource: "",
    subresource: "",
    name: "",
    ...over,
  });
  const checks: Attributes[] = [];
  let username = requestedUser;
  let groups: string[] = [];
  const sa = splitServiceAccountUser(requestedUser);
  if (sa) {
    checks.push(
      base({ resource: "serviceaccounts", namespace: sa.namespace, name: sa.name, apiVersion: "v1" }),
    );
    username = serviceAccountUser(sa.namespace, sa.name);
    if (groupsRequested.length === 0) groups = serviceAccountGroups(sa.namespace);
  } else checks.push(base({ resource: "users", name: requestedUser, apiVersion: "v1" }));
  for (const g of groupsRequested) {
    checks.push(base({ resource: "groups", name: g, apiVersion: "v1" }));
    groups.push(g);
  }
  const extra: Record<string, string[]> = {};
  for (const [k, v] of extras) {
    checks.push(
      base({
        resource: "userextras",
        subresource: k,
        name: v,
        apiGroup: "authentication.k8s.io",
        apiVersion: "v1",
      }),
    );
    extra[k] = [...(extra[k] ?? []), v];
  }
  if (uid)
    checks.push(base({ resource: "uids", name: uid, apiGroup: "authentication.k8s.io", apiVersion: "v1" }));
  for (const a of checks) {
    const d = authorizer.authorize(a);
    if (!d.allowed) return authorizer.forbidden(a, d.reason);
  }
  if (username !== "system:anonymous") {
    if (!groups.some((g) => g === AUTHENTICATED || g === "system:unauthenticated"))
      groups.push(AUTHENTICATED);
  } else if (!groups.includes("system:unauthenticated")) groups.push("system:unauthenticated");
  const out: UserInfo = { name: username, groups };
  if (uid) out.uid = uid;
  if (extras.length > 0) out.extra = extra;
  return out;
}

/** How Go's %v prints the []ObjectReference of the 400 (kind and name are what a reader needs). */
function describe(groups: string[], extras: [string, string][], uid: string): string {
  const refs = [
    ...groups.map((g) => `{Group  ${g}    }`),
    ...extras.map(([k, v]) => `{UserExtra  ${v}  authentication.k8s.io/v1  ${k}}`),
    ...(uid ? [`{UID  ${uid}  authentication.k8s.io/v1  }`] : []),
  ];
  return `[${refs.join(" ")}]`;
}
