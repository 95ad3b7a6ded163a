/**
 * A small subset of Go's text/template, enough for `dinv inspect -f` and `dinv ls --format` as
 * docker-machine and the docker CLI users write them:
 *   text {{.Field.Sub}} {{.}} {{json .X}} {{prettyjson .X}} {{.X | json}} {{"literal"}}
 *   {{range .List}}...{{else}}...{{end}}  {{if .X}}...{{else}}...{{end}}
 *   {{- trims the whitespace before, -}} after; {{/* comments *\/}}
 * Data is treated as Go treats a map: a missing field prints `<no value>`. Strings print as they
 * are, numbers and booleans with String(), null as `<nil>`, objects and arrays as compact JSON
 * (where Go would print its map[...] / [a b] forms). A malformed template fails when compiled.
 */
import { DinvError } from "../../errors.js";

const FUNCTIONS = {
  json: (v: unknown) => JSON.stringify(v === undefined ? null : v),
  prettyjson: (v: unknown) => JSON.stringify(v === undefined ? null : v, null, 2),
} as const satisfies Record<string, (v: unknown) => string>;
type FunctionName = keyof typeof FUNCTIONS;
const FUNCTION_NAMES = Object.keys(FUNCTIONS) as FunctionName[];

type Operand = { kind: "field"; path: string[] } | { kind: "literal"; value: string };
/** A command is an operand, or a function applied to an operand (or to the pipeline's value). */
type Command = { kind: "operand"; operand: Operand } | { kind: "call"; fn: FunctionName; arg?: Operand };
type Pipeline = Command[];

type Node =
  | { kind: "text"; text: string }
  | { kind: "print"; pipeline: Pipeline }
  | { kind: "range" | "if"; pipeline: Pipeline; body: Node[]; otherwise: Node[] };

function templateError(problem: string): DinvError {
  return new DinvError(`invalid template: ${problem}`, {
    hint: `supported: {{.Field.Sub}}, {{.}}, ${FUNCTION_NAMES.map((f) => `{{${f} .X}}`).join(", ")}, {{range .X}}…{{end}}, {{if .X}}…{{end}}`,
  });
}

type Part = { kind: "text"; text: string } | { kind: "action"; body: string; at: number };

/** Split the template into text and the raw insides of {{ }}, honouring quotes inside actions. */
function scan(text: string): Part[] {
  const parts: Part[] = [];
  let pos = 0;
  while (pos < text.length) {
    const open = text.indexOf("{{", pos);
    if (open < 0) {
      parts.push({ kind: "text", text: text.slice(pos) });
      break;
    }
    if (open > pos) parts.push({ kind: "text", text: text.slice(pos, open) });
    let i = open + 2;
    let close = -1;
    while (i < text.length) {
      const ch = text[i];
      if (ch === '"' || ch === "`") {
        const end = findStringEnd(text, i);
        if (end < 0) throw templateError(`unterminated string in action at character ${open + 1}`);
        i = end + 1;
      } else if (text.startsWith("}}", i)) {
        close = i;
        break;
      } else {
        i++;
      }
    }
    if (close < 0) {
      throw templateError(
        `unclosed action "${text.slice(open, open + 20)}${text.length > open + 20 ? "…" : ""}"`,
      );
    }
    parts.push({ kind: "action", body: text.slice(open + 2, close), at: open + 1 });
    pos = close + 2;
  }
  return parts;
}

function findStringEnd(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

type Token =
  | { kind: "field"; path: string[] }
  | { kind: "word"; word: string }
  | { kind: "string"; value: string }
  | { kind: "pipe" };

function tokenize(body: string, at: number): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i] ?? "";
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === "|") {
      tokens.push({ kind: "pipe" });
      i++;
    } else if (ch === '"' || ch === "`") {
      const end = findStringEnd(body, i);
      if (end < 0) throw templateError(`unterminated string in action at character ${at}`);
      const raw = body.slice(i, end + 1);
      let value: string;
      try {
        // A raw tab or newline (from a `\t` the user wrote, see compileTemplate) is allowed, as in Go.
        // eslint-disable-next-line no-control-regex
        const escaped = raw.replace(/[\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1));
        value = ch === "`" ? raw.slice(1, -1) : (JSON.parse(escaped) as string);
      } catch {
        throw templateError(`bad string ${raw} in action at character ${at}`);
      }
      tokens.push({ kind: "string", value });
      i = end + 1;
    } else if (ch === ".") {
      const m = /^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?/.exec(body.slice(i));
      const field = m?.[0] ?? ".";
      const next = body[i + field.length];
      if (next !== undefined && !/[\s|]/.test(next)) {
        throw templateError(`bad field "${body.slice(i).split(/[\s|]/)[0]}" in action at character ${at}`);
      }
      tokens.push({ kind: "field", path: field === "." ? [] : field.slice(1).split(".") });
      i += field.length;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i));
      if (!m) throw templateError(`unexpected "${ch}" in action at character ${at}`);
      tokens.push({ kind: "word", word: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

function operandOf(token: Token): Operand | undefined {
  if (token.kind === "field") return { kind: "field", path: token.path };
  if (token.kind === "string") return { kind: "literal", value: token.value };
  return undefined;
}

function parsePipeline(tokens: Token[], at: number, source: string): Pipeline {
  const commands: Pipeline = [];
  let current: Token[] = [];
  const flush = () => {
    if (current.length === 0) throw templateError(`missing value in "{{${source}}}" at character ${at}`);
    const [first, second, ...extra] = current;
    if (first === undefined) throw templateError(`missing value at character ${at}`);
    if (first.kind === "word") {
      if (!(FUNCTION_NAMES as string[]).includes(first.word)) {
        throw templateError(`function "${first.word}" not defined (at character ${at})`);
      }
      const fn = first.word as FunctionName;
      if (extra.length > 0) throw templateError(`too many arguments to ${fn} at character ${at}`);
      const arg = second === undefined ? undefined : operandOf(second);
      if (second !== undefined && arg === undefined) {
        throw templateError(`bad argument to ${fn} at character ${at}`);
      }
      if (arg === undefined && commands.length === 0) {
        throw templateError(`${fn} needs an argument, as in {{${fn} .}} (at character ${at})`);
      }
      commands.push(arg === undefined ? { kind: "call", fn } : { kind: "call", fn, arg });
    } else {
      const operand = operandOf(first);
      if (operand === undefined || second !== undefined) {
        throw templateError(`unexpected "${source.trim()}" at character ${at}`);
      }
      if (commands.length > 0)
        throw templateError(`a value cannot follow | in "{{${source}}}" (at character ${at})`);
      commands.push({ kind: "operand", operand });
    }
    current = [];
  };
  for (const token of tokens) {
    if (token.kind === "pipe") flush();
    else current.push(token);
  }
  flush();
  return commands;
}

function parse(text: string): Node[] {
  const root: Node[] = [];
  // Open blocks: where their nodes go, and which branch (body or else) is being filled.
  const stack: Array<{ node: Extract<Node, { kind: "range" | "if" }>; inElse: boolean; at: number }> = [];
  const target = (): Node[] => {
    const top = stack[stack.length - 1];
    if (!top) return root;
    return top.inElse ? top.node.otherwise : top.node.body;
  };
  let trimNext = false;
  for (const part of scan(text)) {
    if (part.kind === "text") {
      target().push({ kind: "text", text: trimNext ? part.text.replace(/^\s+/, "") : part.text });
      trimNext = false;
      continue;
    }
    let body = part.body;
    if (/^-[ \t\r\n]/.test(body)) {
      body = body.slice(1);
      const nodes = target();
      const last = nodes[nodes.length - 1];
      if (last?.kind === "text") last.text = last.text.replace(/\s+$/, "");
    }
    trimNext = /[ \t\r\n]-$/.test(body);
    if (trimNext) body = body.slice(0, -1);
    const trimmed = body.trim();
    if (trimmed.startsWith("/*")) {
      if (!trimmed.endsWith("*/")) throw templateError(`unclosed comment at character ${part.at}`);
      continue;
    }
    const tokens = tokenize(body, part.at);
    const head = tokens[0];
    const keyword = head?.kind === "word" ? head.word : undefined;
    if (keyword === "end" || keyword === "else") {
      if (tokens.length > 1)
        throw templateError(`unexpected words after {{${keyword}}} at character ${part.at}`);
      const top = stack[stack.length - 1];
      if (!top) throw templateError(`unexpected {{${keyword}}} at character ${part.at}`);
      if (keyword === "end") stack.pop();
      else if (top.inElse) throw templateError(`second {{else}} at character ${part.at}`);
      else top.inElse = true;
    } else if (keyword === "range" || keyword === "if") {
      const node: Extract<Node, { kind: "range" | "if" }> = {
        kind: keyword,
        pipeline: parsePipeline(tokens.slice(1), part.at, body),
        body: [],
        otherwise: [],
      };
      target().push(node);
      stack.push({ node, inElse: false, at: part.at });
    } else {
      target().push({ kind: "print", pipeline: parsePipeline(tokens, part.at, body) });
    }
  }
  const open = stack[stack.length - 1];
  if (open) throw templateError(`{{${open.node.kind}}} at character ${open.at} has no {{end}}`);
  return root;
}

function field(data: unknown, path: string[]): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, key)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function evaluate(pipeline: Pipeline, dot: unknown): unknown {
  let value: unknown = undefined;
  for (const command of pipeline) {
    if (command.kind === "operand") {
      value = command.operand.kind === "literal" ? command.operand.value : field(dot, command.operand.path);
    } else {
      const arg = command.arg;
      const input = arg === undefined ? value : arg.kind === "literal" ? arg.value : field(dot, arg.path);
      value = FUNCTIONS[command.fn](input);
    }
  }
  return value;
}

/** Go's truth: false, 0, nil, and empty strings, arrays and maps are false. */
function truthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return true;
}

function show(value: unknown): string {
  if (value === undefined) return "<no value>";
  if (value === null) return "<nil>";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  return JSON.stringify(value) ?? "<no value>";
}

function render(nodes: Node[], dot: unknown): string {
  let out = "";
  for (const node of nodes) {
    if (node.kind === "text") {
      out += node.text;
    } else if (node.kind === "print") {
      out += show(evaluate(node.pipeline, dot));
    } else if (node.kind === "if") {
      out += render(truthy(evaluate(node.pipeline, dot)) ? node.body : node.otherwise, dot);
    } else {
      const value = evaluate(node.pipeline, dot);
      // Go ranges over a map's values in key order.
      const items: unknown[] = Array.isArray(value)
        ? value
        : value !== null && typeof value === "object"
          ? Object.keys(value)
              .sort()
              .map((k) => (value as Record<string, unknown>)[k])
          : [];
      out +=
        items.length === 0
          ? render(node.otherwise, dot)
          : items.map((item) => render(node.body, item)).join("");
    }
  }
  return out;
}

/**
 * Compile a template; `\t` and `\n` written as two characters become a tab and a newline, as in
 * the docker CLI's --format. Throws a DinvError naming the problem for a malformed template.
 */
export function compileTemplate(text: string): (data: unknown) => string {
  const nodes = parse(text.replace(/\\t/g, "\t").replace(/\\n/g, "\n"));
  return (data) => render(nodes, data);
}

/** `table {{.Name}}\t{{.URL}}`: a header line is wanted and the template follows the word. */
export function parseTableFormat(text: string): { header: boolean; template: string } {
  const m = /^table(?:\s|$)/.exec(text);
  if (!m) return { header: false, template: text };
  return { header: true, template: text.slice(m[0].length).trim() };
}
