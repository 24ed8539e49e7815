import ServiceLifecycle

/// Runs the group leader's tasks: those a previous run left unfinished, then each new one. On shutdown the tasks
/// in flight are cancelled; they are recorded, and run again when the manager starts.
struct TaskService: Service {
    let leader: GroupLeader

    func run() async throws {
        await cancelWhenGracefulShutdown { await leader.run() }
    }
}
