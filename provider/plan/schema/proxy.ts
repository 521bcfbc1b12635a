/**
 * What the declarations of TailnetService and TailnetIngress share: the fields every proxy-backed
 * resource has, the effects only they use (the named special rules of plan/diff.ts), and the shape of
 * their declaration. (The fields every kind has are in shared.ts.)
 *
 * Each of the two kinds runs in one of two modes, chosen by `proxyGroup`: standalone (its own proxy,
 * with its own tailnet device) or HA (a Tailscale Service served by a ProxyGroup). A field's change may
 * be applied differently in each mode (`{ standalone, ha }`); the mode of the new inputs decides.
 */
import { withoutServiceRevisions } from "../backends";
import { checkDnsLabel, checkOwnerId, checkProxyGroupRef } from "../check";
import { fingerprintedObjects } from "../fingerprint";
import { serviceNameFor } from "../ha/common";
import { joinTokenFor } from "../ha/ownership";
import type { DerivedHostname } from "../hostnames";
import {
  type HostInputs,
  isUnknown,
  type ObservedInputs,
  type PlannedInputs,
  type ProxyCommonInput,
  UNKNOWN,
} from "../inputs";
import type { Effect, FieldSpec, KindSchema } from "./field";
import { checkProxyClassField, lastFields, planInputsKnown, tagsField } from "./shared";

/**
 * The effects of TailnetService and TailnetIngress fields: the common ones, and three named special
 * rules (plan/diff.ts applies them):
 * - `tailnetName`: replaced when the tailnet name the inputs give changes (it names the device or the
 *   Tailscale Service), in place when it stays the same after normalisation (`Web` and `web.ts.net`);
 * - `proxyNamespace`: replaced when the standalone proxy's effective namespace changes (its objects
 *   live there), in place when it stays the same;
 * - `migration`: `proxyGroup` added or removed is a standalone↔HA migration, replaced with the new
 *   side first; moving between two ProxyGroups keeps the Tailscale Service's name, so the old goes
 *   first.
 */
export type ProxyEffect =
  | Effect
  | { kind: "tailnetName" }
  | { kind: "proxyNamespace" }
  | { kind: "migration" };

/** A value derived from the inputs: known, absent, or `unknown` while an input it derives from is. */
export type Derived = string | "unknown" | undefined;

/** The declaration of TailnetService or TailnetIngress, with the derivations its special rules use. */
export interface ProxySchema<I> extends KindSchema<I, ProxyEffect> {
  kind: "TailnetService" | "TailnetIngress";
  /** The tailnet name the inputs give (hostnames.ts); undefined while an input it derives from is unknown. */
  hostnameOf(input: Partial<I>): DerivedHostname | undefined;
  /** Besides `hostname`, the fields whose unknown value, at any depth, makes the tailnet name unknown. */
  nameDependsOn: readonly string[];
  /** The fields a change of the tailnet name can come from when `hostname` is not set. */
  nameSources: readonly string[];
  /** The standalone proxy's namespace when `namespace` is not set (rule `proxyNamespace`). */
  defaultNamespace(input: Partial<I>): Derived;
  /** The field the namespace defaults from (it may depend on both sides). */
  namespaceSource(olds: Record<string, unknown>, news: Record<string, unknown>): string;
  /**
   * The namespaces of the backend Services of known inputs, the one the default comes from first:
   * every namespace a standalone proxy without `namespace` was placed in while its backends were some
   * of these (plan/migration.ts looks for a former standalone proxy there).
   */
  backendNamespaces(input: Partial<I>): string[];
}

/** The inputs the shared fields are declared for. */
type Common = ProxyCommonInput & HostInputs & PlannedInputs & ObservedInputs;

export const ownerIdField = {
  origin: "sdk",
  recorded: true,
  check: (v, c) => checkOwnerId(v, c.at, c.push),
  change: { kind: "replace", reason: "the owner identity is in the proxy's labels and immutable selector" },
} satisfies FieldSpec<string, Common, ProxyEffect>;

/** `namespace`: where the standalone proxy's objects go; `fill` derives its default. */
function namespaceField(fill: (input: Common & Record<string, any>) => string | undefined) {
  return {
    check: (v, c) => checkDnsLabel(v, c.at, c.push),
    fill,
    change: {
      standalone: { kind: "proxyNamespace" },
      ha: {
        kind: "inPlace",
        target: "state",
        reason: "ignored in HA mode (the ProxyGroup's namespace is used)",
      },
    },
  } satisfies FieldSpec<string | undefined, Common & Record<string, any>, ProxyEffect>;
}

export const tagsOfProxy = tagsField<Common, ProxyEffect>({
  standalone: {
    kind: "replace",
    reason: "tags only reach a device through a new auth key, so a new device is created",
  },
  ha: {
    kind: "inPlace",
    target: "tailscaleService",
    reason: "tags of the Tailscale Service are updated in place",
  },
});

export const proxyClassOfProxy = {
  // On an HA resource the ProxyGroup's ProxyClass applies and this one is only recorded: one shared with
  // the ProxyGroup may hold its fields.
  check: (v, c) => checkProxyClassField(v, c, c.input.proxyGroup === undefined),
  change: {
    standalone: {
      kind: "inPlace",
      target: "statefulSet",
      reason: "the proxy Pod template is updated in place (rolling restart)",
    },
    ha: {
      kind: "inPlace",
      target: "state",
      reason: "recorded only: on a ProxyGroup, the ProxyGroup's proxyClass customises the Pods",
    },
  },
} satisfies FieldSpec<unknown, Common, ProxyEffect>;

export const proxyGroupField = {
  check: (v, c) => checkProxyGroupRef(v, c.at, c.push),
  change: { kind: "migration" },
} satisfies FieldSpec<unknown, Common, ProxyEffect>;

const JOIN_TOKEN = /^[0-9a-f]{32}$/;

/**
 * `joinToken` (HA only). It defaults to this resource's own token: the SDK declares `joinToken` both as
 * the input (the token of another stack's service to join) and as the output (the token others pass to
 * join this one); with the default filled in, a resource that joins nobody has input equal to output,
 * so a preview after `up` shows no change. `hostnameOf` derives the kind's hostname.
 */
export function joinTokenField(hostnameOf: (input: any) => DerivedHostname | undefined) {
  const recorded = {
    kind: "inPlace",
    target: "state",
    reason: "HA only: changes which Tailscale Service may be joined; checked again on update",
  } as const;
  return {
    check(v, c) {
      if (c.input.proxyGroup === undefined || v === undefined || v === null) return;
      if (typeof v !== "string" || !JOIN_TOKEN.test(v)) {
        c.push(
          c.at,
          "must be the joinToken output of the resource whose Tailscale Service to join (32 hexadecimal digits), e.g. read through a StackReference",
        );
      }
    },
    fill(input) {
      if (input.proxyGroup === undefined || typeof input.ownerId !== "string" || isUnknown(input.ownerId)) {
        return undefined;
      }
      let host: DerivedHostname | undefined;
      try {
        host = hostnameOf(input);
      } catch {
        return undefined;
      }
      if (!host || isUnknown(host.hostname)) return undefined;
      return joinTokenFor(serviceNameFor(host.hostname.toLowerCase()), input.ownerId);
    },
    change: { standalone: recorded, ha: recorded },
  } satisfies FieldSpec<string | undefined, Common, ProxyEffect>;
}

/**
 * `observed`: written by a refresh's Read into the inputs and kept by check (plan/refresh.ts); never
 * compared as an input (the refresh rule of plan/diff.ts reads it).
 */
const observedField = {
  origin: "check",
  recorded: true,
  fill: (input) => input.observed,
  change: {
    kind: "none",
    reason: "what the last refresh read; the refresh rule of plan/diff.ts compares it",
  },
} satisfies FieldSpec<Record<string, unknown> | undefined, Common, ProxyEffect>;

/**
 * The fields every TailnetService and TailnetIngress declares after its own, in this order (the
 * order of their failures). `hostnameOf` derives the kind's hostname, `namespaceOf` the standalone
 * proxy's default namespace, `plan` the standalone plan a preview fingerprints (planned without
 * I/O: the kind passes placeholder cluster facts), and `haWrites` what an HA `up` writes
 * (plan/ha/preview.ts), which may leave the entries planned from backends unknown.
 */
export function commonProxyFields<I extends Common>(o: {
  hostnameOf: (input: I) => DerivedHostname | undefined;
  namespaceOf: (input: I) => string | undefined;
  plan: (input: I) => { objects: readonly object[] };
  haWrites: (input: I) => Record<string, string>;
}) {
  return {
    ownerId: ownerIdField,
    namespace: namespaceField(o.namespaceOf as (input: Common) => string | undefined),
    tags: tagsOfProxy,
    proxyClass: proxyClassOfProxy,
    proxyGroup: proxyGroupField,
    joinToken: joinTokenField(o.hostnameOf),
    observed: observedField,
    ...lastFields<I>((input) => {
      const ha = input.proxyGroup !== undefined;
      // In HA mode a backend that is not known yet leaves only the entries planned from it unknown.
      if (!planInputsKnown(ha ? withoutServiceRevisions(input) : input)) return UNKNOWN;
      try {
        return ha ? o.haWrites(input) : fingerprintedObjects(o.plan(input));
      } catch {
        return undefined; // a plan that cannot be rendered yet is reported by `up`, with its reason
      }
    }),
  };
}
