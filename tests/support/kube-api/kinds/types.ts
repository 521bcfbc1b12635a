/** The per-kind hooks the generic registry calls, mirroring a kube-apiserver REST strategy. */
import type { FieldError } from "../errors";
import type { Cidr, IPFamily } from "../ipfamily";
import type { NameValidator } from "../validation";

/** Cluster-level services a strategy may need (IP and port allocation). */
export interface StrategyContext {
  /** The next free cluster IP of that family (the family must be one of `serviceCIDRs`). */
  allocateClusterIP(family: IPFamily): string;
  allocateNodePort(): number;
  /** The node port range (kube-apiserver --service-node-port-range): 30000-32767. */
  nodePortRange: { min: number; max: number };
  /** Whether a Service other than `self` (`namespace/name`) holds this node port. */
  nodePortInUse(port: number, self: string): boolean;
  /**
   * The service CIDRs cluster IPs are allocated from (kube-apiserver --service-cluster-ip-range): one
   * per family, the first one's family the cluster's default (primary) Service IP family.
   */
  serviceCIDRs: Cidr[];
  /** Whether another Service already holds this cluster IP. */
  clusterIPInUse(ip: string): boolean;
}

/** What the generic registry needs to know about one kind. */
export interface KindStrategy {
  /** How metadata.name is validated (DNS subdomain for most kinds). */
  nameValidator: NameValidator;
  /** True when the kind has a `/status` subresource: the main endpoint ignores status, `/status` the rest. */
  statusSubresource: boolean;
  /** True when the kind keeps metadata.generation (bumped on spec changes only). */
  generation: boolean;
  /** Decode-time defaults and conversions (Secret stringData is folded into data here). */
  defaults(obj: any): void;
  /** PrepareForCreate: status reset, allocations. */
  prepareForCreate?(obj: any, ctx: StrategyContext): void;
  /** PrepareForUpdate on the main endpoint: carry over allocated fields. */
  prepareForUpdate?(obj: any, old: any, ctx: StrategyContext): void;
  /** The status a freshly created object shows (Go structs that always serialise). */
  initialStatus?(obj: any): any;
  /** Validate (create and update). */
  validate(obj: any): FieldError[];
  /** Allocation checks a create passes after validation (BeginCreate's allocators), as field errors. */
  admitCreate?(obj: any, ctx: StrategyContext): FieldError[];
  /** Allocation checks an update passes after validation (the update transaction's allocators). */
  admitUpdate?(obj: any, old: any, ctx: StrategyContext): FieldError[];
  /** ValidateUpdate: immutability. */
  validateUpdate?(obj: any, old: any): FieldError[];
  /** ValidateStatusUpdate. */
  validateStatus?(obj: any, old: any): FieldError[];
  /** The part of the object compared to decide whether generation bumps. */
  specOf?(obj: any): unknown;
  /** DELETE answers with the deleted object rather than a Success Status. */
  deleteReturnsObject?: boolean;
}
