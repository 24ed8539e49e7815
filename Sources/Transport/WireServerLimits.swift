#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How many connections a `WireServer` holds at once, and how many descriptors it leaves to the rest of the process.
public struct WireServerLimits: Hashable, Sendable {
    /// Connections served at once; one more is sent an Error frame `busy` naming this limit and closed.
    public var maximumConnections: Int
    /// Descriptors never used for connections (files, child processes, the journal, libraries): running out of
    /// them crashes a process in places no error reaches. The server accepts no more connections than
    /// `descriptorLimit - reservedDescriptors`, and stops accepting, until some close, when it gets there.
    public var reservedDescriptors: Int
    /// The process's descriptor limit; nil reads the soft `RLIMIT_NOFILE` when the server binds.
    public var descriptorLimit: Int?

    public init(maximumConnections: Int = 1024, reservedDescriptors: Int = 128, descriptorLimit: Int? = nil) {
        precondition(maximumConnections >= 1, "maximumConnections must be at least 1")
        precondition(reservedDescriptors >= 0, "reservedDescriptors must not be negative")
        self.maximumConnections = maximumConnections
        self.reservedDescriptors = reservedDescriptors
        self.descriptorLimit = descriptorLimit
    }

    /// The soft `RLIMIT_NOFILE`; nil when unlimited or unknown.
    public static func processDescriptorLimit() -> Int? {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        // RLIM_INFINITY is all ones, which Swift does not import as a constant.
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }
}
