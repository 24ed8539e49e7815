import CLibvirt

/// How the guest's disks reach the destination (Snooze's three methods).
public enum MigrationStorage: Sendable, Hashable, CaseIterable {
    /// Disks are on storage both hosts see; only memory and device state move.
    case shared
    /// Every disk is copied in full (`VIR_MIGRATE_NON_SHARED_DISK`, Snooze's `copy-storage-all`).
    case copyAll
    /// Only the top image of each disk is copied (`VIR_MIGRATE_NON_SHARED_INC`, Snooze's `copy-storage-inc`).
    case copyIncremental
}

/// `virDomainMigrateFlags` bits this wrapper uses, under Swift names.
public struct MigrationFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    private init(_ flag: virDomainMigrateFlags) {
        self.rawValue = flag.rawValue
    }

    public static let live = MigrationFlags(VIR_MIGRATE_LIVE)
    public static let peerToPeer = MigrationFlags(VIR_MIGRATE_PEER2PEER)
    public static let persistDestination = MigrationFlags(VIR_MIGRATE_PERSIST_DEST)
    public static let undefineSource = MigrationFlags(VIR_MIGRATE_UNDEFINE_SOURCE)
    public static let nonSharedDisk = MigrationFlags(VIR_MIGRATE_NON_SHARED_DISK)
    public static let nonSharedIncremental = MigrationFlags(VIR_MIGRATE_NON_SHARED_INC)
    public static let autoConverge = MigrationFlags(VIR_MIGRATE_AUTO_CONVERGE)
    public static let postCopy = MigrationFlags(VIR_MIGRATE_POSTCOPY)
    public static let abortOnError = MigrationFlags(VIR_MIGRATE_ABORT_ON_ERROR)
}

/// One peer-to-peer live migration: the source libvirtd connects to `destinationURI` itself.
public struct MigrationRequest: Sendable, Hashable {
    /// The destination libvirtd as the source libvirtd reaches it, e.g. `qemu+tcp://10.77.0.2/system`.
    public var destinationURI: String
    public var storage: MigrationStorage
    /// Let QEMU throttle the guest's vCPUs when memory does not converge. libvirt takes this only when the
    /// migration starts (`VIR_MIGRATE_AUTO_CONVERGE`); it cannot be switched on later.
    public var autoConverge: Bool
    /// Permit a later switch to post-copy (`startPostCopy()`); without it that call fails.
    public var allowPostCopy: Bool
    /// Initial bandwidth cap, MiB/s (`VIR_MIGRATE_PARAM_BANDWIDTH`); nil leaves libvirt's default (unlimited).
    public var bandwidthMiBPerSecond: UInt64?

    public init(
        destinationURI: String,
        storage: MigrationStorage = .shared,
        autoConverge: Bool = false,
        allowPostCopy: Bool = false,
        bandwidthMiBPerSecond: UInt64? = nil
    ) {
        self.destinationURI = destinationURI
        self.storage = storage
        self.autoConverge = autoConverge
        self.allowPostCopy = allowPostCopy
        self.bandwidthMiBPerSecond = bandwidthMiBPerSecond
    }

    /// Every method is live and peer-to-peer, leaves the domain defined on the destination and only there.
    /// (Snooze left `VIR_MIGRATE_LIVE` out of its non-shared methods.)
    public var flags: MigrationFlags {
        var flags: MigrationFlags = [.live, .peerToPeer, .persistDestination, .undefineSource, .abortOnError]
        switch storage {
        case .shared: break
        case .copyAll: flags.insert(.nonSharedDisk)
        case .copyIncremental: flags.insert(.nonSharedIncremental)
        }
        if autoConverge { flags.insert(.autoConverge) }
        if allowPostCopy { flags.insert(.postCopy) }
        return flags
    }
}
