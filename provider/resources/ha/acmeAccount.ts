/**
 * Joining and leaving the shared ACME account Secret of a namespace (plan/ha/acmeAccount.ts): the
 * ProxyGroups of every stack that set `shareAcmeAccount` there list themselves in it; the first
 * creates it, the last deletes it. Both are safe against other stacks doing the same at once: the
 * edits are read-modify-writes guarded by resourceVersion, and the delete carries the resourceVersion
 * it saw, so it fails (and is reconsidered) when someone joined or replica 0 wrote the key since.
 */
import { type Kube, KubeApiError, sharedEdit } from "../../kube";
import {
  acmeAccountRelease,
  acmeAccountSecret,
  SHARED_ACME_SECRET,
  withAcmeAccountUser,
  withoutAcmeAccountUser,
} from "../../plan/ha";
import { coreRef } from "../kubeFacts";

/** How often a join or leave starts over after losing a race with another writer. */
const ATTEMPTS = 10;

const isCode = (err: unknown, code: number) => err instanceof KubeApiError && err.code === code;

/**
 * Lists `ownerId` among the users of the shared Secret of `namespace`, creating the Secret (empty:
 * replica 0 writes the key) when there is none. Must run before the replicas start: tailscaled reads
 * the key at start and never creates the Secret.
 */
export async function joinAcmeAccount(kube: Kube, namespace: string, ownerId: string): Promise<void> {
  const ref = coreRef("Secret", namespace, SHARED_ACME_SECRET);
  for (let attempt = 1; ; attempt++) {
    const live = await kube.get(ref);
    try {
      if (!live) {
        await kube.create(acmeAccountSecret(namespace, [ownerId]));
        return;
      }
      if (live.metadata.deletionTimestamp) {
        throw new Error(
          `Secret ${namespace}/${SHARED_ACME_SECRET}, the shared ACME account, is being deleted but held by a finalizer ` +
            `(${(live.metadata.finalizers ?? []).join(", ")}); back up its account key if it matters, remove the ` +
            "finalizer (or wait for whoever holds it), then run pulumi up again",
        );
      }
      await sharedEdit(kube, ref, (secret) => withAcmeAccountUser(secret, ownerId));
      return;
    } catch (err) {
      // Created by someone else since our read (409), or deleted by its last user since (404).
      if ((isCode(err, 409) || isCode(err, 404)) && attempt < ATTEMPTS) continue;
      throw err;
    }
  }
}

/**
 * Removes `ownerId` from the users of the shared Secret of `namespace`, and deletes the Secret when it
 * is ours and nobody else uses it. Nothing happens when there is no such Secret. Call it only once no
 * replica of `ownerId` runs with the shared account.
 */
export async function leaveAcmeAccount(kube: Kube, namespace: string, ownerId: string): Promise<void> {
  const ref = coreRef("Secret", namespace, SHARED_ACME_SECRET);
  try {
    await sharedEdit(kube, ref, (secret) => withoutAcmeAccountUser(secret, ownerId));
  } catch (err) {
    if (isCode(err, 404)) return;
    throw err;
  }
  for (let attempt = 1; ; attempt++) {
    const decision = acmeAccountRelease(await kube.get(ref));
    if (decision.action === "keep") return;
    try {
      await kube.delete(ref, { resourceVersion: decision.resourceVersion });
      return;
    } catch (err) {
      // Written since our read: someone joined, or a replica stored the key; decide again.
      if (isCode(err, 409) && attempt < ATTEMPTS) continue;
      throw err;
    }
  }
}
