import type * as pulumi from "@pulumi/pulumi";

/**
 * The dynamic provider object Pulumi serialises into state.
 *
 * Pulumi stores a dynamic provider's code in every resource's state and runs that stored code for
 * refresh and delete. Anything this object captured (imports, clients, credentials) would be frozen
 * into state, in plain text. So the object holds two string constants and methods that `require()`
 * the installed implementation when called: state stays small, free of secrets and of absolute
 * paths, and old state always runs the current code (which therefore reads every older state shape).
 *
 * Keep this syntactically trivial (no classes, `this`, `#private`, optional chaining): Pulumi parses
 * it with whichever TypeScript it finds, down to its vendored 3.8.
 */
export function providerFor(kind: string): pulumi.dynamic.ResourceProvider {
  // One object per kind: the SDK serialises a provider's code once per provider object (a WeakMap,
  // pulumi/pulumi@a88168d8 sdk/nodejs/dynamic/index.ts:238-255), so a fresh object per resource
  // re-serialised the same code for every resource of a program. The cache is outside the methods'
  // closure, so the serialised code is the same.
  let provider = providers.get(kind);
  if (!provider) {
    provider = newProvider(kind);
    providers.set(kind, provider);
  }
  return provider;
}

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

function newProvider(kind: string): pulumi.dynamic.ResourceProvider {
  // The subpath is public API from the first release on: state written by any version requires it.
  const IMPL = "pulumi-tailnet/provider";
  const KIND = kind;
  return {
    async configure(req) {
      require(IMPL).configure(KIND, req.config);
    },
    async check(olds, news) {
      return require(IMPL).check(KIND, olds, news);
    },
    async diff(id, olds, news) {
      return require(IMPL).diff(KIND, id, olds, news);
    },
    async create(inputs) {
      return require(IMPL).create(KIND, inputs);
    },
    async read(id, props) {
      return require(IMPL).read(KIND, id, props);
    },
    async update(id, olds, news) {
      return require(IMPL).update(KIND, id, olds, news);
    },
    async delete(id, props) {
      return require(IMPL).remove(KIND, id, props);
    },
  };
}
