import ServiceLifecycle

/// For a service whose work can end before the agent stops: returns once the group tells this service to stop
/// (or cancels it). A ServiceGroup that is shutting down fails with `serviceFinishedUnexpectedly` when a service
/// it has not yet told to stop returns, whatever its `successTerminationBehavior`; so such a service waits here
/// instead of returning (a CI run's agent exited 1 when its start-up pages were released as it was stopping).
func waitForItsTurnToStop() async {
    try? await gracefulShutdown()
}
