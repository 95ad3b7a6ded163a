import type { HostHealth } from "../../host/health.js";

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
