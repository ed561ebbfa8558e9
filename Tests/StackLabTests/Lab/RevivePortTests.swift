import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import StackLab
import StackLabTestSupport

@Suite("A revived nginx and a port still taken", .runsALab)
struct RevivePortTests {
    /// nginx tries a taken port five times, 500 ms apart, saying so in its error log; freed in time, it starts.
    @Test func nginxRetriesATakenPortAsNginxDoes() async throws {
        let (lab, folder) = try await TestLabBuilder().start()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let nginx = try #require(lab.process("web-01", .nginx))
        try await lab.apply(.crash, to: .process(server: "web-01", process: .nginx))
        let holder = try await ServerBootstrap(group: lab.group).serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.1.11", port: lab.network.port(8080)).get()
        let revive = Task { try await lab.apply(.revive, to: .process(server: "web-01", process: .nginx)) }
        try await waitUntil("nginx to find its port taken") {
            nginx.log.tail().contains { $0.contains("[emerg]") && $0.contains("bind() to 127.0.1.11:8080 failed (98: Address already in use)") }
        }
        try await holder.close()
        try await revive.value
        #expect(nginx.state == .running)
        // `try again to bind() after 500ms` is a notice: below the lab's error_log level, as in nginx.
        #expect(!nginx.log.tail().contains { $0.contains("try again to bind()") })
        #expect(!nginx.log.tail().contains { $0.contains("still could not bind()") })
        await lab.shutdown()
    }
}
