/**
 * Tailnet devices of the proxies this package runs, standalone proxies and ProxyGroup replicas alike:
 * refusing a name another device holds, minting the single-use key a proxy logs in with, and waiting,
 * by watch, until the proxy has registered its device.
 */
import type { Kube, ObjectRef } from "../kube";
import { tailnetNameOf } from "../plan/hostnames";
import type { TailscaleClient } from "../tailscale";
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
 * Control gives a second device with a taken name the suffix `-1`, and everything that knew the name
 * breaks (operator users' pain). So a name held by a device that is not one of `ownDeviceIds` fails the
 * `up` before anything is written, naming the device. `what` is what would register (`a new proxy`,
 * `the replica`), `fix` the other way out than removing the device.
 */
export async function refuseTakenHostnames(
  tailscale: TailscaleClient,
  hostnames: readonly string[],
  ownDeviceIds: ReadonlySet<string>,
  o: { what: string; fix: string },
): Promise<void> {
  if (hostnames.length === 0) return;
  const devices = await tailscale.listDevices();
  for (const h of hostnames) {
    const clash = devices.find(
      (d) =>
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
}

/**
 * Mints the key a proxy device logs in with: single-use, not ephemeral, pre-authorised, tagged, and
 * short-lived, since it is used within this step or never (a short life limits what a leaked key
 * could do).
 */
export function mintAuthKey(
  tailscale: TailscaleClient,
  tags: string[],
  hostname: string,
  remainingMs: number,
): Promise<{ id: string; key: string }> {
  return tailscale.createAuthKey({
    tags,
    reusable: false,
    ephemeral: false,
    preauthorized: true,
    // The API allows at most 50 characters: letters, digits, spaces and hyphens.
    description: `pulumi-tailnet ${hostname}`.replace(/[^A-Za-z0-9 -]/g, "-").slice(0, 50),
    expirySeconds: Math.ceil(remainingMs / 1000) + 300,
  });
}

/**
 * Waits until the proxy whose state Secret is `stateSecret` has registered its device
 * (containerboot's `device_id`, `device_fqdn`, `device_ips`). A key control rejected (containerboot
 * asks for a new one with `reissue_authkey`) fails at once: `who` names the proxy, `fix` says what to
 * do.
 */
export async function waitForDevice(
  kube: Kube,
  stateSecret: ObjectRef,
  o: { who: string; fix: string; timeoutMs: number },
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
      return deviceStateOf(data) !== undefined;
    },
    {
      timeoutMs: o.timeoutMs,
      description: `${o.who} to register its tailnet device (state Secret keys device_id, device_fqdn, device_ips)`,
    },
  );
  const data = secretData(secret);
  return { device: deviceStateOf(data)!, data };
}
