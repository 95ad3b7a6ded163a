/**
 * A service image for the e2e tests, made here since no registry is reachable:
 * test/fixtures/hello/hello.c built static, alone in a root filesystem tar for `docker import`
 * (its command: HELLO_IMPORT_CHANGES).
 */
import { buildStatic, singleBinaryRootfs } from "./static-image.js";

/** The port hello.c answers HTTP on. */
export const HELLO_PORT = 8080;

/** `docker import -c` changes that make the tar a runnable image. */
export const HELLO_IMPORT_CHANGES = ['CMD ["/hello"]', `EXPOSE ${HELLO_PORT}`];

export function helloRootfsTar(): Promise<Buffer> {
  return singleBinaryRootfs("hello", buildStatic("test/fixtures/hello/hello.c"));
}
