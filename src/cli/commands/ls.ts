import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { HostStatus } from "../../host/status.js";
import {
  engineLabels,
  engineOptionsView,
  goDuration,
  keyValue,
  swarmOptionsView,
} from "../format/machine-view.js";
import { seconds } from "../options.js";
import { alignColumns, formatTable, out } from "../output.js";
import { openStore } from "../store.js";

const FILTER_KEYS = ["name", "state", "driver", "label", "swarm"] as const;

interface Filter {
  key: (typeof FILTER_KEYS)[number];
  value: string;
}

/** docker-machine's filter syntax: KEY=VALUE, the key in any case (commands/ls.go). */
function parseFilter(value: string, previous: Filter[] = []): Filter[] {
  const usage = "use name=REGEX, state=STATE, driver=DRIVER, label=KEY=VALUE or swarm=NAME";
  const eq = value.indexOf("=");
  if (eq < 0) throw new InvalidArgumentError(`Unsupported filter syntax: ${usage}`);
  const key = value.slice(0, eq).toLowerCase();
  if (!(FILTER_KEYS as readonly string[]).includes(key))
    throw new InvalidArgumentError(`Unsupported filter key '${key}': ${usage}`);
  const filter = { key: key as Filter["key"], value: value.slice(eq + 1) };
  if (filter.key === "name") {
    try {
      new RegExp(filter.value);
    } catch {
      throw new InvalidArgumentError(`name=${filter.value} is not a regular expression`);
    }
  }
  return [...previous, filter];
}

export function defineLs(program: Command): void {
  program
    .command("ls")
    .description("list hosts")
    .option("-q, --quiet", "print names only")
    .option(
      "--filter <key=value>",
      "name=, state=, driver=, label=, swarm= (repeatable; same keys OR, different keys AND)",
      parseFilter,
      [],
    )
    .option(
      "-f, --format <template>",
      "Go template per host, `table …` for aligned columns with a header, or json; fields .Name .Active .ActiveHost .ActiveSwarm .DriverName .State .URL .Swarm .SwarmOptions .EngineOptions .DockerVersion .Error .ResponseTime .Endpoint, and (asked of each running host) .StorageDriver .Privilege .Cgroups .EngineWarnings",
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
          withVersions: !opts.quiet && showsVersions(opts.format),
          askEngines: ANSWER_FIELDS.test(opts.format ?? ""),
          withHealth: HEALTH_FIELDS.test(opts.format ?? ""),
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
          // The label filter reads the engine options.
          ...(h.config ? { config: h.config } : {}),
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
        const lines = views.map(render);
        // As docker-machine's tabwriter: with `table`, tab-separated cells become aligned columns.
        if (header) process.stdout.write(alignColumns([headerLine(template), ...lines]));
        else for (const line of lines) out(line);
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
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const labels = new Map(row.config ? engineLabels(row.config).map(keyValue) : []);
  return (
    matchesAny(by("state"), (f) => same(f.value, row.state)) &&
    matchesAny(by("driver"), (f) => same(f.value, row.driver)) &&
    // As docker-machine: the engine label's key exactly, its value in any case.
    matchesAny(by("label"), (f) => {
      const [key, wanted] = keyValue(f.value);
      const value = labels.get(key);
      return value !== undefined && same(value, wanted);
    }) &&
    // No dinv host belongs to a Swarm: a swarm filter matches none.
    matchesAny(by("swarm"), () => false)
  );
}

/** Fields that need each running engine's /info (src/host/health.ts): read only when a format names one. */
const HEALTH_FIELDS = /\.(StorageDriver|Privilege|Cgroups|EngineWarnings)\b/;

/** Fields only a call to each running host's engine can fill: whether and how fast it answers now. */
const ANSWER_FIELDS = /\.(Error|ResponseTime)\b/;

/**
 * Whether ls shows the hosts' engine versions: in the default table and json (DOCKER, as
 * docker-machine) and in a template naming .DockerVersion, an answer or a health field. A
 * template without one (`{{.Name}} {{.State}} {{.URL}}`) is served from the container list
 * alone. A version cached for the same container is shown without a call (hostStatuses);
 * only answer and health fields make ls ask every running engine.
 */
export function showsVersions(format: string | undefined): boolean {
  return (
    format === undefined ||
    format === "json" ||
    /\.DockerVersion\b/.test(format) ||
    ANSWER_FIELDS.test(format) ||
    HEALTH_FIELDS.test(format)
  );
}

/** One host as docker-machine's ls.HostListItem, plus dinv's .Endpoint (and the health fields when asked). */
function rowView(row: HostStatus) {
  const running = row.state === "Running";
  const active = running && process.env.DOCKER_HOST === row.url;
  return {
    Name: row.name,
    Active: active ? "*" : "-",
    ActiveHost: active,
    ActiveSwarm: false,
    DriverName: row.driver,
    State: row.state,
    URL: running ? row.url : "",
    SwarmOptions: swarmOptionsView(),
    Swarm: "",
    EngineOptions: row.config ? engineOptionsView(row.config) : null,
    Endpoint: row.endpoint,
    DockerVersion: row.docker,
    Error: row.errors.join("; "),
    ResponseTime: goDuration(row.responseMs ?? 0),
    ...(row.health
      ? {
          StorageDriver: row.health.storageFallback
            ? `${row.health.storageDriver} (${row.health.storageReason})`
            : row.health.storageDriver,
          Privilege: row.health.privilege,
          Cgroups: row.health.cgroups,
          EngineWarnings: row.health.warnings.join("; "),
        }
      : {}),
  };
}

/** docker-machine's header names for `ls --format 'table …'`; other fields are upper-cased. */
const HEADERS: Record<string, string> = {
  Name: "NAME",
  Active: "ACTIVE",
  ActiveHost: "ACTIVE_HOST",
  ActiveSwarm: "ACTIVE_SWARM",
  DriverName: "DRIVER",
  State: "STATE",
  URL: "URL",
  SwarmOptions: "SWARM_OPTIONS",
  Swarm: "SWARM",
  EngineOptions: "ENGINE_OPTIONS",
  Error: "ERRORS",
  DockerVersion: "DOCKER",
  ResponseTime: "RESPONSE",
  Endpoint: "ENDPOINT",
  StorageDriver: "STORAGE_DRIVER",
  EngineWarnings: "ENGINE_WARNINGS",
};

function headerLine(template: string): string {
  return template
    .replace(/\\t/g, "\t")
    .replace(/\\n/g, "\n")
    .replace(/\{\{\s*\.(\w+)\s*\}\}/g, (_, field: string) => HEADERS[field] ?? field.toUpperCase());
}
