/**
 * Property-based: random host names and option values fed to the validators and the store.
 * Whatever comes in, the outcome is a value or a DinvError (never another exception), and
 * nothing is ever written outside the store.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import fc from "fast-check";
import { assertProperty } from "../helpers/cases.js";
import { parseHostUrl } from "../../src/engine/endpoint.js";
import { DinvError } from "../../src/errors.js";
import { buildEngineOptions } from "../../src/host/engine-options.js";
import { parseCpus, parseSize } from "../../src/host/resources.js";
import { classifySan } from "../../src/pki/sans.js";
import { HostStore } from "../../src/store/host-store.js";
import { validateHostName } from "../../src/store/names.js";

/** Run `fn`; a DinvError is an accepted refusal, anything else fails the property. */
function refusesCleanly(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (err instanceof DinvError) return true;
    throw err;
  }
}

const hostile = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom(
    "../x",
    "..",
    ".",
    "a/../../b",
    "/etc/passwd",
    "a\u0000b",
    "a;rm -rf /",
    "$(id)",
    "`id`",
    "раураl",
    "ａｂｃ",
    "x".repeat(64),
    "-x",
    ".x",
  ),
);

describe("bad input, property-based", () => {
  const base = mkdtempSync(join(tmpdir(), "dinv-props-"));
  const root = join(base, "store");
  after(() => rmSync(base, { recursive: true, force: true }));

  it("host names: accepted ones match the rule, the rest are refused with a DinvError", (t) => {
    assertProperty(
      t,
      fc.property(hostile, (name) => {
        let accepted = false;
        refusesCleanly(() => {
          validateHostName(name);
          accepted = true;
        });
        if (accepted) assert.match(name, /^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/);
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it("the store never creates anything outside its hosts folder, whatever the name", (t) => {
    const store = new HostStore(root);
    assertProperty(
      t,
      fc.property(hostile, (name) => {
        refusesCleanly(() => store.claim(name));
        return true;
      }),
      { numRuns: 1000 },
    );
    // Everything created is a direct child of hosts/, and the folder next to the store is untouched.
    assert.deepEqual(readdirSync(base), ["store"]);
    assert.deepEqual(readdirSync(root).sort(), ["hosts"]);
    for (const entry of readdirSync(join(root, "hosts"))) assert.match(entry, /^[a-zA-Z0-9][a-zA-Z0-9.-]*$/);
  });

  it("option values: endpoints, SANs, sizes, CPUs, engine options", (t) => {
    assertProperty(
      t,
      fc.property(hostile, (value) => {
        refusesCleanly(() => parseHostUrl(value, "--endpoint"));
        refusesCleanly(() => classifySan(value));
        refusesCleanly(() => parseSize(value, "--memory"));
        refusesCleanly(() => parseCpus(value));
        refusesCleanly(() =>
          buildEngineOptions({
            engineOpt: [value],
            engineLabel: [value],
            engineInsecureRegistry: [value],
            engineRegistryMirror: [value],
            engineEnv: [value],
            engineStorageDriver: value,
          }),
        );
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});
