import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

/// The lab's own certificate authority and the certificates it signs, minted on first use and kept in the lab
/// folder as PEM, so real clients can be told to trust it:
///
/// ```
/// LAB/ca.pem                     the lab CA's certificate (give it to curl --cacert, openssl -CAfile, a browser)
/// LAB/ca-key.pem                 its private key (stays in the lab folder)
/// LAB/lb-01/www.foobar.com.pem   what `bind … ssl crt www.foobar.com.pem` names: certificate and key in one file
/// LAB/web-01/web-01.crt, .key    what nginx's ssl_certificate and ssl_certificate_key name
/// ```
///
/// Keys are P-256 (ECDSA). Each certificate names www.foobar.com, foobar.com, the server's name and its address, so
/// `curl --cacert LAB/ca.pem https://127.0.1.1:8443/` and `--resolve www.foobar.com:8443:127.0.1.1` both verify.
public enum TLSMaterial {
    public static let caFile = "ca.pem"
    static let caKeyFile = "ca-key.pem"
    public static let siteNames = ["www.foobar.com", "foobar.com"]

    /// A file a lab names for TLS, and whether it was just minted.
    public struct Minted: Sendable, Equatable {
        public var path: String
        public var server: String
    }

    /// Mints, for every TLS file the lab's configs name that does not exist yet, a certificate signed by the lab CA
    /// (minting the CA too on first use). Returns the files written.
    @discardableResult
    public static func mintMissing(for definition: LabDefinition) throws -> [Minted] {
        var minted: [Minted] = []
        let root = definition.directory
        for server in definition.topology.servers {
            let folder = (root as NSString).appendingPathComponent(server.name)
            func resolve(_ path: String) -> String { path.hasPrefix("/") ? path : (folder as NSString).appendingPathComponent(path) }
            if let config = definition.haproxy[server.name] {
                for bind in config.frontends.flatMap(\.binds) {
                    guard let file = bind.certificateFile else { continue }
                    let path = resolve(file)
                    guard !FileManager.default.fileExists(atPath: path) else { continue }
                    let (certificate, key) = try issue(root: root, server: server)
                    try write(certificate + key, to: path, secret: true)
                    minted.append(Minted(path: path, server: server.name))
                }
            }
            if let config = definition.nginx[server.name] {
                for site in config.servers where site.listens.contains(where: \.ssl) {
                    guard let certificateFile = site.sslCertificate else { continue }
                    let certificatePath = resolve(certificateFile)
                    let keyPath = resolve(site.sslCertificateKey ?? certificateFile)
                    guard !FileManager.default.fileExists(atPath: certificatePath) || !FileManager.default.fileExists(atPath: keyPath) else { continue }
                    let (certificate, key) = try issue(root: root, server: server)
                    if certificatePath == keyPath {
                        try write(certificate + key, to: certificatePath, secret: true)
                    } else {
                        try write(certificate, to: certificatePath, secret: false)
                        try write(key, to: keyPath, secret: true)
                    }
                    minted.append(Minted(path: certificatePath, server: server.name))
                }
            }
        }
        return minted
    }

    /// How to make real clients trust the lab, for a TLS address such as `127.0.1.1:8443`.
    public static func trustHint(labDirectory: String, address: String) -> String {
        let ca = (labDirectory as NSString).appendingPathComponent(caFile)
        let port = address.split(separator: ":").last.map(String.init) ?? "8443"
        let host = address.split(separator: ":").first.map(String.init) ?? "127.0.1.1"
        return """
        the lab's certificate authority is \(ca); to trust it:
          curl --cacert \(ca) --resolve www.foobar.com:\(port):\(host) https://www.foobar.com:\(port)/
          openssl s_client -connect \(address) -servername www.foobar.com -CAfile \(ca) -verify_return_error
          a browser: import \(ca) as a certificate authority (for testing only), then open https://\(address)/
        """
    }

    // MARK: - The CA

    /// The lab CA, loaded from the lab folder or minted there.
    static func authority(root: String) throws -> (certificate: Certificate, key: P256.Signing.PrivateKey) {
        let certificatePath = (root as NSString).appendingPathComponent(caFile)
        let keyPath = (root as NSString).appendingPathComponent(caKeyFile)
        if let certificateText = try? String(contentsOfFile: certificatePath, encoding: .utf8),
           let keyText = try? String(contentsOfFile: keyPath, encoding: .utf8) {
            do {
                return (try Certificate(pemEncoded: certificateText), try P256.Signing.PrivateKey(pemRepresentation: keyText))
            } catch {
                throw TLSMaterialError("cannot read the lab CA (\(certificatePath), \(keyPath)): \(error) — delete both files and a new CA is minted")
            }
        }
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("stacklab")
            CommonName("stacklab lab CA \(URL(fileURLWithPath: root).lastPathComponent)")
        }
        let publicKey = Certificate.PublicKey(key.publicKey)
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            },
            issuerPrivateKey: Certificate.PrivateKey(key))
        try write(try certificate.serializeAsPEM().pemString + "\n", to: certificatePath, secret: false)
        try write(key.pemRepresentation + "\n", to: keyPath, secret: true)
        return (certificate, key)
    }

    /// A server certificate for www.foobar.com and the server itself, signed by the lab CA. Returns PEM texts.
    static func issue(root: String, server: Topology.Server) throws -> (certificate: String, key: String) {
        let ca = try authority(root: root)
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        let subject = try DistinguishedName {
            OrganizationName("stacklab")
            CommonName(siteNames[0])
        }
        var names: [GeneralName] = (siteNames + [server.name]).map { .dnsName($0) }
        if let octets = ipv4Octets(server.address) { names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(octets)))) }
        let caKeyID = (try? ca.certificate.extensions.subjectKeyIdentifier)??.keyIdentifier
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            // 397 days: what browsers accept for a server certificate.
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(397 * 86_400),
            issuer: ca.certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: caKeyID)
            },
            issuerPrivateKey: Certificate.PrivateKey(ca.key))
        return (try certificate.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
    }

    static func ipv4Octets(_ address: String) -> [UInt8]? {
        let parts = address.split(separator: ".").compactMap { UInt8($0) }
        return parts.count == 4 ? parts : nil
    }

    static func write(_ text: String, to path: String, secret: Bool) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: secret ? [.posixPermissions: 0o600] : nil) else {
            throw TLSMaterialError("cannot write \(path)")
        }
    }

    // MARK: - Server contexts

    /// A TLS server context from PEM files (HAProxy's crt file holds the certificate chain and the key together;
    /// nginx names them apart). TLS 1.2 and 1.3 only, whatever `protocols` asks beyond that.
    public static func serverContext(certificateFile: String, keyFile: String? = nil, protocols: [String] = ["TLSv1.2", "TLSv1.3"]) throws -> NIOSSLContext {
        guard let certificateText = try? String(contentsOfFile: certificateFile, encoding: .utf8) else {
            throw TLSMaterialError("cannot read the certificate file \(certificateFile)")
        }
        let keyText: String
        if let keyFile, keyFile != certificateFile {
            guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else { throw TLSMaterialError("cannot read the key file \(keyFile)") }
            keyText = text
        } else {
            keyText = certificateText
        }
        let certificates = pemBlocks(certificateText).filter { $0.label == "CERTIFICATE" }
        guard !certificates.isEmpty else { throw TLSMaterialError("\(certificateFile) holds no certificate (-----BEGIN CERTIFICATE-----)") }
        guard let keyBlock = pemBlocks(keyText).first(where: { $0.label.hasSuffix("PRIVATE KEY") }) else {
            throw TLSMaterialError("\(keyFile ?? certificateFile) holds no private key (-----BEGIN PRIVATE KEY-----)")
        }
        do {
            let chain = try certificates.map { try NIOSSLCertificate(bytes: Array($0.text.utf8), format: .pem) }
            let key = try NIOSSLPrivateKey(bytes: Array(keyBlock.text.utf8), format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = protocols.contains("TLSv1.2") ? .tlsv12 : .tlsv13
            configuration.maximumTLSVersion = protocols.contains("TLSv1.3") ? .tlsv13 : .tlsv12
            configuration.applicationProtocols = ["http/1.1"]
            return try NIOSSLContext(configuration: configuration)
        } catch let error as TLSMaterialError {
            throw error
        } catch {
            throw TLSMaterialError("cannot use \(certificateFile) for TLS: \(error)")
        }
    }

    static func pemBlocks(_ text: String) -> [(label: String, text: String)] {
        var blocks: [(String, String)] = []
        var label: String?
        var lines: [Substring] = []
        for line in text.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("-----BEGIN "), line.hasSuffix("-----") {
                label = String(line.dropFirst(11).dropLast(5))
                lines = [line]
            } else if let current = label, line.hasPrefix("-----END ") {
                lines.append(line)
                blocks.append((current, lines.joined(separator: "\n") + "\n"))
                label = nil
            } else if label != nil {
                lines.append(line)
            }
        }
        return blocks
    }
}

public struct TLSMaterialError: Error, Sendable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// What the miniature's TLS leaves out, said where a config asks for it. swift-nio-ssl (2.37) hands BoringSSL the
/// cipher list but never sets SSL_OP_CIPHER_SERVER_PREFERENCE, and gives no way to reach the SSL_CTX that would: in
/// TLS 1.2 the client's order picks among the server's ciphers (ordering the server's list changes nothing), and
/// BoringSSL's TLS 1.3 suites are fixed. HAProxy 2.6 and nginx with `ssl_prefer_server_ciphers on` pick by the
/// server's order, so the directives that set an order or a list are refused with this reason rather than taken
/// and not honoured.
enum TLSLeftOut {
    static let serverOrder = "stacklab's TLS library cannot prefer the server's cipher order or take a cipher "
        + "list: lb-01 and nginx offer swift-nio-ssl's defaults and the client's order picks one"

    /// The reason for a directive the miniature's TLS cannot honour, by its name in HAProxy's global section or nginx.
    static func reason(for directive: String) -> String? {
        switch directive {
        case "ssl-default-bind-ciphers", "ssl-default-bind-ciphersuites", "ssl_ciphers", "ssl_prefer_server_ciphers", "ciphers",
             "ciphersuites", "prefer-client-ciphers":
            serverOrder
        default: nil
        }
    }
}
