/** The Kubernetes side of the provider. */
export { differingFields, parseQuantity } from "./compare";
export * from "./errors";
export * from "./kube";
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry";
export { sharedEdit } from "./sharedEdit";
export { type FieldPath, takeOverEarlierWrites } from "./takeover";
export * from "./types";
