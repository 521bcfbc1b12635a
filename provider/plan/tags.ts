/**
 * ACL tags, the same for every kind: the tags of a standalone proxy's device, of an HA resource's
 * Tailscale Service, and of a ProxyGroup's devices. Absent means {@link DEFAULT_TAGS}; an explicit
 * empty list is refused (devices created with an OAuth client must be tagged, and "no tags" that
 * silently meant the default would surprise); every tag must pass Tailscale's `CheckTag`, once.
 */
import { goQuote } from "./gojson";
import { isUnknown } from "./inputs";
import { checkTag } from "./syntax";

/** Tags used when `tags` is not set: the operator's `PROXY_TAGS` default. */
export const DEFAULT_TAGS: readonly string[] = ["tag:k8s"];

/**
 * The tags to use. An empty list means the default too: check refuses one, but ProxyGroup state
 * written before that rule may hold it (the operator's ProxyGroup reads an empty list that way).
 */
export function effectiveTags(tags: readonly string[] | undefined): string[] {
  return tags && tags.length > 0 ? [...tags] : [...DEFAULT_TAGS];
}

/** Validates a `tags` input at `at`; the preview unknown sentinel is skipped, at any level. */
export function checkTags(tags: unknown, at: string, push: (property: string, reason: string) => void): void {
  if (tags === undefined || isUnknown(tags)) return;
  if (!Array.isArray(tags)) {
    push(at, 'must be a list of ACL tags such as ["tag:k8s"]');
    return;
  }
  if (tags.length === 0) {
    push(
      at,
      'must not be empty: devices created with an OAuth client must be tagged; omit "tags" to use the default ["tag:k8s"]',
    );
    return;
  }
  const seen = new Set<string>();
  tags.forEach((t, i) => {
    if (isUnknown(t)) return;
    if (typeof t !== "string") {
      push(`${at}[${i}]`, 'must be a string such as "tag:k8s"');
      return;
    }
    const e = checkTag(t);
    if (e) push(`${at}[${i}]`, `invalid tag ${goQuote(t)}: ${e}`);
    else if (seen.has(t)) push(`${at}[${i}]`, `duplicate tag ${goQuote(t)}`);
    seen.add(t);
  });
}
