import CLibvirt

/// One `virTypedParameter` value as a Swift value.
enum TypedParameterValue: Sendable, Equatable {
    case int32(Int32)
    case uint32(UInt32)
    case int64(Int64)
    case uint64(UInt64)
    case double(Double)
    case boolean(Bool)
    case string(String)

    /// Integer values that fit an unsigned 64-bit counter; nil for negatives, doubles, booleans and strings.
    var unsignedValue: UInt64? {
        switch self {
        case .int32(let value): value >= 0 ? UInt64(value) : nil
        case .uint32(let value): UInt64(value)
        case .int64(let value): value >= 0 ? UInt64(value) : nil
        case .uint64(let value): value
        case .double, .boolean, .string: nil
        }
    }

    var signedValue: Int64? {
        switch self {
        case .int32(let value): Int64(value)
        case .uint32(let value): Int64(value)
        case .int64(let value): value
        case .uint64(let value): Int64(exactly: value)
        case .double, .boolean, .string: nil
        }
    }

    var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }
}

/// A `virTypedParameter` array (as in a `virDomainStatsRecord`) copied into a dictionary by field name.
struct TypedParameters: Sendable, Equatable {
    var values: [String: TypedParameterValue]

    init(_ values: [String: TypedParameterValue]) {
        self.values = values
    }

    /// Copies `count` parameters; strings are copied, so the C array may be freed afterwards.
    init(_ parameters: UnsafePointer<virTypedParameter>?, count: Int32) {
        var values: [String: TypedParameterValue] = [:]
        if let parameters, count > 0 {
            for parameter in UnsafeBufferPointer(start: parameters, count: Int(count)) {
                let field = CInterop.string(fromCharArray: parameter.field)
                if let value = Self.value(of: parameter) {
                    values[field] = value
                }
            }
        }
        self.values = values
    }

    subscript(field: String) -> TypedParameterValue? { values[field] }

    func unsigned(_ field: String) -> UInt64? { values[field]?.unsignedValue }

    func signed(_ field: String) -> Int64? { values[field]?.signedValue }

    func string(_ field: String) -> String? { values[field]?.stringValue }

    /// Unknown types (from a newer libvirt) are skipped.
    private static func value(of parameter: virTypedParameter) -> TypedParameterValue? {
        switch UInt32(bitPattern: parameter.type) {
        case VIR_TYPED_PARAM_INT.rawValue: .int32(parameter.value.i)
        case VIR_TYPED_PARAM_UINT.rawValue: .uint32(parameter.value.ui)
        case VIR_TYPED_PARAM_LLONG.rawValue: .int64(parameter.value.l)
        case VIR_TYPED_PARAM_ULLONG.rawValue: .uint64(parameter.value.ul)
        case VIR_TYPED_PARAM_DOUBLE.rawValue: .double(parameter.value.d)
        case VIR_TYPED_PARAM_BOOLEAN.rawValue: .boolean(parameter.value.b != 0)
        // The string belongs to the parameter array; copy it now.
        case VIR_TYPED_PARAM_STRING.rawValue: parameter.value.s.map { .string(String(cString: $0)) }
        default: nil
        }
    }
}
