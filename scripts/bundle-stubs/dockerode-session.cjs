// Stands in for dockerode's lib/session.js in the CLI bundle (scripts/bundle.mjs). That module
// loads gRPC and protobufjs (about 1 MB of the bundle) for BuildKit sessions, which only
// docker.buildImage with version "2" uses; dinv never calls buildImage (`dinv image build`
// commits a container instead), and loading gRPC cost every engine command start-up time.
module.exports = function withSession(_docker, _auth, handler) {
  handler(new Error("BuildKit sessions are not part of dinv's engine client"), null, () => undefined);
};
