import CLibvirt
import Foundation

/// Process-wide libvirt setup, done once before the first connection opens.
///
/// Order matters: libvirt drivers create their event timers when a connection opens or an event callback is
/// registered, and that fails unless an event loop implementation is registered first. So every
/// `LibvirtConnection.open` calls `ensureInitialized()` before `virConnectOpen`.
enum LibvirtEventLoop {
    /// Throws the setup failure (the same one every time) if libvirt could not be initialised.
    static func ensureInitialized() throws(LibvirtError) {
        try initialization.get()
    }

    /// How many libvirt errors went to the silent handler instead of stderr (for tests).
    static var silencedErrorCount: Int {
        silencedErrors.current
    }

    // A Swift static `let` is initialised exactly once, thread-safely: this is the once-initializer.
    private static let initialization: Result<Void, LibvirtError> = Result { () throws(LibvirtError) in
        // Explicit init before any thread calls into libvirt (libvirt asks multithreaded programs to do this).
        try check(virInitialize(), "virInitialize")
        installSilentErrorHandler()
        try check(virEventRegisterDefaultImpl(), "virEventRegisterDefaultImpl")
        startEventLoopThread()
    }

    fileprivate static let silencedErrors = LockedCounter()

    /// Without a handler libvirt's default one prints every error to stderr; ours only counts, because each
    /// error also reaches its caller through `check`.
    static func installSilentErrorHandler() {
        // A C function pointer cannot capture context; it reaches the counter through a static.
        virSetErrorFunc(nil) { _, _ in
            LibvirtEventLoop.silencedErrors.increment()
        }
    }

    /// Puts back libvirt's default stderr printer. Only for a test that proves the silent handler matters,
    /// and only inside a forked child process.
    static func restoreDefaultErrorPrinterForTesting() {
        virSetErrorFunc(nil, nil)
    }

    /// libvirt delivers events (and keepalives) only while someone runs its loop: one thread, forever.
    private static func startEventLoopThread() {
        let thread = Thread {
            while true {
                if virEventRunDefaultImpl() < 0 {
                    // Fails only if the loop itself is broken; back off instead of spinning a core.
                    virResetLastError()
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
        }
        thread.name = "libvirt-events"
        thread.start()
    }
}

/// A counter the C error callback can bump from any libvirt thread.
final class LockedCounter: @unchecked Sendable {
    // @unchecked: `value` is only read or written while holding `lock`.
    private let lock = NSLock()
    private var value = 0

    func increment() {
        lock.lock()
        value += 1
        lock.unlock()
    }

    var current: Int {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
