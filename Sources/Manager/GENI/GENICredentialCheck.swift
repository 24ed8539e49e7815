import Foundation

/// Whether a call's credentials allow it (docs/geni.md): the decision without I/O. The aggregate feeds it the call
/// and what it knows of each credential; the answer is to allow, to refuse with a GENI code and message, or to
/// verify one credential's signature first (the only check that runs a program) and ask again.
public enum GENICredentialCheck {
    /// The SFA operation each AM API v3 method needs; methods not listed take no credentials.
    public static func operation(forMethod method: String) -> String? {
        switch method {
        case "ListResources": "listnodes"
        case "Describe", "Status": "sliverstatus"
        case "Allocate", "Provision", "PerformOperationalAction": "createsliver"
        case "Renew": "renewsliver"
        case "Delete": "deletesliver"
        case "Shutdown": "shutdown"
        default: nil
        }
    }

    /// The operations each SFA privilege grants (SFA's privilege table, the part the AM API uses); `*` grants all.
    public static let grants: [String: Set<String>] = [
        "info": ["listnodes"],
        "sa": ["listnodes", "sliverstatus", "createsliver", "renewsliver", "deletesliver"],
        "embed": ["sliverstatus", "createsliver", "renewsliver", "deletesliver", "shutdown"],
        "control": ["sliverstatus", "createsliver", "renewsliver", "deletesliver"],
    ]

    public struct Call: Sendable, Equatable {
        public var method: String
        /// The slice the call acts on; nil for ListResources, whose credential may name any target.
        public var slice: String?
        /// The caller's TLS certificate (DER); nil when the connection had none.
        public var callerCertificate: [UInt8]?
        public var now: Date

        public init(method: String, slice: String?, callerCertificate: [UInt8]?, now: Date) {
            self.method = method
            self.slice = slice
            self.callerCertificate = callerCertificate
            self.now = now
        }
    }

    public enum Signature: Sendable, Equatable {
        case unchecked
        case trusted
        case untrusted(String)
    }

    public struct Candidate: Sendable, Equatable {
        public var credential: Result<GENICredential, GENICredential.ParseError>
        public var signature: Signature

        public init(_ credential: Result<GENICredential, GENICredential.ParseError>, signature: Signature = .unchecked) {
            self.credential = credential
            self.signature = signature
        }
    }

    public enum Action: Sendable, Equatable {
        case allow(credential: Int?)
        case verifySignature(credential: Int)
        case refuse(GENIFailure)
    }

    /// The next step for `call` with these credentials, in order: the first credential that passes every check and
    /// whose signature holds allows the call; one that passes the rest but is unchecked is verified first; when none
    /// is left, FORBIDDEN naming each one's problem, or EXPIRED if a credential's only problem is its age.
    public static func next(_ call: Call, _ candidates: [Candidate]) -> Action {
        guard let operation = operation(forMethod: call.method) else { return .allow(credential: nil) }
        guard let caller = call.callerCertificate else {
            return .refuse(GENIFailure(.forbidden, "\(call.method) refused: the connection has no client certificate"))
        }
        guard !candidates.isEmpty else {
            return .refuse(
                GENIFailure(
                    .forbidden,
                    "\(call.method) needs a geni_sfa credential (version 3) "
                        + (call.slice.map { "for the slice \($0)" } ?? "owned by the caller")
                        + "; none was given"
                )
            )
        }
        var problems: [String] = []
        var expiredOnly: String?
        for (index, candidate) in candidates.enumerated() {
            let credential: GENICredential
            switch candidate.credential {
            case .failure(let error):
                problems.append("credential \(index + 1): \(error)")
                continue
            case .success(let read):
                credential = read
            }
            var reasons: [String] = []
            if credential.ownerCertificate != caller {
                reasons.append("its owner (\(credential.ownerURN.prefix(120))) is not the caller's certificate")
            }
            if let slice = call.slice, credential.targetURN.lowercased() != slice.lowercased() {
                reasons.append("it is for \(credential.targetURN.prefix(120)), not the slice \(slice)")
            }
            if !allows(credential.privileges, operation) {
                let held = credential.privileges.isEmpty ? "none" : credential.privileges.joined(separator: ", ")
                reasons.append("its privileges (\(held.prefix(120))) do not grant \(operation), which \(call.method) needs")
            }
            if let problem = signerProblem(credential) { reasons.append(problem) }
            let expired = credential.expires <= call.now
            if expired {
                let message = "it expired at \(XMLRPCTime.rfc3339(credential.expires))"
                if reasons.isEmpty { expiredOnly = expiredOnly ?? "credential \(index + 1): \(message)" }
                reasons.append(message)
            }
            if reasons.isEmpty {
                switch candidate.signature {
                case .trusted: return .allow(credential: index)
                case .unchecked: return .verifySignature(credential: index)
                case .untrusted(let why): reasons.append("its signature does not lead to a trusted root: \(why)")
                }
            }
            problems.append("credential \(index + 1): " + reasons.joined(separator: "; "))
        }
        if let expiredOnly {
            return .refuse(GENIFailure(.expired, "\(call.method) refused: \(expiredOnly)"))
        }
        return .refuse(GENIFailure(.forbidden, "\(call.method) refused: " + problems.joined(separator: " | ")))
    }

    /// A user's certificate chains to the roots too: only an authority over the target may sign for it (GENI's
    /// rule: the signer's URN is of type `authority`, and its authority is the target's or a parent of it).
    static func signerProblem(_ credential: GENICredential) -> String? {
        guard let signer = credential.signerURN.flatMap(GENIURN.init(parsing:)), signer.type.lowercased() == "authority"
        else {
            return "it is signed by \(credential.signerURN?.prefix(120) ?? "a certificate without a URN"), not an authority"
        }
        guard let target = GENIURN(parsing: credential.targetURN) else {
            return "its target \(credential.targetURN.prefix(120)) is not a URN"
        }
        let over = signer.authority.lowercased()
        let under = target.authority.lowercased()
        guard under == over || under.hasPrefix(over + ":") else {
            return "it is signed by \(signer), which is no authority over \(target.authority)"
        }
        return nil
    }

    static func allows(_ privileges: [String], _ operation: String) -> Bool {
        privileges.contains { $0 == "*" || grants[$0]?.contains(operation) == true }
    }
}

/// Who made a call: the TLS client certificate (DER) that credentials must be owned by, and a name for the log.
public struct GENICaller: Sendable, Equatable {
    public var subject: String
    public var certificate: [UInt8]?

    public init(subject: String, certificate: [UInt8]?) {
        self.subject = subject
        self.certificate = certificate
    }
}
