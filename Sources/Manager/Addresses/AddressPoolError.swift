/// Why an address pool could not be configured, allocate, or restore its leases.
public enum AddressPoolError: Error, Equatable, Sendable, CustomStringConvertible {
    case noSubnets
    case subnetTooLarge(IPv4Subnet, minimumPrefixLength: Int)
    case overlappingSubnets(IPv4Subnet, IPv4Subnet)
    case reservedAddressOutsideSubnets(IPv4Address)
    case emptyVMID
    case exhausted(subnets: [IPv4Subnet], leased: Int)
    case duplicateVMID(String)
    case duplicateAddress(IPv4Address, vmIDs: [String])
    case addressOutsideSubnets(IPv4Address, vmID: String)
    case reservedAddressLeased(IPv4Address, vmID: String)

    public var description: String {
        switch self {
        case .noSubnets:
            "no VM subnet configured"
        case .subnetTooLarge(let subnet, let minimum):
            "VM subnet \(subnet) is too large: the prefix length must be at least /\(minimum)"
        case .overlappingSubnets(let first, let second):
            "VM subnets \(first) and \(second) overlap"
        case .reservedAddressOutsideSubnets(let address):
            "reserved address \(address) is not a usable host of any VM subnet"
        case .emptyVMID:
            "cannot allocate an address for an empty VM ID"
        case .exhausted(let subnets, let leased):
            "no free address in \(subnets.map(\.description).joined(separator: ", ")) (\(leased) leased)"
        case .duplicateVMID(let vmID):
            "cannot restore leases: VM \(vmID) has more than one lease"
        case .duplicateAddress(let address, let vmIDs):
            "cannot restore leases: \(address) is leased to both \(vmIDs.joined(separator: " and "))"
        case .addressOutsideSubnets(let address, let vmID):
            "cannot restore leases: \(address) of VM \(vmID) is not a usable host of any VM subnet"
        case .reservedAddressLeased(let address, let vmID):
            "cannot restore leases: \(address) of VM \(vmID) is a reserved address"
        }
    }
}
