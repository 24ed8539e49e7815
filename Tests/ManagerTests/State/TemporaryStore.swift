import Foundation

@testable import Manager

/// A fresh database file per test, removed (with its WAL and shared-memory files) by `remove()`.
struct TemporaryStore {
    let path: String

    init() {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("torpor-store-\(UUID().uuidString).sqlite").path
    }

    func open() throws -> ManagerStore {
        try ManagerStore(path: path)
    }

    func remove() {
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}
