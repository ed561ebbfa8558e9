import NIOCore
import NIOHTTP1

/// The HTTP handler types every hop builds, made once on the thread that starts a lab, before any event loop does.
///
/// The Swift runtime builds a generic class's metadata the first time a thread asks for it. When two threads ask for
/// the same one at the same moment, one can check a generic requirement (`ByteToMessageHandler`'s decoder must be a
/// `ByteToMessageDecoder`) against the other's half-built `HTTPDecoder` metadata and dereference a null pointer in
/// `swift_conformsToProtocol`: the process dies. A lab's first connections open on two event loops at once (lb-01's
/// health checks of web-01 and web-02), and about one start in twenty died so in the debug build. Once a type is
/// built the runtime's cache answers every thread, so building each type here first takes the race away.
enum HTTPHandlerTypes {
    static func prepare() { _ = prepared }

    private static let prepared: Void = {
        _ = HTTPResponseEncoder()
        _ = HTTPRequestEncoder()
        _ = ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop))
        _ = ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes, informationalResponseStrategy: .drop))
        _ = ForwardedRequestValidator()
    }()
}
