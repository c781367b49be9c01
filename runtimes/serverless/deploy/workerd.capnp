# workerd configuration for the xylem on-demand delta service (dist/serverless/worker.mjs).
# Run it from the folder that holds worker.mjs and core.wasm (dist/serverless/, where the build
# copies this file, or node_modules/xylem/dist/serverless/ after `npm install xylem`):
#
#   XYLEM_ORIGIN=https://origin.example/repo/ npx workerd serve workerd.capnp
#   … --socket-addr http=0.0.0.0:8080      (listen elsewhere than 127.0.0.1:8080)
#
# Every setting comes from the environment of the workerd process (see runtimes/serverless/README.md):
# an unset variable is simply absent. Without the S3 settings deltas are cached in memory per isolate.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .deltaWorker),
    # Outbound fetches (the origin, the S3 cache): public addresses and, for an origin or bucket on
    # the same host or network, local ones. Drop "local" when both are on the internet.
    (name = "internet", network = (allow = ["public", "local"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8080", http = (), service = "main") ],
);

const deltaWorker :Workerd.Worker = (
  modules = [
    (name = "worker.mjs", esModule = embed "worker.mjs"),
    # workerd does not compile WASM from bytes at run time: the core is a precompiled module.
    (name = "core.wasm", wasm = embed "core.wasm"),
  ],
  bindings = [
    (name = "XYLEM_ORIGIN", fromEnvironment = "XYLEM_ORIGIN"),
    (name = "XYLEM_DEPTH", fromEnvironment = "XYLEM_DEPTH"),
    (name = "XYLEM_SCRATCH_DELTAS", fromEnvironment = "XYLEM_SCRATCH_DELTAS"),
    (name = "XYLEM_REWRITE_SUMMARY", fromEnvironment = "XYLEM_REWRITE_SUMMARY"),
    (name = "XYLEM_GENERATE_ON_REQUEST", fromEnvironment = "XYLEM_GENERATE_ON_REQUEST"),
    (name = "XYLEM_PREFIX", fromEnvironment = "XYLEM_PREFIX"),
    (name = "XYLEM_S3_ENDPOINT", fromEnvironment = "XYLEM_S3_ENDPOINT"),
    (name = "XYLEM_S3_BUCKET", fromEnvironment = "XYLEM_S3_BUCKET"),
    (name = "XYLEM_S3_REGION", fromEnvironment = "XYLEM_S3_REGION"),
    (name = "XYLEM_S3_PREFIX", fromEnvironment = "XYLEM_S3_PREFIX"),
    (name = "XYLEM_S3_ACCESS_KEY_ID", fromEnvironment = "XYLEM_S3_ACCESS_KEY_ID"),
    (name = "XYLEM_S3_SECRET_ACCESS_KEY", fromEnvironment = "XYLEM_S3_SECRET_ACCESS_KEY"),
  ],
  compatibilityDate = "2025-01-01",
);
