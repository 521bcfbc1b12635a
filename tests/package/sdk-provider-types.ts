// Compile-time checks that the SDK's public types and the provider's wire shapes cannot drift apart.
// The SDK declares its own types (so that its published declarations import nothing from the
// provider's Kubernetes client); these assertions make `tsc -p tsconfig.json` fail when a field is
// added, renamed or retyped on one side only. Nothing here runs.
//
// Where one declaration serves both sides (CertificateState in provider/plan/outputs.ts, the budget
// shapes in provider/plan/budget.ts) there is nothing to compare; pack.test.ts checks that those
// provider files stay free of client-node.
import type * as pulumi from "@pulumi/pulumi";
import type {
  BudgetReport as ProviderBudgetReport,
  LedgerEntry as ProviderLedgerEntry,
  LimitUsage as ProviderLimitUsage,
} from "../../provider/plan/budget";
import type {
  CredentialsInput,
  IngressBackendInput,
  IngressPathInput,
  IngressRuleInput,
  InitContainerInput,
  NodePortConfigInput,
  PodDNSConfigInput,
  PortRangeInput,
  ProxyClassInput,
  ProxyGroupInput,
  ResourceRequirementsInput,
  ServiceMonitorInput,
  ServiceRefInput,
  StaticEndpointsInput,
  TailnetIngressInput,
  TailnetServiceInput,
  TolerationInput,
  TopologySpreadConstraintInput,
} from "../../provider/plan/inputs";
import type {
  CERTIFICATE_BUDGET_OUTPUTS,
  PROXY_GROUP_OUTPUTS,
  TAILNET_INGRESS_OUTPUTS,
  TAILNET_SERVICE_OUTPUTS,
} from "../../provider/plan/outputs";
import type { CertificateState as ProviderCertificateState } from "../../provider/resources/certificate";
import type { CertificateBudgetInput } from "../../provider/resources/certificateBudget";
import type { ProxyGroupDeviceOutput } from "../../provider/resources/proxyGroup";
import type {
  CertificateBudget,
  CertificateBudgetArgs,
  CertificateBudgetReport,
  CertificateLedgerEntry,
  CertificateLimitUsage,
  CertificateState,
  Credentials,
  EnvVar,
  IngressBackend,
  IngressPath,
  IngressRule,
  PodDNSConfig,
  PodDNSConfigOption,
  ProxyClass,
  ProxyClassInitContainer,
  ProxyClassNodePortConfig,
  ProxyClassPortRange,
  ProxyClassServiceMonitor,
  ProxyClassStaticEndpoints,
  ProxyGroup,
  ProxyGroupArgs,
  ProxyGroupDevice,
  ResourceRequirements,
  ServiceRef,
  TailnetIngress,
  TailnetIngressArgs,
  TailnetService,
  TailnetServiceArgs,
  Toleration,
  TopologySpreadConstraint,
} from "../../sdk";

/** Compiles only when `T` is `true`. */
type Assert<T extends true> = T;
/** `true` when `A` and `B` are assignable to each other. */
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** `true` when `A` and `B` have the same keys. */
type SameKeys<A, B> = Mutual<keyof A, keyof B>;
/** `true` when `A`, its Inputs resolved, is assignable to `B`: what the SDK sends, the provider reads. */
type Sends<A, B> = [pulumi.Unwrap<A>] extends [B] ? true : false;

/** Fields the SDK sets itself, never from arguments. */
type SetBySdk = "ownerId" | "customTimeouts" | "resourceUrn";
/** The outputs an SDK class declares: its `Output` properties, besides every resource's `urn` and `id`. */
type DeclaredOutputs<C> = Exclude<
  { [K in keyof C]: C[K] extends pulumi.Output<unknown> ? K : never }[keyof C],
  "urn" | "id"
>;
/** The output keys the provider fills in (provider/plan/outputs.ts). */
type Outputs<L extends readonly string[]> = L[number];

export type Checks = [
  // Shared declarations: the SDK's names are the provider's types.
  Assert<Mutual<CertificateState, ProviderCertificateState>>,
  Assert<Mutual<CertificateLedgerEntry, ProviderLedgerEntry>>,
  Assert<Mutual<CertificateLimitUsage, ProviderLimitUsage>>,
  Assert<Mutual<CertificateBudgetReport, ProviderBudgetReport>>,
  // Declared twice: one replica's device, as the provider writes it and the SDK reads it.
  Assert<Mutual<ProxyGroupDevice, ProxyGroupDeviceOutput>>,
  // Every argument reaches the provider, under the same name; the provider reads nothing else.
  Assert<Mutual<keyof TailnetIngressArgs | SetBySdk, keyof TailnetIngressInput>>,
  Assert<Mutual<keyof TailnetServiceArgs | SetBySdk, keyof TailnetServiceInput>>,
  Assert<Mutual<keyof ProxyGroupArgs | SetBySdk, keyof ProxyGroupInput>>,
  Assert<Mutual<keyof CertificateBudgetArgs | "ownerId" | "ledger" | "report", keyof CertificateBudgetInput>>,
  // Every output an SDK class declares is one the provider fills in, and the other way round.
  Assert<Mutual<DeclaredOutputs<TailnetIngress>, Outputs<typeof TAILNET_INGRESS_OUTPUTS>>>,
  Assert<Mutual<DeclaredOutputs<TailnetService>, Outputs<typeof TAILNET_SERVICE_OUTPUTS>>>,
  Assert<Mutual<DeclaredOutputs<ProxyGroup>, Outputs<typeof PROXY_GROUP_OUTPUTS>>>,
  Assert<Mutual<DeclaredOutputs<CertificateBudget>, Outputs<typeof CERTIFICATE_BUDGET_OUTPUTS>>>,
  Assert<SameKeys<Credentials, CredentialsInput>>,
  Assert<Sends<Credentials, CredentialsInput>>,
  Assert<SameKeys<ProxyClass, ProxyClassInput>>,
  // Ingress routing and Service references (the SDK resolves a Service resource to its ref).
  Assert<SameKeys<IngressBackend, IngressBackendInput>>,
  Assert<SameKeys<IngressPath, IngressPathInput>>,
  Assert<SameKeys<IngressRule, IngressRuleInput>>,
  Assert<Sends<ServiceRef, ServiceRefInput>>,
  Assert<Sends<ServiceRefInput, ServiceRef>>,
  // ProxyClass's Kubernetes shapes: the fields the provider copies. Toleration's enumerations are
  // `string` in the SDK (as in @pulumi/kubernetes) and checked by the provider at preview, so only
  // its keys are compared.
  Assert<SameKeys<Toleration, TolerationInput>>,
  Assert<SameKeys<TopologySpreadConstraint, TopologySpreadConstraintInput>>,
  Assert<Sends<ResourceRequirements, ResourceRequirementsInput>>,
  Assert<Sends<EnvVar, NonNullable<ProxyClassInput["env"]>[number]>>,
  // A DNS option's name is optional in the SDK, as in @pulumi/kubernetes, and required by check.
  Assert<SameKeys<PodDNSConfig, PodDNSConfigInput>>,
  Assert<SameKeys<PodDNSConfigOption, NonNullable<PodDNSConfigInput["options"]>[number]>>,
  Assert<SameKeys<ProxyClassServiceMonitor, ServiceMonitorInput>>,
  Assert<Sends<ProxyClassServiceMonitor, ServiceMonitorInput>>,
  Assert<SameKeys<ProxyClassInitContainer, InitContainerInput>>,
  Assert<SameKeys<ProxyClassStaticEndpoints, StaticEndpointsInput>>,
  Assert<SameKeys<ProxyClassNodePortConfig, NodePortConfigInput>>,
  Assert<SameKeys<ProxyClassPortRange, PortRangeInput>>,
  Assert<Sends<ProxyClassPortRange, PortRangeInput>>,
];
