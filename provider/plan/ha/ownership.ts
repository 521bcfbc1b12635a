/**
 * Who owns a Tailscale Service, and whether this resource may use it.
 *
 * The operator marks ownership with `tailscale.com/owner-references` = `{"ownerRefs":[{"operatorID"}]}`
 * and lets any operator append itself, so equal names in two clusters silently merge into one
 * service (tailscale/tailscale#16752). We use our own annotation and make joining explicit:
 *
 * - annotation key `tailnet.pulumi.com/owners`, value
 *   `{"owners":[{"id":"<ownerId>","cluster":"<id>","proxyGroup":{"namespace":"<ns>","name":"<pg>"}}]}`
 *   (owner = a Pulumi resource `<project>/<stack>/<name>`; cluster = the cluster it serves from;
 *   proxyGroup = the ProxyGroup serving it there, so that moving the resource back to a standalone
 *   proxy finds that ProxyGroup by name instead of listing every namespace, migration.ts). Entries
 *   written by older versions have no `proxyGroup`; an owner's entry is rewritten with it whenever
 *   its resource writes the service;
 * - a service without our annotation is never taken over, whoever made it;
 * - a service owned by other resources is joined only with a `joinToken` that one of its current owners
 *   exports: `joinTokenFor(serviceName, ownerId)`. The token is not a secret (anyone who can read the
 *   annotation can compute it); it proves intent, so that two stacks that happen to pick the same
 *   hostname get an error instead of sharing traffic;
 * - the same Pulumi resource (same `ownerId`) may always re-attach, from any cluster: that is what a
 *   replace to a new cluster or a retried create does;
 * - a release removes only this owner's entry; the last owner deletes the service.
 */
import type { TailscaleService } from "../../tailscale/types";
import { sha256Hex } from "../gojson";
import type { ProxyGroupRef } from "../inputs";
import { TAILSCALE_SERVICE_COMMENT } from "./common";
import { findKey } from "./gostruct";

export type { TailscaleService } from "../../tailscale/types";

/** Annotation key of our ownership marker on a Tailscale Service. */
export const OWNERS_ANNOTATION = "tailnet.pulumi.com/owners";
/** The operator's marker; recognised only to give a better error. */
export const OPERATOR_OWNER_ANNOTATION = "tailscale.com/owner-references";

/** Thrown when a Tailscale Service may not be used by this resource; `message` says why and what to do. */
export class OwnershipConflictError extends Error {
  /** Stable kind for callers that branch on it. */
  readonly code = "OwnershipConflict";
  constructor(message: string) {
    super(message);
    this.name = "OwnershipConflictError";
  }
}

/** One owner of a Tailscale Service. */
export interface ServiceOwner {
  /** `ownerId` of the Pulumi resource: `<project>/<stack>/<resource name>`. */
  id: string;
  /** Identity of the cluster whose ProxyGroup serves it (e.g. the kube-system namespace UID). */
  cluster?: string;
  /** The ProxyGroup that serves it in that cluster; absent in entries written by older versions. */
  proxyGroup?: ProxyGroupRef;
}

/** Result of parsing the owners annotation. */
export type ParsedOwners =
  | { kind: "absent" }
  | { kind: "invalid"; error: string }
  | { kind: "owners"; owners: ServiceOwner[] };

/** Parse the value of {@link OWNERS_ANNOTATION} (keys matched case-insensitively, like the operator's Go). */
export function parseOwners(annotations: Record<string, string> | undefined): ParsedOwners {
  const raw = annotations?.[OWNERS_ANNOTATION];
  if (raw === undefined) return { kind: "absent" };
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    return { kind: "invalid", error: (e as Error).message };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return { kind: "invalid", error: "not a JSON object" };
  const o = v as Record<string, unknown>;
  const k = findKey(o, "owners");
  const list = k === undefined ? [] : o[k];
  if (!Array.isArray(list)) return { kind: "invalid", error: '"owners" is not an array' };
  const owners: ServiceOwner[] = [];
  for (const item of list) {
    if (typeof item !== "object" || item === null)
      return { kind: "invalid", error: "an owner is not an object" };
    const it = item as Record<string, unknown>;
    const id = it[findKey(it, "id") ?? "id"];
    const cluster = it[findKey(it, "cluster") ?? "cluster"];
    if (typeof id !== "string" || id === "") return { kind: "invalid", error: 'an owner has no "id"' };
    const owner: ServiceOwner = { id };
    if (typeof cluster === "string" && cluster !== "") owner.cluster = cluster;
    const proxyGroup = parseProxyGroup(it[findKey(it, "proxyGroup") ?? "proxyGroup"]);
    if (proxyGroup) owner.proxyGroup = proxyGroup;
    owners.push(owner);
  }
  return { kind: "owners", owners };
}

/**
 * An entry's `proxyGroup`, read tolerantly: it is only a hint where to look (older entries lack it),
 * so anything but an object with a non-empty `namespace` and `name` counts as absent.
 */
function parseProxyGroup(v: unknown): ProxyGroupRef | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const namespace = o[findKey(o, "namespace") ?? "namespace"];
  const name = o[findKey(o, "name") ?? "name"];
  if (typeof namespace !== "string" || namespace === "" || typeof name !== "string" || name === "")
    return undefined;
  return { namespace, name };
}

/**
 * Serialise owners as the annotation value (`{"owners":[{"id","cluster","proxyGroup"}]}`, cluster and
 * proxyGroup omitted when unknown).
 */
export function serializeOwners(owners: readonly ServiceOwner[]): string {
  return JSON.stringify({
    owners: owners.map((o) => ({
      id: o.id,
      ...(o.cluster === undefined ? {} : { cluster: o.cluster }),
      ...(o.proxyGroup === undefined
        ? {}
        : { proxyGroup: { namespace: o.proxyGroup.namespace, name: o.proxyGroup.name } }),
    })),
  });
}

/**
 * The join token the owners of `serviceName` export for other stacks: the first 32 hex digits of
 * SHA-256(`<serviceName>\n<ownerId>`). Deterministic, so it can be exported before the service exists.
 */
export function joinTokenFor(serviceName: string, ownerId: string): string {
  return sha256Hex(`${serviceName}\n${ownerId}`).slice(0, 32);
}

/**
 * The join token to check ownership with: the input's, unless it is this resource's own token (which
 * check fills in as the default, so that the `joinToken` output equals the input and a preview shows no
 * change); our own token is no request to join anyone.
 */
export function effectiveJoinToken(
  serviceName: string,
  input: { joinToken?: string; ownerId: string },
): string | undefined {
  if (!input.joinToken || input.joinToken === joinTokenFor(serviceName, input.ownerId)) return undefined;
  return input.joinToken;
}

/** Outcome of {@link checkOwnership}. */
export type OwnershipCheck =
  | {
      ok: true;
      /** Owners to write, this one included (unchanged when it already was an owner). */
      owners: ServiceOwner[];
      /** Whether this call adds this owner (a create or an explicit join). */
      added: boolean;
      /** Whether others own it too (a shared, multi-stack or multi-cluster service). */
      shared: boolean;
    }
  | { ok: false; reason: string };

/** Who we are, for ownership. */
export interface OwnerIdentity {
  ownerId: string;
  clusterId?: string;
  /** The ProxyGroup this resource is served by, recorded in its entry (not part of the identity). */
  proxyGroup?: ProxyGroupRef;
}

function sameOwner(a: ServiceOwner, b: ServiceOwner): boolean {
  return a.id === b.id && (a.cluster ?? "") === (b.cluster ?? "");
}

function describeOwners(owners: readonly ServiceOwner[]): string {
  return owners.map((o) => (o.cluster ? `"${o.id}" (cluster ${o.cluster})` : `"${o.id}"`)).join(", ");
}

/**
 * May `me` use the Tailscale Service `existing` (undefined = it does not exist yet)?
 * See the module comment for the rules. Failure reasons name the service, its current owner, and what
 * to do.
 */
export function checkOwnership(
  serviceName: string,
  existing: TailscaleService | undefined,
  me: OwnerIdentity,
  joinToken?: string,
): OwnershipCheck {
  const self: ServiceOwner = { id: me.ownerId };
  if (me.clusterId) self.cluster = me.clusterId;
  if (me.proxyGroup) self.proxyGroup = { namespace: me.proxyGroup.namespace, name: me.proxyGroup.name };
  if (existing === undefined) return { ok: true, owners: [self], added: true, shared: false };

  const parsed = parseOwners(existing.annotations);
  if (parsed.kind === "absent") {
    const byOperator = existing.annotations?.[OPERATOR_OWNER_ANNOTATION] !== undefined;
    return {
      ok: false,
      reason:
        `Tailscale Service ${serviceName} already exists and is not managed by pulumi-tailnet ` +
        `(${byOperator ? "it is managed by the Tailscale Kubernetes Operator" : `it has no ${OWNERS_ANNOTATION} annotation`}); ` +
        "it was not modified. Choose a different hostname, or delete that Tailscale Service in the admin console " +
        "if nothing uses it, then run `pulumi up` again.",
    };
  }
  if (parsed.kind === "invalid") {
    return {
      ok: false,
      reason:
        `Tailscale Service ${serviceName} has an unreadable ${OWNERS_ANNOTATION} annotation (${parsed.error}); ` +
        "it was not modified. Repair or remove the annotation, or delete the service if nothing uses it.",
    };
  }
  const owners = parsed.owners;
  // An emptied owner list is our own leftover (a release that failed before its delete): adopt it.
  if (owners.length === 0) return { ok: true, owners: [self], added: true, shared: false };
  if (owners.some((o) => sameOwner(o, self))) {
    // Our own entry is rewritten as we are now: an older one gains the ProxyGroup that serves it.
    return {
      ok: true,
      owners: owners.map((o) => (sameOwner(o, self) ? self : o)),
      added: false,
      shared: owners.length > 1,
    };
  }
  if (owners.some((o) => o.id === me.ownerId)) {
    // The same Pulumi resource from another cluster (e.g. moving clusters with create-before-delete).
    return { ok: true, owners: [...owners, self], added: true, shared: true };
  }
  if (joinToken === undefined || joinToken === "") {
    return {
      ok: false,
      reason:
        `Tailscale Service ${serviceName} is owned by ${describeOwners(owners)}; an equal hostname alone never ` +
        "joins another stack's service. To serve it from this stack as well, set `joinToken` to that resource's " +
        "`joinToken` output (e.g. through a StackReference); otherwise choose a different hostname.",
    };
  }
  if (!owners.some((o) => joinTokenFor(serviceName, o.id) === joinToken)) {
    return {
      ok: false,
      reason:
        `the joinToken given does not match any owner of Tailscale Service ${serviceName} ` +
        `(owned by ${describeOwners(owners)}); use the \`joinToken\` output of one of those resources.`,
    };
  }
  return { ok: true, owners: [...owners, self], added: true, shared: true };
}

/** What a delete does with the Tailscale Service. */
export type ReleaseDecision =
  | { action: "none"; reason: string }
  | { action: "delete" }
  | { action: "put"; service: TailscaleService; remainingOwners: ServiceOwner[] };

/**
 * Release `me`'s claim on `existing` (undefined = already gone): delete the service when we are the
 * last owner, otherwise PUT it back without our entry (addresses and other annotations kept). A
 * service we do not own is left alone. With no `clusterId`, every entry of `ownerId` is removed.
 */
export function releaseOwnership(existing: TailscaleService | undefined, me: OwnerIdentity): ReleaseDecision {
  if (existing === undefined) return { action: "none", reason: "the Tailscale Service is already gone" };
  const parsed = parseOwners(existing.annotations);
  if (parsed.kind !== "owners") {
    return {
      action: "none",
      reason: `Tailscale Service ${existing.name} is not marked as ours; left untouched`,
    };
  }
  const mine = (o: ServiceOwner) =>
    o.id === me.ownerId && (me.clusterId === undefined || o.cluster === me.clusterId);
  if (!parsed.owners.some(mine)) {
    return { action: "none", reason: `this resource is not an owner of Tailscale Service ${existing.name}` };
  }
  const remaining = parsed.owners.filter((o) => !mine(o));
  if (remaining.length === 0) return { action: "delete" };
  return {
    action: "put",
    remainingOwners: remaining,
    service: {
      ...existing,
      annotations: { ...existing.annotations, [OWNERS_ANNOTATION]: serializeOwners(remaining) },
    },
  };
}

/**
 * The PUT body for a service we own: the desired ports and tags, our comment and owners annotation,
 * the existing service's other annotations, and its `addrs` (a PUT without them fails or loses the
 * allocated addresses: docs/tailscale-api.md, "Tailscale Services").
 */
export function buildTailscaleService(
  serviceName: string,
  existing: TailscaleService | undefined,
  owners: readonly ServiceOwner[],
  ports: readonly string[],
  tags: readonly string[],
): TailscaleService {
  const body: TailscaleService = { name: serviceName };
  if (existing?.addrs && existing.addrs.length > 0) body.addrs = [...existing.addrs];
  body.comment = TAILSCALE_SERVICE_COMMENT;
  body.annotations = { ...existing?.annotations, [OWNERS_ANNOTATION]: serializeOwners(owners) };
  body.ports = [...ports];
  body.tags = [...tags];
  return body;
}

/**
 * Whether `existing` must be PUT to become `desired`: absent, or tags, ports (ordered), owners or
 * comment differ. Addresses are not compared (they come from the existing service).
 */
export function tailscaleServiceNeedsPut(
  existing: TailscaleService | undefined,
  desired: TailscaleService,
): boolean {
  if (existing === undefined) return true;
  const eq = (a?: readonly string[], b?: readonly string[]) =>
    (a ?? []).length === (b ?? []).length && (a ?? []).every((v, i) => v === (b ?? [])[i]);
  return (
    !eq(existing.tags, desired.tags) ||
    !eq(existing.ports, desired.ports) ||
    existing.comment !== desired.comment ||
    existing.annotations?.[OWNERS_ANNOTATION] !== desired.annotations?.[OWNERS_ANNOTATION]
  );
}

/** The last IPv4 and last IPv6 of a service's `addrs` (the operator keeps the last of each family). */
export function serviceAddresses(addrs: readonly string[] | undefined): { ipv4?: string; ipv6?: string } {
  let ipv4: string | undefined;
  let ipv6: string | undefined;
  for (const a of addrs ?? []) {
    if (a.includes(":")) ipv6 = a;
    else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) ipv4 = a;
  }
  return { ipv4, ipv6 };
}
