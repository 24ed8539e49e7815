/// Why a string is not a dotted-quad IPv4 address; each case carries the whole input for the message.
public enum IPv4AddressParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case wrongComponentCount(text: String, count: Int)
    /// `position` counts from 1.
    case emptyComponent(text: String, position: Int)
    case invalidCharacter(text: String, component: String)
    case leadingZero(text: String, component: String)
    case componentOutOfRange(text: String, component: String)

    public var description: String {
        switch self {
        case .wrongComponentCount(let text, let count):
            "invalid IPv4 address \"\(text)\": expected 4 dot-separated numbers, found \(count)"
        case .emptyComponent(let text, let position):
            "invalid IPv4 address \"\(text)\": number \(position) is empty"
        case .invalidCharacter(let text, let component):
            "invalid IPv4 address \"\(text)\": \"\(component)\" is not a decimal number"
        case .leadingZero(let text, let component):
            "invalid IPv4 address \"\(text)\": \"\(component)\" has a leading zero (ambiguous with octal)"
        case .componentOutOfRange(let text, let component):
            "invalid IPv4 address \"\(text)\": \(component) is greater than 255"
        }
    }
}
