/// Why a MAC prefix cannot carry Snooze-style encoded addresses.
public enum MACAddressEncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedPrefix(String)
    case multicastPrefix(String)
    case globallyAdministeredPrefix(String)

    public var description: String {
        switch self {
        case .malformedPrefix(let text):
            "invalid MAC prefix \"\(text)\": expected two hex bytes, e.g. 52:54"
        case .multicastPrefix(let prefix):
            "invalid MAC prefix \(prefix): the first byte has the multicast bit (0x01) set; "
                + "a NIC address must be unicast"
        case .globallyAdministeredPrefix(let prefix):
            "invalid MAC prefix \(prefix): the first byte lacks the locally-administered bit (0x02), "
                + "so the MACs could collide with vendor-assigned ones"
        }
    }
}
