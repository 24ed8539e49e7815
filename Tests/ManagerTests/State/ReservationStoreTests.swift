import Foundation
import GRDB
import Testing

@testable import Manager

@Suite struct ReservationStoreTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// A database written by a manager before reservations (schema v8) opens with its clusters and VMs kept, and
    /// gains the reservation table.
    @Test func aV8DatabaseIsMigratedKeepingItsClusters() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        do {
            let old = try DatabaseQueue(path: file.path)
            try ManagerStore.migrator.migrate(old, upTo: "v8: pragma clusters")
            try await old.write { db in
                try db.execute(sql: "INSERT INTO virtualCluster (name, createdAt) VALUES ('lab', 1700000000)")
                try db.execute(
                    sql: """
                        INSERT INTO vm (id, name, vcName, templateXML, networkRx, networkTx, desiredState, state)
                        VALUES ('u1', 'vm-1', 'lab', '<domain/>', 0, 0, 'running', 'running')
                        """
                )
            }
            #expect(try await old.read { db in try db.tableExists("reservation") } == false)
            try old.close()
        }
        let store = try file.open()
        let applied = try await store.read { db in try ManagerStore.migrator.appliedMigrations(db) }
        #expect(applied.contains("v9: reservations"))
        #expect(try await store.virtualClusters().map(\.name) == ["lab"])
        #expect(try await store.vms(inCluster: "lab").map(\.name) == ["vm-1"])
        #expect(try await store.reservations().isEmpty)
        let reservation = StoredReservation(vcName: "lab", until: Self.t0, createdAt: Self.t0 - 60)
        try await store.saveReservation(reservation)
        #expect(try await store.reservations() == [reservation])
    }

    @Test func aReservationIsReplacedSurvivesAReopenAndGoesWithItsCluster() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        try await store.defineVirtualCluster("lab")
        try await store.saveReservation(StoredReservation(vcName: "lab", until: Self.t0, createdAt: Self.t0 - 60))
        let stopped = StoredReservation(
            vcName: "lab",
            until: Self.t0,
            createdAt: Self.t0 - 60,
            stopTaskID: "t1",
            stoppedAt: Self.t0 + 5
        )
        try await store.saveReservation(stopped)
        #expect(try await file.open().reservations() == [stopped])
        try await store.undefineVirtualCluster("lab")
        #expect(try await store.reservations().isEmpty)
    }

    @Test func aReservationOfAnUnknownClusterIsRefused() async throws {
        let file = TemporaryStore()
        defer { file.remove() }
        let store = try file.open()
        await #expect(throws: ManagerStoreError.unknownVirtualCluster("nope")) {
            try await store.saveReservation(StoredReservation(vcName: "nope", until: Self.t0, createdAt: Self.t0))
        }
    }
}
