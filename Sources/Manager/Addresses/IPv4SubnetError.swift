/// Why a CIDR string or network/prefix pair is not a valid subnet.
public enum IPv4SubnetError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingPrefixLength(text: String)
    case prefixLengthOutOfRange(text: String, prefixLength: String)
    case invalidAddress(IPv4AddressParseError)
    case hostBitsSet(network: IPv4Address, prefixLength: Int, expected: IPv4Address)

    public var description: String {
        switch self {
        case .missingPrefixLength(let text):
            "invalid subnet \"\(text)\": expected address/prefix-length, e.g. 192.168.122.0/24"
        case .prefixLengthOutOfRange(let text, let prefixLength):
            "invalid subnet \"\(text)\": prefix length \"\(prefixLength)\" is not a number from 0 to 32"
        case .invalidAddress(let error):
            "invalid subnet: \(error)"
        case .hostBitsSet(let network, let prefixLength, let expected):
            "invalid subnet \"\(network)/\(prefixLength)\": host bits are set; "
                + "did you mean \(expected)/\(prefixLength)?"
        }
    }
}
