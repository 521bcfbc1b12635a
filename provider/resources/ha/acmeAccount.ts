/**
 * Joining and leaving the shared ACME account Secret of a namespace (plan/ha/acmeAccount.ts): the
 * ProxyGroups of every stack that set `shareAcmeAccount` there list themselves in it; the first
 * creates it, the last deletes it, and a leave drops the users that have no StatefulSet (left behind by
 * a killed host). Both are safe against other stacks doing the same at once: the edits are
 * read-modify-writes guarded by resourceVersion, and the delete carries the resourceVersion it saw, so
 * it fails (and is reconsidered) when someone joined or replica 0 wrote the key since.
 */
import { type Kube, KubeApiError, sharedEdit } from "../../kube";
import {
  type AcmeAccountStage,
  acmeAccountSecretFor,
  planAcmeAccountLeave,
  proxyGroupStatefulSets,
  SHARED_ACME_SECRET,
  withAcmeAccountUser,
} from "../../plan/ha";
import { backoffMs } from "../../retry";
import { coreRef, listSelection } from "../kubeFacts";

/** How often a join or leave starts over after losing a race with another writer. */
const ATTEMPTS = 10;

const isCode = (err: unknown, code: number) => err instanceof KubeApiError && err.code === code;

/**
 * Lists `ownerId` among the users of the shared Secret of `namespace` at `stage`, creating the Secret
 * (empty: replica 0 writes the key) when there is none. `joining` must run before the replicas start:
 * tailscaled reads the key at start and never creates the Secret; `running` right after the StatefulSet
 * is written, which lists the user again if a leave dropped it meanwhile (plan/ha/acmeAccount.ts).
 */
export async function joinAcmeAccount(
  kube: Kube,
  namespace: string,
  ownerId: string,
  stage: AcmeAccountStage,
): Promise<void> {
  const ref = coreRef("Secret", namespace, SHARED_ACME_SECRET);
  for (let attempt = 1; ; attempt++) {
    const live = await kube.get(ref);
    try {
      if (!live) {
        await kube.create(acmeAccountSecretFor(namespace, ownerId, stage));
        return;
      }
      if (live.metadata.deletionTimestamp) {
        throw new Error(
          `Secret ${namespace}/${SHARED_ACME_SECRET}, the shared ACME account, is being deleted but held by a finalizer ` +
            `(${(live.metadata.finalizers ?? []).join(", ")}); back up its account key if it matters, remove the ` +
            "finalizer (or wait for whoever holds it), then run pulumi up again",
        );
      }
      await sharedEdit(kube, ref, (secret) => withAcmeAccountUser(secret, ownerId, stage));
      return;
    } catch (err) {
      // Created by someone else since our read (409), or deleted by its last user since (404).
      if ((isCode(err, 409) || isCode(err, 404)) && attempt < ATTEMPTS) continue;
      throw err;
    }
  }
}

/**
 * Removes the ProxyGroup `name` (`ownerId`) from the users of the shared Secret of `namespace`, with
 * every user that has no ProxyGroup StatefulSet there, and deletes the Secret when it is ours and no
 * user is left. Nothing happens when there is no such Secret. Call it only once no replica of `ownerId`
 * runs with the shared account.
 */
export async function leaveAcmeAccount(
  kube: Kube,
  namespace: string,
  leaver: { ownerId: string; name: string },
): Promise<void> {
  const ref = coreRef("Secret", namespace, SHARED_ACME_SECRET);
  for (let attempt = 1; ; attempt++) {
    const live = await kube.get(ref);
    // Listed after the read: a joiner whose StatefulSet is missing here writes the Secret after this list.
    const statefulSets = live ? await listSelection(kube, proxyGroupStatefulSets(namespace)) : [];
    const decision = planAcmeAccountLeave(live, leaver, statefulSets);
    try {
      if (decision.action === "keep") return;
      if (decision.action === "delete") {
        await kube.delete(ref, { resourceVersion: decision.resourceVersion });
        return;
      }
      // Written at the version read: a 409 means someone joined or a replica stored the key since.
      await kube.readModifyWrite(ref, () => decision.secret, { maxAttempts: 1, read: live });
      return;
    } catch (err) {
      // Written since our read, or deleted: decide again, after a pause so racing leaves fall apart.
      if ((isCode(err, 409) || isCode(err, 404)) && attempt < ATTEMPTS) {
        await new Promise((r) => setTimeout(r, backoffMs(attempt, 10, 200, Math.random)));
        continue;
      }
      throw err;
    }
  }
}
