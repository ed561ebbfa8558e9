import Foundation
import Testing
@testable import StackLab
import StackLabExercises
import StackLabTestSupport

/// The keepalived subset built for exercise 7: the config parser, the VRRP state machine, the advert's bytes.
@Suite struct KeepalivedConfigTests {
    static let master = """
    ! lb-01
    vrrp_script chk_haproxy {
        script "killall -0 haproxy"   # is haproxy alive?
        interval 1
        fall 2
    }
    vrrp_instance VI_1 {
        state MASTER
        interface eth0
        virtual_router_id 51
        priority 150
        advert_int 1
        virtual_ipaddress {
            127.0.1.100/32
        }
        track_script {
            chk_haproxy
        }
    }
    """

    @Test func theSubsetParsesWithKeepalivedsDefaultsAndMasterDownInterval() throws {
        let config = try KeepalivedConfigParser.parse(Self.master, file: "lb-01/keepalived.conf")
        let instance = try #require(config.instances.first)
        #expect(instance.name == "VI_1" && instance.initialMaster && instance.virtualRouterID == 51 && instance.priority == 150)
        #expect(instance.virtualAddresses == ["127.0.1.100"] && instance.trackScripts == ["chk_haproxy"] && instance.preempt)
        #expect(config.scripts["chk_haproxy"]?.checksProcess == .haproxy && config.scripts["chk_haproxy"]?.fall == 2)
        // FIDELITY.md: 3 × advert_int + (256 − priority)/256 s — about 3.6 s with the defaults.
        #expect(abs(KeepalivedConfig.Instance(name: "d").masterDownInterval - (3 + 156.0 / 256)) < 1e-9)
        #expect(abs(instance.masterDownInterval - (3 + 106.0 / 256)) < 1e-9)
    }

    @Test func anUnsupportedKeywordIsAnErrorWithFileAndLine() {
        let text = Self.master.replacingOccurrences(of: "    advert_int 1\n", with: "    advert_int 1\n    garp_master_delay 5\n")
        #expect(throws: ConfigError.self) { try KeepalivedConfigParser.parse(text, file: "lb-01/keepalived.conf") }
        do { _ = try KeepalivedConfigParser.parse(text, file: "lb-01/keepalived.conf") } catch let error as ConfigError {
            #expect(error.description.hasPrefix("lb-01/keepalived.conf:13: \"garp_master_delay\": not supported"), "\(error)")
        } catch {}
        let shell = Self.master.replacingOccurrences(of: "killall -0 haproxy", with: "curl -f http://localhost/")
        #expect(throws: ConfigError.self) { try KeepalivedConfigParser.parse(shell, file: "k") }
        let missing = Self.master.replacingOccurrences(of: "    state MASTER\n", with: "")
        #expect(throws: ConfigError.self) { try KeepalivedConfigParser.parse(missing, file: "k") }
        // What the real keepalived refuses: VRRP on lo, a fractional script interval, a fractional VRRPv2 advert_int.
        let loopback = Self.master.replacingOccurrences(of: "interface eth0", with: "interface lo")
        #expect(throws: ConfigError.self) { try KeepalivedConfigParser.parse(loopback, file: "k") }
        let fractionalScript = Self.master.replacingOccurrences(of: "    interval 1\n", with: "    interval 0.5\n")
        #expect(throws: ConfigError.self) { try KeepalivedConfigParser.parse(fractionalScript, file: "k") }
        let fractionalAdvert = Self.master.replacingOccurrences(of: "advert_int 1", with: "advert_int 0.1")
        #expect(throws: ConfigError.self) { try KeepalivedConfigParser.parse(fractionalAdvert, file: "k") }
        let version3 = "global_defs {\n    vrrp_version 3\n}\n" + fractionalAdvert
        let instance = (try? KeepalivedConfigParser.parse(version3, file: "k"))?.instances.first
        #expect(instance?.version == 3)
        // VRRPv3 scales the skew by advert_int: 3 × 0.1 + (256 − 150) × 0.1 / 256.
        #expect(abs((instance?.masterDownInterval ?? 0) - (0.3 + 10.6 / 256)) < 1e-9)
    }
}

@Suite struct VRRPInstanceTests {
    func instance(master: Bool, priority: Int, advert: Double = 1, preempt: Bool = true, address: String = "127.0.1.2") -> VRRPInstance {
        var config = KeepalivedConfig.Instance(name: "VI_1")
        config.initialMaster = master
        config.priority = priority
        config.advertInterval = advert
        config.preempt = preempt
        config.virtualRouterID = 51
        config.virtualAddresses = ["127.0.1.100"]
        return VRRPInstance(config: config, address: address)
    }

    @Test func theBackupTakesOverAfterMasterDownIntervalWithoutAdverts() {
        var backup = instance(master: false, priority: 100)
        #expect(backup.start(now: 0) == [.becomeBackup])
        #expect(backup.role == .backup)
        // Adverts keep it BACKUP; the timer restarts from each one.
        #expect(backup.advertReceived(priority: 150, from: "127.0.1.1", now: 1).isEmpty)
        #expect(backup.tick(now: 1 + 3.6).isEmpty)
        #expect(backup.tick(now: 1 + 3 + 156.0 / 256 + 0.001) == [.becomeMaster, .sendAdvert(priority: 100)])
        #expect(backup.role == .master)
    }

    @Test func aMasterAdvertisesEveryIntervalAndYieldsToAHigherPriority() {
        var master = instance(master: true, priority: 150, advert: 0.5, address: "127.0.1.1")
        #expect(master.start(now: 0) == [.becomeMaster, .sendAdvert(priority: 150)])
        #expect(master.tick(now: 0.4).isEmpty)
        #expect(master.tick(now: 0.5) == [.sendAdvert(priority: 150)])
        #expect(master.advertReceived(priority: 100, from: "127.0.1.2", now: 0.6).isEmpty)
        #expect(master.advertReceived(priority: 200, from: "127.0.1.2", now: 0.7) == [.becomeBackup])
    }

    @Test func priorityZeroFromAStoppingMasterMeansTakeOverAfterTheSkewOnly() {
        var backup = instance(master: false, priority: 200)
        _ = backup.start(now: 0)
        _ = backup.advertReceived(priority: 0, from: "127.0.1.1", now: 1)
        #expect(backup.tick(now: 1 + 56.0 / 256 + 0.001).first == .becomeMaster)
    }

    @Test func aFailedWeightZeroTrackScriptPutsTheMasterInFaultAndItRecovers() {
        var master = instance(master: true, priority: 150)
        _ = master.start(now: 0)
        #expect(master.trackChanged(ok: false, weight: 0, now: 1) == [.sendAdvert(priority: 0), .enterFault])
        #expect(master.role == .fault)
        #expect(master.tick(now: 10).isEmpty)
        #expect(master.trackChanged(ok: true, weight: 0, now: 11) == [.becomeBackup])
    }

    @Test func nopreemptKeepsALowerPriorityMaster() {
        var backup = instance(master: false, priority: 200, preempt: false)
        _ = backup.start(now: 0)
        _ = backup.advertReceived(priority: 100, from: "127.0.1.1", now: 1)
        #expect(backup.tick(now: 3).isEmpty)
        var preempting = instance(master: false, priority: 200)
        _ = preempting.start(now: 0)
        _ = preempting.advertReceived(priority: 100, from: "127.0.1.1", now: 1)
        // A lower-priority master's adverts do not reset a preempting backup's timer.
        #expect(preempting.tick(now: 3 + 56.0 / 256 + 0.001).first == .becomeMaster)
    }

    @Test func theAdvertIsAVRRPv2PacketWithAValidChecksum() throws {
        let advert = VRRPAdvert(virtualRouterID: 51, priority: 150, advertInterval: 1, addresses: ["127.0.1.100"], authPass: "secret")
        let bytes = advert.encoded()
        #expect(bytes.count == 8 + 4 + 8)
        #expect(Array(bytes[0..<6]) == [0x21, 51, 150, 1, 1, 1])
        #expect(VRRPAdvert.checksum(bytes) == 0)
        #expect(VRRPAdvert.decode(bytes) == advert)
        var corrupted = bytes
        corrupted[2] = 200
        #expect(VRRPAdvert.decode(corrupted) == nil)
        let v3 = VRRPAdvert(virtualRouterID: 51, priority: 200, advertInterval: 0.1, addresses: ["127.0.1.100"], authPass: nil, version: 3)
        #expect(v3.encoded().count == 12 && v3.encoded()[0] == 0x31 && v3.encoded()[5] == 10)
        #expect(VRRPAdvert.decode(v3.encoded()) == v3)
    }
}

/// Who opens lb-01's binds on the floating address: keepalived (MASTER at once with `state MASTER`) and haproxy
/// start side by side, and the address must be opened exactly once whichever comes first.
@Suite struct FloatingAddressTests {
    let address = "127.0.1.100"

    @Test func heldBeforeHAProxyStartsTheStartOpensIt() {
        let floating = FloatingAddresses()
        floating.declare([address])
        #expect(floating.take(address) == false)
        let (held, all) = floating.beginListening()
        #expect(held == [address] && all == [address])
        #expect(floating.take(address) == false)
        #expect(floating.release(address) == true)
    }

    @Test func takenWhileHAProxyStartsKeepalivedOpensIt() {
        let floating = FloatingAddresses()
        floating.declare([address])
        let (held, _) = floating.beginListening()
        #expect(held.isEmpty)
        // MASTER after the start chose its binds, before it finished: keepalived opens the address.
        #expect(floating.take(address) == true)
        #expect(floating.take(address) == false)
        #expect(floating.isOpen(address))
        #expect(floating.release(address) == true)
        #expect(!floating.isOpen(address))
    }

    @Test func aStoppedHAProxyOpensNothingAndReopensWhatIsHeldWhenItStarts() {
        let floating = FloatingAddresses()
        floating.declare([address])
        _ = floating.beginListening()
        #expect(floating.take(address) == true)
        floating.endListening()
        #expect(!floating.isOpen(address))
        #expect(floating.take(address) == false)
        #expect(floating.beginListening().0 == [address])
    }
}

/// The floating address on a live lab (exercise 7's reference solution): it moves to lb-02 when lb-01 dies or only
/// its haproxy dies (track_script), and back when lb-01 returns (preemption).
@Suite(.serialized, .runsALab) struct FloatingAddressLabTests {
    static let floating = "127.0.1.100"

    func withSolutionLab(_ body: (Lab) async throws -> Void) async throws {
        let folder = try exerciseFolder("07-keepalived", solution: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let definition = try LabDefinition.load(directory: folder)
        let lab = try await onFreeOffset { try await Lab.start(definition, options: LabOptions(portOffset: $0)) }
        do { try await body(lab) } catch {
            await lab.shutdown()
            throw error
        }
        await lab.shutdown()
    }

    func holder(_ lab: Lab) -> String? {
        lab.processes.compactMap { $0 as? Keepalived }.first { $0.holds(Self.floating) }?.serverName
    }

    func siteAnswers(_ lab: Lab) async -> Bool {
        (try? await lab.internetClient.request(host: Self.floating, port: lab.network.port(8080), path: "/health", timeout: 3))?.status == 200
    }

    /// Waits for the site at the floating address; when it never answers, says what each balancer was doing.
    func waitForTheSite(_ lab: Lab, _ what: String) async throws {
        do {
            try await waitUntil(what) { await siteAnswers(lab) }
        } catch {
            var lines = ["\(error)"]
            do {
                let answer = try await lab.internetClient.request(host: Self.floating, port: lab.network.port(8080), path: "/health", timeout: 10)
                lines.append("last try: \(answer.status) \(answer.body.prefix(200))")
            } catch { lines.append("last try: \(error)") }
            for process in lab.processes where process.name.hasPrefix("lb-") {
                lines.append("\(process.name): \(process.runtime.state) listening on \(process.runtime.addresses)")
                lines += process.log.tail().suffix(15).map { "  \($0)" }
            }
            Issue.record(Comment(rawValue: lines.joined(separator: "\n")))
            throw error
        }
    }


    @Test func theAddressMovesToLB02AndBackWhenLB01Returns() async throws {
        try await withSolutionLab { lab in
            try await waitUntil("lb-01 to hold the address") { holder(lab) == "lb-01" }
            try await waitForTheSite(lab, "the site at the floating address")
            try await lab.apply(.crash, to: .server("lb-01"))
            try await waitUntil("lb-02 to take the address and serve") { holder(lab) == "lb-02" }
            try await waitForTheSite(lab, "the site at the floating address")
            // keepalived_exporter's state: 2 is MASTER.
            let lb02 = try #require(lab.process("lb-02", .keepalived))
            #expect(lb02.metricsText().contains("keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"127.0.1.100\"} 2"))
            try await lab.apply(.revive, to: .server("lb-01"))
            // lb-01 has the higher priority and preempts; it binds once lb-02 has let go.
            try await waitUntil("lb-01 to take the address back") { holder(lab) == "lb-01" && lab.processes.contains { $0.name == "lb-01/haproxy" && $0.runtime.addresses.contains { $0.hasPrefix(Self.floating) } } }
            try await waitForTheSite(lab, "the site at the floating address again")
            // lb-02 hears lb-01's higher priority and goes back to BACKUP (on a busy machine a late advert may make it
            // MASTER again for a moment, as real keepalived would; the next advert settles it).
            try await waitUntil("lb-02 to be BACKUP again") {
                lab.process("lb-02", .keepalived).flatMap { $0 as? Keepalived }?.roles.first?.role == .backup
            }
        }
    }

    @Test func killingOnlyHAProxyMovesTheAddressThroughTheTrackScript() async throws {
        try await withSolutionLab { lab in
            try await waitUntil("lb-01 to hold the address") { holder(lab) == "lb-01" }
            try await lab.apply(.crash, to: .process(server: "lb-01", process: .haproxy))
            try await waitUntil("lb-01's keepalived to see haproxy gone and lb-02 to take over") { holder(lab) == "lb-02" }
            #expect(lab.process("lb-01", .keepalived).flatMap { $0 as? Keepalived }?.roles.first?.role == .fault)
            try await waitForTheSite(lab, "the site at the floating address")
            #expect(lab.process("lb-01", .keepalived)?.log.tail().contains { $0.contains("VRRP_Script(chk_haproxy) failed") } == true)
        }
    }
}
