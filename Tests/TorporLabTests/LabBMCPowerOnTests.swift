import Commands
import Foundation
import Testing

@testable import TorporLab

#if canImport(Glibc)
import Glibc
#endif

/// A `--libvirt kvm --bmc` host's power-on script, run as ipmi_sim runs it, with a recording stand-in for
/// scripts/lab-libvirtd (the real one needs root and KVM; KVMLabNetworkTests runs it) and `sleep` as the agent.
@Suite(.timeLimit(.minutes(2)))
struct LabBMCPowerOnTests {
    /// A scratch directory with the stand-in script, which appends "NETNS TCP ARGS…" to calls.log and, for stop,
    /// waits until `release()` (when `holdStop`) and then writes "stopped".
    struct Host {
        let directory: URL
        let libvirtd: LabState.LibvirtDaemon
        let powerOn: String
        var calls: String {
            (try? String(contentsOf: directory.appendingPathComponent("calls.log"), encoding: .utf8)) ?? ""
        }

        /// `agent` nil: a long `sleep`, found by `agentProcesses`.
        init(agent: [String]? = nil, startStatus: Int = 0, holdStop: Bool = false) throws {
            directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("torpor-lab-power-on-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let sleep = directory.appendingPathComponent("agent-sleep").path
            try FileManager.default.createSymbolicLink(atPath: sleep, withDestinationPath: "/bin/sleep")
            let script = directory.appendingPathComponent("lab-libvirtd").path
            let calls = directory.appendingPathComponent("calls.log").path
            try ExecutableFile.write(
                """
                #!/bin/sh
                echo "$LAB_LIBVIRTD_NETNS $LAB_LIBVIRTD_TCP $*" >>'\(calls)'
                if [ "$1" = stop ]; then
                  while [ \(holdStop ? 1 : 0) = 1 ] && [ ! -e '\(directory.path)/release' ]; do sleep 0.05; done
                  echo stopped >>'\(calls)'
                fi
                [ "$1" = start ] && exit \(startStatus)
                exit 0

                """,
                to: script
            )
            libvirtd = LabState.LibvirtDaemon(
                hostId: "host-1",
                base: directory.appendingPathComponent("base").path,
                uri: "qemu:///system?socket=/nonexistent",
                script: script,
                namespace: "torpor-41000-1",
                address: "10.160.40.11"
            )
            powerOn = directory.appendingPathComponent("power-on").path
            try ExecutableFile.write(
                LabBMC.powerOnScript(
                    agentArgv: agent ?? [sleep, "600"],
                    agentLog: directory.appendingPathComponent("agent.log").path,
                    libvirtd: libvirtd
                ),
                to: powerOn
            )
            try FileManager.default.createDirectory(atPath: libvirtd.base, withIntermediateDirectories: true)
        }

        /// Lets a held stop finish.
        func release() throws { try Data().write(to: directory.appendingPathComponent("release")) }

        /// Kills any agent left and removes the directory.
        func remove() {
            for pid in agentProcesses { kill(pid, SIGKILL) }
            try? FileManager.default.removeItem(at: directory)
        }

        /// Starts the power-on script as ipmi_sim does (empty signal mask, default dispositions).
        func startPowerOnScript() throws -> pid_t {
            try LabProcesses.spawn(
                [powerOn],
                stdout: directory.appendingPathComponent("power-on.out").path,
                stderr: nil,
                append: true,
                newSession: true
            )
        }

        /// The running `sleep` agents (their argv[0] is this host's link to sleep).
        var agentProcesses: [pid_t] { LabBMCPowerOnTests.processes(containing: directory.path + "/agent-sleep") }

        var startLine: String { "torpor-41000-1 10.160.40.11 start \(libvirtd.base) host-1" }
        var stopLine: String { "  stop \(libvirtd.base)" }
    }

    /// Polls `condition` every 50 ms for up to `timeout`.
    static func eventually(_ timeout: Duration = .seconds(30), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition()
    }

    /// The exit status of our child `pid` once it ended, nil if it still runs at the deadline.
    static func exitStatus(_ pid: pid_t, within timeout: Duration = .seconds(30)) async -> Int32? {
        var status: Int32 = 0
        let ended = await eventually(timeout) { waitpid(pid, &status, WNOHANG) == pid }
        return ended ? (status >> 8) & 0xff : nil
    }

    /// Pids of processes whose command line contains `marker`.
    static func processes(containing marker: String) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(pid_t.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return String(decoding: data, as: UTF8.self).contains(marker) && !state.contains(") Z")
        }
    }

    /// Power off (SIGTERM from ipmi_sim) kills the agent and ends the script at once: the host is off while its
    /// libvirtd still stops behind it, so a power on right after is not taken for "already on".
    @Test func powerOffEndsTheHostAtOnceAndStopsTheLibvirtdBehindIt() async throws {
        let host = try Host(holdStop: true)
        defer { host.remove() }
        let pid = try host.startPowerOnScript()
        defer { kill(pid, SIGKILL) }
        #expect(await Self.eventually { !host.agentProcesses.isEmpty }, "the agent never started")
        #expect(host.calls == "\(host.startLine)\n", "\(host.calls)")

        kill(pid, SIGTERM)
        #expect(await Self.exitStatus(pid) != nil, "the power-on script did not end while the libvirtd stops")
        #expect(host.agentProcesses.isEmpty, "the agent outlived its host's power")
        #expect(await Self.eventually { host.calls.contains("stop") }, "\(host.calls)")
        #expect(!host.calls.contains("stopped"), "\(host.calls)")
        try host.release()
        #expect(await Self.eventually { host.calls.hasSuffix("stopped\n") }, "\(host.calls)")
        #expect(host.calls == "\(host.startLine)\n\(host.stopLine)\nstopped\n", "\(host.calls)")
    }

    /// The agent's power command stops the agent: the host goes down with its libvirtd.
    @Test func anAgentThatEndsTakesTheLibvirtdWithIt() async throws {
        let host = try Host(agent: ["/bin/sh", "-c", "sleep 0.3"])
        defer { host.remove() }
        let pid = try host.startPowerOnScript()
        defer { kill(pid, SIGKILL) }
        #expect(await Self.exitStatus(pid) != nil, "the power-on script did not end")
        #expect(await Self.eventually { host.calls.hasSuffix("stopped\n") }, "\(host.calls)")
        #expect(host.calls == "\(host.startLine)\n\(host.stopLine)\nstopped\n", "\(host.calls)")
    }

    @Test func aLibvirtdThatDoesNotStartKeepsTheHostOff() async throws {
        let host = try Host(startStatus: 1)
        defer { host.remove() }
        let pid = try host.startPowerOnScript()
        defer { kill(pid, SIGKILL) }
        #expect(await Self.exitStatus(pid) == 1)
        #expect(host.agentProcesses.isEmpty, "an agent started without its libvirtd")
        #expect(host.calls == "\(host.startLine)\n", "\(host.calls)")
    }

    /// The agent's power command kills the agent even if it would take its time over SIGTERM (here: ignores it).
    /// With SIGTERM it outlived its manager connection, and a wake sent then was dropped by ipmi_sim as "already
    /// on" (this test fails with the old `kill -TERM`: the agent stayed).
    @Test func thePowerCommandKillsTheAgentAtOnce() async throws {
        let host = try Host()
        defer { host.remove() }
        let script = host.directory.appendingPathComponent("power-off").path
        try ExecutableFile.write(LabBMC.powerOffScript(directory: host.directory.path, bmc: nil), to: script)
        // The "agent": a shell that ignores SIGTERM, runs the power command, then idles as the agent would.
        let agent = try LabProcesses.spawn(
            [
                "/bin/sh", "-c",
                "trap '' TERM; '\(script)' suspend-to-ram; exec '\(host.directory.path)/agent-sleep' 600",
            ],
            stdout: host.directory.appendingPathComponent("agent.out").path,
            stderr: nil,
            append: true,
            newSession: true
        )
        defer { kill(agent, SIGKILL) }
        #expect(await Self.exitStatus(agent) != nil, "the agent survived its power command")
        let actions = try String(
            contentsOf: host.directory.appendingPathComponent("power-actions.log"),
            encoding: .utf8
        )
        #expect(actions.contains("suspend-to-ram"), "\(actions)")
    }

    /// A test-driver host is its agent: the script execs it.
    @Test func aTestDriverHostIsItsAgent() {
        let script = LabBMC.powerOnScript(
            agentArgv: ["/usr/bin/torpor-agent", "--config", "a b.yaml"],
            agentLog: "/l",
            libvirtd: nil
        )
        #expect(script.contains("exec '/usr/bin/torpor-agent' '--config' 'a b.yaml' >>'/l' 2>&1"), "\(script)")
    }
}
