import Foundation
import Systemd
import TestSupport
import Testing

extension SystemdSuite {
    @Suite(.enabled(if: OwnProcess.isChild, OwnProcess.reason)) struct ListenFileDescriptorsTests {
        /// What take() returned, comparable (tuples are not Equatable).
        private static func pairs(_ descriptors: [(fd: Int32, name: String)]) -> [String] {
            descriptors.map { "\($0.fd) \($0.name)" }
        }

        @Test func emptyWhenNotSocketActivated() throws {
            let environment = EnvironmentOverride(["LISTEN_FDS": nil, "LISTEN_PID": nil, "LISTEN_FDNAMES": nil])
            defer { environment.restore() }
            #expect(try ListenFileDescriptors.take().isEmpty)
        }

        /// As systemd would leave it: LISTEN_* set and the socket at fd 3. In-process, fd 3 usually already
        /// belongs to the runtime (an epoll descriptor), so it is borrowed, never replaced; see `ListenStart`.
        @Test func takesNamedDescriptorsAndUnsetsTheEnvironment() throws {
            let descriptors = try ListenStart(count: 2)
            defer { descriptors.release() }
            let environment = EnvironmentOverride([
                "LISTEN_FDS": "2", "LISTEN_PID": String(getpid()), "LISTEN_FDNAMES": "torpor-agent:metrics",
            ])
            defer { environment.restore() }

            #expect(try Self.pairs(ListenFileDescriptors.take()) == ["3 torpor-agent", "4 metrics"])
            for name in ["LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"] {
                #expect(environmentValue(name) == nil, "\(name) still set")
            }
            // sd_listen_fds marks them close-on-exec, and a second take() finds nothing.
            #expect(fcntl(3, F_GETFD) & FD_CLOEXEC != 0)
            #expect(try ListenFileDescriptors.take().isEmpty)
        }

        @Test func unnamedDescriptorsAreCalledUnknown() throws {
            let descriptors = try ListenStart(count: 1)
            defer { descriptors.release() }
            let environment = EnvironmentOverride([
                "LISTEN_FDS": "1", "LISTEN_PID": String(getpid()), "LISTEN_FDNAMES": nil,
            ])
            defer { environment.restore() }

            #expect(try Self.pairs(ListenFileDescriptors.take()) == ["3 unknown"])
        }

        @Test func descriptorsForAnotherProcessAreIgnoredButUnset() throws {
            let environment = EnvironmentOverride([
                "LISTEN_FDS": "1", "LISTEN_PID": String(getpid() + 1), "LISTEN_FDNAMES": "torpor-agent",
            ])
            defer { environment.restore() }
            #expect(try ListenFileDescriptors.take().isEmpty)
            #expect(environmentValue("LISTEN_FDS") == nil)
        }

        @Test func malformedListenFdsThrows() throws {
            let environment = EnvironmentOverride(["LISTEN_FDS": "one", "LISTEN_PID": String(getpid())])
            defer { environment.restore() }
            #expect(throws: SystemdError(function: "sd_listen_fds_with_names", errno: EINVAL)) {
                try ListenFileDescriptors.take()
            }
        }

        /// The real thing: systemd-socket-activate binds a unix socket, passes it to a copy of this test binary
        /// on the first connection, and that child answers on the connection with what take() returned.
        @Test(
            .enabled(
                if: TestChild.role != nil || Prerequisites.runs(Prerequisites.systemdSocketActivate),
                "SKIPPED end-to-end: needs systemd-socket-activate"
            )
        )
        func listenFdsThroughSystemdSocketActivate() async throws {
            if TestChild.role == "listen-fds" {
                try Self.serveWhatTakeReturned()
                return
            }
            try Prerequisites.require(Prerequisites.systemdSocketActivate, "systemd-socket-activate")
            let directory = try TemporaryDirectory("listen")
            defer { directory.remove() }
            let socketPath = directory.file("agent.sock")
            var arguments = [
                Prerequisites.systemdSocketActivatePath, "--listen=\(socketPath)", "--fdname=torpor-agent",
            ]
            // systemd-socket-activate hands the child a minimal environment: the role goes in explicitly.
            arguments.append("--setenv=\(TestChild.roleVariable)=listen-fds")
            arguments += TestChild.command(running: "listenFdsThroughSystemdSocketActivate")
            let activator = try BackgroundProcess(
                arguments,
                environment: TestChild.environment(role: nil),
                outputPath: directory.file("output")
            )

            // The first connection makes systemd-socket-activate exec the child.
            var connection: Int32?
            let deadline = ContinuousClock.now + .seconds(10)
            while connection == nil, ContinuousClock.now < deadline {
                connection = try connectUnixStream(path: socketPath)
                if connection == nil { try await Task.sleep(for: .milliseconds(10)) }
            }
            let fd = try #require(connection, "systemd-socket-activate never listened:\n\(activator.stdout)")
            defer { close(fd) }

            #expect(readAll(fd) == "3 torpor-agent\n")
            let status = await activator.exitStatus(killingAfter: .seconds(60))
            #expect(status == 0, "child failed:\n\(activator.stdout)")
        }

        /// Child side: takes the passed socket, accepts the parent's connection on it, and reports.
        private static func serveWhatTakeReturned() throws {
            let descriptors = try ListenFileDescriptors.take()
            #expect(environmentValue("LISTEN_FDS") == nil)
            let listener = try #require(descriptors.first)
            let connection = accept(listener.fd, nil, nil)
            try #require(connection >= 0)
            defer { close(connection) }
            let report = Self.pairs(descriptors).joined(separator: "\n") + "\n"
            _ = report.withCString { write(connection, $0, strlen($0)) }
        }
    }
}

/// Makes fds 3..<3+count valid until `release()`: a free one gets a socket that is closed again, a taken one
/// (the test runner's own) is borrowed and only its close-on-exec flag, which sd_listen_fds sets, restored.
/// F_DUPFD picks the lowest free number atomically, so nothing another thread opened is ever replaced.
private struct ListenStart {
    private var owned: [Int32] = []
    private var borrowed: [(fd: Int32, flags: Int32)] = []

    init(count: Int32) throws {
        for fd in ListenFileDescriptors.start..<(ListenFileDescriptors.start + count) {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 {
                self.borrowed.append((fd, flags))
                continue
            }
            // A process with few descriptors open (a child of the test binary) gets `fd` itself for the socket.
            let socket = try makeUnixSocket(type: Int32(SOCK_STREAM.rawValue))
            if socket == fd {
                self.owned.append(socket)
                continue
            }
            let copy = fcntl(socket, F_DUPFD, fd)
            close(socket)
            guard copy == fd else {
                // Another thread opened fd `fd` meanwhile: give up rather than guess.
                if copy >= 0 { close(copy) }
                self.release()
                throw SocketError(call: "fcntl(F_DUPFD, \(fd))", errno: EBUSY)
            }
            self.owned.append(copy)
        }
    }

    func release() {
        for fd in self.owned { close(fd) }
        for (fd, flags) in self.borrowed { _ = fcntl(fd, F_SETFD, flags) }
    }
}
