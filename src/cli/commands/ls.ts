import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { HostStatus } from "../../host/status.js";
import { seconds } from "../options.js";
import { formatTable, out } from "../output.js";
import { openStore } from "../store.js";

interface Filter {
  key: "name" | "state" | "driver" | "label";
  value: string;
}

function parseFilter(value: string, previous: Filter[] = []): Filter[] {
  const eq = value.indexOf("=");
  const key = value.slice(0, eq);
  if (eq < 1 || !["name", "state", "driver", "label"].includes(key)) {
    throw new InvalidArgumentError("use name=REGEX, state=STATE, driver=DRIVER or label=KEY=VALUE");
  }
  return [...previous, { key: key as Filter["key"], value: value.slice(eq + 1) }];
}

export function defineLs(program: Command): void {
  program
    .command("ls")
    .description("list hosts")
    .option("-q, --quiet", "print names only")
    .option(
      "--filter <key=value>",
      "name=, state=, driver=, label= (repeatable; same keys OR, different keys AND)",
      parseFilter,
      [],
    )
    .option(
      "--format <template>",
      "Go template per host (fields .Name .Active .DriverName .State .URL .Endpoint .DockerVersion .Error), or json",
    )
    .option("-t, --timeout <seconds>", "how long to wait for each endpoint and host", seconds, 10)
    .action(async (opts: { quiet?: boolean; filter: Filter[]; format?: string; timeout: number }) => {
      const store = await openStore();
      const hosts = store.list();
      const nameFilters = opts.filter.filter((f) => f.key === "name");
      const named = hosts.filter((h) => matchesAny(nameFilters, (f) => new RegExp(f.value).test(h.name)));
      const needsState = !opts.quiet || opts.filter.some((f) => f.key === "state");
      let rows: HostStatus[];
      if (needsState) {
        const { hostStatuses } = await import("../../host/status.js");
        rows = await hostStatuses(store, named, {
          timeoutMs: opts.timeout * 1000,
          withVersions: !opts.quiet,
        });
      } else {
        rows = named.map((h) => ({
          name: h.name,
          driver: h.config?.driver ?? "",
          state: "Unknown",
          url: "",
          endpoint: h.config?.endpoint.url ?? "",
          docker: "",
          errors: [],
        }));
      }
      rows = rows.filter((row) => passes(row, opts.filter));
      if (opts.quiet) {
        for (const row of rows) out(row.name);
        return;
      }
      const views = rows.map(rowView);
      if (opts.format === "json") {
        for (const view of views) out(JSON.stringify(view));
        return;
      }
      if (opts.format) {
        const { compileTemplate, parseTableFormat } = await import("../format/template.js");
        const { header, template } = parseTableFormat(opts.format);
        const render = compileTemplate(template);
        if (header) process.stdout.write(headerLine(template));
        for (const view of views) out(render(view));
        return;
      }
      process.stdout.write(
        formatTable(
          ["NAME", "ACTIVE", "DRIVER", "STATE", "URL", "DOCKER", "ERRORS"],
          views.map((v) => [v.Name, v.Active, v.DriverName, v.State, v.URL, v.DockerVersion, v.Error]),
        ),
      );
    });
}

function matchesAny(filters: Filter[], test: (f: Filter) => boolean): boolean {
  return filters.length === 0 || filters.some(test);
}

function passes(row: HostStatus, filters: Filter[]): boolean {
  const by = (key: Filter["key"]) => filters.filter((f) => f.key === key);
  return (
    matchesAny(by("state"), (f) => f.value.toLowerCase() === row.state.toLowerCase()) &&
    matchesAny(by("driver"), (f) => f.value === row.driver) &&
    // Engine labels arrive with engine options; until then no host carries any.
    matchesAny(by("label"), () => false)
  );
}

function rowView(row: HostStatus) {
  const running = row.state === "Running";
  return {
    Name: row.name,
    Active: running && process.env.DOCKER_HOST === row.url ? "*" : "-",
    DriverName: row.driver,
    State: row.state,
    URL: running ? row.url : "",
    Endpoint: row.endpoint,
    DockerVersion: row.docker,
    Error: row.errors.join("; "),
  };
}

function headerLine(template: string): string {
  return (
    template.replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, field: string) =>
      field.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase(),
    ) + "\n"
  );
}
