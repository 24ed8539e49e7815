import Foundation
import Testing

@testable import Manager

/// GENI SFA credentials: the document's shape read strictly, hostile documents refused with a reason and never a
/// crash, and the credentials argument's forms.
@Suite struct GENICredentialTests {
    /// A made-up certificate body: parsing compares bytes, it does not read X.509.
    static let ownerDER: [UInt8] = Array("alice's certificate".utf8)
    /// A signer's certificate (self-signed, its key thrown away) with the URN `…+ch.example+authority+sa`.
    static let signerCertificate = "\nMIIBqTCCAU6gAwIBAgIUNPU+mNu+v8KXxGkxJDymZ+Ber2IwCgYIKoZIzj0EAwIwDTELMAkGA1UEAwwCc2EwIBcNMjYxMjAzMDcwMTU2WhgPMjEyNjExMDkwNzAxNTZaMA0xCzAJBgNVBAMMAnNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzmMUqMpgchPmPb57TPKECFHE+LLwRINSKZnrK2f8kkrPGGvlsixofjh3pRQFQN7lHgd39Qui9kWX/B5iFVH4LaOBiTCBhjAdBgNVHQ4EFgQU214WmKDLZfcLBBMbkAfUnq72nV4wHwYDVR0jBBgwFoAU214WmKDLZfcLBBMbkAfUnq72nV4wDwYDVR0TAQH/BAUwAwEB/zAzBgNVHREELDAqhih1cm46cHVibGljaWQ6SUROK2NoLmV4YW1wbGUrYXV0aG9yaXR5K3NhMAoGCCqGSM49BAMCA0kAMEYCIQCEVO65v+bSrAkD16V4pL0t7YxBJIk6xYCZpBWRH5Zt3gIhAP7p8QNONAiVSrPicXcGVV1bXfnNCLnMPesswCYx7+i6\n"

    static func document(
        id: String = "ref0",
        reference: String = "#ref0",
        owner: String = Data(ownerDER).base64EncodedString(),
        expires: String = "2026-12-04T00:00:00Z",
        extraCredentialChild: String = "",
        afterCredential: String = "",
        keyInfo: String = "<KeyInfo><X509Data><X509Certificate>\(signerCertificate)</X509Certificate></X509Data></KeyInfo>"
    ) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <signed-credential>
        <credential xml:id="\(id)">
        <type>privilege</type>
        <serial>1</serial>
        <owner_gid>-----BEGIN CERTIFICATE-----
        \(owner)
        -----END CERTIFICATE-----
        </owner_gid>
        <owner_urn>urn:publicid:IDN+ch.example+user+alice</owner_urn>
        <target_gid>x</target_gid>
        <target_urn>urn:publicid:IDN+ch.example+slice+exp1</target_urn>
        <expires>\(expires)</expires>
        <privileges><privilege><name>*</name><can_delegate>true</can_delegate></privilege>
        <privilege><name>Info</name></privilege></privileges>\(extraCredentialChild)
        </credential>\(afterCredential)
        <signatures>
        <Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><Reference URI="\(reference)"/></SignedInfo>\(keyInfo)</Signature>
        </signatures>
        </signed-credential>
        """
    }

    @Test func aCredentialIsReadWithItsOwnerTargetExpiryAndPrivileges() throws {
        let credential = try GENICredential.parse(Self.document())
        #expect(credential.ownerCertificate == Self.ownerDER)
        #expect(credential.ownerURN == "urn:publicid:IDN+ch.example+user+alice")
        #expect(credential.targetURN == "urn:publicid:IDN+ch.example+slice+exp1")
        #expect(credential.expires == Date(timeIntervalSince1970: 1_796_342_400))
        #expect(credential.privileges == ["*", "info"])
        #expect(credential.signerURN == "urn:publicid:IDN+ch.example+authority+sa")
    }

    @Test(arguments: [
        ("", "not well-formed XML"),
        ("<credential xml:id=\"a\"/>", "expected <signed-credential>"),
        ("<!DOCTYPE x [<!ENTITY a \"aaaa\">]><signed-credential/>", "not well-formed XML"),
        ("<signed-credential></signed-credential>", "0 <credential> elements"),
        (GENICredentialTests.document(id: ""), "no xml:id"),
        (GENICredentialTests.document(reference: "#other"), "does not refer to its <credential>"),
        (GENICredentialTests.document(reference: ""), "does not refer to its <credential>"),
        (GENICredentialTests.document(afterCredential: "<x xml:id=\"ref0\"/>"), "names more than one element"),
        (GENICredentialTests.document(afterCredential: "<credential xml:id=\"b\"/>"), "2 <credential> elements"),
        (GENICredentialTests.document(owner: "%%%"), "<owner_gid> is not a PEM certificate"),
        (GENICredentialTests.document(expires: "soon"), "is not an RFC 3339 time"),
        (GENICredentialTests.document(extraCredentialChild: "<parent/>"), "delegated"),
        (GENICredentialTests.document(extraCredentialChild: "<expires>2027-01-01T00:00:00Z</expires>"), "2 <expires>"),
        (
            GENICredentialTests.document().replacingOccurrences(of: "<type>privilege</type>", with: "<type>abac</type>"),
            "only privilege credentials"
        ),
        (
            GENICredentialTests.document().replacingOccurrences(of: "</signatures>", with: "<Signature/></signatures>"),
            "2 signatures"
        ),
        (GENICredentialTests.document(keyInfo: ""), "0 X509Certificates"),
        (
            GENICredentialTests.document(
                keyInfo: "<KeyInfo><X509Data><X509Certificate>\(signerCertificate)</X509Certificate>"
                    + "<X509Certificate>\(signerCertificate)</X509Certificate></X509Data></KeyInfo>"
            ), "2 certificates are not one signer and its issuers (2 signers)"
        ),
        (
            GENICredentialTests.document(
                keyInfo: "<KeyInfo><X509Data>"
                    + String(repeating: "<X509Certificate>\(signerCertificate)</X509Certificate>", count: 6)
                    + "</X509Data></KeyInfo>"
            ), "6 X509Certificates, expected the signer's and at most 4 intermediates"
        ),
        (
            GENICredentialTests.document(keyInfo: "<KeyInfo><X509Data><X509Certificate>AAAA</X509Certificate></X509Data></KeyInfo>"),
            "not a certificate"
        ),
        (String(repeating: "<a>", count: 10_000), "not well-formed XML"),
        (String(repeating: "x", count: GENICredential.maximumBytes + 1), "more than"),
    ])
    func aHostileOrMalformedCredentialIsRefusedWithItsReason(xml: String, reason: String) {
        #expect {
            try GENICredential.parse(xml)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    /// Every prefix of a good document (a truncated upload) and bytes flipped through it: refused, never a trap.
    @Test func truncatedAndGarbledCredentialsNeverCrash() {
        let good = Array(Self.document().utf8)
        for length in stride(from: 0, to: good.count, by: 3) {
            _ = try? GENICredential.parse(String(decoding: good.prefix(length), as: UTF8.self))
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var garbled = good
            for _ in 0..<4 { garbled[Int.random(in: 0..<garbled.count, using: &generator)] = UInt8.random(in: 0...255) }
            _ = try? GENICredential.parse(String(decoding: garbled, as: UTF8.self))
        }
    }

    @Test func theCredentialsArgumentTakesV3StructsWithStringOrBase64ValuesAndPlainStrings() throws {
        let good = Self.document()
        let read = try GENICredential.candidates([
            ["geni_type": "geni_sfa", "geni_version": "3", "geni_value": .string(good)],
            ["geni_type": "geni_sfa", "geni_version": 3, "geni_value": .string(good)],
            .string(good),
            ["geni_type": "geni_abac", "geni_version": "1", "geni_value": "x"],
            ["geni_type": "geni_sfa", "geni_version": "2", "geni_value": .string(good)],
            ["geni_type": "geni_sfa", "geni_version": "3"],
            7,
            // geni-lib and omni send the credential file's bytes, which xmlrpc.client encodes as base64.
            ["geni_type": "geni_sfa", "geni_version": "3", "geni_value": .base64(Array(good.utf8))],
            ["geni_type": "geni_sfa", "geni_version": "3", "geni_value": .base64([0xff, 0xfe, 0x00])],
        ])
        #expect(read.count == 9)
        #expect(read.prefix(3).allSatisfy { (try? $0.get()) != nil })
        #expect((try? read[7].get()) != nil, "a credential sent as base64 is read")
        func reason(_ index: Int) -> String {
            if case .failure(let error) = read[index] { "\(error)" } else { "(read)" }
        }
        #expect(reason(3).contains("geni_type is 'geni_abac'"))
        #expect(reason(4).contains("version '2'"))
        #expect(reason(5).contains("no geni_value"))
        #expect(reason(6).contains("not a {geni_type"))
        #expect(reason(8).contains("base64 of something other than UTF-8 text"))
    }

    @Test func aCredentialsArgumentThatIsNotAnArrayOrTooLongIsBadArgs() {
        #expect(throws: GENIFailure.self) { try GENICredential.candidates("a string") }
        do {
            _ = try GENICredential.candidates(.array(Array(repeating: "x", count: GENICredential.maximumCount + 1)))
            Issue.record("17 credentials were read")
        } catch {
            #expect(error.code == .badArgs && error.message.contains("at most 16"))
        }
    }

    @Test func xmlsecErrorsAreSummarisedInALine() {
        let stderr = """
            func=xmlSecOpenSSLX509StoreVerify:file=x509vfy.c:line=389:obj=x509-store:subj=unknown:error=71:certificate verification failed:X509_verify_cert: subject=/CN=ch CA; issuer=/CN=ch CA; err=18; msg=self-signed certificate
            func=xmlSecKeysMngrGetKey:file=keys.c:line=1256:obj=unknown:subj=xmlSecKeysMngrFindKey:error=1:xmlsec library function failed:\u{20}
            func=xmlSecDSigCtxProcessKeyInfoNode:file=xmldsig.c:line=800:obj=unknown:subj=unknown:error=45:key is not found:details=NULL
            Error: signature failed
            """
        #expect(XMLSecVerifier.summary(stderr) == "certificate verification failed; self-signed certificate; key is not found")
        #expect(XMLSecVerifier.summary("something else\nError: failed") == "something else; Error: failed")
    }
}
