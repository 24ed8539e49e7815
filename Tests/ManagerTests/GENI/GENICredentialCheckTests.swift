import Foundation
import Testing

@testable import Manager

/// The credential decision without I/O: which check fails gives which GENI code and message, and when a
/// signature is to be verified (docs/geni.md).
@Suite struct GENICredentialCheckTests {
    static let now = Date(timeIntervalSince1970: 1_796_320_800)
    static let alice: [UInt8] = [1, 2, 3]
    static let mallory: [UInt8] = [9, 9, 9]
    static let slice = "urn:publicid:IDN+ch.example+slice+exp1"

    static func credential(
        owner: [UInt8] = alice,
        target: String = slice,
        expires: Date = now + 3600,
        privileges: [String] = ["*"],
        signer: String? = "urn:publicid:IDN+ch.example+authority+sa"
    ) -> GENICredential {
        GENICredential(
            ownerCertificate: owner,
            ownerURN: "urn:publicid:IDN+ch.example+user+someone",
            targetURN: target,
            expires: expires,
            privileges: privileges,
            signerURN: signer,
            document: "<signed-credential/>"
        )
    }

    static func call(_ method: String = "Allocate", slice: String? = slice, caller: [UInt8]? = alice) -> GENICredentialCheck.Call {
        .init(method: method, slice: slice, callerCertificate: caller, now: now)
    }

    enum Expected: Equatable {
        case allow(Int?)
        case verify(Int)
        case refuse(GENICode, String)
    }

    typealias Candidate = GENICredentialCheck.Candidate

    static let cases: [(String, GENICredentialCheck.Call, [Candidate], Expected)] = [
        ("a good credential is verified first", call(), [Candidate(.success(credential()))], .verify(0)),
        ("a good, trusted credential allows", call(), [Candidate(.success(credential()), signature: .trusted)], .allow(0)),
        (
            "an untrusted signature is FORBIDDEN",
            call(), [Candidate(.success(credential()), signature: .untrusted("self-signed certificate"))],
            .refuse(.forbidden, "its signature does not lead to a trusted root: self-signed certificate")
        ),
        (
            "another owner is FORBIDDEN", call(), [Candidate(.success(credential(owner: mallory)))],
            .refuse(.forbidden, "is not the caller's certificate")
        ),
        (
            "another slice is FORBIDDEN", call(), [Candidate(.success(credential(target: slice + "x")))],
            .refuse(.forbidden, "not the slice \(slice)")
        ),
        (
            "slice URNs compare without case", call(slice: slice.uppercased()), [Candidate(.success(credential()))],
            .verify(0)
        ),
        (
            "info does not allow Allocate", call(), [Candidate(.success(credential(privileges: ["info", "refresh"])))],
            .refuse(.forbidden, "its privileges (info, refresh) do not grant createsliver, which Allocate needs")
        ),
        (
            "no privileges at all", call("Status"), [Candidate(.success(credential(privileges: [])))],
            .refuse(.forbidden, "its privileges (none) do not grant sliverstatus")
        ),
        ("control allows Renew", call("Renew"), [Candidate(.success(credential(privileges: ["control"])))], .verify(0)),
        ("control does not allow Shutdown", call("Shutdown"), [Candidate(.success(credential(privileges: ["control"])))],
            .refuse(.forbidden, "do not grant shutdown")),
        ("embed allows Shutdown", call("Shutdown"), [Candidate(.success(credential(privileges: ["embed"])))], .verify(0)),
        (
            "an expired credential is EXPIRED", call(), [Candidate(.success(credential(expires: now)))],
            .refuse(.expired, "Allocate refused: credential 1: it expired at 2026-12-03T18:00:00Z")
        ),
        (
            "expired and another's is FORBIDDEN", call(), [Candidate(.success(credential(owner: mallory, expires: now - 1)))],
            .refuse(.forbidden, "is not the caller's certificate; it expired at")
        ),
        (
            "an unreadable credential is FORBIDDEN with its reason", call(),
            [Candidate(.failure(.init("not well-formed XML: line 1")))],
            .refuse(.forbidden, "credential 1: not well-formed XML: line 1")
        ),
        ("no credential is FORBIDDEN", call(), [], .refuse(.forbidden, "Allocate needs a geni_sfa credential (version 3) for the slice")),
        (
            "no client certificate is FORBIDDEN", call(caller: nil), [Candidate(.success(credential()), signature: .trusted)],
            .refuse(.forbidden, "no client certificate")
        ),
        (
            "ListResources takes a user credential with info", call("ListResources", slice: nil),
            [Candidate(.success(credential(target: "urn:publicid:IDN+ch.example+user+alice", privileges: ["info"])))],
            .verify(0)
        ),
        (
            "the first good credential of several is verified", call(),
            [Candidate(.success(credential(target: "other"))), Candidate(.success(credential()))], .verify(1)
        ),
        (
            "one untrusted, the next trusted, allows", call(),
            [Candidate(.success(credential()), signature: .untrusted("no")), Candidate(.success(credential()), signature: .trusted)],
            .allow(1)
        ),
        (
            "every problem is named", call(),
            [Candidate(.success(credential(target: slice + "2"))), Candidate(.failure(.init("not XML")))],
            .refuse(.forbidden, "credential 1: it is for \(slice)2, not the slice \(slice) | credential 2: not XML")
        ),
        (
            "a user's signature is FORBIDDEN", call(),
            [Candidate(.success(credential(signer: "urn:publicid:IDN+ch.example+user+alice")))],
            .refuse(.forbidden, "signed by urn:publicid:IDN+ch.example+user+alice, not an authority")
        ),
        (
            "a signer without a URN is FORBIDDEN", call(), [Candidate(.success(credential(signer: nil)))],
            .refuse(.forbidden, "signed by a certificate without a URN, not an authority")
        ),
        (
            "another authority's signature is FORBIDDEN", call(),
            [Candidate(.success(credential(signer: "urn:publicid:IDN+elsewhere+authority+sa")))],
            .refuse(.forbidden, "which is no authority over ch.example")
        ),
        (
            "a parent authority signs for a sub-authority's slice",
            call(slice: "urn:publicid:IDN+ch.example:project+slice+exp1"),
            [Candidate(.success(credential(target: "urn:publicid:IDN+ch.example:project+slice+exp1")))], .verify(0)
        ),
        (
            "a name prefix is no parent authority", call(slice: "urn:publicid:IDN+ch.examplex+slice+exp1"),
            [Candidate(.success(credential(target: "urn:publicid:IDN+ch.examplex+slice+exp1")))],
            .refuse(.forbidden, "no authority over ch.examplex")
        ),
        ("GetVersion takes no credentials", call("GetVersion", slice: nil), [], .allow(nil)),
    ]

    @Test(arguments: cases.indices)
    func eachCheckGivesItsCodeAndMessage(index: Int) {
        let (name, call, candidates, expected) = Self.cases[index]
        let action = GENICredentialCheck.next(call, candidates)
        switch (action, expected) {
        case (.allow(let got), .allow(let want)): #expect(got == want, "\(name)")
        case (.verifySignature(let got), .verify(let want)): #expect(got == want, "\(name)")
        case (.refuse(let failure), .refuse(let code, let message)):
            #expect(failure.code == code, "\(name): \(failure)")
            #expect(failure.message.contains(message), "\(name): \(failure.message)")
        default: Issue.record("\(name): \(action), expected \(expected)")
        }
    }

    @Test func everyMethodThatTakesCredentialsNeedsAnOperation() {
        for method in ["ListResources", "Describe", "Allocate", "Renew", "Provision", "Status",
            "PerformOperationalAction", "Delete", "Shutdown"]
        {
            #expect(GENICredentialCheck.operation(forMethod: method) != nil, "\(method)")
            #expect(GENICredentialCheck.allows(["*"], GENICredentialCheck.operation(forMethod: method)!))
        }
        #expect(GENICredentialCheck.operation(forMethod: "GetVersion") == nil)
    }
}
