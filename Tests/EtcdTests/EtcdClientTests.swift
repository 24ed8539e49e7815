import Etcd
import Foundation
import Logging
import Testing

/// The JSON-gateway client against a real etcd on ports 12200/12201.
@Suite(
    "etcd client against a real etcd",
    .serialized,
    .enabled(if: EtcdPrerequisite.runs, "SKIPPED end-to-end: needs /usr/bin/etcd (scripts/install-deps: etcd-server)")
)
struct EtcdClientTests {
    static let clientPort = 12200

    /// Runs `body` with a fresh etcd and a client of it.
    func withEtcd(_ body: (EtcdServer, EtcdClient) async throws -> Void) async throws {
        try await EtcdServer.with(clientPort: Self.clientPort, body)
    }

    /// A client its owner dropped without `shutdown()` (a failed test, a cancelled election) closes itself. Before,
    /// the debug build's HTTPClient trapped in its deinit and took every test of the process with it.
    @Test func aClientDroppedWithoutShutdownDoesNotTrap() async throws {
        try await withEtcd { server, client in
            var dropped: EtcdClient? = try EtcdClient(
                EtcdConfiguration(endpoints: [server.endpoint]),
                logger: Logger(label: "test")
            )
            try await dropped?.put("torpor/dropped", "used once")
            dropped = nil
            // Still here (the process did not trap), and what the dropped client wrote is in etcd.
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await client.get("torpor/dropped")?.string == "used once")
        }
    }

    @Test func keysPutReadRangeAndDelete() async throws {
        try await withEtcd { _, client in
            #expect(try await client.get("torpor/missing") == nil)
            let first = try await client.put("torpor/hosts/a", "one")
            try await client.put("torpor/hosts/b", [0, 1, 0xff])
            try await client.put("torpor/other", "x")
            let a = try #require(try await client.get("torpor/hosts/a"))
            #expect(a.string == "one")
            #expect(a.createRevision == first)
            #expect(try await client.get("torpor/hosts/b")?.value == [0, 1, 0xff])

            let hosts = try await client.range(prefix: "torpor/hosts/")
            #expect(hosts.keyValues.map(\.key) == ["torpor/hosts/a", "torpor/hosts/b"])
            #expect(hosts.revision >= first + 2)
            let newest = try await client.range(prefix: "torpor/", sort: .createRevision, descending: true, limit: 1)
            #expect(newest.keyValues.map(\.key) == ["torpor/other"])
            let older = try await client.range(prefix: "torpor/", sort: .createRevision, maxCreateRevision: first)
            #expect(older.keyValues.map(\.key) == ["torpor/hosts/a"])

            #expect(try await client.delete("torpor/other") == 1)
            #expect(try await client.delete("torpor/other") == 0)
            #expect(try await client.delete(prefix: "torpor/hosts/") == 2)
            #expect(try await client.range(prefix: "torpor/").keyValues.isEmpty)
        }
    }

    @Test func transactionCreatesOnlyWhenAbsent() async throws {
        try await withEtcd { _, client in
            let create = { (value: String) in
                try await client.transaction(
                    if: [EtcdCompare(key: "torpor/leader", .equal, .createRevision(0))],
                    then: [.put(key: "torpor/leader", value: Array(value.utf8), lease: 0)],
                    else: [.get(key: "torpor/leader")]
                )
            }
            let first = try await create("m1")
            #expect(first.succeeded)
            #expect(first.results == [.put])
            let second = try await create("m2")
            #expect(!second.succeeded)
            guard case .range(let found) = second.results.first else {
                Issue.record("the else branch's get returned \(second.results)")
                return
            }
            #expect(found.map(\.string) == ["m1"])
            #expect(found.first?.createRevision == first.revision)
            let value = try await client.transaction(
                if: [EtcdCompare(key: "torpor/leader", .equal, .value(Array("m1".utf8)))],
                then: [.delete(key: "torpor/leader")]
            )
            #expect(value.succeeded)
            #expect(value.results == [.delete(deleted: 1)])
        }
    }

    @Test func leasesKeepKeysAliveUntilRevoked() async throws {
        try await withEtcd { _, client in
            let lease = try await client.grantLease(ttl: 30)
            #expect(lease.ttl == 30)
            try await client.put("torpor/leased", "v", lease: lease.id)
            #expect(try await client.get("torpor/leased")?.lease == lease.id)
            #expect(try await client.keepAlive(lease.id) == 30)
            try await client.revokeLease(lease.id)
            #expect(try await client.get("torpor/leased") == nil)
            // A second revoke of a gone lease is no error; a keepalive of it says it expired.
            try await client.revokeLease(lease.id)
            await #expect(throws: EtcdError.leaseExpired(endpoint: client.endpoints[0], lease: lease.id)) {
                try await client.keepAlive(lease.id)
            }
        }
    }

    @Test func aShortLeaseExpiresWithoutKeepalives() async throws {
        try await withEtcd { _, client in
            let lease = try await client.grantLease(ttl: 2)
            try await client.put("torpor/short", "v", lease: lease.id)
            let deadline = ContinuousClock.now + .seconds(60)
            while try await client.get("torpor/short") != nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await client.get("torpor/short") == nil)
        }
    }

    @Test func watchReportsPutsAndDeletes() async throws {
        try await withEtcd { _, client in
            let start = try await client.put("torpor/w/before", "0")
            var iterator = client.watch("torpor/w/", prefix: true, fromRevision: start).makeAsyncIterator()
            // From the past revision: the put before the watch comes first.
            let replay = try #require(try await iterator.next())
            #expect(replay.map(\.keyValue.key) == ["torpor/w/before"])
            try await client.put("torpor/w/a", "1")
            try await client.put("torpor/elsewhere", "x")
            try await client.delete("torpor/w/a")
            var seen: [EtcdWatchEvent] = []
            while seen.count < 2, let batch = try await iterator.next() { seen += batch }
            #expect(seen.map(\.kind) == [.put, .delete])
            #expect(seen.map(\.keyValue.key) == ["torpor/w/a", "torpor/w/a"])
            #expect(seen.first?.keyValue.string == "1")
        }
    }

    @Test func errorsNameTheEndpointAndEtcdsMessage() async throws {
        try await withEtcd { server, client in
            let refusal = await #expect(throws: EtcdError.self) { try await client.grantLease(ttl: Int(Int64.max)) }
            if case .refused(let endpoint, let path, let status, _, let message)? = refusal {
                #expect(endpoint == server.endpoint)
                #expect(path == "/v3/lease/grant")
                #expect(status >= 400 && status < 500)
                #expect(message.contains("too large lease TTL"), "\(message)")
            } else {
                Issue.record("expected a refusal, got \(String(describing: refusal))")
            }

            // Nothing listens on 12299.
            let dead = "http://127.0.0.1:12299"
            let deadClient = try EtcdClient(EtcdConfiguration(endpoints: [dead]), logger: Logger(label: "test"))
            let failure = await #expect(throws: EtcdError.self) { try await deadClient.get("k") }
            if case .unreachable(let endpoint, _)? = failure {
                #expect(endpoint == dead)
            } else {
                Issue.record("expected unreachable, got \(String(describing: failure))")
            }
            #expect(failure.map { "\($0)".contains(dead) } == true)
            await deadClient.shutdown()

            // A dead endpoint first: the call passes to the live one.
            let failover = try EtcdClient(
                EtcdConfiguration(endpoints: [dead, server.endpoint]),
                logger: Logger(label: "test")
            )
            try await failover.put("torpor/failover", "ok")
            #expect(try await failover.get("torpor/failover")?.string == "ok")
            await failover.shutdown()
        }
    }

    @Test func credentialsAuthenticateAgainstEtcdWithAuthEnabled() async throws {
        try await withEtcd { server, client in
            let directory = server.directory
            // root with the root role, then auth on (what etcdctl user add / auth enable do).
            try await EtcdAdmin.enableAuth(client, rootPassword: "r00t")
            let file = directory.appendingPathComponent("etcd-credentials").path
            try "root:r00t\n".write(toFile: file, atomically: true, encoding: .utf8)
            chmod(file, 0o600)
            let authenticated = try EtcdClient(
                EtcdConfiguration(endpoints: [server.endpoint], credentialsFile: file),
                logger: Logger(label: "test")
            )
            try await authenticated.put("torpor/secret", "v")
            #expect(try await authenticated.get("torpor/secret")?.string == "v")
            await authenticated.shutdown()

            // Without the token etcd refuses, and the error says so.
            let refusal = await #expect(throws: EtcdError.self) { try await client.get("torpor/secret") }
            if case .refused(let endpoint, _, _, _, let message)? = refusal {
                #expect(endpoint == server.endpoint)
                #expect(message.contains("user name is empty") || message.contains("auth"), "\(message)")
            } else {
                Issue.record("expected a refusal, got \(String(describing: refusal))")
            }
        }
    }

    @Test func credentialsFileOthersMayReadIsRefusedNamingIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("torpor-etcd-cred-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let open = directory.appendingPathComponent("open").path
        try "root:x\n".write(toFile: open, atomically: true, encoding: .utf8)
        chmod(open, 0o644)
        let configuration = EtcdConfiguration(endpoints: ["http://127.0.0.1:12200"], credentialsFile: open)
        do {
            _ = try EtcdClient(configuration, logger: Logger(label: "test"))
            Issue.record("a world-readable credentials file was accepted")
        } catch {
            #expect("\(error)".contains(open))
            #expect("\(error)".contains("chmod 600"))
        }

        let malformed = directory.appendingPathComponent("malformed").path
        try "no colon here\n".write(toFile: malformed, atomically: true, encoding: .utf8)
        chmod(malformed, 0o600)
        #expect(throws: EtcdError.configuration("etcd credentials file \(malformed) must hold one line USER:PASSWORD"))
        {
            _ = try EtcdClient(
                EtcdConfiguration(endpoints: ["http://127.0.0.1:12200"], credentialsFile: malformed),
                logger: Logger(label: "test")
            )
        }
    }

    @Test(arguments: [
        ([], "no etcd endpoints given"),
        (["127.0.0.1:2379"], "etcd endpoint '127.0.0.1:2379' is not http(s)://HOST:PORT"),
        (["http://127.0.0.1"], "etcd endpoint 'http://127.0.0.1' is not http(s)://HOST:PORT"),
        (["https://127.0.0.1:2379"], "etcd endpoint 'https://127.0.0.1:2379' is https but no TLS CA file is given"),
    ])
    func badEndpointsAreRefusedNamingThem(endpoints: [String], message: String) {
        #expect(throws: EtcdError.configuration(message)) {
            _ = try EtcdClient(EtcdConfiguration(endpoints: endpoints), logger: Logger(label: "test"))
        }
    }
}

/// etcd's auth setup through the gateway, as `etcdctl user add root; user grant-role root root; auth enable`.
enum EtcdAdmin {
    static func enableAuth(_ client: EtcdClient, rootPassword: String) async throws {
        try await client.administer("/v3/auth/user/add", ["name": "root", "password": rootPassword])
        try await client.administer("/v3/auth/role/add", ["name": "root"])
        try await client.administer("/v3/auth/user/grant", ["user": "root", "role": "root"])
        try await client.administer("/v3/auth/enable", [:])
    }
}
