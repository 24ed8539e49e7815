import Foundation

/// One XML-RPC value (https://xmlrpc.com/spec.md), with the `<nil/>` extension Python's client sends when asked.
public indirect enum XMLRPCValue: Hashable, Sendable {
    case int(Int)
    case bool(Bool)
    case string(String)
    case double(Double)
    /// `dateTime.iso8601`: XML-RPC's `20261203T18:00:00` (taken as UTC), or an RFC 3339 time.
    case dateTime(Date)
    case base64([UInt8])
    case array([XMLRPCValue])
    case structure([String: XMLRPCValue])
    case null

    public subscript(key: String) -> XMLRPCValue? {
        guard case .structure(let members) = self else { return nil }
        return members[key]
    }

    public var string: String? {
        if case .string(let text) = self { text } else { nil }
    }

    public var int: Int? {
        if case .int(let number) = self { number } else { nil }
    }

    public var bool: Bool? {
        if case .bool(let flag) = self { flag } else { nil }
    }

    public var array: [XMLRPCValue]? {
        if case .array(let values) = self { values } else { nil }
    }

    public var structure: [String: XMLRPCValue]? {
        if case .structure(let members) = self { members } else { nil }
    }

    /// What the value is, for error messages: "a string", "a struct".
    public var kind: String {
        switch self {
        case .int: "an int"
        case .bool: "a boolean"
        case .string: "a string"
        case .double: "a double"
        case .dateTime: "a dateTime.iso8601"
        case .base64: "base64"
        case .array: "an array"
        case .structure: "a struct"
        case .null: "nil"
        }
    }
}

extension XMLRPCValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: XMLRPCValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, XMLRPCValue)...) {
        self = .structure(Dictionary(elements) { _, last in last })
    }
}

/// A request: the method and its positional parameters.
public struct XMLRPCMethodCall: Hashable, Sendable {
    public var method: String
    public var parameters: [XMLRPCValue]

    public init(method: String, parameters: [XMLRPCValue]) {
        self.method = method
        self.parameters = parameters
    }
}

/// A response: one value, or a fault.
public enum XMLRPCResponse: Hashable, Sendable {
    case value(XMLRPCValue)
    case fault(code: Int, message: String)
}

/// Why a document is not XML-RPC; the message names the element and line.
public struct XMLRPCError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
