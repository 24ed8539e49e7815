import Testing

@testable import Manager

@Suite struct AddressPoolTests {
    static let gateway = IPv4Address(192, 168, 122, 1)

    static func defaultPool() throws -> AddressPool {
        try AddressPool(subnets: [.defaultVMSubnet], reserved: [gateway])
    }

    static func subnet(_ text: String) throws -> IPv4Subnet {
        try IPv4Subnet(parsing: text)
    }

    @Test func allocatesLowestFreeAddressSkippingReserved() throws {
        var pool = try Self.defaultPool()
        let first = try pool.allocate(for: "vm-a")
        let second = try pool.allocate(for: "vm-b")
        #expect(first == Lease(vmID: "vm-a", ip: IPv4Address(192, 168, 122, 2), mac: "52:54:c0:a8:7a:02"))
        #expect(second.ip == IPv4Address(192, 168, 122, 3))
        #expect(pool.lease(for: "vm-b") == second)
        #expect(pool.lease(for: "vm-c") == nil)
    }

    @Test func allocationIsIdempotentPerVM() throws {
        var pool = try Self.defaultPool()
        let first = try pool.allocate(for: "vm-a")
        let again = try pool.allocate(for: "vm-a")
        #expect(again == first)
        #expect(pool.leaseCount == 1)
        #expect(try pool.allocate(for: "vm-b").ip == IPv4Address(192, 168, 122, 3))
    }

    @Test func releasedAddressIsReusedFirst() throws {
        var pool = try Self.defaultPool()
        for name in ["vm-a", "vm-b", "vm-c"] {
            _ = try pool.allocate(for: name)
        }
        #expect(pool.release(vmID: "vm-b")?.ip == IPv4Address(192, 168, 122, 3))
        #expect(pool.release(vmID: "vm-b") == nil)
        #expect(pool.lease(for: "vm-b") == nil)
        #expect(try pool.allocate(for: "vm-d").ip == IPv4Address(192, 168, 122, 3))
        #expect(try pool.allocate(for: "vm-e").ip == IPv4Address(192, 168, 122, 5))
    }

    @Test func exhaustionNamesTheSubnetsAndLeaseCount() throws {
        var pool = try Self.defaultPool()
        for index in 0..<253 {
            _ = try pool.allocate(for: "vm-\(index)")
        }
        #expect(throws: AddressPoolError.exhausted(subnets: [.defaultVMSubnet], leased: 253)) {
            try pool.allocate(for: "one-too-many")
        }
        do {
            _ = try pool.allocate(for: "one-too-many")
        } catch {
            #expect(error.description == "no free address in 192.168.122.0/24 (253 leased)")
        }
        // A VM that already has a lease still gets it when the pool is full.
        #expect(try pool.allocate(for: "vm-0").ip == IPv4Address(192, 168, 122, 2))
    }

    @Test func multipleSubnetsFillInOrder() throws {
        let small = try Self.subnet("10.0.0.0/30")
        let pointToPoint = try Self.subnet("10.0.1.0/31")
        var pool = try AddressPool(subnets: [small, pointToPoint])
        var addresses: [String] = []
        for index in 0..<4 {
            addresses.append(try pool.allocate(for: "vm-\(index)").ip.description)
        }
        #expect(addresses == ["10.0.0.1", "10.0.0.2", "10.0.1.0", "10.0.1.1"])
        #expect(throws: AddressPoolError.self) { try pool.allocate(for: "vm-4") }
        do {
            _ = try pool.allocate(for: "vm-4")
        } catch {
            #expect(error.description == "no free address in 10.0.0.0/30, 10.0.1.0/31 (4 leased)")
        }
        pool.release(vmID: "vm-1")
        #expect(try pool.allocate(for: "vm-5").ip == IPv4Address(10, 0, 0, 2))
    }

    @Test func restoreRebuildsLeasesAndFreeSpace() throws {
        var original = try Self.defaultPool()
        for index in 0..<5 {
            _ = try original.allocate(for: "vm-\(index)")
        }
        original.release(vmID: "vm-1")

        var restored = try Self.defaultPool()
        _ = try restored.allocate(for: "discarded-by-restore")
        try restored.restore(leases: original.leases)
        #expect(restored.leases == original.leases)
        #expect(restored.lease(for: "discarded-by-restore") == nil)
        #expect(try restored.allocate(for: "vm-0") == original.lease(for: "vm-0"))
        // The gap left by vm-1, then past the highest restored lease.
        #expect(try restored.allocate(for: "vm-new").ip == IPv4Address(192, 168, 122, 3))
        #expect(try restored.allocate(for: "vm-newer").ip == IPv4Address(192, 168, 122, 7))
    }

    @Test(arguments: [
        (
            [("vm-a", IPv4Address(192, 168, 122, 2)), ("vm-b", IPv4Address(192, 168, 122, 2))],
            AddressPoolError.duplicateAddress(IPv4Address(192, 168, 122, 2), vmIDs: ["vm-a", "vm-b"])
        ),
        (
            [("vm-a", IPv4Address(192, 168, 122, 2)), ("vm-a", IPv4Address(192, 168, 122, 3))],
            .duplicateVMID("vm-a")
        ),
        ([("vm-a", IPv4Address(10, 0, 0, 2))], .addressOutsideSubnets(IPv4Address(10, 0, 0, 2), vmID: "vm-a")),
        (
            [("vm-a", IPv4Address(192, 168, 122, 255))],
            .addressOutsideSubnets(IPv4Address(192, 168, 122, 255), vmID: "vm-a")
        ),
        ([("vm-a", gateway)], .reservedAddressLeased(gateway, vmID: "vm-a")),
    ])
    func restoreRejectsInconsistentLeases(leases: [(String, IPv4Address)], expected: AddressPoolError) throws {
        var pool = try Self.defaultPool()
        let kept = try pool.allocate(for: "kept")
        let records = leases.map { Lease(vmID: $0.0, ip: $0.1, mac: MACAddressEncoding.qemu.encode($0.1)) }
        #expect(throws: expected) { try pool.restore(leases: records) }
        // All-or-nothing: the pool is as it was.
        #expect(pool.leases == [kept])
    }

    @Test func duplicateAddressErrorNamesBothVMs() {
        let error = AddressPoolError.duplicateAddress(IPv4Address(192, 168, 122, 2), vmIDs: ["vm-a", "vm-b"])
        #expect(error.description == "cannot restore leases: 192.168.122.2 is leased to both vm-a and vm-b")
    }

    @Test func rejectsInvalidConfiguration() throws {
        #expect(throws: AddressPoolError.noSubnets) { try AddressPool(subnets: []) }
        let wide = try Self.subnet("10.0.0.0/7")
        #expect(throws: AddressPoolError.subnetTooLarge(wide, minimumPrefixLength: 8)) {
            try AddressPool(subnets: [wide])
        }
        let outer = try Self.subnet("10.0.0.0/16")
        let inner = try Self.subnet("10.0.5.0/24")
        #expect(throws: AddressPoolError.overlappingSubnets(outer, inner)) {
            try AddressPool(subnets: [outer, inner])
        }
        #expect(throws: AddressPoolError.reservedAddressOutsideSubnets(IPv4Address(192, 168, 122, 0))) {
            try AddressPool(subnets: [.defaultVMSubnet], reserved: [IPv4Address(192, 168, 122, 0)])
        }
        var pool = try Self.defaultPool()
        #expect(throws: AddressPoolError.emptyVMID) { try pool.allocate(for: "") }
    }

    @Test func thirtyThousandAllocationsInASlash16() throws {
        var pool = try AddressPool(subnets: [try Self.subnet("10.1.0.0/16")], reserved: [IPv4Address(10, 1, 0, 1)])
        var seen = Set<IPv4Address>()
        for index in 0..<30_000 {
            let lease = try pool.allocate(for: "vm-\(index)")
            seen.insert(lease.ip)
        }
        #expect(seen.count == 30_000)
        #expect(pool.leaseCount == 30_000)
        #expect(pool.lease(for: "vm-0")?.ip == IPv4Address(10, 1, 0, 2))
        // Offsets 1...30_001 taken: the last is 10.1.117.49 (30_001 = 117 * 256 + 49).
        #expect(pool.lease(for: "vm-29999")?.ip == IPv4Address(10, 1, 117, 49))
        // Free every other lease, then refill: each refill takes the lowest gap.
        for index in stride(from: 0, to: 30_000, by: 2) {
            pool.release(vmID: "vm-\(index)")
        }
        #expect(try pool.allocate(for: "refill-0").ip == IPv4Address(10, 1, 0, 2))
        #expect(try pool.allocate(for: "refill-1").ip == IPv4Address(10, 1, 0, 4))
        for index in 2..<15_000 {
            _ = try pool.allocate(for: "refill-\(index)")
        }
        #expect(pool.leaseCount == 30_000)
        #expect(try pool.allocate(for: "next").ip == IPv4Address(10, 1, 117, 50))
    }
}
