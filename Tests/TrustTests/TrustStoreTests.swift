import Foundation
import Testing
import Crypto
import X509

@testable import Trust

@Suite("TrustStore")
struct TrustStoreTests {
    /// A CA in a fresh directory, and the store trusting it.
    struct Fixture {
        let directory: String
        let authority: ClusterAuthority
        let store: TrustStore

        init() throws {
            directory = try temporaryDirectory()
            authority = try ClusterAuthority.create(in: directory)
            store = try TrustStore(caBundlePath: authority.certificatePath, revocationListPath: authority.revocationListPath)
        }

        func chain(_ issued: ClusterAuthority.Issued) throws -> [[UInt8]] {
            [try issued.certificate.serializeAsPEM().derBytes]
        }
    }

    @Test("a certificate from the CA, within its validity, is trusted with its role and name")
    func trusted() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let issued = try fixture.authority.issue(role: .agent, name: "host-1")
        #expect(fixture.store.verify(chain: try fixture.chain(issued)) == .trusted(issued.identity))
    }

    @Test("expired, not yet valid, another CA's, revoked and CA certificates are refused, each with its reason")
    func refusals() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let now = Date()
        let expired = try fixture.authority.issue(
            role: .operator, name: "old", validity: .seconds(3600), notBefore: now.addingTimeInterval(-7200)
        )
        let early = try fixture.authority.issue(role: .operator, name: "early", notBefore: now.addingTimeInterval(3600))
        let other = try ClusterAuthority.create(in: fixture.directory + "/other")
        let foreign = try other.issue(role: .operator, name: "mallory")
        let revoked = try fixture.authority.issue(role: .viewer, name: "bob")
        try fixture.authority.revoke(serial: revoked.identity.serial)
        let generation = fixture.store.revocationGeneration
        #expect(try fixture.store.reloadRevocations() == 1)
        // Connections look the list up again only when this changes.
        #expect(fixture.store.revocationGeneration == generation + 1)

        let cases: [(ClusterAuthority.Issued, String)] = [
            (expired, "expired on"),
            (early, "not valid before"),
            (foreign, "not issued by this cluster's CA"),
            (revoked, "revoked"),
        ]
        for (issued, reason) in cases {
            let verdict = fixture.store.verify(chain: try fixture.chain(issued), now: now)
            guard case .refused(let identity, let serial, let text) = verdict else {
                Issue.record("\(issued.identity) was trusted")
                continue
            }
            #expect(identity == issued.identity)
            #expect(serial == issued.identity.serial)
            #expect(text.contains(reason), "\(text)")
        }
        let caChain = [try fixture.authority.certificate.serializeAsPEM().derBytes]
        guard case .refused(_, _, let reason) = fixture.store.verify(chain: caChain) else {
            Issue.record("the CA certificate was trusted as a peer")
            return
        }
        #expect(reason.contains("subject must have one OU") || reason.contains("CA certificate"))
        #expect(fixture.store.verify(chain: []) == .refused(identity: nil, serial: nil, reason: "the peer presented no certificate"))
    }

    @Test("a revocation list that no longer parses keeps the previous one")
    func badReloadKeepsPreviousList() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let revoked = try fixture.authority.issue(role: .viewer, name: "bob")
        try fixture.authority.revoke(serial: revoked.identity.serial)
        try fixture.store.reloadRevocations()
        try "garbage".write(toFile: fixture.authority.revocationListPath, atomically: true, encoding: .utf8)
        let generation = fixture.store.revocationGeneration
        #expect(throws: TrustError.self) { try fixture.store.reloadRevocations() }
        #expect(fixture.store.isRevoked(serial: revoked.identity.serial))
        #expect(fixture.store.revocationGeneration == generation)
    }

    @Test("secret files: world-readable refused naming the file, group-readable and private accepted")
    func secretFilePermissions() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/password"
        try "secret".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o604)
        #expect(throws: TrustError.secretFileTooOpen(path: path, mode: "604")) { try SecretFile.read(path) }
        #expect("\(TrustError.secretFileTooOpen(path: path, mode: "604"))".contains(path))
        chmod(path, 0o640)
        #expect(try SecretFile.read(path) == Data("secret".utf8))
        #expect(throws: TrustError.self) { try SecretFile.read(directory + "/missing") }
    }

    @Test("revocation lists round-trip through DER, with serials whose top bit is set")
    func revocationListRoundTrip() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let date = Date(timeIntervalSince1970: 1_800_000_000)
        var list = RevocationList(
            issuer: fixture.authority.certificate.subject,
            thisUpdate: date,
            nextUpdate: Date(timeIntervalSince1970: 2_600_000_000),  // past 2049: GeneralizedTime
            number: 7,
            entries: [.init(serial: "8F01", revokedAt: date), .init(serial: "01", revokedAt: date)]
        )
        let pem = try list.pem(signedWith: try fixtureKey(fixture))
        let parsed = try RevocationList(contentsOf: Data(pem.utf8), path: "test")
            .verified(by: [fixture.authority.certificate], path: "test")
        #expect(parsed.entries == list.entries)
        #expect(parsed.number == 7)
        #expect(parsed.thisUpdate == list.thisUpdate)
        #expect(parsed.nextUpdate == list.nextUpdate)
    }

    private func fixtureKey(_ fixture: Fixture) throws -> P256.Signing.PrivateKey {
        try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: fixture.authority.keyPath, encoding: .utf8))
    }
}
