import Foundation
import NIOSSL
import StackLab

/// Exercise 4: lb-01 speaks HTTPS on 8443 with the lab's certificate, redirects plain HTTP (8080) to HTTPS, sets
/// HSTS, and refuses TLS older than 1.2.
struct HTTPSScenario: Scenario {
    static let httpsPort = 8443
    static let httpPort = 8080

    func probe(_ context: GradingContext) -> (HTTPSProbe, host: String, port: Int) {
        let lab = context.lab
        let host = lab.topology.server(named: "lb-01")?.address ?? "127.0.1.1"
        let ca = (lab.definition.directory as NSString).appendingPathComponent(TLSMaterial.caFile)
        return (HTTPSProbe(group: LabNetwork.internetThreads, caFile: ca), host, lab.network.port(Self.httpsPort))
    }

    var checks: [Check] {
        [
            Check("lb-01 serves the site over HTTPS on 8443", points: 2) { context in
                let (client, host, port) = probe(context)
                do {
                    let response = try await client.get(host: host, port: port)
                    return response.status == 200 ? .pass("GET https://www.foobar.com:8443/ → 200, certificate verified with the lab's CA")
                        : .fail("GET https://www.foobar.com:8443/ answered \(response.status); the site must answer 200")
                } catch {
                    return .fail("no HTTPS on lb-01 port 8443: \(error)")
                }
            },
            Check("plain HTTP is redirected to HTTPS", points: 2) { context in
                let host = context.lab.topology.server(named: "lb-01")?.address ?? "127.0.1.1"
                let page = await context.request("/", host: host, port: Self.httpPort)
                let location = page.headers.first { $0.name.lowercased() == "location" }?.value ?? ""
                guard let status = page.status, (300..<400).contains(status), location.hasPrefix("https://") else {
                    return .fail("GET http://www.foobar.com:8080/ answered \(page.word)\(location.isEmpty ? "" : " to \(location)"); "
                        + "it must redirect (3xx) to https://")
                }
                let login = await context.request("/login", method: "POST", body: "username=alice&password=wonderland", host: host, port: Self.httpPort)
                guard let loginStatus = login.status, (300..<400).contains(loginStatus) else {
                    return .fail("POST /login over plain HTTP answered \(login.word): the password reached the app in clear text")
                }
                return .pass("GET / over HTTP → \(status) \(location); POST /login over HTTP → \(loginStatus), not processed")
            },
            Check("HTTPS responses set HSTS (Strict-Transport-Security)", points: 1) { context in
                let (client, host, port) = probe(context)
                guard let response = try? await client.get(host: host, port: port) else { return .fail("no HTTPS response to look at") }
                guard let hsts = response.headers.first(name: "Strict-Transport-Security") else {
                    return .fail("the HTTPS response has no Strict-Transport-Security header: a browser would keep trying plain HTTP")
                }
                let maxAge = hsts.split(separator: ";").compactMap { part -> Int? in
                    let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=")
                    return pair.count == 2 && pair[0].lowercased() == "max-age" ? Int(pair[1]) : nil
                }.first ?? 0
                return maxAge > 0 ? .pass("Strict-Transport-Security: \(hsts)")
                    : .fail("Strict-Transport-Security: \(hsts) — max-age must be more than 0 seconds")
            },
            Check("TLS older than 1.2 is refused", points: 1) { context in
                let (client, host, port) = probe(context)
                guard (try? await client.get(host: host, port: port)) != nil else {
                    return .fail("no HTTPS on lb-01 port 8443 to try an old TLS client on")
                }
                do {
                    let response = try await client.get(host: host, port: port, maximumTLS: .tlsv11)
                    return .fail("a TLS 1.1 client was served (\(response.status)); TLS 1.0 and 1.1 must be refused")
                } catch {
                    return .pass("a TLS 1.1 client was refused: \(error)")
                }
            },
        ]
    }
}
