import CIPMIMonitoring
import Foundation

/// One `ipmi_monitoring_ctx_t`, destroyed in `deinit`. Not thread-safe: a context is created, used and dropped
/// on one blocking thread per read.
///
/// freeipmi reports failures as a negative return (or NULL) plus an error number kept in the context;
/// `failure(_:)` turns that number and its message into an `IPMIMonitoringError` right after the failed call.
final class MonitoringContext {
    private let context: ipmi_monitoring_ctx_t
    private let host: String
    private let sdrCacheDirectory: String

    init(host: String, sdrCacheDirectory: String) throws(IPMIMonitoringError) {
        try Self.initializeLibrary.get()
        guard let context = ipmi_monitoring_ctx_create() else {
            throw .initialization("ipmi_monitoring_ctx_create failed (out of memory)")
        }
        self.context = context
        self.host = host
        self.sdrCacheDirectory = sdrCacheDirectory
        if ipmi_monitoring_ctx_sdr_cache_directory(context, sdrCacheDirectory) < 0 {
            throw failure()
        }
    }

    deinit {
        ipmi_monitoring_ctx_destroy(context)
    }

    /// `ipmi_monitoring_init` must run once, before any other call, from one thread: a global `let` is
    /// initialized exactly once, thread-safely. A failure is kept and reported to every later read.
    private static let initializeLibrary: Result<Void, IPMIMonitoringError> = {
        var errnum: Int32 = 0
        guard ipmi_monitoring_init(0, &errnum) == 0 else {
            return .failure(.initialization(String(cString: ipmi_monitoring_ctx_strerror(errnum))))
        }
        return .success(())
    }()

    /// Reads every sensor over LAN and returns those in watts with a numeric reading. Blocks for up to the
    /// session timeout.
    func readPowerSensors(
        user: String,
        password: String,
        timeouts: (session: Int32, retransmission: Int32)
    ) throws(IPMIMonitoringError) -> [PowerSensorReading] {
        let count = user.withCString { user in
            password.withCString { password in
                // freeipmi only reads these strings during the call; the casts satisfy its non-const fields.
                var config = ipmi_monitoring_ipmi_config()
                config.driver_type = -1
                config.protocol_version = CConstants.protocolVersion2
                config.username = UnsafeMutablePointer(mutating: user)
                config.password = UnsafeMutablePointer(mutating: password)
                config.k_g = nil
                config.k_g_len = 0
                config.privilege_level = CConstants.privilegeAdmin
                config.authentication_type = -1
                config.cipher_suite_id = CConstants.cipherSuite3
                config.session_timeout_len = timeouts.session
                config.retransmission_timeout_len = timeouts.retransmission
                config.workaround_flags = CConstants.workaroundOpenSessionPrivilege
                return ipmi_monitoring_sensor_readings_by_record_id(
                    context,
                    host,
                    &config,
                    CConstants.readingFlags,
                    nil,
                    0,
                    nil,
                    nil
                )
            }
        }
        guard count >= 0 else { throw failure() }
        guard count > 0 else { return [] }
        guard ipmi_monitoring_sensor_iterator_first(context) >= 0 else { throw failure() }
        var readings: [PowerSensorReading] = []
        for index in 0..<count {
            if index > 0, ipmi_monitoring_sensor_iterator_next(context) < 0 { throw failure() }
            if let reading = currentPowerReading() { readings.append(reading) }
        }
        return readings
    }

    /// The iterator's current sensor when it reads in watts; nil for other units or no reading.
    private func currentPowerReading() -> PowerSensorReading? {
        guard ipmi_monitoring_sensor_read_sensor_units(context) == CConstants.unitsWatts,
            let value = ipmi_monitoring_sensor_read_sensor_reading(context)
        else { return nil }
        let watts: Double
        switch ipmi_monitoring_sensor_read_sensor_reading_type(context) {
        case CConstants.readingDouble: watts = value.load(as: Double.self)
        case CConstants.readingUInt32: watts = Double(value.load(as: UInt32.self))
        default: return nil
        }
        // The name belongs to the context; copy it before the iterator moves.
        let name = ipmi_monitoring_sensor_read_sensor_name(context).map { String(cString: $0) } ?? ""
        return PowerSensorReading(name: name, watts: watts)
    }

    /// The context's last error as a typed error. Call right after the failing call.
    private func failure() -> IPMIMonitoringError {
        let errnum = ipmi_monitoring_ctx_errnum(context)
        let message =
            ipmi_monitoring_ctx_errormsg(context).map { String(cString: $0) }
            ?? String(cString: ipmi_monitoring_ctx_strerror(errnum))
        typealias Code = CConstants.ErrorCode
        switch errnum {
        case Code.libraryUninitialized:
            return .initialization(message)
        case Code.connectionTimeout, Code.sessionTimeout, Code.hostnameInvalid:
            return .unreachable(host: host, message: message)
        case Code.usernameInvalid, Code.passwordInvalid, Code.passwordVerificationTimeout, Code.kgInvalid,
            Code.privilegeLevelInsufficient, Code.privilegeLevelCannotBeObtained, Code.authenticationTypeUnavailable,
            Code.ipmi20Unavailable, Code.cipherSuiteIDUnavailable:
            return .authentication(host: host, message: message)
        case Code.sdrCachePermission, Code.sdrCacheFilesystem:
            return .sdrCache(directory: sdrCacheDirectory, message: message)
        default:
            return .readingFailed(host: host, message: message)
        }
    }
}
