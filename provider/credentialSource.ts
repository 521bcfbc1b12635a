/**
 * Where a credential came from, and what a user does when the system it is for rejects it: one text for
 * the Tailscale API (tailscale/errors.ts) and the Kubernetes API server (kube/errors.ts).
 *
 * Stack config reaches the provider as the default provider's inputs, recorded in the state at the last
 * `pulumi up`; `pulumi refresh` and `pulumi destroy` (without `--run-program`) configure it from that
 * recorded copy (pulumi/pulumi@a88168d8 pkg/resource/deploy/deployment.go:659-690,
 * providers/registry.go:788-870), so a rotated and revoked credential keeps failing there until an `up`
 * records the new one. No imports: both clients' error modules use it.
 */

/** Where a credential was found (provider/credentials.ts looks them up in this order). */
export type CredentialSource = "resource credentials" | "provider config" | "environment";

/** What was rejected, and the places it can be set, as a user names them. */
export interface RejectedCredential {
  /** What was rejected and why it may have been, e.g. `the OAuth client credentials were rejected (…)`. */
  what: string;
  /** The stack config keys, e.g. `kubernetes:kubeconfig`. */
  configKeys: string;
  /** What to check when the credential came from the environment (or from an unknown place). */
  otherwise: string;
}

/** The hint for a rejected credential: where it came from and how to replace it there. */
export function rejectedCredentialHint(source: CredentialSource | undefined, r: RejectedCredential): string {
  switch (source) {
    case "provider config":
      return (
        `${r.what}. They come from stack configuration (${r.configKeys}) as recorded in the state at the last ` +
        "`pulumi up`, which `pulumi refresh` and `pulumi destroy` use. After rotating them, set the new ones with " +
        "`pulumi config set --secret …` and run `pulumi up` first (it changes no resource), or run " +
        "`pulumi refresh --run-program` / `pulumi destroy --run-program`"
      );
    case "resource credentials":
      return (
        `${r.what}. They come from the resource's \`credentials\` input, stored with the resource: update it with ` +
        "`pulumi up` before `pulumi refresh` or `pulumi destroy`"
      );
    default:
      return `${r.what}: ${r.otherwise}`;
  }
}
