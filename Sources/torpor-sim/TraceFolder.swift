import Foundation
import Simulation

/// Reads a folder of CloudSim-format traces: every regular file is one VM (hidden files are skipped), in sorted
/// name order, so VM types fall on the same VMs whatever order the file system lists them in.
enum TraceFolder {
    static func load(_ path: String, stepCount: Int = Workload.cloudSimStepCount) throws -> Workload {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw SimulationInputError(file: path, problem: "not a folder of trace files")
        }
        let names: [String]
        do {
            names = try manager.contentsOfDirectory(atPath: path).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw SimulationInputError(file: path, problem: "cannot list the folder: \(error.localizedDescription)")
        }
        var traces: [(name: String, percent: [UInt8])] = []
        for name in names {
            let file = (path as NSString).appendingPathComponent(name)
            var isSubfolder: ObjCBool = false
            guard manager.fileExists(atPath: file, isDirectory: &isSubfolder), !isSubfolder.boolValue else { continue }
            guard let data = manager.contents(atPath: file) else {
                throw SimulationInputError(file: file, problem: "cannot read the file")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw SimulationInputError(file: file, problem: "not UTF-8 text")
            }
            traces.append((name, try Workload.parseTrace(text, file: file, expected: stepCount)))
        }
        guard !traces.isEmpty else {
            throw SimulationInputError(file: path, problem: "no trace files in the folder (one file per VM expected)")
        }
        return try Workload(stepCount: stepCount, traces: traces)
    }
}
