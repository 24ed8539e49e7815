import Commands
import Foundation

/// `torpor-lab up --bmc`: an OpenIPMI `ipmi_sim` per host on loopback. Chassis power on starts the host's agent
/// (the BMC's start command execs it), power off stops it (ipmi_sim sends it SIGTERM). The agent's power actions
/// run a script that asks the host's own BMC for power off, so a host the manager puts to sleep really is off
/// and can only come back through its BMC.
enum LabBMC {
    struct Host {
        var index: Int
        var directory: String
        var lanPort: Int
        var serialPort: Int
        var password: String
        /// Where the BMC listens: loopback, or with --wol the lab's bridge (the management network every host
        /// namespace reaches, as a real BMC's is).
        var address = "127.0.0.1"

        var hostID: String { "host-\(index)" }
        var passwordFile: String { "\(directory)/password" }
        var powerOffScript: String { "\(directory)/power-off" }
        var powerValueFile: String { "\(directory)/power.val" }
        var lanConfig: String { "\(directory)/lan.conf" }
        var emulatorFile: String { "\(directory)/host.emu" }
        var stateDirectory: String { "\(directory)/state" }
        var log: String { "\(directory)/ipmi_sim.log" }
    }

    /// The BMC's password file, 0600 from its creation (never readable by others for a moment, as a written-then-
    /// chmodded file is): the manager reads it, and refuses it readable by others, when it starts, which is before
    /// the BMCs are prepared.
    static func writePassword(_ host: Host) throws {
        try FileManager.default.createDirectory(atPath: host.directory, withIntermediateDirectories: true)
        let descriptor = open(host.passwordFile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw LabError("cannot write \(host.passwordFile): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        let bytes = Array("\(host.password)\n".utf8)
        guard fchmod(descriptor, 0o600) == 0, write(descriptor, bytes, bytes.count) == bytes.count else {
            throw LabError("cannot write \(host.passwordFile): \(String(cString: strerror(errno)))")
        }
    }

    /// Writes the SDR, emulator, LAN configuration, password and power scripts of one host's BMC. With `libvirtd`
    /// (a `--libvirt kvm` lab) the host's power also starts and stops its libvirtd.
    static func prepare(
        _ host: Host,
        agentArgv: [String],
        agentLog: String,
        libvirtd: LabState.LibvirtDaemon? = nil
    ) async throws(LabError) {
        let fileManager = FileManager.default
        let sdrDirectory = "\(host.stateDirectory)/ipmi_sim/\(host.hostID)"
        do {
            try fileManager.createDirectory(atPath: sdrDirectory, withIntermediateDirectories: true)
            try sdrSource.write(toFile: "\(host.directory)/host.sdrs", atomically: true, encoding: .utf8)
            // Idle power; the BMC reads the file every second.
            try "50\n".write(toFile: host.powerValueFile, atomically: true, encoding: .utf8)
            try """
            mc_setbmc 0x20
            mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
            sel_enable 0x20 50 0x0a
            sensor_add 0x20 0 1 0x03 0x01 poll 1000 file "\(host.powerValueFile)"
            mc_enable 0x20

            """.write(toFile: host.emulatorFile, atomically: true, encoding: .utf8)
            // `torpor-lab up` wrote it before starting the manager, which may be reading it now.
            if !fileManager.fileExists(atPath: host.passwordFile) { try writePassword(host) }
            let powerOn = "\(host.directory)/power-on"
            // ipmi_sim runs them while the lab (or a test process) may be starting other programs.
            try ExecutableFile.write(
                powerOnScript(agentArgv: agentArgv, agentLog: agentLog, libvirtd: libvirtd),
                to: powerOn
            )
            try ExecutableFile.write(powerOffScript(directory: host.directory, bmc: host), to: host.powerOffScript)
            try """
            name "\(host.hostID)"
            set_working_mc 0x20
              startlan 1
                addr \(host.address) \(host.lanPort)
                priv_limit admin
                allowed_auths_admin none md2 md5 straight
                guid \(String(format: "%032x", host.index))
              endlan
              serial 15 \(host.address) \(host.serialPort) codec VM
              startcmd "\(powerOn)"
              startnow true
              poweroff_wait 2
              kill_wait 2
              user 2 true "admin" "\(host.password)" admin 10 none md2 md5 straight

            """.write(toFile: host.lanConfig, atomically: true, encoding: .utf8)
        } catch {
            throw LabError(
                "cannot write the BMC files of \(host.hostID) in \(host.directory): \(error.localizedDescription)"
            )
        }
        do {
            _ = try await LabCommand.output(
                [
                    try LabProcesses.binary("sdrcomp"), "-o", "\(sdrDirectory)/sdr.20.main",
                    "\(host.directory)/host.sdrs",
                ]
            )
        } catch {
            throw LabError("cannot compile the SDR of \(host.hostID): \(error)")
        }
    }

    /// What ipmi_sim runs on chassis power on; the host is on while it lives. A test-driver host is its agent. A
    /// KVM host first starts its libvirtd (warm: its capabilities are cached in its BASE) and then runs its agent;
    /// when the agent ends (killed by its power command, or by power off, whose SIGTERM this script turns into the
    /// agent's SIGKILL) the host is off at once, and its libvirtd stops with its guests behind it, as a machine going
    /// down takes them. A power on meanwhile starts the libvirtd again once that stop is done (scripts/lab-libvirtd's
    /// start and stop of one BASE take turns), so it is never dropped as "already on".
    static func powerOnScript(agentArgv: [String], agentLog: String, libvirtd: LabState.LibvirtDaemon?) -> String {
        let agent = "\(agentArgv.map(shellQuoted).joined(separator: " ")) >>\(shellQuoted(agentLog)) 2>&1"
        guard let libvirtd else {
            return """
                #!/bin/sh
                # ipmi_sim runs this on chassis power on; the host is on while it lives.
                exec \(agent)

                """
        }
        let environment = LabKVM.environment(of: libvirtd).sorted { $0.key < $1.key }
            .map { "\($0.key)=\(shellQuoted($0.value)) " }.joined()
        let script = shellQuoted(libvirtd.script)
        let base = shellQuoted(libvirtd.base)
        let log = shellQuoted("\(libvirtd.base)/power.log")
        return """
            #!/bin/sh
            # ipmi_sim runs this on chassis power on; the host is on while it lives: its libvirtd, then its agent.
            echo "$(date +%s) power on" >>\(log)
            \(environment)\(script) start \(base) \(shellQuoted(libvirtd.hostId)) >>\(log) 2>&1 || exit 1
            \(agent) &
            agent=$!
            trap 'kill -KILL "$agent" 2>/dev/null' TERM INT
            # wait returns early when a signal is trapped: wait again until the agent is gone.
            while kill -0 "$agent" 2>/dev/null; do wait "$agent"; done
            echo "$(date +%s) power off: stopping libvirtd" >>\(log)
            setsid sh -c '"$0" stop "$1"; echo "$(date +%s) libvirtd stopped"' \(script) \(base) </dev/null >>\(log) 2>&1 &

            """
    }

    /// The agent's power actions: record the action, then a moment later (so the agent can still answer the manager)
    /// ask the host's BMC, if it has one, for power off, and kill the agent (the script's parent), whichever started
    /// it: a BMC, or a `--wol` lab's NIC. The BMC password stays in its file.
    ///
    /// SIGKILL, as a machine that suspends drops off the network at once: with SIGTERM the agent closed its manager
    /// connection first and then took its time to exit, and under load the manager's wake (sent a second after the
    /// disconnect) reached ipmi_sim while the host's process still lived; ipmi_sim takes a power on of a running host
    /// as "already on" and drops it, so the host never came back (EnergyLabTests' operator wake, 120 s).
    static func powerOffScript(directory: String, bmc: Host?) -> String {
        let log = shellQuoted("\(directory)/power-actions.log")
        let powerOff =
            bmc.map {
                "ipmitool -I lanplus -C 3 -N 1 -R 2 -H \($0.address) -p \($0.lanPort) -U admin "
                    + "-f \(shellQuoted($0.passwordFile)) "
                    + "chassis power off; "
            } ?? ""
        return """
            #!/bin/sh
            agent=$PPID
            echo "$(date +%s) $*" >>\(log)
            ( sleep 1; \(powerOff)kill -KILL "$agent" 2>/dev/null ) </dev/null >>\(log) 2>&1 &
            exit 0

            """
    }

    /// The argv of the host's BMC.
    static func argv(_ host: Host) throws -> [String] {
        [
            try LabProcesses.binary("ipmi_sim"), "-c", host.lanConfig, "-f", host.emulatorFile, "-s",
            host.stateDirectory, "-n",
        ]
    }

    static func randomPassword() -> String {
        String((0..<16).map { _ in "abcdefghijkmnpqrstuvwxyz23456789".randomElement()! })
    }

    static func shellQuoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The BMC's SDR: the BMC itself and one power sensor in watts (m = 2: the value file holds watts / 2).
    static let sdrSource = """
        sdr type 18
        \tdevice_slave_address\t0x20
        \tdevice_channel_number\t0
        \tchassis\t\t\ttrue
        \tipmb_event_gen\t\tfalse
        \tipmb_event_recv\t\tfalse
        \tfru_inventory\t\tfalse
        \tsel\t\t\ttrue
        \tsdr\t\t\ttrue
        \tsensor\t\t\ttrue
        \tentity_id\t\tsystem_board
        \tentity_instance\t\t1
        \tid_string\t\t"torpor-lab-bmc"
        endsdr

        sdr type 1
        \tsensor_owner_id\t\t0x20
        \tsensor_owner_lun\t0
        \tchannel_number\t\t0
        \tsensor_number\t\t1
        \tentity_id\t\tpower_supply
        \tentity_instance\t\t1
        \tsensor_type\t\tCurrent
        \tinit_scanning\t\ttrue
        \tinit_sensor_type\ttrue
        \tdefault_sensor_scan_on\ttrue
        \tevent_reading_type_code\t1
        \tanalog_data_format\tunsigned
        \trate_unit\t\tnone
        \tmodifier_unit\t\tnone
        \tpercentage\t\tfalse
        \tbase_unit\t\tWatts
        \tmodifier_unit_code\tunspecified
        \tlinearization\t\tlinear
        \tm\t\t\t2
        \ttolerance\t\t0
        \tb\t\t\t0
        \taccuracy\t\t1
        \taccuracy_exp\t\t0
        \tsensor_direction\tinput
        \tr_exp\t\t\t0
        \tb_exp\t\t\t0
        \tsensor_maximum\t\t255
        \tsensor_minimum\t\t0
        \tid_string\t\t"Power"
        endsdr

        """
}
