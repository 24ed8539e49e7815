import CIPMIMonitoring

/// libipmimonitoring's C enum constants under Swift names, as the `Int32`/`UInt32` the C functions take and return.
enum CConstants {
    /// `ipmi_monitoring_error_codes`, as returned by `ipmi_monitoring_ctx_errnum`.
    enum ErrorCode {
        static let libraryUninitialized = code(IPMI_MONITORING_ERR_LIBRARY_UNINITIALIZED)
        static let sdrCachePermission = code(IPMI_MONITORING_ERR_SDR_CACHE_PERMISSION)
        static let sdrCacheFilesystem = code(IPMI_MONITORING_ERR_SDR_CACHE_FILESYSTEM)
        static let hostnameInvalid = code(IPMI_MONITORING_ERR_HOSTNAME_INVALID)
        static let connectionTimeout = code(IPMI_MONITORING_ERR_CONNECTION_TIMEOUT)
        static let sessionTimeout = code(IPMI_MONITORING_ERR_SESSION_TIMEOUT)
        static let usernameInvalid = code(IPMI_MONITORING_ERR_USERNAME_INVALID)
        static let passwordInvalid = code(IPMI_MONITORING_ERR_PASSWORD_INVALID)
        static let passwordVerificationTimeout = code(IPMI_MONITORING_ERR_PASSWORD_VERIFICATION_TIMEOUT)
        static let kgInvalid = code(IPMI_MONITORING_ERR_K_G_INVALID)
        static let privilegeLevelInsufficient = code(IPMI_MONITORING_ERR_PRIVILEGE_LEVEL_INSUFFICIENT)
        static let privilegeLevelCannotBeObtained = code(IPMI_MONITORING_ERR_PRIVILEGEL_LEVEL_CANNOT_BE_OBTAINED)
        static let authenticationTypeUnavailable = code(IPMI_MONITORING_ERR_AUTHENTICATION_TYPE_UNAVAILABLE)
        static let ipmi20Unavailable = code(IPMI_MONITORING_ERR_IPMI_2_0_UNAVAILABLE)
        static let cipherSuiteIDUnavailable = code(IPMI_MONITORING_ERR_CIPHER_SUITE_ID_UNAVAILABLE)

        private static func code(_ value: ipmi_monitoring_error_codes) -> Int32 { Int32(value.rawValue) }
    }

    static let protocolVersion2 = Int32(IPMI_MONITORING_PROTOCOL_VERSION_2_0.rawValue)
    static let privilegeAdmin = Int32(IPMI_MONITORING_PRIVILEGE_LEVEL_ADMIN.rawValue)
    static let cipherSuite3: Int32 = 3
    static let workaroundOpenSessionPrivilege = UInt32(
        IPMI_MONITORING_WORKAROUND_FLAGS_PROTOCOL_VERSION_2_0_OPEN_SESSION_PRIVILEGE.rawValue
    )
    // Skips sensors freeipmi cannot interpret instead of failing the whole read.
    static let readingFlags = UInt32(IPMI_MONITORING_SENSOR_READING_FLAGS_IGNORE_NON_INTERPRETABLE_SENSORS.rawValue)

    static let unitsWatts = Int32(IPMI_MONITORING_SENSOR_UNITS_WATTS.rawValue)
    static let readingDouble = Int32(IPMI_MONITORING_SENSOR_READING_TYPE_DOUBLE.rawValue)
    static let readingUInt32 = Int32(IPMI_MONITORING_SENSOR_READING_TYPE_UNSIGNED_INTEGER32.rawValue)
}
