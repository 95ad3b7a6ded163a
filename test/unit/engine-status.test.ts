import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { call, engineStatus } from "../../src/engine/engine-errors.js";

describe("the engine's HTTP status of a failure", () => {
  const target = { endpoint: { url: "unix:///run/test.sock" } } as Parameters<typeof call>[0];
  const answered = (statusCode: number) =>
    Object.assign(new Error("(HTTP 404) no such network"), { statusCode });

  it("is read through call()'s one-line error and from the client's own error alike", async () => {
    const wrapped = await call(target, () => Promise.reject(answered(404))).catch((err: unknown) => err);
    assert.equal(engineStatus(wrapped), 404);
    assert.equal(engineStatus(answered(304)), 304);
  });

  it("is undefined where the engine never answered", async () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    assert.equal(
      engineStatus(await call(target, () => Promise.reject(refused)).catch((err: unknown) => err)),
      undefined,
    );
    assert.equal(engineStatus(undefined), undefined);
  });
});
