import CLibvirt
import Foundation

extension LibvirtDomain {
    /// Migrates the running domain peer to peer (`virDomainMigrateToURI3`) and returns when it has finished:
    /// on success the domain runs on the destination and is no longer defined here.
    ///
    /// The call blocks for the whole migration, so it runs on a thread of its own, not on the connection's
    /// executor thread: `jobStats()`, `abortJob()` and the tuning calls keep working while it runs (libvirt's
    /// API is thread-safe; only the last error is per thread, and each thread copies its own).
    /// https://libvirt.org/html/libvirt-libvirt-domain.html#virDomainMigrateToURI3
    public func migrate(_ request: MigrationRequest) async throws(LibvirtError) {
        // Fails with invalidConnection once the connection is closed, like every other call.
        try await hop { blocking throws(LibvirtError) in
            try blocking.withDomain("virDomainMigrateToURI3") { _ in () }
        }
        let blocking = self.blocking
        let result: Result<Void, LibvirtError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(LibvirtError) in try blocking.migrate(request) })
            }
            thread.name = "libvirt-migrate"
            thread.start()
        }
        try result.get()
    }

    /// Progress of the domain's current job, or of none (`virDomainGetJobStats`).
    public func jobStats() async throws(LibvirtError) -> DomainJobStats {
        try await hop { blocking throws(LibvirtError) in try blocking.jobStats() }
    }

    /// Cancels the domain's current job; a cancelled migration leaves the domain running here
    /// (`virDomainAbortJob`).
    public func abortJob() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.abortJob() }
    }

    /// The longest pause the migration may impose at its switch-over, milliseconds
    /// (`virDomainMigrateSetMaxDowntime`).
    public func setMigrationMaxDowntime(milliseconds: UInt64) async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in
            try blocking.setMigrationMaxDowntime(milliseconds: milliseconds)
        }
    }

    /// The migration's bandwidth cap, MiB/s (`virDomainMigrateSetMaxSpeed`).
    public func setMigrationMaxSpeed(mebibytesPerSecond: UInt64) async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in
            try blocking.setMigrationMaxSpeed(mebibytesPerSecond: mebibytesPerSecond)
        }
    }

    /// Switches a running migration started with `allowPostCopy` to post-copy (`virDomainMigrateStartPostCopy`).
    public func startPostCopy() async throws(LibvirtError) {
        try await hop { blocking throws(LibvirtError) in try blocking.startPostCopy() }
    }
}

extension LibvirtDomain.Blocking {
    /// Runs on the calling thread (never the executor's: it would block every other call for the whole
    /// migration). The domain pointer holds a reference on its connection, so it stays valid throughout.
    func migrate(_ request: MigrationRequest) throws(LibvirtError) {
        let name = domain.name
        var parameters: UnsafeMutablePointer<virTypedParameter>?
        var count: Int32 = 0
        var capacity: Int32 = 0
        // Freed with virTypedParamsFree, strings and all.
        defer { virTypedParamsFree(parameters, count) }
        if let bandwidth = request.bandwidthMiBPerSecond {
            try check(
                virTypedParamsAddULLong(&parameters, &count, &capacity, "bandwidth", bandwidth),
                "virTypedParamsAddULLong",
                subject: name
            )
        }
        try check(
            virDomainMigrateToURI3(
                domain.pointer,
                request.destinationURI,
                parameters,
                UInt32(count),
                request.flags.rawValue
            ),
            "virDomainMigrateToURI3",
            subject: name
        )
    }

    func jobStats() throws(LibvirtError) -> DomainJobStats {
        let name = domain.name
        return try withDomain("virDomainGetJobStats") { pointer throws(LibvirtError) in
            var type: Int32 = 0
            var parameters: UnsafeMutablePointer<virTypedParameter>?
            var count: Int32 = 0
            try check(
                virDomainGetJobStats(pointer, &type, &parameters, &count, 0),
                "virDomainGetJobStats",
                subject: name
            )
            // libvirt allocated the array: copy, then free it with virTypedParamsFree.
            defer { virTypedParamsFree(parameters, count) }
            return DomainJobStats(type: type, parameters: TypedParameters(parameters, count: count))
        }
    }

    func abortJob() throws(LibvirtError) {
        try call("virDomainAbortJob", virDomainAbortJob)
    }

    func setMigrationMaxDowntime(milliseconds: UInt64) throws(LibvirtError) {
        try call("virDomainMigrateSetMaxDowntime") { virDomainMigrateSetMaxDowntime($0, milliseconds, 0) }
    }

    func setMigrationMaxSpeed(mebibytesPerSecond: UInt64) throws(LibvirtError) {
        let name = domain.name
        guard let bandwidth = UInt(exactly: mebibytesPerSecond) else {
            throw .wrapper(
                .invalidArgument,
                "bandwidth \(mebibytesPerSecond) MiB/s is too large",
                function: "virDomainMigrateSetMaxSpeed",
                subject: name
            )
        }
        try call("virDomainMigrateSetMaxSpeed") { virDomainMigrateSetMaxSpeed($0, bandwidth, 0) }
    }

    func startPostCopy() throws(LibvirtError) {
        try call("virDomainMigrateStartPostCopy") { virDomainMigrateStartPostCopy($0, 0) }
    }
}
