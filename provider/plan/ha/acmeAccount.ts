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
 * same way but never deleted. Pure.
 */
import { LABEL_MANAGED_BY, MANAGED_BY } from "../labels";
import type { PlannedSecret } from "../objects";

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

/** The metadata of the shared Secret as pure functions read it. */
export interface AcmeAccountSecretMeta {
  metadata: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
  };
}

/** The Secret as created: no data (replica 0 writes the key), listing `users`. */
export function acmeAccountSecret(namespace: string, users: readonly string[]): PlannedSecret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: SHARED_ACME_SECRET,
      namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY },
      annotations: { [ACME_ACCOUNT_USERS]: serializeUsers(users) },
    },
    type: "Opaque",
  };
}

function serializeUsers(users: readonly string[]): string {
  return JSON.stringify([...new Set(users)].sort());
}

/** The users the Secret lists; an absent or unreadable annotation lists none. */
export function acmeAccountUsers(secret: AcmeAccountSecretMeta): string[] {
  const text = secret.metadata.annotations?.[ACME_ACCOUNT_USERS];
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
 * The Secret with `ownerId` among its users (a copy), or undefined when it already is (no write).
 * The other fields, the account key among them, are kept.
 */
export function withAcmeAccountUser<T extends AcmeAccountSecretMeta>(
  secret: T,
  ownerId: string,
): T | undefined {
  const users = acmeAccountUsers(secret);
  if (users.includes(ownerId)) return undefined;
  return withUsers(secret, [...users, ownerId]);
}

/** The Secret without `ownerId` among its users (a copy), or undefined when it is not one (no write). */
export function withoutAcmeAccountUser<T extends AcmeAccountSecretMeta>(
  secret: T,
  ownerId: string,
): T | undefined {
  const users = acmeAccountUsers(secret);
  if (!users.includes(ownerId)) return undefined;
  return withUsers(
    secret,
    users.filter((u) => u !== ownerId),
  );
}

function withUsers<T extends AcmeAccountSecretMeta>(secret: T, users: string[]): T {
  const annotations = { ...secret.metadata.annotations };
  if (users.length > 0) annotations[ACME_ACCOUNT_USERS] = serializeUsers(users);
  else delete annotations[ACME_ACCOUNT_USERS];
  return { ...secret, metadata: { ...secret.metadata, annotations } };
}

/**
 * What to do with the Secret once a user has left (after {@link withoutAcmeAccountUser}): delete it
 * when it is ours and no user is left, guarded by the resourceVersion read (a user that joined since
 * makes the delete fail with 409, and the caller reads again); otherwise keep it.
 */
export function acmeAccountRelease(
  secret: AcmeAccountSecretMeta | undefined,
): { action: "keep" } | { action: "delete"; resourceVersion?: string } {
  if (!secret || !acmeAccountSecretIsOurs(secret) || acmeAccountUsers(secret).length > 0) {
    return { action: "keep" };
  }
  return { action: "delete", resourceVersion: secret.metadata.resourceVersion };
}
