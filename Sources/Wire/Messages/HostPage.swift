import NIOCore

/// Which hosts a paged ManagerStatusRequest or EnergyRequest asks for: past ~10,000 hosts one reply would exceed
/// the frame limit, so a client asks for the hosts after the last one it has until the manager says none follow.
///
/// On the wire (extension tag `page` of the request): afterHostID `string?`, limit `u16`.
public struct HostPageRequest: Hashable, Sendable {
    /// The last host id of the previous page; nil for the first page.
    public var afterHostID: String?
    /// The most hosts wanted; 0 lets the manager choose. The manager may send fewer, to keep each page well under
    /// the frame limit, but at least one while any host follows `afterHostID`.
    public var limit: UInt16

    public init(afterHostID: String? = nil, limit: UInt16 = 0) {
        self.afterHostID = afterHostID
        self.limit = limit
    }
}

/// What a paged reply says about the whole list. On the wire (extension tag `page` of the reply): totalHosts `u32`,
/// more `bool`.
public struct HostPageInfo: Hashable, Sendable {
    /// Hosts the manager knew when it built this page.
    public var totalHosts: UInt32
    /// Hosts follow the last one of this page: ask again with it as `afterHostID`.
    public var more: Bool

    public init(totalHosts: UInt32, more: Bool) {
        self.totalHosts = totalHosts
        self.more = more
    }

    /// totalHosts 4 + more 1.
    static let wireSize = 5
}

/// A reply whose hosts come in pages.
public protocol HostPagedReply: Sendable {
    associatedtype Host
    var hosts: [Host] { get set }
    /// Nil from a manager that sent every host at once (one from before paging, or an unpaged request).
    var page: HostPageInfo? { get set }
    static func hostID(of host: Host) -> String
}

/// A paged reply that does not add up.
public enum HostPagingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The manager said more hosts follow but sent none that the client did not have already.
    case noProgress(afterHostID: String?)
    /// The manager kept saying more hosts follow past `maximumPages` pages.
    case tooManyPages(Int)

    public var description: String {
        switch self {
        case .noProgress(let after):
            "the manager announced more hosts after \(after.map { "'\($0)'" } ?? "the start") but sent no new one"
        case .tooManyPages(let pages):
            "the manager still announced more hosts after \(pages) pages"
        }
    }
}

/// Both sides of paging: the manager cuts a page from its sorted host list, a client reads every page.
public enum HostPaging {
    /// A guard against a peer that never says "no more": far above any real cluster (a page holds at least one
    /// host, usually over a thousand).
    public static let maximumPages = 100_000

    /// The page `request` asks for, from `hosts` sorted by `hostID` (Swift's `<` on String): the hosts after
    /// `afterHostID`, at most `limit` of them (any number when 0), and only as many as fit in `byteBudget` encoded
    /// bytes by `size`, but always at least one when any follows.
    public static func page<Host>(
        of hosts: [Host],
        hostID: (Host) -> String,
        request: HostPageRequest,
        byteBudget: Int,
        size: (Host) -> Int
    ) -> (hosts: ArraySlice<Host>, info: HostPageInfo) {
        // Binary search: the first host whose id sorts after the cursor.
        var start = 0
        if let after = request.afterHostID {
            var high = hosts.count
            while start < high {
                let middle = (start + high) / 2
                if hostID(hosts[middle]) <= after { start = middle + 1 } else { high = middle }
            }
        }
        let limit = request.limit == 0 ? Int.max : Int(request.limit)
        var end = start
        var bytes = 0
        while end < hosts.count, end - start < limit {
            bytes += size(hosts[end])
            guard bytes <= byteBudget || end == start else { break }
            end += 1
        }
        return (
            hosts[start..<end],
            HostPageInfo(totalHosts: UInt32(clamping: hosts.count), more: end < hosts.count)
        )
    }

    /// Every host: asks for the first page, then for the hosts after the last one received until the manager says
    /// none follow. The result is the first reply's fields with every page's hosts. A manager from before paging
    /// answers the first request with all its hosts and no page information: that reply is the whole list.
    /// Pages are built at different instants: a host that joins or leaves meanwhile may be missing or included.
    public static func collect<Reply: HostPagedReply>(
        limit: UInt16 = 0,
        fetch: (HostPageRequest) async throws -> Reply
    ) async throws -> Reply {
        var all = try await fetch(HostPageRequest(limit: limit))
        var seen = Set(all.hosts.map(Reply.hostID))
        var after = all.hosts.last.map(Reply.hostID)
        var pages = 1
        while let page = all.page, page.more {
            guard pages < maximumPages else { throw HostPagingError.tooManyPages(pages) }
            let next = try await fetch(HostPageRequest(afterHostID: after, limit: limit))
            pages += 1
            let fresh = next.hosts.filter { seen.insert(Reply.hostID(of: $0)).inserted }
            guard !fresh.isEmpty || next.page?.more != true else {
                throw HostPagingError.noProgress(afterHostID: after)
            }
            all.hosts += fresh
            all.page = next.page
            after = next.hosts.last.map(Reply.hostID) ?? after
        }
        return all
    }
}

extension ByteBuffer {
    mutating func writeHostPageRequest(_ request: HostPageRequest) {
        writeWireOptional(request.afterHostID) { buffer, id in buffer.writeWireString(id) }
        writeInteger(request.limit)
    }

    mutating func writeHostPageInfo(_ info: HostPageInfo) {
        writeInteger(info.totalHosts)
        writeWireBool(info.more)
    }
}

extension WireExtensionField {
    /// The `page` field of a request: exactly one HostPageRequest.
    func hostPageRequest(_ message: WireMessageType) throws(WireError) -> HostPageRequest {
        var value = self.value
        let after = try value.readWireOptional(message, "page.afterHostID") { (buffer) throws(WireError) -> String in
            try buffer.readWireString(message, "page.afterHostID")
        }
        let limit = try value.readWireInteger(as: UInt16.self, message, "page.limit")
        guard value.readableBytes == 0 else {
            throw .invalidValue(message: message, field: "page.length", value: UInt64(self.value.readableBytes))
        }
        return HostPageRequest(afterHostID: after, limit: limit)
    }

    /// The `page` field of a reply: exactly one HostPageInfo.
    func hostPageInfo(_ message: WireMessageType) throws(WireError) -> HostPageInfo {
        var value = self.value
        let total = try value.readWireInteger(as: UInt32.self, message, "page.totalHosts")
        let more = try value.readWireBool(message, "page.more")
        guard value.readableBytes == 0 else {
            throw .invalidValue(message: message, field: "page.length", value: UInt64(self.value.readableBytes))
        }
        return HostPageInfo(totalHosts: total, more: more)
    }
}
