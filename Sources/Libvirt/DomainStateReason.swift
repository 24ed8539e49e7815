import CLibvirt

/// A domain's state with libvirt's reason for it (`virDomainGetState`). Only the reasons Torpor acts on are
/// named; the raw number is kept for logs.
public struct DomainStateReason: Sendable, Equatable {
    public var state: DomainState
    /// The state's `virDomain<State>Reason` value; its meaning depends on `state`.
    public var reason: Int32

    public init(state: DomainState, reason: Int32) {
        self.state = state
        self.reason = reason
    }

    /// Paused by a migration (pre-copy switch-over, or suspended while migrating): resumable on this host.
    public var isPausedByMigration: Bool {
        state == .paused && UInt32(bitPattern: reason) == VIR_DOMAIN_PAUSED_MIGRATION.rawValue
    }

    /// Paused because a post-copy migration runs or failed: the guest's memory is partly on the destination,
    /// so resuming here would lose it.
    public var isPausedByPostCopy: Bool {
        state == .paused
            && (UInt32(bitPattern: reason) == VIR_DOMAIN_PAUSED_POSTCOPY.rawValue
                || UInt32(bitPattern: reason) == VIR_DOMAIN_PAUSED_POSTCOPY_FAILED.rawValue)
    }

    /// A paused domain's reason, for tests and callers naming one (`VIR_DOMAIN_PAUSED_MIGRATION`).
    public static let pausedByMigration = DomainStateReason(
        state: .paused,
        reason: Int32(bitPattern: VIR_DOMAIN_PAUSED_MIGRATION.rawValue)
    )

    /// `VIR_DOMAIN_PAUSED_POSTCOPY`.
    public static let pausedByPostCopy = DomainStateReason(
        state: .paused,
        reason: Int32(bitPattern: VIR_DOMAIN_PAUSED_POSTCOPY.rawValue)
    )
}

extension LibvirtDomain {
    /// The state and why (`virDomainGetState`).
    /// https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainGetState
    public func stateReason() async throws(LibvirtError) -> DomainStateReason {
        try await hop { blocking throws(LibvirtError) in try blocking.stateReason() }
    }
}

extension LibvirtDomain.Blocking {
    func stateReason() throws(LibvirtError) -> DomainStateReason {
        let name = domain.name
        return try withDomain("virDomainGetState") { pointer throws(LibvirtError) in
            var state: Int32 = 0
            var reason: Int32 = 0
            try check(virDomainGetState(pointer, &state, &reason, 0), "virDomainGetState", subject: name)
            return DomainStateReason(state: DomainState(libvirtValue: state), reason: reason)
        }
    }
}
