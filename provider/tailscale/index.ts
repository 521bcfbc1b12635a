/** The Tailscale side of the provider: API client, types and errors. */
export * from "./client";
export * from "./errors";
export { pathEscape } from "./http";
export * from "./types";
