/// GENI AM API error codes (`geni_code`), as the API's geni-error-codes.xml numbers them.
public enum GENICode: Int, Sendable, CaseIterable {
    case success = 0
    case badArgs = 1
    case error = 2
    case forbidden = 3
    case badVersion = 4
    case serverError = 5
    case tooBig = 6
    case refused = 7
    case timedOut = 8
    case databaseError = 9
    case rpcError = 10
    case unavailable = 11
    case searchFailed = 12
    case unsupported = 13
    case busy = 14
    case expired = 15
    case inProgress = 16
    case alreadyExists = 17
}

/// A call that fails: its code and a message for the `output` field.
public struct GENIFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: GENICode
    public var message: String

    public init(_ code: GENICode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code) (\(code.rawValue)): \(message)" }
}

/// The shape of every AM API v3 reply: `{code: {geni_code, am_type, am_code}, value, output}`.
public enum GENIReply {
    public static func success(_ value: XMLRPCValue, output: String = "") -> XMLRPCValue {
        ["code": ["geni_code": .int(GENICode.success.rawValue)], "value": value, "output": .string(output)]
    }

    public static func failure(_ failure: GENIFailure) -> XMLRPCValue {
        [
            "code": ["geni_code": .int(failure.code.rawValue), "am_type": "torpor"],
            "value": 0,
            "output": .string(failure.message),
        ]
    }
}
