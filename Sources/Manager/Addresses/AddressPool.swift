/// Hands out VM addresses from the configured subnets, lowest free address first, and remembers who holds which.
///
/// Allocation is idempotent per VM ID, so a retried submission gets the same address rather than a second one.
/// The pool is a plain value: the caller owns it (typically inside an actor) and persists `leases`.
public struct AddressPool: Sendable {
    /// Keeps each subnet's bitmap at most 2 MiB.
    public static let minimumPrefixLength = 8

    /// In allocation order: a later subnet is used only when every earlier one is full.
    public let subnets: [IPv4Subnet]
    /// Never leased, e.g. the gateway.
    public let reserved: Set<IPv4Address>
    public let macEncoding: MACAddressEncoding

    private var bitmaps: [SubnetAllocationBitmap]
    private var leasesByVMID: [String: Lease] = [:]

    public init(
        subnets: [IPv4Subnet],
        reserved: [IPv4Address] = [],
        macEncoding: MACAddressEncoding = .qemu
    ) throws(AddressPoolError) {
        guard !subnets.isEmpty else {
            throw .noSubnets
        }
        for (index, subnet) in subnets.enumerated() {
            guard subnet.prefixLength >= Self.minimumPrefixLength else {
                throw .subnetTooLarge(subnet, minimumPrefixLength: Self.minimumPrefixLength)
            }
            if let earlier = subnets[..<index].first(where: { $0.overlaps(subnet) }) {
                throw .overlappingSubnets(earlier, subnet)
            }
        }
        let reservedSet = Set(reserved)
        self.subnets = subnets
        self.reserved = reservedSet
        self.macEncoding = macEncoding
        bitmaps = try Self.emptyBitmaps(subnets: subnets, reserved: reservedSet)
    }

    /// Fresh bitmaps with only the reserved addresses taken.
    private static func emptyBitmaps(
        subnets: [IPv4Subnet],
        reserved: Set<IPv4Address>
    ) throws(AddressPoolError) -> [SubnetAllocationBitmap] {
        var bitmaps = subnets.map(SubnetAllocationBitmap.init(subnet:))
        for address in reserved.sorted() {
            guard let index = bitmaps.firstIndex(where: { $0.isUsable(address) }) else {
                throw .reservedAddressOutsideSubnets(address)
            }
            bitmaps[index].take(address)
        }
        return bitmaps
    }

    public var leaseCount: Int { leasesByVMID.count }

    /// Every lease, in address order.
    public var leases: [Lease] { leasesByVMID.values.sorted { $0.ip < $1.ip } }

    public func lease(for vmID: String) -> Lease? {
        leasesByVMID[vmID]
    }

    /// The VM's existing lease, or a new one on the lowest free address of the first subnet with room.
    public mutating func allocate(for vmID: String) throws(AddressPoolError) -> Lease {
        guard !vmID.isEmpty else {
            throw .emptyVMID
        }
        if let existing = leasesByVMID[vmID] {
            return existing
        }
        for index in bitmaps.indices {
            if let address = bitmaps[index].takeLowestFree() {
                let lease = Lease(vmID: vmID, ip: address, mac: macEncoding.encode(address))
                leasesByVMID[vmID] = lease
                return lease
            }
        }
        throw .exhausted(subnets: subnets, leased: leasesByVMID.count)
    }

    /// Frees the VM's address for reuse; returns the lease it held, or nil if it held none.
    @discardableResult
    public mutating func release(vmID: String) -> Lease? {
        guard let lease = leasesByVMID.removeValue(forKey: vmID) else {
            return nil
        }
        if let index = bitmaps.firstIndex(where: { $0.isUsable(lease.ip) }) {
            bitmaps[index].free(lease.ip)
        }
        return lease
    }

    /// Replaces every lease with `leases`, e.g. read back from durable state after a restart.
    /// All-or-nothing: on error the pool is unchanged.
    public mutating func restore(leases: [Lease]) throws(AddressPoolError) {
        var restoredBitmaps = try Self.emptyBitmaps(subnets: subnets, reserved: reserved)
        var restoredLeases: [String: Lease] = [:]
        var holders: [IPv4Address: String] = [:]
        for lease in leases {
            guard restoredLeases[lease.vmID] == nil else {
                throw .duplicateVMID(lease.vmID)
            }
            if let holder = holders[lease.ip] {
                throw .duplicateAddress(lease.ip, vmIDs: [holder, lease.vmID])
            }
            guard !reserved.contains(lease.ip) else {
                throw .reservedAddressLeased(lease.ip, vmID: lease.vmID)
            }
            guard let index = restoredBitmaps.firstIndex(where: { $0.isUsable(lease.ip) }) else {
                throw .addressOutsideSubnets(lease.ip, vmID: lease.vmID)
            }
            restoredBitmaps[index].take(lease.ip)
            restoredLeases[lease.vmID] = lease
            holders[lease.ip] = lease.vmID
        }
        bitmaps = restoredBitmaps
        leasesByVMID = restoredLeases
    }
}
