import Foundation
import NIOSSL
import X509

/// A GENI SFA credential (`geni_type geni_sfa`, version 3; docs/geni.md): a `<signed-credential>` holding one
/// `<credential xml:id=…>` (owner, target, expiry, privileges) and one XML signature over it. Parsing checks the
/// document's shape only; whether the signature holds is `XMLSecVerifier`'s, whether it allows a call
/// `GENICredentialCheck`'s.
public struct GENICredential: Sendable, Equatable {
    /// The owner's certificate (DER), from `<owner_gid>`: the caller's TLS certificate must be this one.
    public var ownerCertificate: [UInt8]
    public var ownerURN: String
    public var targetURN: String
    public var expires: Date
    /// The `<privilege><name>`s, lower-cased (`*`, `refresh`, `info`, …).
    public var privileges: [String]
    /// The URN in the signing certificate's subject alternative names (GENI authorities carry
    /// `urn:publicid:IDN+<authority>+authority+<name>`); nil when it has none.
    public var signerURN: String?
    /// The signed document as given, for the signature check.
    public var document: String

    public init(
        ownerCertificate: [UInt8],
        ownerURN: String,
        targetURN: String,
        expires: Date,
        privileges: [String],
        signerURN: String?,
        document: String
    ) {
        self.signerURN = signerURN
        self.ownerCertificate = ownerCertificate
        self.ownerURN = ownerURN
        self.targetURN = targetURN
        self.expires = expires
        self.privileges = privileges
        self.document = document
    }

    /// A credential larger than this is refused unread (GENI's are a few KB; the request itself is capped too).
    public static let maximumBytes = 256 * 1024
    /// More credentials than this in one call is BADARGS.
    public static let maximumCount = 16
    /// Certificates in a signature: the signer's and its intermediates.
    public static let maximumChainLength = 5

    /// Why a credential could not be read.
    public struct ParseError: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Reads one credential document.
    public static func parse(_ xml: String) throws(ParseError) -> GENICredential {
        let size = xml.utf8.count
        guard size <= maximumBytes else { throw ParseError("it is \(size) bytes, more than \(maximumBytes)") }
        let root: TemplateXMLNode
        do {
            root = try TemplateXMLParser.parse(xml)
        } catch {
            throw ParseError("not well-formed XML: \(error)")
        }
        guard local(root.name) == "signed-credential" else {
            throw ParseError("its root is <\(root.name.prefix(40))>, expected <signed-credential>")
        }
        let credentials = root.elements.filter { local($0.name) == "credential" }
        guard credentials.count == 1, let credential = credentials.first else {
            throw ParseError("it has \(credentials.count) <credential> elements, expected one")
        }
        guard let id = credential.attribute("xml:id"), !id.isEmpty else {
            throw ParseError("its <credential> has no xml:id for the signature to refer to")
        }
        // The signature must cover the <credential> read here: one element with that id, one reference to it.
        guard count(root, where: { $0.attribute("xml:id") == id }) == 1 else {
            throw ParseError("the id '\(id.prefix(40))' names more than one element")
        }
        func text(_ name: String) throws(ParseError) -> String {
            let found = credential.elements.filter { local($0.name) == name }
            guard found.count == 1, let element = found.first else {
                throw ParseError("its <credential> has \(found.count) <\(name)> elements, expected one")
            }
            return content(element).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let type = try text("type")
        guard type == "privilege" else {
            throw ParseError("its type is '\(type.prefix(40))'; only privilege credentials are accepted")
        }
        guard !credential.elements.contains(where: { local($0.name) == "parent" }) else {
            throw ParseError("it is delegated (has a <parent>); delegated credentials are not accepted here")
        }
        let ownerGID = try text("owner_gid")
        guard let owner = firstCertificate(ownerGID) else {
            throw ParseError("its <owner_gid> is not a PEM certificate")
        }
        let ownerURN = try text("owner_urn")
        let targetURN = try text("target_urn")
        let expiresText = try text("expires")
        guard let expires = XMLRPCTime.parse(expiresText) else {
            throw ParseError("its <expires> '\(expiresText.prefix(40))' is not an RFC 3339 time")
        }
        let privilegeLists = credential.elements.filter { local($0.name) == "privileges" }
        guard privilegeLists.count == 1, let privilegeList = privilegeLists.first else {
            throw ParseError("its <credential> has \(privilegeLists.count) <privileges> elements, expected one")
        }
        var privileges: [String] = []
        for privilege in privilegeList.elements where local(privilege.name) == "privilege" {
            guard let name = privilege.elements.first(where: { local($0.name) == "name" }) else {
                throw ParseError("a <privilege> has no <name>")
            }
            privileges.append(content(name).trimmingCharacters(in: .whitespacesAndNewlines).lowercased())
        }
        let signatureLists = root.elements.filter { local($0.name) == "signatures" }
        let signatures = signatureLists.flatMap { $0.elements.filter { local($0.name) == "Signature" } }
        guard signatureLists.count == 1, signatures.count == 1, let signature = signatures.first else {
            throw ParseError("it has \(signatures.count) signatures in \(signatureLists.count) <signatures>, expected one")
        }
        let references = signature.elements.filter { local($0.name) == "SignedInfo" }
            .flatMap { $0.elements.filter { local($0.name) == "Reference" } }
        guard references.count == 1, references.first?.attribute("URI") == "#\(id)" else {
            throw ParseError("its signature does not refer to its <credential> (#\(id.prefix(40))) alone")
        }
        // The signer's certificate, optionally followed by the intermediates up to (not including) a trusted root:
        // xmlsec1 chains them to `geni.trust_roots`. The signer is the one certificate that issued none of the
        // others, which is also the one xmlsec1 takes the key from.
        let certificates = signature.elements.filter { local($0.name) == "KeyInfo" }
            .flatMap { $0.elements.filter { local($0.name) == "X509Data" } }
            .flatMap { $0.elements.filter { local($0.name) == "X509Certificate" } }
        guard (1...maximumChainLength).contains(certificates.count) else {
            throw ParseError(
                "its signature carries \(certificates.count) X509Certificates, expected the signer's and at most "
                    + "\(maximumChainLength - 1) intermediates"
            )
        }
        var chain: [(der: [UInt8], certificate: Certificate)] = []
        for (index, text) in certificates.enumerated() {
            guard let der = firstCertificate(content(text)), let certificate = try? Certificate(derEncoded: der) else {
                throw ParseError("X509Certificate \(index + 1) of its signature is not a certificate")
            }
            chain.append((der, certificate))
        }
        let leaves = chain.indices.filter { index in
            !chain.indices.contains { other in
                other != index && chain[other].certificate.issuer == chain[index].certificate.subject
                    && chain[other].certificate.subject != chain[index].certificate.subject
            }
        }
        guard leaves.count == 1 else {
            throw ParseError(
                "its signature's \(chain.count) certificates are not one signer and its issuers (\(leaves.count) signers)"
            )
        }
        guard let signer = try? NIOSSLCertificate(bytes: chain[leaves[0]].der, format: .der) else {
            throw ParseError("its signer's X509Certificate is not a certificate")
        }
        let signerURN = signer._subjectAlternativeNames().filter { $0.nameType == .uri }
            .map { String(decoding: $0.contents, as: UTF8.self) }
            .first { GENIURN(parsing: $0) != nil }
        return GENICredential(
            ownerCertificate: owner,
            ownerURN: ownerURN,
            targetURN: targetURN,
            expires: expires,
            privileges: privileges,
            signerURN: signerURN,
            document: xml
        )
    }

    /// The credentials argument of a call: an array of `{geni_type, geni_version, geni_value}` structs (or, as
    /// older clients send, of credential strings). Each is read or gives why not; only the count and shape of the
    /// argument itself are BADARGS.
    public static func candidates(_ argument: XMLRPCValue) throws(GENIFailure) -> [Result<GENICredential, ParseError>] {
        guard let items = argument.array else {
            throw GENIFailure(.badArgs, "credentials must be an array, not \(argument.kind)")
        }
        guard items.count <= maximumCount else {
            throw GENIFailure(.badArgs, "\(items.count) credentials given; at most \(maximumCount) are read")
        }
        return items.map { item in
            let document: String
            if let text = item.string {
                document = text
            } else if let fields = item.structure {
                let type = fields["geni_type"]?.string ?? "?"
                let version: String =
                    switch fields["geni_version"] {
                    case .string(let text)?: text
                    case .int(let number)?: "\(number)"
                    default: "?"
                    }
                guard type.lowercased() == "geni_sfa" else {
                    return .failure(ParseError("its geni_type is '\(type.prefix(40))'; this aggregate reads geni_sfa"))
                }
                guard version == "3" else {
                    return .failure(ParseError("it is geni_sfa version '\(version.prefix(20))'; this aggregate reads 3"))
                }
                // xmlrpc.client sends a str as a string; geni-lib and omni read the file as bytes, which xmlrpc.client
                // sends as base64.
                switch fields["geni_value"] {
                case .string(let text)?:
                    document = text
                case .base64(let bytes)?:
                    guard let text = String(validating: bytes, as: UTF8.self) else {
                        return .failure(ParseError("its geni_value is base64 of something other than UTF-8 text"))
                    }
                    document = text
                default:
                    return .failure(ParseError("it has no geni_value (a string, or base64 of the credential's XML)"))
                }
            } else {
                return .failure(ParseError("it is \(item.kind), not a {geni_type, geni_version, geni_value} struct"))
            }
            return Result { () throws(ParseError) in try parse(document) }
        }
    }

    /// The DER bytes of the first certificate in PEM text (GENI writes the gid with or without the armour lines).
    static func firstCertificate(_ pem: String) -> [UInt8]? {
        var lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        if let begin = lines.firstIndex(of: "-----BEGIN CERTIFICATE-----") {
            lines = Array(lines[(begin + 1)...])
            guard let end = lines.firstIndex(of: "-----END CERTIFICATE-----") else { return nil }
            lines = Array(lines[..<end])
        }
        guard let data = Data(base64Encoded: lines.joined()), !data.isEmpty else { return nil }
        return Array(data)
    }

    private static func local(_ name: String) -> String {
        name.split(separator: ":").last.map(String.init) ?? name
    }

    private static func content(_ node: TemplateXMLNode) -> String {
        node.children.map { child in
            if case .text(let text) = child { text } else { "" }
        }.joined()
    }

    /// How many elements of the tree satisfy `test`, walked without recursion (hostile nesting is capped anyway).
    private static func count(_ root: TemplateXMLNode, where test: (TemplateXMLNode) -> Bool) -> Int {
        var pending = [root]
        var found = 0
        while let node = pending.popLast() {
            if test(node) { found += 1 }
            pending += node.elements
        }
        return found
    }
}
