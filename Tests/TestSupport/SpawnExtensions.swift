#if canImport(Glibc)
import Glibc
#endif

/// A program that could not be started (`ChildProcess`, `BackgroundProcess`): not found, or posix_spawn failed.
public struct SpawnError: Error, CustomStringConvertible {
    public var description: String

    public init(description: String) { self.description = description }
}

/// glibc's posix_spawn extensions, which Swift's Glibc module does not import (they need _GNU_SOURCE).
public enum SpawnExtensions {
    public typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    public typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    public static let addClosefrom: AddClosefrom? = symbol("posix_spawn_file_actions_addclosefrom_np")
    public static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")

    /// Initialises `attributes` so that the child starts with default signal dispositions and an empty mask (the
    /// test runner may ignore SIGPIPE or block signals). The caller destroys them.
    public static func initWithDefaultSignals(_ attributes: inout posix_spawnattr_t) {
        posix_spawnattr_init(&attributes)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }

    private static func symbol<T>(_ name: String) -> T? {
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(pointer, to: T.self)
    }
}
