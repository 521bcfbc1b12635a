/** The Kubernetes side of the provider. */
export { differingFields, parseQuantity } from "./compare";
export * from "./errors";
export * from "./kube";
export * from "./types";
