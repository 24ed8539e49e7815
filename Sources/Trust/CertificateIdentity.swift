import Foundation
import SwiftASN1
import X509

/// Who a certificate names: the role (subject OU), the name (subject CN), its serial number and validity.
public struct CertificateIdentity: Hashable, Sendable, CustomStringConvertible {
    public var role: CertificateRole
    public var name: String
    /// Upper-case hexadecimal, as `openssl x509 -serial` prints it.
    public var serial: String
    public var notValidBefore: Date
    public var notValidAfter: Date

    public init(role: CertificateRole, name: String, serial: String, notValidBefore: Date, notValidAfter: Date) {
        self.role = role
        self.name = name
        self.serial = serial
        self.notValidBefore = notValidBefore
        self.notValidAfter = notValidAfter
    }

    /// Reads the role and name from the subject; throws when either is missing, repeated or unknown.
    public init(_ certificate: Certificate) throws(TrustError) {
        let serial = Self.hex(certificate.serialNumber)
        let units = Self.values(of: .RDNAttributeType.organizationalUnitName, in: certificate.subject)
        let names = Self.values(of: .RDNAttributeType.commonName, in: certificate.subject)
        guard units.count == 1, let role = CertificateRole(rawValue: units[0]) else {
            throw .notATorporCertificate(
                serial: serial,
                reason: "its subject must have one OU naming a role (\(CertificateRole.allCases.map(\.rawValue)))"
                    + ", found \(units)"
            )
        }
        guard names.count == 1, !names[0].isEmpty else {
            throw .notATorporCertificate(serial: serial, reason: "its subject must have one non-empty CN, found \(names)")
        }
        self.init(
            role: role,
            name: names[0],
            serial: serial,
            notValidBefore: certificate.notValidBefore,
            notValidAfter: certificate.notValidAfter
        )
    }

    /// `role/name (serial S)`: how logs and errors name a certificate.
    public var description: String { "\(role)/\(name) (serial \(serial))" }

    /// Whole days left until `notValidAfter` (negative once expired).
    public func daysLeft(at now: Date) -> Int {
        Int((notValidAfter.timeIntervalSince(now) / 86_400).rounded(.down))
    }

    public static func hex(_ serial: Certificate.SerialNumber) -> String {
        var bytes = serial.bytes[...]
        // DER keeps a leading zero byte to make the integer positive; openssl prints none.
        while bytes.count > 1, bytes.first == 0 { bytes = bytes.dropFirst() }
        return bytes.map { byte in
            let digits = String(byte, radix: 16, uppercase: true)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    static func values(of type: ASN1ObjectIdentifier, in name: DistinguishedName) -> [String] {
        name.flatMap { $0 }.filter { $0.type == type }.map { "\($0.value)" }
    }
}
