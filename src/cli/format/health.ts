import type { HostHealth } from "../../host/health.js";

/** `dinv inspect`'s Health: the same facts with Go-style names, each with its reason. */
export function healthView(health: HostHealth): Record<string, unknown> {
  return {
    StorageDriver: health.storageDriver,
    StorageReason: health.storageReason,
    StorageFallback: health.storageFallback,
    Privilege: health.privilege,
    PrivilegeReason: health.privilegeReason,
    Cgroups: health.cgroups,
    EngineWarnings: health.warnings,
  };
}

/** `dinv status -v`: one line per fact, each with its reason; the engine's warnings one per line. */
export function healthLines(health: HostHealth): string[] {
  return [
    `Storage driver:  ${health.storageDriver || "unknown"} (${health.storageReason})`,
    `Privilege:       ${health.privilege} (${health.privilegeReason})`,
    `Cgroups:         ${health.cgroups}`,
    health.warnings.length
      ? `Engine warnings: ${health.warnings.length}\n${health.warnings.map((w) => `  - ${w}`).join("\n")}`
      : "Engine warnings: none",
  ];
}
