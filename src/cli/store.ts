import type { HostStore } from "../store/host-store.js";

/** The store of $DINV_STORAGE_PATH (or ~/.dinv), loaded only by the commands that need it. */
export async function openStore(): Promise<HostStore> {
  const { HostStore } = await import("../store/host-store.js");
  return new HostStore();
}
