import CLibvirt

/// A failed libvirt call: libvirt's own error numbers, its message, and the C function that failed.
///
/// libvirt keeps the last error in thread-local storage, so it is copied by `check` in the same synchronous
/// call that failed, on the same thread. See https://libvirt.org/html/libvirt-virterror.html
public struct LibvirtError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libvirt's `virErrorNumber` (`VIR_ERR_*`); compare with the names in `LibvirtError.Code`.
    public let code: Int32
    /// libvirt's `virErrorDomain` (`VIR_FROM_*`): the part of libvirt that raised the error.
    public let domain: Int32
    /// libvirt's human-readable message ("" when libvirt gave none).
    public let message: String
    /// The libvirt C function that failed, e.g. `virDomainLookupByName`.
    public let function: String
    /// What the call was about: the URI for an open, the domain name for a domain call; nil when nothing fits.
    public let subject: String?

    public init(code: Int32, domain: Int32, message: String, function: String, subject: String? = nil) {
        self.code = code
        self.domain = domain
        self.message = message
        self.function = function
        self.subject = subject
    }

    /// `code` under its Swift name.
    public var errorCode: Code { Code(rawValue: code) }

    public var description: String {
        let about = subject.map { "(\($0))" } ?? ""
        return "\(function)\(about) failed: \(message) [libvirt code \(code), domain \(domain)]"
    }
}

extension LibvirtError {
    /// Swift names for the libvirt error numbers this package reacts to; other codes still arrive in `code`.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public let rawValue: Int32

        public init(rawValue: Int32) {
            self.rawValue = rawValue
        }

        private init(_ number: virErrorNumber) {
            self.rawValue = Int32(bitPattern: number.rawValue)
        }

        public static let ok = Code(VIR_ERR_OK)
        public static let internalError = Code(VIR_ERR_INTERNAL_ERROR)
        public static let noSupport = Code(VIR_ERR_NO_SUPPORT)
        public static let noConnect = Code(VIR_ERR_NO_CONNECT)
        public static let invalidConnection = Code(VIR_ERR_INVALID_CONN)
        public static let invalidDomain = Code(VIR_ERR_INVALID_DOMAIN)
        public static let invalidArgument = Code(VIR_ERR_INVALID_ARG)
        public static let operationFailed = Code(VIR_ERR_OPERATION_FAILED)
        public static let operationInvalid = Code(VIR_ERR_OPERATION_INVALID)
        public static let operationTimeout = Code(VIR_ERR_OPERATION_TIMEOUT)
        public static let xmlError = Code(VIR_ERR_XML_ERROR)
        public static let xmlDetail = Code(VIR_ERR_XML_DETAIL)
        public static let noDomain = Code(VIR_ERR_NO_DOMAIN)
        public static let domainExists = Code(VIR_ERR_DOM_EXIST)
        public static let systemError = Code(VIR_ERR_SYSTEM_ERROR)
        public static let rpcError = Code(VIR_ERR_RPC)
        public static let authFailed = Code(VIR_ERR_AUTH_FAILED)
    }

    /// `domain` value for errors raised by this wrapper rather than by libvirt (`VIR_FROM_NONE`).
    static let noErrorDomain = Int32(bitPattern: VIR_FROM_NONE.rawValue)

    /// An error this wrapper detects itself (bad argument, closed connection), shaped like libvirt's.
    static func wrapper(_ code: Code, _ message: String, function: String, subject: String?) -> LibvirtError {
        LibvirtError(code: code.rawValue, domain: noErrorDomain, message: message, function: function, subject: subject)
    }

    /// Copies the calling thread's last libvirt error and clears it, so a later failure cannot report it again.
    /// Must run right after the failing C call, on the same thread, with no libvirt call in between.
    static func copyLast(function: String, subject: String?) -> LibvirtError {
        // virGetLastError returns thread-local storage owned by libvirt: read it, never free it.
        guard let last = virGetLastError(), last.pointee.code != Int32(bitPattern: VIR_ERR_OK.rawValue) else {
            return wrapper(
                .internalError,
                "libvirt reported failure without an error",
                function: function,
                subject: subject
            )
        }
        let error = LibvirtError(
            code: last.pointee.code,
            domain: last.pointee.domain,
            message: last.pointee.message.map { String(cString: $0) } ?? "",
            function: function,
            subject: subject
        )
        virResetLastError()
        return error
    }
}

/// libvirt's failure convention for `int` results: -1 (any negative) means failure, the reason is the
/// thread-local virError. Returns the non-negative result.
@discardableResult
func check(_ result: Int32, _ function: String, subject: String? = nil) throws(LibvirtError) -> Int32 {
    guard result >= 0 else {
        throw LibvirtError.copyLast(function: function, subject: subject)
    }
    return result
}

/// libvirt's failure convention for pointer results: NULL means failure, the reason is the thread-local virError.
func check<Pointer>(_ result: Pointer?, _ function: String, subject: String? = nil) throws(LibvirtError) -> Pointer {
    guard let result else {
        throw LibvirtError.copyLast(function: function, subject: subject)
    }
    return result
}
