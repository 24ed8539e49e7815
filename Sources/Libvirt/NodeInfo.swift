import CLibvirt

/// What `virNodeGetInfo` and `virConnectGetHostname` report about the node behind a connection.
public struct NodeInfo: Sendable, Equatable {
    /// CPU model string, e.g. "x86_64".
    public let model: String
    /// Memory size in KiB.
    public let memoryKiB: UInt64
    /// Active CPUs (`virNodeInfo.cpus`): the logical processors guests can use.
    public let cores: Int
    /// Expected CPU frequency in MHz; 0 when unknown.
    public let megahertz: Int
    public let numaNodes: Int
    public let sockets: Int
    public let coresPerSocket: Int
    public let threadsPerCore: Int
    public let hostname: String

    public init(
        model: String,
        memoryKiB: UInt64,
        cores: Int,
        megahertz: Int,
        numaNodes: Int,
        sockets: Int,
        coresPerSocket: Int,
        threadsPerCore: Int,
        hostname: String
    ) {
        self.model = model
        self.memoryKiB = memoryKiB
        self.cores = cores
        self.megahertz = megahertz
        self.numaNodes = numaNodes
        self.sockets = sockets
        self.coresPerSocket = coresPerSocket
        self.threadsPerCore = threadsPerCore
        self.hostname = hostname
    }

    init(_ info: virNodeInfo, hostname: String) {
        self.init(
            model: CInterop.string(fromCharArray: info.model),
            memoryKiB: UInt64(info.memory),
            cores: Int(info.cpus),
            megahertz: Int(info.mhz),
            numaNodes: Int(info.nodes),
            sockets: Int(info.sockets),
            coresPerSocket: Int(info.cores),
            threadsPerCore: Int(info.threads),
            hostname: hostname
        )
    }
}
