import ArgumentParser
import Wire

/// `torpor task show|wait ID`.
struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task",
        abstract: "Follow a task: what it is doing and each VM's outcome.",
        subcommands: [TaskShow.self, TaskWait.self]
    )
}

struct TaskShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a task as it is now.")

    @Argument(help: "The task id (t-…).") var id: String
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let client = ClusterClient(options: options)
        try client.report(try await client.task(.task(id: id, waitMilliseconds: 0)))
    }
}

struct TaskWait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait for a task to end, showing its progress; exit 1 if it failed, 75 if it did not end in time."
    )

    @Argument(help: "The task id (t-…).") var id: String
    @Option(name: .long, help: "Seconds to wait for the task to end.") var waitTimeout: Double = 300
    @OptionGroup var options: ManagerOptions

    func run() async throws {
        let client = ClusterClient(options: options)
        try client.report(try await client.wait(for: id, timeout: waitTimeout, showProgress: !options.json))
    }
}
