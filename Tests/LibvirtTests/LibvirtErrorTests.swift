import Foundation
import Testing

@testable import Libvirt

#if canImport(Glibc)
import Glibc
#endif

@Suite struct LibvirtErrorTests {
    static let unreachableURI = "qemu:///system?socket=/nonexistent/torpor-libvirt.sock"

    @Test(arguments: [unreachableURI, "bogus:///nothing", "qemu+tcp://127.0.0.1:1/system"])
    func openingABadURINamesIt(uri: String) async throws {
        let error = try #require(
            await libvirtError { () async throws(LibvirtError) in try await LibvirtConnection.open(uri) }
        )
        #expect(error.code != 0)
        #expect(error.function == "virConnectOpen")
        #expect(error.subject == uri)
        #expect(error.description.contains(uri))
        #expect(!error.message.isEmpty)
    }

    @Test func missingDomainIsNoDomain() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let byName = try #require(
            await libvirtError { () async throws(LibvirtError) in try await connection.domain(named: "torpor-missing") }
        )
        #expect(byName.errorCode == .noDomain)
        #expect(byName.code == LibvirtError.Code.noDomain.rawValue)
        #expect(byName.function == "virDomainLookupByName")
        #expect(byName.subject == "torpor-missing")
        // The test driver's message is just "Domain not found"; the subject says which one.
        #expect(byName.description.contains("torpor-missing"))

        let byUUID = await libvirtError { () async throws(LibvirtError) in try await connection.domain(uuid: UUID()) }
        #expect(byUUID?.errorCode == .noDomain)
        #expect(byUUID?.function == "virDomainLookupByUUID")
    }

    @Test func malformedXMLIsRefused() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let broken = try #require(
            await libvirtError { () async throws(LibvirtError) in
                try await connection.defineDomain(xml: "<domain type='test'><name>broken")
            }
        )
        #expect(broken.errorCode == .xmlDetail)
        #expect(broken.function == "virDomainDefineXML")

        // Well-formed but not a domain libvirt accepts.
        let incomplete = try #require(
            await libvirtError { () async throws(LibvirtError) in try await connection.defineDomain(xml: "<domain/>") }
        )
        #expect(incomplete.code != 0)
        #expect(incomplete.function == "virDomainDefineXML")
    }

    @Test func wrongSizedUUIDIsAnInvalidArgument() async throws {
        let connection = try await LibvirtConnection.open(DefaultDriver.uri)
        let error = await libvirtError { () async throws(LibvirtError) in
            try await connection.domain(uuidBytes: [1, 2, 3])
        }
        #expect(error?.errorCode == .invalidArgument)
        #expect(error?.subject == "3 bytes")
    }

    @Test func operationInvalidForTheStateIsReported() async throws {
        let connection = try await NodeFixture.open()
        let domain = try await connection.domain(named: "db-1")
        try await domain.destroy()
        let error = await libvirtError { () async throws(LibvirtError) in try await domain.memoryStats() }
        #expect(error?.errorCode == .operationInvalid)
        #expect(error?.function == "virDomainMemoryStats")
        #expect(error?.subject == "db-1")
        #expect(error?.message.contains("not running") == true)
    }

    @Test func errorsGoToTheSilentHandler() async throws {
        try LibvirtEventLoop.ensureInitialized()
        let before = LibvirtEventLoop.silencedErrorCount
        _ = await libvirtError { () async throws(LibvirtError) in
            try await LibvirtConnection.open(Self.unreachableURI)
        }
        #expect(LibvirtEventLoop.silencedErrorCount > before)
    }

    /// libvirt's default handler prints each error to stderr; ours must not. Checked in forked children so the
    /// test runner's own stderr is untouched: one with our handler (silent), one with libvirt's default (loud),
    /// which proves the check would notice.
    @Test func libvirtPrintsNothingToStderr() throws {
        try LibvirtEventLoop.ensureInitialized()
        // Take the same path once here first, so the child finds libvirt's and Swift's lazy state already built.
        _ = try? ConnectionHandle.open(uri: Self.unreachableURI)
        let silent = try stderrOfChild {
            _ = try? ConnectionHandle.open(uri: Self.unreachableURI)
        }
        #expect(silent.exitStatus == 0)
        #expect(silent.stderr == "")

        let loud = try stderrOfChild {
            LibvirtEventLoop.restoreDefaultErrorPrinterForTesting()
            _ = try? ConnectionHandle.open(uri: Self.unreachableURI)
        }
        #expect(loud.exitStatus == 0)
        #expect(loud.stderr.contains("nonexistent/torpor-libvirt.sock"))
    }

    /// Forks, runs `body` in the child with stderr on a pipe, and returns what the child wrote there. A child forked
    /// while another thread held a lock libvirt needs hangs on it: its alarm ends it, and it is forked again.
    private func stderrOfChild(_ body: () -> Void) throws -> (stderr: String, exitStatus: Int32) {
        var result = try forkOnce(body)
        for _ in 1..<5 where result.exitStatus == -1 {
            result = try forkOnce(body)
        }
        return result
    }

    private func forkOnce(_ body: () -> Void) throws -> (stderr: String, exitStatus: Int32) {
        var descriptors: [Int32] = [-1, -1]
        try #require(pipe(&descriptors) == 0)
        let child = fork()
        try #require(child >= 0)
        if child == 0 {
            // Child: a single thread, so only async-signal-safe-ish work and a hard exit. The alarm ends a hang, and
            // the forking thread (a dispatch worker) blocks most signals, so SIGALRM is unblocked first.
            var alarmOnly = sigset_t()
            sigemptyset(&alarmOnly)
            sigaddset(&alarmOnly, SIGALRM)
            pthread_sigmask(SIG_UNBLOCK, &alarmOnly, nil)
            signal(SIGALRM, SIG_DFL)
            alarm(5)
            dup2(descriptors[1], STDERR_FILENO)
            close(descriptors[0])
            close(descriptors[1])
            body()
            _exit(0)
        }
        close(descriptors[1])
        let output = FileHandle(fileDescriptor: descriptors[0], closeOnDealloc: true).readDataToEndOfFile()
        var status: Int32 = 0
        waitpid(child, &status, 0)
        // WIFEXITED/WEXITSTATUS are macros Swift cannot import: low 7 bits = signal, next byte = exit code.
        let exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : -1
        return (String(decoding: output, as: UTF8.self), exitStatus)
    }
}
