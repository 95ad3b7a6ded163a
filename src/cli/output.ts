import type { Progress } from "../host/progress.js";

/** Progress on stderr: a live line per step on a TTY, plain "step: done" lines otherwise. */
export function stderrProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let current: string | undefined;
  let started = 0;
  return {
    step(label) {
      current = label;
      started = Date.now();
      if (tty) stream.write(`  … ${label}`);
    },
    done(detail) {
      if (current === undefined) return;
      const ms = Date.now() - started;
      const suffix = detail ? ` (${detail})` : "";
      if (tty) stream.write(`\r\x1b[K  ✔ ${current}${suffix} ${dim(`${ms} ms`)}\n`);
      else stream.write(`${current}: done${suffix}\n`);
      current = undefined;
    },
    update(detail) {
      if (tty && current !== undefined) stream.write(`\r\x1b[K  … ${current} ${detail}`);
    },
    warn(message) {
      if (tty && current !== undefined) stream.write("\n");
      stream.write(`warning: ${message}\n`);
      if (tty && current !== undefined) stream.write(`  … ${current}`);
    },
  };
}

function dim(text: string): string {
  return `\x1b[2m${text}\x1b[0m`;
}

/** Left-aligned columns separated by at least three spaces (docker-machine's tabwriter look). */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3)))
      .join("")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function out(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * Lines whose cells are separated by tabs, aligned as Go's tabwriter does for docker-machine's
 * `ls --format 'table …'` (cell width + 3 spaces, at least 5; the text after the last tab is not a column).
 */
export function alignColumns(lines: string[]): string {
  const rows = lines.map((line) => line.split("\t"));
  const widths: number[] = [];
  for (const cells of rows)
    cells.slice(0, -1).forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((cells) =>
      cells
        .map((cell, i) => (i < cells.length - 1 ? cell.padEnd(Math.max((widths[i] ?? 0) + 3, 5)) : cell))
        .join(""),
    )
    .map((line) => `${line}\n`)
    .join("");
}
