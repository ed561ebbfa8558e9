import Foundation

// Interim until the store lands: the lab builds no store process, the app has no database.
func makeStoreProcess(definition: LabDefinition, server: Topology.Server, folder: String, runtime: ProcessRuntime) -> (any LabProcess)? { nil }
func makePostsStore(config: GunicornConfig, runtime: ProcessRuntime) -> (any PostsStore)? { nil }
enum CurrentTrace {
    @TaskLocal static var context: TraceContext?
}
