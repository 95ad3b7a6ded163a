/** The Go text/template subset behind `dinv inspect -f` and `dinv ls --format`. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileTemplate, parseTableFormat } from "../../src/cli/format/template.js";
import { DinvError } from "../../src/errors.js";

const host = {
  Name: "dev",
  DriverName: "docker",
  Active: false,
  Port: 2376,
  Driver: { IPAddress: "172.17.0.2", Endpoint: { URL: "unix:///var/run/docker.sock" }, Labels: ["a", "b"] },
  Tags: ["x", "y"],
  Nothing: null,
  Empty: "",
};
const run = (template: string, data: unknown = host) => compileTemplate(template)(data);

describe("compileTemplate", () => {
  it("prints literal text and fields, nested and case-sensitive", () => {
    assert.equal(run("plain"), "plain");
    assert.equal(run("{{.Name}}"), "dev");
    assert.equal(
      run("ip={{.Driver.IPAddress}} url={{ .Driver.Endpoint.URL }}"),
      "ip=172.17.0.2 url=unix:///var/run/docker.sock",
    );
    assert.equal(run("{{.name}}"), "<no value>");
  });

  it("prints <no value> for missing fields, as Go does for maps", () => {
    assert.equal(run("{{.Missing}}"), "<no value>");
    assert.equal(run("{{.Missing.Deeper}}"), "<no value>");
    assert.equal(run("{{.Name.Sub}}"), "<no value>");
  });

  it("prints numbers, booleans, null, and objects/arrays as JSON", () => {
    assert.equal(run("{{.Port}} {{.Active}} {{.Nothing}}"), "2376 false <nil>");
    assert.equal(run("{{.Tags}}"), '["x","y"]');
    assert.equal(run("{{.Driver.Endpoint}}"), '{"URL":"unix:///var/run/docker.sock"}');
  });

  it("{{.}} is the whole value", () => {
    assert.equal(run("{{.}}", "just a string"), "just a string");
    assert.equal(run("{{ . }}", { a: 1 }), '{"a":1}');
  });

  it("json is compact, prettyjson indented by two spaces; both work in a pipe", () => {
    assert.equal(run("{{json .Driver.Endpoint}}"), '{"URL":"unix:///var/run/docker.sock"}');
    assert.equal(run("{{json .Name}}"), '"dev"');
    assert.equal(run("{{json .Missing}}"), "null");
    assert.equal(run("{{prettyjson .Driver.Endpoint}}"), '{\n  "URL": "unix:///var/run/docker.sock"\n}');
    assert.equal(run("{{ .Tags | json }}"), '["x","y"]');
    assert.equal(run("{{json .}}", [1, 2]), "[1,2]");
  });

  it("string literals", () => {
    assert.equal(run('{{"a}}b"}} {{`raw\\n`}}'), "a}}b raw\n");
  });

  it("turns \\t and \\n written as two characters into a tab and a newline", () => {
    assert.equal(run("{{.Name}}\\t{{.DriverName}}\\n"), "dev\tdocker\n");
    assert.equal(run('{{"a\\tb"}}'), "a\tb");
  });

  it("range, with else, and if", () => {
    assert.equal(run("{{range .Tags}}[{{.}}]{{end}}"), "[x][y]");
    assert.equal(run("{{range .Nothing}}x{{else}}none{{end}}"), "none");
    assert.equal(run("{{range .}}{{.}},{{end}}", { b: 2, a: 1 }), "1,2,");
    assert.equal(run("{{if .Active}}yes{{else}}no{{end}}"), "no");
    assert.equal(run("{{if .Tags}}some{{end}}"), "some");
    assert.equal(run("{{if .Empty}}x{{end}}"), "");
  });

  it("trim markers and comments", () => {
    assert.equal(run("a  {{- .Name -}}  b"), "adevb");
    assert.equal(run("a {{/* note */}}b"), "a b");
  });

  it("a compiled template can run many times", () => {
    const t = compileTemplate("{{.Name}}");
    assert.equal(t({ Name: "a" }), "a");
    assert.equal(t({ Name: "b" }), "b");
  });
});

describe("compileTemplate: malformed templates fail at compile time, naming the problem", () => {
  const bad: Array<[string, RegExp]> = [
    ["{{.Name", /unclosed action/],
    ["a {{ .Name }", /unclosed action/],
    ["{{upper .Name}}", /function "upper" not defined/],
    ["{{}}", /missing value/],
    ["{{end}}", /unexpected \{\{end\}\}/],
    ["{{range .Tags}}x", /has no \{\{end\}\}/],
    ["{{.Name .DriverName}}", /unexpected/],
    ["{{json .A .B}}", /too many arguments/],
    ["{{json}}", /needs an argument/],
    ["{{.Na-me}}", /bad field/],
    ['{{"open}}', /unterminated string/],
    ["{{.Name | .Other}}", /cannot follow/],
    ["{{ 3 }}", /unexpected "3"/],
  ];
  for (const [template, message] of bad) {
    it(JSON.stringify(template), () => {
      assert.throws(
        () => compileTemplate(template),
        (err: unknown) =>
          err instanceof DinvError && message.test(err.message) && err.message.startsWith("invalid template"),
      );
    });
  }
});

describe("parseTableFormat", () => {
  it("strips the table word and asks for a header", () => {
    assert.deepEqual(parseTableFormat("table {{.Name}}\\t{{.URL}}"), {
      header: true,
      template: "{{.Name}}\\t{{.URL}}",
    });
    assert.deepEqual(parseTableFormat("table"), { header: true, template: "" });
  });
  it("leaves other formats alone", () => {
    assert.deepEqual(parseTableFormat("{{.Name}}"), { header: false, template: "{{.Name}}" });
    assert.deepEqual(parseTableFormat("tables {{.Name}}"), { header: false, template: "tables {{.Name}}" });
  });
});
