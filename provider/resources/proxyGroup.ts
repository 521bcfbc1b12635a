/** ProxyGroup lifecycle. Not implemented yet: `check` refuses it with a clear reason. */
import { HA_UNAVAILABLE } from "./ha";
import type { Lifecycle } from "./lifecycle";

const unavailable = async (): Promise<never> => {
  throw new Error(HA_UNAVAILABLE);
};

export const proxyGroup: Lifecycle = {
  async check(_olds, news) {
    return { inputs: news, failures: [{ property: "type", reason: HA_UNAVAILABLE }] };
  },
  async diff() {
    return { changes: false };
  },
  create: unavailable,
  async read(id, props) {
    return { id, props };
  },
  update: unavailable,
  async delete() {},
};
