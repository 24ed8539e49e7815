import Foundation
import SwiftASN1
import X509

/// Reads PEM certificate files (a CA bundle may hold several CAs, e.g. during a CA rotation).
public enum TrustBundle {
    public static func certificates(at path: String) throws(TrustError) -> [Certificate] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: SecretFile.reason(error))
        }
        let documents: [PEMDocument]
        do {
            documents = try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw .malformed(path: path, reason: "not PEM certificates: \(error)")
        }
        var certificates: [Certificate] = []
        for document in documents where document.discriminator == "CERTIFICATE" {
            do {
                certificates.append(try Certificate(derEncoded: document.derBytes))
            } catch {
                throw .malformed(path: path, reason: "a CERTIFICATE block does not parse: \(error)")
            }
        }
        guard !certificates.isEmpty else { throw .malformed(path: path, reason: "holds no CERTIFICATE") }
        return certificates
    }
}
