import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
@testable import StackLab
import StackLabTestSupport

/// Port offsets for the fuzz suite: multiples of 100 plus 32, 11032–14932. No two ports of a lab (3306, 8000, 8080,
/// 8404, 8405, 8443, 9090, 9102, 9104, 9113, 9165) differ by an amount that ends in 32, 82 (32 − 50) or 64 (32 − 68),
/// so these never meet another suite's (the plan for every suite is in StackLabTests' TestLabs.swift).
enum FuzzTestPorts {
    private static let next = NIOLockedValueBox(11_032 + Int(getpid() % 10) * 100)
    static func offset() -> Int {
        next.withLockedValue { value in
            defer { value = value >= 14_932 ? 11_032 : value + 100 }
            return value
        }
    }
}

/// The built-in foobar lab, running from a temporary copy of its files, for a fuzz test to throw bytes at.
struct FuzzLab {
    let lab: Lab
    let folder: String

    /// Starts the lab and waits until lb-01 has checked both web servers.
    static func start(_ name: String = "foobar") async throws -> FuzzLab {
        let folder = NSTemporaryDirectory() + "stacklab-fuzz-\(UUID().uuidString.prefix(8))"
        try LabDefinition.writeBuiltIn(named: name, to: folder)
        let lab = try await Lab.start(LabDefinition.load(directory: folder), options: LabOptions(portOffset: FuzzTestPorts.offset()))
        await lab.waitForFirstChecks(timeout: .seconds(20))
        return FuzzLab(lab: lab, folder: folder)
    }

    func stop() async {
        await lab.shutdown()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// The real address of a server's process port, as the config files write it (`web-01`, 8080 → 127.0.1.11:18180).
    func address(_ server: String, port configured: Int) -> (host: String, port: Int) {
        let host = lab.topology.servers.first { $0.name == server }?.address ?? "127.0.0.1"
        return (host, lab.network.port(configured))
    }

    /// Every process runs and lb-01 answers a good request with 200: what each fuzz test asserts after its cases.
    func answersAGoodRequest() async throws -> Bool {
        guard lab.processes.allSatisfy({ $0.state == .running }) else { return false }
        let lb = address("lb-01", port: 8080)
        let reply = try await RawExchange.send(Array("GET / HTTP/1.1\r\nHost: www.foobar.com\r\nConnection: close\r\n\r\n".utf8),
                                               to: lb.host, port: lb.port, group: lab.group)
        return reply.starts(with: Array("HTTP/1.1 200".utf8))
    }
}

/// One connection that writes some bytes and reads whatever comes back until the peer closes or `timeout` passes.
enum RawExchange {
    static func send(_ bytes: [UInt8], to host: String, port: Int, group: EventLoopGroup, timeout: TimeAmount = .seconds(5),
                     halfClose: Bool = false) async throws -> [UInt8] {
        let collected = ReceivedBytes(closeWhenInputEnds: true)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(.seconds(5))
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collected) }
            }
            .connect(host: host, port: port).get()
        let closeTimer = channel.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        try? await channel.writeAndFlush(buffer).get()
        if halfClose { try? await channel.close(mode: .output).get() }
        try? await channel.closeFuture.get()
        closeTimer.cancel()
        return collected.bytes
    }
}
