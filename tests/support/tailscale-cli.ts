/**
 * The `tailscale` CLI inside the simulated proxy containers, for `pods/exec`: just the one command
 * the product runs, `tailscale --socket=/tmp/tailscaled.sock cert --cert-file=- <domain>`, answered
 * as the real CLI does (the certificate PEM on stdout; the error text on stderr with exit code 1).
 */
import type { ClusterSim } from "./cluster-sim";
import type { ExecHandler, KubeApiServer } from "./kube-api";

/** containerboot starts tailscaled with this socket (TS_SOCKET's default). */
const SOCKET = "/tmp/tailscaled.sock";

export function tailscaleCli(sim: ClusterSim, kube: KubeApiServer): ExecHandler {
  return async ({ namespace, pod, container, command }) => {
    if (container !== "tailscale" || command[0] !== "tailscale") {
      return { stderr: `exec: "${command[0]}": executable file not found in $PATH\n`, exitCode: 127 };
    }
    const args = command.slice(1);
    const socket =
      args.find((a) => a.startsWith("--socket="))?.slice("--socket=".length) ??
      "/var/run/tailscale/tailscaled.sock";
    const rest = args.filter((a) => !a.startsWith("--socket="));
    if (rest[0] !== "cert") return { stderr: `tailscale: unknown subcommand: ${rest[0]}\n`, exitCode: 1 };
    if (socket !== SOCKET) {
      return {
        stderr: `failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start tailscaled ?)\n`,
        exitCode: 1,
      };
    }
    const flags = rest.slice(1).filter((a) => a.startsWith("--"));
    const positional = rest.slice(1).filter((a) => !a.startsWith("--"));
    if (positional.length !== 1) return { stderr: "Usage: tailscale cert [flags] <domain>\n", exitCode: 1 };
    const domain = positional[0];
    try {
      await sim.requestCertificate(pod, namespace, domain);
    } catch (err) {
      return { stderr: `${(err as Error).message.replace(/^requestCertificate: /, "")}\n`, exitCode: 1 };
    }
    // Standalone: the state Secret holds `<domain>.crt`; a ProxyGroup's writer stores the certificate
    // in the Secret named after the domain (`tls.crt`).
    const state = kube.getObject("v1", "Secret", namespace, pod);
    const shared = kube.getObject("v1", "Secret", namespace, domain);
    const crt = state?.data?.[`${domain}.crt`] ?? shared?.data?.["tls.crt"];
    if (!crt) return { stderr: `invalid domain "${domain}"\n`, exitCode: 1 };
    const pem = Buffer.from(crt, "base64").toString("utf8");
    return flags.includes("--cert-file=-")
      ? { stdout: pem, exitCode: 0 }
      : { stdout: `Wrote public cert to ${domain}.crt\n`, exitCode: 0 };
  };
}
