import Foundation
import Testing
import X509

@testable import Trust

@Suite("ClusterAuthority")
struct ClusterAuthorityTests {
    @Test("init writes the CA, its key 0600 and an empty revocation list; a second init refuses")
    func initWritesFiles() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterAuthority.create(in: directory)
        let keyMode = try FileManager.default.attributesOfItem(atPath: authority.keyPath)[.posixPermissions] as? NSNumber
        #expect(keyMode?.intValue == 0o600)
        #expect(try authority.revocationList().entries.isEmpty)
        #expect(throws: TrustError.authorityExists(path: authority.certificatePath)) {
            try ClusterAuthority.create(in: directory)
        }
        // Reopened from disk: the same CA.
        #expect(try ClusterAuthority.open(directory).certificate == authority.certificate)
    }

    @Test("issued certificates carry the role in OU and the name in CN, and keys are written 0600")
    func issueWritesCertificateAndKey() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterAuthority.create(in: directory)
        for role in CertificateRole.allCases {
            let issued = try authority.issue(role: role, name: "name-\(role)", writingTo: "\(directory)/\(role)")
            #expect(issued.identity.role == role)
            #expect(issued.identity.name == "name-\(role)")
            let mode = try FileManager.default.attributesOfItem(atPath: "\(directory)/\(role)-key.pem")[.posixPermissions]
            #expect((mode as? NSNumber)?.intValue == 0o600)
            let reread = try CertificateIdentity(try TrustBundle.certificates(at: "\(directory)/\(role).pem")[0])
            #expect(reread == issued.identity)
        }
        #expect(throws: TrustError.self) { try authority.issue(role: .agent, name: "x", writingTo: "\(directory)/agent") }
        #expect(throws: TrustError.self) { try authority.issue(role: .agent, name: "") }
    }

    @Test("a world-readable key refuses to open, naming the file")
    func worldReadableKeyRefused() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterAuthority.create(in: directory)
        chmod(authority.keyPath, 0o644)
        #expect(throws: TrustError.secretFileTooOpen(path: authority.keyPath, mode: "644")) {
            try ClusterAuthority.open(directory)
        }
        chmod(authority.keyPath, 0o640)
        _ = try ClusterAuthority.open(directory)
    }

    @Test("revoking adds the serial to a re-signed list, once; bad serials are refused")
    func revoke() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterAuthority.create(in: directory)
        let issued = try authority.issue(role: .operator, name: "alice")
        let first = try authority.revoke(serial: issued.identity.serial)
        let second = try authority.revoke(serial: issued.identity.serial.lowercased())
        #expect(first.revokedSerials == [issued.identity.serial])
        #expect(second.entries.count == 1)
        #expect(second.number == first.number + 1)
        #expect(try authority.revocationList().revokedSerials == [issued.identity.serial])
        #expect(throws: TrustError.self) { try authority.revoke(serial: "not-hex") }
    }

    @Test("a revocation list signed by another CA is rejected")
    func foreignRevocationListRejected() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ours = try ClusterAuthority.create(in: "\(directory)/ours")
        let theirs = try ClusterAuthority.create(in: "\(directory)/theirs")
        #expect(throws: TrustError.self) {
            try TrustStore(caBundlePath: ours.certificatePath, revocationListPath: theirs.revocationListPath)
        }
    }

    // MARK: Cross-checked with Debian's openssl

    @Test("openssl reads the certificates: subject OU = role, CN = name; verify succeeds against ca.pem", .enabled(if: OpenSSL.runs, "needs /usr/bin/openssl"))
    func opensslReadsCertificates() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterAuthority.create(in: directory)
        let issued = try authority.issue(role: .agent, name: "host-1", writingTo: "\(directory)/host-1")
        let text = try OpenSSL.run(["x509", "-in", "\(directory)/host-1.pem", "-noout", "-text"])
        #expect(text.status == 0)
        #expect(text.output.contains("OU = agent, CN = host-1") || text.output.contains("OU=agent, CN=host-1"))
        #expect(text.output.contains("TLS Web Server Authentication, TLS Web Client Authentication"))
        let serial = try OpenSSL.run(["x509", "-in", "\(directory)/host-1.pem", "-noout", "-serial"])
        #expect(serial.output.trimmingCharacters(in: .whitespacesAndNewlines) == "serial=\(issued.identity.serial)")
        let verify = try OpenSSL.run(["verify", "-CAfile", authority.certificatePath, "\(directory)/host-1.pem"])
        #expect(verify.status == 0, "\(verify.output)")
        let key = try OpenSSL.run(["pkey", "-in", "\(directory)/host-1-key.pem", "-noout", "-check"])
        #expect(key.status == 0, "\(key.output)")
    }

    @Test("openssl verify -crl_check: passes before revoke, fails as revoked after", .enabled(if: OpenSSL.runs, "needs /usr/bin/openssl"))
    func opensslChecksRevocationList() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let authority = try ClusterAuthority.create(in: directory)
        let issued = try authority.issue(role: .operator, name: "alice", writingTo: "\(directory)/alice")
        let kept = try authority.issue(role: .viewer, name: "bob", writingTo: "\(directory)/bob")
        func verify(_ name: String) throws -> (status: Int32, output: String) {
            try OpenSSL.run([
                "verify", "-crl_check", "-CAfile", authority.certificatePath, "-CRLfile", authority.revocationListPath,
                "\(directory)/\(name).pem",
            ])
        }
        let before = try verify("alice")
        #expect(before.status == 0, "\(before.output)")
        try authority.revoke(serial: issued.identity.serial)
        let after = try verify("alice")
        #expect(after.status != 0)
        #expect(after.output.contains("certificate revoked"), "\(after.output)")
        let other = try verify("bob")
        #expect(other.status == 0, "\(other.output)")
        let crl = try OpenSSL.run(["crl", "-in", authority.revocationListPath, "-noout", "-text"])
        #expect(crl.status == 0, "\(crl.output)")
        #expect(crl.output.contains("Serial Number: \(issued.identity.serial)"), "\(crl.output)")
        #expect(!crl.output.contains(kept.identity.serial))
    }
}
