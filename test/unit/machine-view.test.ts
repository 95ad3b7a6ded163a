import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { alignColumns } from "../../src/cli/output.js";
import { parseLocation } from "../../src/cli/commands/scp.js";
import { goDuration } from "../../src/cli/format/machine-view.js";

describe("docker-machine's formats", () => {
  it("goDuration prints as Go's time.Duration.String", () => {
    // Expected values from Go: fmt.Println(time.Duration(n)).
    assert.equal(goDuration(0), "0s");
    assert.equal(goDuration(0.0005), "500ns");
    assert.equal(goDuration(0.8), "800µs");
    assert.equal(goDuration(21.063356), "21.063356ms");
    assert.equal(goDuration(1500), "1.5s");
    assert.equal(goDuration(2000), "2s");
    assert.equal(goDuration(61_500), "1m1.5s");
    assert.equal(goDuration(3_600_000), "1h0m0s");
  });

  it("alignColumns aligns tab-separated cells as docker-machine's tabwriter (padding 3, min width 5)", () => {
    assert.equal(alignColumns(["NAME\tURL", "a\ttcp://x"]), "NAME   URL\na      tcp://x\n");
    assert.equal(
      alignColumns(["LONGNAME\tX\tY", "b\tlonger\t"]),
      "LONGNAME   X        Y\nb          longer   \n",
    );
  });

  it("parseLocation reads docker-machine's [user@]host:path, and localhost: as here", () => {
    assert.deepEqual(parseLocation("/tmp/x"), { path: "/tmp/x" });
    assert.deepEqual(parseLocation("dev:/etc/hosts"), { host: "dev", path: "/etc/hosts" });
    assert.deepEqual(parseLocation("docker@dev:notes"), { host: "dev", path: "notes" });
    assert.deepEqual(parseLocation("dev:"), { host: "dev", path: "" });
    assert.deepEqual(parseLocation("localhost:/tmp/x"), { path: "/tmp/x" });
  });
});

describe("ls shows engine versions only where it shows them", () => {
  it("for the table, json and templates naming a version, answer or health field, not otherwise", async () => {
    const { showsVersions } = await import("../../src/cli/commands/ls.js");
    for (const format of [
      undefined,
      "json",
      "{{.Name}} {{.DockerVersion}}",
      "table {{.Error}}",
      "{{.ResponseTime}}",
      "{{.Cgroups}}",
    ])
      assert.equal(showsVersions(format), true, String(format));
    for (const format of [
      "{{.Name}}",
      "table {{.Name}}\t{{.State}}\t{{.URL}}",
      "{{.Endpoint}} {{.DriverName}}",
    ])
      assert.equal(showsVersions(format), false, format);
  });
});
