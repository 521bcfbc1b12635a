/**
 * The shared Let's Encrypt account of ProxyGroups (`shareAcmeAccount`): the Secret
 * `tailscale-acme-accounts` in the ProxyGroup's namespace, whose field `_default.acme-account.key.pem`
 * holds the ACME account key that replica 0 of every sharing ProxyGroup there uses.
 *
 * What reads and writes it: tailscaled's Kubernetes state store, in cert share "rw" mode only (replica
 * 0 of a ProxyGroup of type ingress), adopts the key found there at start, copies its own key up when
 * the field is empty, and writes a new key there on first use; it never creates the Secret
 * (tailscale/tailscale@de9ec7ee ipn/store/kubestore/store_kube.go `reconcileSharedACMEAccountKey`,
 * `canCreateSecret`). So it must exist before replica 0 starts, and the replicas' Role must grant
 * get/patch/update on it (proxygroup.ts `proxyGroupRoleRules`).
 *
 * Who owns it: the operator creates it unowned, with a finalizer, and never deletes it
 * (cmd/k8s-operator/proxygroup_specs.go `pgACMEAccountSecret`). Here every ProxyGroup that shares it
 * (of any stack) lists its `ownerId` in the annotation {@link ACME_ACCOUNT_USERS}; the last one to
 * leave deletes the Secret, so nothing is left after a destroy, and a delete guarded by the
 * resourceVersion it read never removes it from under a user that joined meanwhile. A Secret we did
 * not create (no `app.kubernetes.io/managed-by: pulumi-tailnet`, e.g. an operator's) is shared the
 * same way but never deleted.
 *
 * A user listed whose ProxyGroup has no StatefulSet in the namespace is gone: a provider host killed
 * between the join and the StatefulSet write leaves its name behind, and a program that then drops that
 * ProxyGroup never deletes it, so without this the Secret would outlive its last real user. A leave
 * drops such users ({@link planAcmeAccountLeave}). So that a ProxyGroup of another process joining at
 * that moment (listed, its StatefulSet not yet written) is not lost for good, a join lists the user in
 * {@link ACME_ACCOUNT_JOINING} too and, once its StatefulSet is written, removes it from there (stage
 * `running`) and so changes the Secret: a leave reads the Secret, then lists the StatefulSets, and writes
 * at the version read; if the joiner's StatefulSet came after that list, its `running` write comes after
 * it as well, and either the leave's write fails with 409 (and decides again) or the `running` write
 * comes after the leave's and lists the user again (recreating the Secret if it was deleted). Pure.
 */
import {
  LABEL_MANAGED_BY,
  LABEL_OWNER,
  LABEL_PARENT_TYPE,
  legacyLabels,
  MANAGED_BY,
  ownerHash,
} from "../labels";
import type { PlannedSecret, Selection } from "../objects";

/** Name of the shared Secret (the operator's `kubetypes.ACMEAccountsSecretName`). */
export const SHARED_ACME_SECRET = "tailscale-acme-accounts";

/**
 * The Secret's field for the account key (`TS_ACME_ACCOUNT_FIELD`): the operator's field of its
 * default tailnet, `_default` + `.acme-account.key.pem` (tailscale/tailscale@de9ec7ee
 * kube/kubetypes/types.go). One field per namespace: every ProxyGroup that shares it uses one account.
 */
export const SHARED_ACME_FIELD = "_default.acme-account.key.pem";

/** Annotation listing the `ownerId`s of the ProxyGroups that share the Secret, as a JSON array. */
export const ACME_ACCOUNT_USERS = "tailnet.pulumi.com/acme-account-users";

/** Annotation listing the users that joined and have not written their StatefulSet yet, as a JSON array. */
export const ACME_ACCOUNT_JOINING = "tailnet.pulumi.com/acme-account-joining";

/** Where a ProxyGroup is when it joins: before writing its StatefulSet, or after. */
export type AcmeAccountStage = "joining" | "running";

/** The metadata of the shared Secret as pure functions read it. */
export interface AcmeAccountSecretMeta {
  metadata: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
}

/**
 * The Secret as created: no data (replica 0 writes the key), listing `users`, and among them `joining`
 * as not running yet.
 */
export function acmeAccountSecret(
  namespace: string,
  users: readonly string[],
  joining: readonly string[] = [],
): PlannedSecret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: SHARED_ACME_SECRET,
      namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY },
      annotations: {
        [ACME_ACCOUNT_USERS]: serializeUsers(users),
        ...(joining.length > 0 ? { [ACME_ACCOUNT_JOINING]: serializeUsers(joining) } : {}),
      },
    },
    type: "Opaque",
  };
}

/** The Secret a join creates when there is none: `ownerId` its only user, at `stage`. */
export function acmeAccountSecretFor(
  namespace: string,
  ownerId: string,
  stage: AcmeAccountStage,
): PlannedSecret {
  return acmeAccountSecret(namespace, [ownerId], stage === "joining" ? [ownerId] : []);
}

function serializeUsers(users: readonly string[]): string {
  return JSON.stringify([...new Set(users)].sort());
}

/** The users the Secret lists; an absent or unreadable annotation lists none. */
export function acmeAccountUsers(secret: AcmeAccountSecretMeta): string[] {
  return listAnnotation(secret, ACME_ACCOUNT_USERS);
}

/** The users the Secret lists as joining (their StatefulSet not written yet). */
export function acmeAccountJoining(secret: AcmeAccountSecretMeta): string[] {
  return listAnnotation(secret, ACME_ACCOUNT_JOINING);
}

function listAnnotation(secret: AcmeAccountSecretMeta, key: string): string[] {
  const text = secret.metadata.annotations?.[key];
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((u): u is string => typeof u === "string") : [];
  } catch {
    return [];
  }
}

/** Whether pulumi-tailnet created the Secret (and so deletes it when its last user leaves). */
export function acmeAccountSecretIsOurs(secret: AcmeAccountSecretMeta): boolean {
  return secret.metadata.labels?.[LABEL_MANAGED_BY] === MANAGED_BY;
}

/**
 * The Secret with `ownerId` among its users (a copy) at `stage`: listed as joining before its
 * StatefulSet is written, no longer once it is. Undefined when it already is so (no write). The other
 * fields, the account key among them, are kept.
 */
export function withAcmeAccountUser<T extends AcmeAccountSecretMeta>(
  secret: T,
  ownerId: string,
  stage: AcmeAccountStage,
): T | undefined {
  const users = acmeAccountUsers(secret);
  const joining = acmeAccountJoining(secret);
  const wantJoining = stage === "joining";
  if (users.includes(ownerId) && joining.includes(ownerId) === wantJoining) return undefined;
  const others = joining.filter((u) => u !== ownerId);
  return withUsers(secret, [...users, ownerId], wantJoining ? [...others, ownerId] : others);
}

/** A StatefulSet as {@link planAcmeAccountLeave} reads it. */
export interface AcmeAccountStatefulSetMeta {
  metadata: { name?: string; labels?: Record<string, string> };
}

/** The StatefulSets of the ProxyGroups pulumi-tailnet made in `namespace` (this version's labels and older ones'). */
export function proxyGroupStatefulSets(namespace: string): Selection {
  const labels = { [LABEL_PARENT_TYPE]: "proxygroup", [LABEL_MANAGED_BY]: MANAGED_BY };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    namespace,
    labels,
    legacyLabels: legacyLabels(labels),
  };
}

/** What a leave does to the Secret. */
export type AcmeAccountLeave<T extends AcmeAccountSecretMeta = AcmeAccountSecretMeta> =
  | { action: "keep" }
  | { action: "write"; secret: T; dropped: string[] }
  | { action: "delete"; resourceVersion?: string; dropped: string[] };

/**
 * What the ProxyGroup `leaver` (its `ownerId` and StatefulSet name) leaving does to the Secret, given the
 * ProxyGroup StatefulSets of its namespace ({@link proxyGroupStatefulSets}), listed after the Secret was
 * read. The leaver is removed, unless a StatefulSet of the same owner under another name is there (a
 * create-before-delete replacement: the new one uses the Secret). Every other user without a StatefulSet
 * is dropped (`dropped`): it was left behind by a killed host, or is joining right now and lists itself
 * again once its StatefulSet is written (see above). When no user is left and the Secret is ours, it is
 * deleted, only at the version read (someone joined since: 409, and the caller decides again); an
 * absent Secret, or nothing to change, is kept as it is.
 */
export function planAcmeAccountLeave<T extends AcmeAccountSecretMeta>(
  secret: T | undefined,
  leaver: { ownerId: string; name: string },
  statefulSets: readonly AcmeAccountStatefulSetMeta[],
): AcmeAccountLeave<T> {
  if (!secret) return { action: "keep" };
  const running = (user: string) =>
    statefulSets.some(
      (s) =>
        s.metadata.labels?.[LABEL_OWNER] === ownerHash(user) &&
        (user !== leaver.ownerId || s.metadata.name !== leaver.name),
    );
  const users = acmeAccountUsers(secret);
  const kept = users.filter(running);
  const dropped = users.filter((u) => u !== leaver.ownerId && !kept.includes(u));
  if (kept.length === 0 && acmeAccountSecretIsOurs(secret)) {
    return { action: "delete", resourceVersion: secret.metadata.resourceVersion, dropped };
  }
  const joining = acmeAccountJoining(secret);
  const keptJoining = joining.filter((u) => kept.includes(u));
  if (kept.length === users.length && keptJoining.length === joining.length) return { action: "keep" };
  return { action: "write", secret: withUsers(secret, kept, keptJoining), dropped };
}

function withUsers<T extends AcmeAccountSecretMeta>(secret: T, users: string[], joining: string[]): T {
  const annotations = { ...secret.metadata.annotations };
  if (users.length > 0) annotations[ACME_ACCOUNT_USERS] = serializeUsers(users);
  else delete annotations[ACME_ACCOUNT_USERS];
  if (joining.length > 0) annotations[ACME_ACCOUNT_JOINING] = serializeUsers(joining);
  else delete annotations[ACME_ACCOUNT_JOINING];
  return { ...secret, metadata: { ...secret.metadata, annotations } };
}
