/** Small helpers of the HA TailnetIngress and TailnetService lifecycles. */
import { kubeFor, tailscaleClientFor } from "../../credentials";
import { joinTokenFor } from "../../plan/ha";
import type { CredentialsInput } from "../../plan/inputs";
import { certificateState, nextIssuances } from "../certificate";
import { deadline } from "../lifecycle";
import type { HARuntime } from "./runtime";

/** Clients and wait budget of one lifecycle call. */
export function runtimeFor(input: { credentials?: CredentialsInput; timeoutSeconds?: number }): HARuntime {
  return {
    kube: kubeFor(input.credentials),
    tailscale: tailscaleClientFor(input.credentials),
    remainingMs: deadline(input.timeoutSeconds),
  };
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

/**
 * The ACME account identity of an HA certificate: replica 0 records `acme-account-fingerprint`, the
 * SHA-256 (hex) of its account key; its first 16 digits equal `acmeAccountId` of the same key.
 */
export function acmeAccountIdFromFingerprint(fingerprint: string | undefined): string | undefined {
  return fingerprint && /^[0-9a-f]{16,}$/i.test(fingerprint)
    ? fingerprint.slice(0, 16).toLowerCase()
    : undefined;
}

/**
 * `certificate`, `certificateIssuances` and `certificateAccount` of an HA ingress, as the standalone
 * ingress reports them, from the certificate Secret replica 0 writes (`tls.crt`, and
 * `acme-account-fingerprint` naming its ACME account). Never the private key.
 */
export function certificateOutputs(
  certData: Record<string, string>,
  dnsName: string,
  previous: any,
): Record<string, unknown> {
  const certificate = certificateState(certData["tls.crt"] || undefined, dnsName);
  const account = acmeAccountIdFromFingerprint(certData["acme-account-fingerprint"]);
  return {
    certificate,
    certificateIssuances: nextIssuances(previous, certificate, account),
    ...(account ? { certificateAccount: account } : {}),
  };
}
