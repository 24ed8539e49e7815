import Commands
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

private let geniLabProblem: String? = {
    let missing = ["python3", "openssl", "xmlsec1", "qemu-img", "genisoimage", "sha256sum"].filter {
        !CommandRunner.isRunnable($0, path: nil)
    }
    let geniLib = FileManager.default.isExecutableFile(atPath: geniLibPython) ? [] : ["geni-lib at \(geniLibPython)"]
    let all = missing + geniLib
    return all.isEmpty ? nil : "not installed: \(all.joined(separator: ", ")) (scripts/install-deps)"
}()

/// The virtualenv scripts/install-deps makes for geni-lib, a GENI client library found only on PyPI.
private let geniLibPython = "/opt/torpor-test/geni-lib/bin/python"

/// The GENI Aggregate Manager (docs/geni.md) with a real client: Python's xmlrpc.client over TLS with a client
/// certificate from a clearinghouse CA made with openssl, against a lab's manager on libvirt's test driver. The
/// whole v3 cycle, Shutdown on a second slice, the bad-input codes, and a client whose certificate no trusted root
/// signed turned away by TLS.
@Suite(
    .serialized,
    .enabled(if: EndToEnd.runs(geniLabProblem), EndToEnd.reason(geniLabProblem)),
    .timeLimit(.minutes(10))
)
struct GENILabTests {
    struct Step {
        var name: String
        var object: [String: Any]
        var code: Int? { object["code"] as? Int }
        var value: Any? { object["value"] }
        var output: String { object["output"] as? String ?? "" }
    }

    static func run(_ arguments: [String], in directory: URL) async throws {
        let output = try await ProcessRunner.run(arguments, timeout: .seconds(60))
        try #require(output.succeeded, "\(arguments.joined(separator: " ")): \(output)")
    }

    /// A clearinghouse CA, the AM's certificate, the slice authority's certificate (what signs credentials), users
    /// alice and bob with their URNs as URI names, a stranger's certificate from another CA and an authority of
    /// that CA.
    static func makeCertificates(in folder: URL) async throws {
        let path = folder.path
        try FileManager.default.createDirectory(atPath: "\(path)/roots", withIntermediateDirectories: true)
        for ca in ["ch", "other"] {
            try await run(
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(ca) CA",
                    "-keyout", "\(path)/\(ca)-key.pem", "-out", "\(path)/\(ca).pem",
                ],
                in: folder
            )
        }
        try FileManager.default.copyItem(atPath: "\(path)/ch.pem", toPath: "\(path)/roots/ch.pem")
        for (name, ca, urn) in [
            ("am", "ch", "urn:publicid:IDN+torpor.test+authority+am"),
            ("sa", "ch", "urn:publicid:IDN+ch.example+authority+sa"),
            ("alice", "ch", "urn:publicid:IDN+ch.example+user+alice"),
            ("bob", "ch", "urn:publicid:IDN+ch.example+user+bob"),
            ("mallory", "other", "urn:publicid:IDN+elsewhere+user+mallory"),
            ("rogue", "other", "urn:publicid:IDN+ch.example+authority+sa"),
            // An intermediate CA under the clearinghouse, and a slice authority it issued (signer chains).
            ("ica", "ch", "urn:publicid:IDN+ch.example+authority+ica"),
            ("sa2", "ica", "urn:publicid:IDN+ch.example+authority+sa"),
        ] {
            try await run(
                [
                    "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=\(name)", "-keyout",
                    "\(path)/\(name)-key.pem", "-out", "\(path)/\(name).csr",
                ],
                in: folder
            )
            // The AM's certificate also names 127.0.0.1: geni-lib checks the host name of the AM it calls.
            let alternativeNames = name == "am" ? "URI:\(urn),IP:127.0.0.1" : "URI:\(urn)"
            let authorityExtensions =
                name == "ica" ? "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\n" : ""
            try "\(authorityExtensions)subjectAltName=\(alternativeNames)\n"
                .write(toFile: "\(path)/\(name).ext", atomically: true, encoding: .utf8)
            try await run(
                [
                    "openssl", "x509", "-req", "-in", "\(path)/\(name).csr", "-CA", "\(path)/\(ca).pem", "-CAkey",
                    "\(path)/\(ca)-key.pem", "-CAcreateserial", "-days", "2", "-extfile", "\(path)/\(name).ext",
                    "-out", "\(path)/\(name).pem",
                ],
                in: folder
            )
        }
    }

    /// A GENI SFA credential (v3) for `owner` on `target`, signed with xmlsec1 by `signer` (a certificate and key
    /// made by makeCertificates), written to `credentials/<file>.xml`.
    static func makeCredential(
        _ file: String,
        in folder: URL,
        owner: String,
        ownerURN: String,
        target: String,
        expires: Date,
        privileges: [String],
        signer: String = "sa",
        intermediates: [String] = []
    ) async throws {
        let path = folder.path
        try FileManager.default.createDirectory(atPath: "\(path)/credentials", withIntermediateDirectories: true)
        let ownerPEM = try String(contentsOfFile: "\(path)/\(owner).pem", encoding: .utf8)
        let privilegeList = privileges.map { "<privilege><name>\($0)</name><can_delegate>false</can_delegate></privilege>" }
        let template = """
            <?xml version="1.0" encoding="UTF-8"?>
            <signed-credential>
            <credential xml:id="ref0">
            <type>privilege</type>
            <serial>1</serial>
            <owner_gid>\(ownerPEM)</owner_gid>
            <owner_urn>\(ownerURN)</owner_urn>
            <target_gid>\(ownerPEM)</target_gid>
            <target_urn>\(target)</target_urn>
            <uuid/>
            <expires>\(ReservationLabTests.rfc3339(expires))</expires>
            <privileges>\(privilegeList.joined())</privileges>
            </credential>
            <signatures>
            <Signature xmlns="http://www.w3.org/2000/09/xmldsig#" xml:id="Sig_ref0">
            <SignedInfo>
            <CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
            <SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
            <Reference URI="#ref0">
            <Transforms><Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></Transforms>
            <DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
            <DigestValue/>
            </Reference>
            </SignedInfo>
            <SignatureValue/>
            <KeyInfo><X509Data><X509Certificate/></X509Data></KeyInfo>
            </Signature>
            </signatures>
            </signed-credential>

            """
        try template.write(toFile: "\(path)/credentials/\(file).template", atomically: true, encoding: .utf8)
        try await run(
            [
                "xmlsec1", "--sign", "--privkey-pem",
                (["\(path)/\(signer)-key.pem", "\(path)/\(signer).pem"] + intermediates.map { "\(path)/\($0).pem" })
                    .joined(separator: ","),
                "--output", "\(path)/credentials/\(file).xml", "\(path)/credentials/\(file).template",
            ],
            in: folder
        )
    }

    /// The credentials geni_client.py uses: alice's for each slice and for herself (ListResources), and the bad
    /// ones — expired, another slice's, signed under an unknown root, bob's, too few privileges, edited after signing,
    /// signed by alice herself.
    static func makeCredentials(in folder: URL, slice: String, other: String) async throws {
        let alice = "urn:publicid:IDN+ch.example+user+alice"
        let later = Date().addingTimeInterval(86_400)
        for (file, target) in [("slice", slice), ("other", other), ("nothing", "urn:publicid:IDN+ch.example+slice+nothing")] {
            try await makeCredential(file, in: folder, owner: "alice", ownerURN: alice, target: target, expires: later, privileges: ["*"])
        }
        // geni-lib's slice: signed by a slice authority under an intermediate CA, the intermediate in the signature;
        // and the same without the intermediate, which leads to no trusted root.
        try await makeCredential("geni-lib", in: folder, owner: "alice", ownerURN: alice, target: geniLibSlice,
            expires: later, privileges: ["*"], signer: "sa2", intermediates: ["ica"])
        try await makeCredential("geni-lib-no-intermediate", in: folder, owner: "alice", ownerURN: alice,
            target: geniLibSlice, expires: later, privileges: ["*"], signer: "sa2")
        try await makeCredential("user", in: folder, owner: "alice", ownerURN: alice, target: alice, expires: later,
            privileges: ["refresh", "resolve", "info"])
        try await makeCredential("expired", in: folder, owner: "alice", ownerURN: alice, target: slice,
            expires: Date().addingTimeInterval(-60), privileges: ["*"])
        try await makeCredential("unknown-root", in: folder, owner: "alice", ownerURN: alice, target: slice,
            expires: later, privileges: ["*"], signer: "rogue")
        try await makeCredential("bobs", in: folder, owner: "bob", ownerURN: "urn:publicid:IDN+ch.example+user+bob",
            target: slice, expires: later, privileges: ["*"])
        try await makeCredential("info-only", in: folder, owner: "alice", ownerURN: alice, target: slice,
            expires: later, privileges: ["info"])
        try await makeCredential("self-signed", in: folder, owner: "alice", ownerURN: alice, target: slice,
            expires: later, privileges: ["*"], signer: "alice")
        // Signed for a slice "exp9", then edited to name the test's slice: the digest no longer matches.
        try await makeCredential("tampered", in: folder, owner: "alice", ownerURN: alice,
            target: slice.replacingOccurrences(of: "exp1", with: "exp9"), expires: later, privileges: ["*"])
        let tampered = "\(folder.path)/credentials/tampered.xml"
        try (try String(contentsOfFile: tampered, encoding: .utf8)).replacingOccurrences(of: "+slice+exp9", with: "+slice+exp1")
            .write(toFile: tampered, atomically: true, encoding: .utf8)
    }

    /// The slice geni_lib_client.py reserves.
    static let geniLibSlice = "urn:publicid:IDN+ch.example:project+slice+lib1"

    @Test func theWholeV3CycleWithPythonsXMLRPCClientOverTLS() async throws {
        try EndToEnd.require(geniLabProblem)
        let lab = try await LabUnderTest.up(hosts: 2)
        defer { lab.tearDown() }
        let certificates = lab.directory.appendingPathComponent("geni")
        try await Self.makeCertificates(in: certificates)
        let slice = "urn:publicid:IDN+ch.example:project+slice+exp1"
        let other = "urn:publicid:IDN+ch.example:project+slice+exp2"
        try await Self.makeCredentials(in: certificates, slice: slice, other: other)
        let image = lab.directory.appendingPathComponent("debian.qcow2").path
        let made = try await ProcessRunner.run(["qemu-img", "create", "-q", "-f", "qcow2", image, "64M"])
        try #require(made.succeeded, "\(made)")
        let flavor = try await lab.torpor(["flavor", "create", "small", "--vcpus", "1", "--memory", "256M"])
        try #require(flavor.succeeded, "\(flavor)")
        try #require(try await lab.torpor(["image", "add", "debian-12", image]).succeeded)

        // The AM on a port of the lab's range, switched on in the manager's file, the manager restarted.
        let port = TorporLabTests.freePortRange(count: 1)
        let (pid, config, _) = try lab.process("manager")
        let c = certificates.path
        let yaml = try String(contentsOfFile: config, encoding: .utf8)
        try (yaml
            + """

            geni:
              enabled: true
              listen: 127.0.0.1:\(port)
              certificate: \(c)/am.pem
              key: \(c)/am-key.pem
              trust_roots: \(c)/roots
              authority: torpor.test
              maximum_duration: 720h
              max_connections: 4

            """).write(toFile: config, atomically: true, encoding: .utf8)
        kill(pid_t(pid), SIGTERM)
        let stopped = await lab.eventually(timeout: .seconds(60)) { !TorporLabTests.isAlive(pid) }
        try #require(stopped, "the manager did not stop")
        let manager = try lab.restart("manager")
        defer { manager.kill() }
        let url = "https://127.0.0.1:\(port)/"
        let getVersion =
            "import ssl,xmlrpc.client,sys;c=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT);c.check_hostname=False;"
            + "c.verify_mode=ssl.CERT_NONE;c.load_cert_chain(sys.argv[2],sys.argv[3]);"
            + "print(xmlrpc.client.ServerProxy(sys.argv[1],context=c).GetVersion({})['code']['geni_code'])"
        let listening = await lab.eventually(timeout: .seconds(90)) {
            let probe = try await ProcessRunner.run(
                ["python3", "-c", getVersion, url, "\(c)/alice.pem", "\(c)/alice-key.pem"],
                timeout: .seconds(20)
            )
            return probe.succeeded && probe.stdout.hasPrefix("0")
        }
        let restartedLog = (try? String(
            contentsOf: lab.directory.appendingPathComponent("manager-restarted.stderr"),
            encoding: .utf8
        )) ?? ""
        try #require(listening, "the AM did not listen\n\(restartedLog.suffix(3000))")
        let hosts = await lab.eventually(timeout: .seconds(60)) { try await lab.hosts().count == 2 }
        try #require(hosts)

        let script = try #require(Bundle.module.url(forResource: "Fixtures/geni/geni_client", withExtension: "py")).path
        let client = try await ProcessRunner.run(
            ["python3", script, url, "\(c)/alice.pem", "\(c)/alice-key.pem", slice, other, "\(c)/credentials"],
            timeout: .seconds(300)
        )
        try #require(client.succeeded, "\(client)")
        var steps: [String: Step] = [:]
        for line in client.stdout.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let name = object["step"] as? String
            else { continue }
            steps[name] = Step(name: name, object: object)
        }
        func code(_ name: String) -> Int? { steps[name]?.code }
        func slivers(_ name: String) -> [[String: Any]] {
            ((steps[name]?.value as? [String: Any])?["geni_slivers"] as? [[String: Any]])
                ?? (steps[name]?.value as? [[String: Any]]) ?? []
        }

        // Every step of the client answered (a step missing would leave its code nil).
        #expect(steps.count == 37, "\(client.stdout)")
        // Credentials (issue 16 item 2): each bad one refused with its code and why, before anything was made.
        for (name, want, reason) in [
            ("ListResources without credentials", 3, "needs a geni_sfa credential"),
            ("Allocate without credentials", 3, "needs a geni_sfa credential"),
            ("Allocate expired", 15, "it expired at"),
            ("Allocate with another slice's", 3, "not the slice \(slice)"),
            ("Allocate signed under an unknown root", 3, "does not lead to a trusted root"),
            ("Allocate with bob's", 3, "(urn:publicid:IDN+ch.example+user+bob) is not the caller's certificate"),
            ("Allocate info only", 3, "do not grant createsliver"),
            ("Allocate tampered", 3, "does not lead to a trusted root"),
            ("Allocate self-signed", 3, "not an authority"),
            ("Allocate garbage", 3, "not well-formed XML"),
        ] {
            #expect(code(name) == want, "\(name): \(steps[name]?.object ?? [:])")
            #expect(steps[name]?.output.contains(reason) == true, "\(name): \(steps[name]?.output ?? "(no step)")")
        }
        #expect(code("GetVersion") == 0)
        #expect((steps["GetVersion"]?.value as? [String: Any])?["geni_api"] as? Int == 3)
        #expect(code("ListResources") == 0)
        let advertisement = steps["advertisement"]?.value as? String ?? ""
        #expect(advertisement.contains("urn:publicid:IDN+torpor.test+node+host-1"), "\(advertisement)")
        #expect(advertisement.contains("<sliver_type name=\"small\">"), "\(advertisement)")
        #expect(steps["compressed"]?.object["same"] as? Bool == true)
        #expect(steps["compressed"]?.object["smaller"] as? Bool == true, "geni_compressed is deflated, not stored")
        #expect(code("ListResources without a version") == 1)
        #expect(code("ListResources of version 2") == 4)
        #expect(code("Allocate") == 0, "\(steps["Allocate"]?.output ?? "")")
        #expect(slivers("Allocate").first?["geni_allocation_status"] as? String == "geni_allocated")
        #expect(code("Allocate again") == 17)
        #expect(code("Allocate malformed") == 1)
        #expect(code("Allocate empty") == 1)
        #expect(code("Allocate unknown type") == 1)
        #expect(steps["Allocate unknown type"]?.output.contains("unknown sliver type 'enormous'") == true)
        #expect(code("Status") == 0)
        #expect(code("Describe") == 0)
        #expect(((steps["Describe"]?.value as? [String: Any])?["geni_rspec"] as? String)?.contains("sliver_id=") == true)
        #expect(code("Renew") == 0, "\(steps["Renew"]?.output ?? "")")
        #expect(code("Renew past the maximum") == 7)
        #expect(code("Status of a slice not here") == 12)
        #expect(code("Provision") == 0, "\(steps["Provision"]?.output ?? "")")
        #expect(slivers("Provision").first?["geni_allocation_status"] as? String == "geni_provisioned")
        #expect(code("PerformOperationalAction") == 0, "\(steps["PerformOperationalAction"]?.output ?? "")")
        #expect(slivers("Status ready").first?["geni_operational_status"] as? String == "geni_ready",
            "\(steps["Status ready"]?.object ?? [:])")
        let manifest = (steps["Describe provisioned"]?.value as? [String: Any])?["geni_rspec"] as? String ?? ""
        #expect(manifest.contains("<login authentication=\"ssh-keys\" hostname=\"10.42.0."), "\(manifest)")
        #expect(code("Delete") == 0)
        #expect(slivers("Delete").first?["geni_allocation_status"] as? String == "geni_unallocated")
        #expect(code("Status after Delete") == 12)
        #expect(code("Shutdown") == 0, "\(steps["Shutdown"]?.output ?? "")")
        #expect(slivers("Status after Shutdown").first?["geni_operational_status"] as? String == "geni_notready")

        // geni-lib, a GENI client library: its request RSpec is accepted, its readers parse our advertisement and
        // manifests, and its calls (which verify the AM's certificate against the clearinghouse root) run a slice.
        let libScript = try #require(Bundle.module.url(forResource: "Fixtures/geni/geni_lib_client", withExtension: "py")).path
        let library = try await ProcessRunner.run(
            [
                geniLibPython, libScript, url, "\(c)/alice.pem", "\(c)/alice-key.pem", "\(c)/ch.pem", Self.geniLibSlice,
                "\(c)/credentials/geni-lib.xml", "debian-12", "\(c)/credentials/geni-lib-no-intermediate.xml",
            ],
            timeout: .seconds(300)
        )
        try #require(library.succeeded, "\(library)")
        let lib = try #require(try JSONSerialization.jsonObject(with: Data(library.stdout.utf8)) as? [String: Any], "\(library)")
        func libPart(_ key: String) -> [String: Any] { lib[key] as? [String: Any] ?? [:] }
        #expect(libPart("getversion")["code"] as? Int == 0 && libPart("getversion")["api"] as? Int == 3, "\(lib)")
        let advertised = lib["advertisement"] as? [[String: Any]] ?? []
        #expect(advertised.count == 2, "geni-lib read \(advertised.count) nodes: \(lib)")
        for node in advertised {
            #expect((node["component_id"] as? String)?.hasPrefix("urn:publicid:IDN+torpor.test+node+host-") == true, "\(node)")
            #expect((node["sliver_types"] as? [String])?.contains("small") == true, "\(node)")
            #expect((node["images"] as? [String])?.contains("debian-12") == true, "\(node)")
        }
        // A signer chain: without its intermediate the credential leads to no trusted root; with it, it is accepted.
        #expect(libPart("allocate without the intermediate")["code"] as? Int == 3, "\(lib)")
        #expect((libPart("allocate without the intermediate")["output"] as? String)?.contains("does not lead to a trusted root") == true,
            "\(lib)")
        #expect(libPart("allocate")["code"] as? Int == 0, "\(lib["request"] ?? "") → \(libPart("allocate"))")
        let allocatedNodes = libPart("allocate")["nodes"] as? [[String: Any]] ?? []
        #expect(allocatedNodes.count == 1 && allocatedNodes.first?["client_id"] as? String == "lib-node", "\(lib)")
        #expect((allocatedNodes.first?["sliver_id"] as? String)?.contains("+sliver+") == true, "\(lib)")
        #expect(libPart("provision")["code"] as? Int == 0, "\(libPart("provision"))")
        #expect(libPart("start")["code"] as? Int == 0, "\(libPart("start"))")
        let described = (lib["described"] as? [[String: Any]])?.first ?? [:]
        let logins = described["logins"] as? [[String: Any]] ?? []
        #expect(logins.first?["auth"] as? String == "ssh-keys" && logins.first?["port"] as? Int == 22, "\(described)")
        #expect((logins.first?["hostname"] as? String)?.hasPrefix("10.42.0.") == true, "\(described)")
        #expect(lib["status"] as? [String] == ["geni_ready"], "\(lib)")
        #expect(libPart("delete")["code"] as? Int == 0, "\(libPart("delete"))")
        #expect(libPart("delete")["states"] as? [String] == ["geni_unallocated"], "\(libPart("delete"))")

        // Four clients that connect and drip half a request hold every place: a fifth connection is closed at once,
        // the four are closed by the 30 s request deadline, and then a call is served again.
        let slowScript = try #require(Bundle.module.url(forResource: "Fixtures/geni/geni_slow_clients", withExtension: "py")).path
        let slow = try await ProcessRunner.run(
            ["python3", slowScript, "127.0.0.1", "\(port)", "\(c)/alice.pem", "\(c)/alice-key.pem", "4"],
            timeout: .seconds(240)
        )
        try #require(slow.succeeded, "\(slow)")
        let held = try #require(try JSONSerialization.jsonObject(with: Data(slow.stdout.utf8)) as? [String: Any], "\(slow)")
        #expect(held["held"] as? Int == 4, "\(held)")
        #expect(held["fifth_refused"] as? Bool == true, "\(held)")
        let closedAfter = held["closed_after_seconds"] as? [Double] ?? []
        #expect(closedAfter.count == 4 && closedAfter.allSatisfy { $0 >= 20 && $0 < 150 }, "closed by the 30 s deadline: \(held)")
        #expect(held["served_after"] as? Int == 0, "\(held)")

        // A certificate no trusted root signed is turned away by TLS before any call.
        let stranger = try await ProcessRunner.run(
            ["python3", "-c", getVersion, url, "\(c)/mallory.pem", "\(c)/mallory-key.pem"],
            timeout: .seconds(60)
        )
        #expect(!stranger.succeeded && (stranger.stderr.contains("SSL") || stranger.stderr.contains("Connection")),
            "\(stranger)")
    }
}
