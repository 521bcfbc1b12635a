/**
 * Tailnet devices of the proxies this package runs, standalone proxies and ProxyGroup replicas alike:
 * refusing a name another device holds, minting the single-use key a proxy logs in with, and waiting,
 * by watch, until the proxy has registered its device.
 */
import { createHash } from "node:crypto";
import type { Kube, ObjectRef } from "../kube";
import { parseOwners, serviceNameFor } from "../plan/ha";
import { tailnetNameOf } from "../plan/hostnames";
import { type Device, TailscaleApiError, type TailscaleClient, type TailscaleService } from "../tailscale";
import { deviceStateOf, type ProxyDeviceState, secretData } from "./kubeFacts";

/**
 * The control server tailscaled logs in to. Omitted for Tailscale's own API (tailscaled's built-in
 * default is the right control server); for any other API base URL (a self-hosted control server, or
 * the local test server), that same URL serves control too.
 */
export function controlUrlFor(tailscale: TailscaleClient): string | undefined {
  const base = tailscale.apiBaseUrl;
  return base === "https://api.tailscale.com" ? undefined : base;
}

/**
 * Who holds a tailnet name: a device, or a Tailscale Service, which holds `<name>.<tailnet>` for its VIP
 * (the API refuses a service named after a machine, and whether control then suffixes a registering device
 * is undocumented, so we refuse, stricter).
 *
 * Shared-in devices (`isExternal`, e.g. Tailscale's `hello.ts.net`) hold no name here: they are not members
 * of the tailnet (SPEC `Device.isExternal`), their MagicDNS name lives under their own tailnet's domain, and
 * clients key MagicDNS records by the full name (`tailscale/tailscale@de9ec7ee
 * ipn/ipnlocal/node_backend.go:1509-1523`), so `hello.ts.net` and `hello.<tailnet>.ts.net` do not collide.
 * KB https://tailscale.com/kb/1098/machine-names enforces unique names "across a Tailscale network".
 */
export function isSharedIn(device: Device): boolean {
  return device.isExternal === true;
}

/**
 * Control gives a second device with a taken name the suffix `-1`, and everything that knew the name
 * breaks (operator users' pain). So a name held by a device that is not one of `ownDeviceIds`, or by any
 * Tailscale Service (ours or not: a standalone create first frees its own, proxyLifecycle.ts), fails the
 * `up` before anything is written, naming the holder. `what` is what would register (`a new proxy`, `the
 * replica`), `fix` the other way out than removing the holder.
 */
export async function refuseTakenHostnames(
  tailscale: TailscaleClient,
  hostnames: readonly string[],
  ownDeviceIds: ReadonlySet<string>,
  o: { what: string; fix: string },
): Promise<void> {
  if (hostnames.length === 0) return;
  // One list shared by the checks of this step (TailscaleClient.sharedDeviceList). The API's `hostname=`
  // filter is not used: it matches the OS hostname, while the clash is on the MagicDNS name, which differs
  // after a rename in the console or a `-1` suffix (KB https://tailscale.com/kb/1098/machine-names; SPEC
  // Device.name vs Device.hostname), so a filtered list could miss the holder.
  const devices = await tailscale.sharedDeviceList();
  for (const h of hostnames) {
    const clash = devices.find(
      (d) =>
        !isSharedIn(d) &&
        !ownDeviceIds.has(d.nodeId ?? d.id) &&
        !ownDeviceIds.has(d.id) &&
        tailnetNameOf(d) === h.toLowerCase(),
    );
    if (clash) {
      throw new Error(
        `hostname "${h}" is already used by tailnet device ${clash.name ?? clash.hostname} (id ${clash.nodeId ?? clash.id}); ` +
          `${o.what} would be registered as "${h}-1". Remove that device from the tailnet, or ${o.fix}.`,
      );
    }
  }
  for (const h of hostnames) {
    const service = await serviceHolding(tailscale, h.toLowerCase(), o.what);
    if (service) {
      throw new Error(
        `hostname "${h}" is already used by Tailscale Service ${service.name}${serviceOwnersText(service)}; ` +
          `${o.what} would be registered as "${h}-1". Delete that Tailscale Service (or the Pulumi resource ` +
          `that owns it), or ${o.fix}.`,
      );
    }
  }
}

/** The Tailscale Service `svc:<hostname>`, if one exists; a 403 says which scope the check needs. */
async function serviceHolding(
  tailscale: TailscaleClient,
  hostname: string,
  what: string,
): Promise<TailscaleService | undefined> {
  try {
    return await tailscale.getService(serviceNameFor(hostname));
  } catch (err) {
    if (err instanceof TailscaleApiError && err.status === 403) {
      throw new Error(
        `cannot check whether Tailscale Service ${serviceNameFor(hostname)} holds the hostname "${hostname}" ` +
          `before ${what} registers: the Tailscale credentials may not read Tailscale Services (403). Give the ` +
          'OAuth client the "services:read" scope (or "services"), or use an API key.',
        { cause: err },
      );
    }
    throw err;
  }
}

/** ` (owned by pulumi-tailnet resource(s) a, b)` from the service's owners annotation, or ``. */
function serviceOwnersText(service: TailscaleService): string {
  const owners = parseOwners(service.annotations);
  if (owners.kind !== "owners" || owners.owners.length === 0) return "";
  return ` (owned by pulumi-tailnet resource ${owners.owners.map((x) => x.id).join(", ")})`;
}

/**
 * Whose auth keys: the resource `ownerId` and its proxy that logs in with them, `proxy`: a standalone
 * proxy's hostname, or a ProxyGroup's `<namespace>/<name>` ({@link proxyGroupKeyHolder}), one holder for all
 * its replicas, so that a destroy also finds the keys a killed scale-up minted for replicas the state never
 * recorded.
 */
export interface KeyHolder {
  ownerId: string;
  proxy: string;
}

/** The holder of every key minted for the replicas of a ProxyGroup. */
export function proxyGroupKeyHolder(pg: { ownerId: string; namespace: string; name: string }): KeyHolder {
  return { ownerId: pg.ownerId, proxy: `${pg.namespace}/${pg.name}` };
}

/**
 * What every key minted for one holder starts its description with: the digest of the owner and the
 * proxy, which tells this holder's keys from any other's, however long the names (the API allows 50
 * characters, the client adds a per-attempt marker). The rest of the description is for people reading
 * the key list.
 */
function keyDescriptionPrefix(holder: KeyHolder): string {
  const digest = createHash("sha256").update(`${holder.ownerId}\n${holder.proxy}`).digest("hex").slice(0, 8);
  return `pulumi-tailnet ${digest} `;
}

/**
 * Mints the key the proxy device `hostname` of `holder` logs in with: single-use, not ephemeral,
 * pre-authorised, tagged, and short-lived, since it is used within this step or never (a short life
 * limits what a leaked key could do).
 */
export function mintAuthKey(
  tailscale: TailscaleClient,
  holder: KeyHolder,
  hostname: string,
  tags: string[],
  remainingMs: number,
): Promise<{ id: string; key: string }> {
  const readable = hostname.replace(/[^A-Za-z0-9 -]/g, "-");
  return tailscale.createAuthKey({
    tags,
    reusable: false,
    ephemeral: false,
    preauthorized: true,
    // The API allows at most 50 characters: letters, digits, spaces and hyphens.
    description: `${keyDescriptionPrefix(holder)}${readable}`.slice(0, 50),
    expirySeconds: Math.ceil(remainingMs / 1000) + 300,
  });
}

/**
 * Revokes every valid key minted for `holder`, whichever run minted it: a run killed right after its mint
 * left one that nothing recorded. Call it only when no proxy of the holder still needs to log in with such
 * a key (its devices are registered, or its Pods are gone). It searches the client's shared key list
 * (TailscaleClient.sharedAuthKeyList): the keys this host minted are in it by the id their mint answered,
 * the keys of earlier hosts from one list request per host, not one per resource.
 */
export async function revokeMintedKeys(tailscale: TailscaleClient, holder: KeyHolder): Promise<void> {
  const prefix = keyDescriptionPrefix(holder);
  for (const k of await tailscale.sharedAuthKeyList()) {
    if (k.description?.startsWith(prefix)) await tailscale.deleteKey(k.id);
  }
}

/**
 * Waits until the proxy whose state Secret is `stateSecret` has registered its device
 * (containerboot's `device_id`, `device_fqdn`, `device_ips`). A key control rejected (containerboot
 * asks for a new one with `reissue_authkey`) fails at once: `who` names the proxy, `fix` says what to
 * do.
 */
export async function waitForDevice(
  kube: Kube,
  tailscale: TailscaleClient,
  stateSecret: ObjectRef,
  o: { who: string; fix: string; timeoutMs: number; replacing?: string },
): Promise<{ device: ProxyDeviceState; data: Record<string, string> }> {
  const secret = await kube.waitFor(
    stateSecret,
    (obj) => {
      const data = secretData(obj);
      if (data.reissue_authkey) {
        throw new Error(
          `${o.who} could not log in to the tailnet with its auth key ` +
            `(rejected by the control server: expired, already used, or revoked). ${o.fix}`,
        );
      }
      // `replacing`: the device the Secret still names was deleted; only a new one counts.
      return (
        deviceStateOf(data) !== undefined && (o.replacing === undefined || data.device_id !== o.replacing)
      );
    },
    {
      timeoutMs: o.timeoutMs,
      description: `${o.who} to register its tailnet device (state Secret keys device_id, device_fqdn, device_ips)`,
    },
  );
  const data = secretData(secret);
  // The new device now holds its name: later checks of this step must see it.
  tailscale.forgetDeviceList();
  return { device: deviceStateOf(data)!, data };
}
