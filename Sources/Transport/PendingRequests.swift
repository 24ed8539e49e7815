import NIOCore
import Wire

/// Our requests still waiting for a response, by request id. Lives on the connection's event loop.
struct PendingRequests {
    struct Entry {
        let promise: EventLoopPromise<WireMessage>
        let timeout: Scheduled<Void>
    }

    private var entries: [UInt32: Entry] = [:]
    private var lastID: UInt32 = 0

    var isEmpty: Bool { entries.isEmpty }

    /// The next request id: increasing, wrapping past UInt32.max, never 0 (unsolicited) and never one in use.
    mutating func makeID() -> UInt32 {
        repeat {
            lastID &+= 1
        } while lastID == 0 || entries[lastID] != nil
        return lastID
    }

    mutating func insert(_ entry: Entry, for id: UInt32) {
        entries[id] = entry
    }

    mutating func remove(_ id: UInt32) -> Entry? {
        guard let entry = entries.removeValue(forKey: id) else { return nil }
        entry.timeout.cancel()
        return entry
    }

    /// Finds a request by its promise (a cancelled caller knows only that).
    mutating func remove(promise: EventLoopPromise<WireMessage>) -> Entry? {
        guard let id = entries.first(where: { $0.value.promise == promise })?.key else { return nil }
        return remove(id)
    }

    /// Whether `id` was handed out recently enough that a late response to it is plausible.
    func wasIssued(_ id: UInt32) -> Bool {
        id != 0 && id <= lastID
    }

    mutating func failAll(with error: TransportError) {
        let failed = entries
        entries = [:]
        for entry in failed.values {
            entry.timeout.cancel()
            entry.promise.fail(error)
        }
    }
}
