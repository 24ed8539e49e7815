import Crypto
import Foundation
import SwiftASN1
import X509

/// An X.509 v2 certificate revocation list (RFC 5280 §5) signed by the cluster CA with ECDSA P-256 / SHA-256:
/// what `torpor ca revoke` writes and the daemons load (and reload on SIGHUP). `openssl crl` and
/// `openssl verify -crl_check` read it.
public struct RevocationList: Hashable, Sendable {
    public struct Entry: Hashable, Sendable {
        /// Upper-case hexadecimal, as `CertificateIdentity.serial`.
        public var serial: String
        public var revokedAt: Date

        public init(serial: String, revokedAt: Date) {
            self.serial = serial
            self.revokedAt = revokedAt
        }
    }

    public var issuer: DistinguishedName
    public var thisUpdate: Date
    public var nextUpdate: Date
    /// Increases with every list the CA issues (the CRL Number extension).
    public var number: Int
    public var entries: [Entry]

    /// The DER bytes signed, and the signature, when the list was parsed or signed.
    public private(set) var signedBytes: [UInt8] = []
    public private(set) var signature: [UInt8] = []

    public init(issuer: DistinguishedName, thisUpdate: Date, nextUpdate: Date, number: Int, entries: [Entry]) {
        self.issuer = issuer
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.number = number
        self.entries = entries
    }

    public var revokedSerials: Set<String> { Set(entries.map(\.serial)) }

    static let ecdsaWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 4, 3, 2]
    static let crlNumber: ASN1ObjectIdentifier = [2, 5, 29, 20]

    // MARK: Writing

    /// The whole CertificateList, DER, signed with the CA's key.
    public mutating func signed(with key: P256.Signing.PrivateKey) throws -> [UInt8] {
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(1)  // v2
            try Self.serializeAlgorithm(into: &coder)
            try coder.serialize(issuer)
            try Self.serializeTime(thisUpdate, into: &coder)
            try Self.serializeTime(nextUpdate, into: &coder)
            if !entries.isEmpty {
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    for entry in entries {
                        try coder.appendConstructedNode(identifier: .sequence) { coder in
                            try coder.serialize(ArraySlice(Self.serialBytes(entry.serial)))
                            try Self.serializeTime(entry.revokedAt, into: &coder)
                        }
                    }
                }
            }
            try coder.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) {
                coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.appendConstructedNode(identifier: .sequence) { coder in
                        try coder.serialize(Self.crlNumber)
                        var value = DER.Serializer()
                        try value.serialize(number)
                        try coder.serialize(ASN1OctetString(contentBytes: value.serializedBytes[...]))
                    }
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try key.signature(for: tbsBytes).derRepresentation
        var list = DER.Serializer()
        try list.appendConstructedNode(identifier: .sequence) { coder in
            coder.serializeRawBytes(tbsBytes)
            try Self.serializeAlgorithm(into: &coder)
            try coder.serialize(ASN1BitString(bytes: ArraySlice(signature)))
        }
        signedBytes = tbsBytes
        self.signature = Array(signature)
        return list.serializedBytes
    }

    public mutating func pem(signedWith key: P256.Signing.PrivateKey) throws -> String {
        PEMDocument(type: "X509 CRL", derBytes: try signed(with: key)).pemString + "\n"
    }

    // MARK: Reading

    /// Parses a PEM ("X509 CRL") or DER list; `path` names it in errors. Does not check the signature: see
    /// `verified(by:path:)`.
    public init(contentsOf data: Data, path: String) throws(TrustError) {
        var der = Array(data)
        if let text = String(data: data, encoding: .utf8), text.contains("-----BEGIN") {
            do {
                der = try PEMDocument(pemString: text).derBytes
            } catch {
                throw .malformed(path: path, reason: "not a PEM X509 CRL: \(error)")
            }
        }
        do {
            self = try Self.parse(der)
        } catch {
            throw .malformed(path: path, reason: "not an X.509 CRL: \(error)")
        }
    }

    /// Throws unless one of `authorities` (the CA bundle) issued and signed this list.
    public func verified(by authorities: [Certificate], path: String) throws(TrustError) -> RevocationList {
        let issuers = authorities.filter { $0.subject == issuer }
        guard !issuers.isEmpty else {
            throw .revocationListRejected(path: path, reason: "its issuer \(issuer) is not a CA in the CA bundle")
        }
        for authority in issuers
        where authority.publicKey.isValidSignature(signature, for: signedBytes, signatureAlgorithm: .ecdsaWithSHA256) {
            return self
        }
        throw .revocationListRejected(path: path, reason: "its signature is not the CA's (\(issuer))")
    }

    static func parse(_ der: [UInt8]) throws -> RevocationList {
        let root = try DER.parse(der)
        return try DER.sequence(root, identifier: .sequence) { nodes in
            guard let tbsNode = nodes.next(), let algorithmNode = nodes.next(), let signatureNode = nodes.next() else {
                throw ASN1Error.invalidASN1Object(reason: "a CertificateList has three parts")
            }
            try checkAlgorithm(algorithmNode)
            let signature = try ASN1BitString(derEncoded: signatureNode)
            var list = try DER.sequence(tbsNode, identifier: .sequence) { fields in
                var lookahead = fields
                if let first = lookahead.next(), first.identifier == .integer {
                    let version = try Int(derEncoded: first)
                    guard version == 1 else { throw ASN1Error.invalidASN1Object(reason: "version \(version + 1)") }
                    fields = lookahead
                }
                guard let algorithm = fields.next() else { throw ASN1Error.invalidASN1Object(reason: "no signature") }
                try checkAlgorithm(algorithm)
                guard let issuerNode = fields.next() else { throw ASN1Error.invalidASN1Object(reason: "no issuer") }
                let issuer = try DistinguishedName(derEncoded: issuerNode)
                guard let thisUpdate = try fields.next().map(parseTime) else {
                    throw ASN1Error.invalidASN1Object(reason: "no thisUpdate")
                }
                var nextUpdate = thisUpdate
                var entries: [Entry] = []
                var number = 0
                while let node = fields.next() {
                    switch node.identifier {
                    case .utcTime, .generalizedTime:
                        nextUpdate = try parseTime(node)
                    case .sequence:
                        entries = try children(of: node).map { entry in
                            try DER.sequence(entry, identifier: .sequence) { parts in
                                guard let serialNode = parts.next(), let dateNode = parts.next() else {
                                    throw ASN1Error.invalidASN1Object(reason: "a revoked entry has a serial and a date")
                                }
                                while parts.next() != nil {}  // entry extensions: none we act on
                                let serial = try ArraySlice<UInt8>(derEncoded: serialNode)
                                return Entry(
                                    serial: CertificateIdentity.hex(Certificate.SerialNumber(bytes: serial)),
                                    revokedAt: try parseTime(dateNode)
                                )
                            }
                        }
                    default:
                        number = try parseNumber(extensions: node) ?? number
                    }
                }
                return RevocationList(
                    issuer: issuer,
                    thisUpdate: thisUpdate,
                    nextUpdate: nextUpdate,
                    number: number,
                    entries: entries
                )
            }
            list.signedBytes = Array(tbsNode.encodedBytes)
            list.signature = Array(signature.bytes)
            return list
        }
    }

    // MARK: DER helpers

    private static func serializeAlgorithm(into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { coder in try coder.serialize(ecdsaWithSHA256) }
    }

    private static func checkAlgorithm(_ node: ASN1Node) throws {
        let oid = try DER.sequence(node, identifier: .sequence) { parts -> ASN1ObjectIdentifier in
            guard let first = parts.next() else { throw ASN1Error.invalidASN1Object(reason: "empty algorithm") }
            while parts.next() != nil {}
            return try ASN1ObjectIdentifier(derEncoded: first)
        }
        guard oid == ecdsaWithSHA256 else {
            throw ASN1Error.invalidASN1Object(reason: "signature algorithm \(oid); only ecdsa-with-SHA256 is supported")
        }
    }

    private static func parseNumber(extensions node: ASN1Node) throws -> Int? {
        guard node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
            let list = try children(of: node).first
        else { return nil }
        for ext in try children(of: list) {
            let found = try DER.sequence(ext, identifier: .sequence) { parts -> Int? in
                let oid = try parts.next().map { try ASN1ObjectIdentifier(derEncoded: $0) }
                var value: Int?
                while let part = parts.next() {
                    if part.identifier == .octetString, oid == crlNumber {
                        let octets = try ASN1OctetString(derEncoded: part)
                        value = try Int(derEncoded: try DER.parse(octets.bytes))
                    }
                }
                return value
            }
            if let found { return found }
        }
        return nil
    }

    private static func children(of node: ASN1Node) throws -> [ASN1Node] {
        guard case .constructed(let children) = node.content else {
            throw ASN1Error.invalidASN1Object(reason: "\(node.identifier) is not constructed")
        }
        return Array(children)
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
    private static func serializeTime(_ date: Date, into coder: inout DER.Serializer) throws {
        let parts = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let (year, month, day) = (parts.year!, parts.month!, parts.day!)
        let (hours, minutes, seconds) = (parts.hour!, parts.minute!, parts.second!)
        if year < 2050 {
            try coder.serialize(
                UTCTime(year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: seconds)
            )
        } else {
            try coder.serialize(
                GeneralizedTime(
                    year: year,
                    month: month,
                    day: day,
                    hours: hours,
                    minutes: minutes,
                    seconds: seconds,
                    fractionalSeconds: 0
                )
            )
        }
    }

    private static func parseTime(_ node: ASN1Node) throws -> Date {
        var parts = DateComponents()
        switch node.identifier {
        case .utcTime:
            let time = try UTCTime(derEncoded: node)
            parts = DateComponents(
                year: time.year, month: time.month, day: time.day,
                hour: time.hours, minute: time.minutes, second: time.seconds
            )
        case .generalizedTime:
            let time = try GeneralizedTime(derEncoded: node)
            parts = DateComponents(
                year: time.year, month: time.month, day: time.day,
                hour: time.hours, minute: time.minutes, second: time.seconds
            )
        default:
            throw ASN1Error.unexpectedFieldType(node.identifier)
        }
        guard let date = utc.date(from: parts) else { throw ASN1Error.invalidASN1Object(reason: "bad time") }
        return date
    }

    static func serialBytes(_ hex: String) throws -> [UInt8] {
        var digits = Array(hex.utf8)
        if digits.count % 2 == 1 { digits.insert(UInt8(ascii: "0"), at: 0) }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                throw TrustError.invalidRequest("serial \(hex) is not hexadecimal")
            }
            bytes.append(byte)
        }
        // The INTEGER serializer adds the zero byte a set top bit needs.
        return bytes
    }
}
