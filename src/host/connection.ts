/** The CLI reaches a host's endpoints through host; they live in the engine layer. */
export { checkClientFiles, hostUrl } from "../engine/host-endpoints.js";
