import Foundation

// How the lab builds the store (mysql) processes and the app's database access. The store itself lives in the
// StackLabStore module.

func makeStoreProcess(definition: LabDefinition, server: Topology.Server, folder: String, runtime: ProcessRuntime) -> (any LabProcess)? {
    nil
}

func makePostsStore(config: GunicornConfig, runtime: ProcessRuntime) -> (any PostsStore)? {
    nil
}
